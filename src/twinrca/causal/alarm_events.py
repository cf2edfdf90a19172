"""Alarm event sequences, device topology and prior knowledge as plain arrays.

The learners of this package work on integer codes: alarm types ``0..K-1``, devices
``0..D-1``. This module validates the public inputs (a DataFrame of
``alarm_id, device_id, start_timestamp, end_timestamp``, an optional 0/1 device
adjacency matrix, an optional prior matrix) and encodes them.

Matrices are indexed by id: row ``r`` of the topology is device ``r`` and row ``r`` of
the prior is alarm type ``r`` when the ids are the integers ``0..n-1`` (the layout of
the public alarm sets); otherwise pass the ids that label the rows explicitly.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError

__all__ = [
    "REQUIRED_COLUMNS",
    "EventData",
    "PriorEncoding",
    "PriorKnowledge",
    "encode_events",
    "encode_topology",
    "usable_alarms",
]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("alarm_id", "device_id", "start_timestamp")

PriorEncoding = Literal["auto", "signed", "gcastle"]


@dataclass(frozen=True, slots=True)
class EventData:
    """Alarm events sorted by time, with alarm types and devices as integer codes."""

    types: np.ndarray  # int64 codes into ``type_ids``
    devices: np.ndarray  # int64 codes into ``device_ids``
    times: np.ndarray  # float64 start times, non-decreasing
    type_ids: tuple[Hashable, ...]
    device_ids: tuple[Hashable, ...]

    @property
    def n_types(self) -> int:
        return len(self.type_ids)

    @property
    def n_devices(self) -> int:
        return len(self.device_ids)

    @property
    def span(self) -> float:
        """Observed time span (at least one time unit)."""
        return max(float(self.times[-1] - self.times[0]), 1.0)


def _integral(values: pd.Series) -> pd.Series:
    """Float ids that are whole numbers back to integers (a CSV column with a blank
    cell is read as float: 3.0 would otherwise name a different type than 3)."""
    if pd.api.types.is_float_dtype(values) and len(values) and (values % 1 == 0).all():
        return values.astype(np.int64)
    return values


def usable_alarms(alarms: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows with an alarm id, a device id and a finite numeric start time, and the
    positions (0-based, in ``alarms``) of the rows that lack one. Ids that are whole
    numbers read as floats become integers again."""
    missing = [c for c in REQUIRED_COLUMNS if c not in alarms.columns]
    if missing:
        raise ValidationError(
            "missing_columns", f"alarm table lacks columns {missing}", columns=list(alarms.columns)
        )
    times = pd.to_numeric(alarms["start_timestamp"], errors="coerce").astype(np.float64)
    ok = np.isfinite(times.to_numpy()) & alarms["alarm_id"].notna().to_numpy()
    ok &= alarms["device_id"].notna().to_numpy()
    frame = alarms.loc[ok].copy()
    frame["start_timestamp"] = times[ok]
    for col in ("alarm_id", "device_id"):
        frame[col] = _integral(frame[col])
    return frame, np.flatnonzero(~ok)


def _sorted_ids(values: pd.Series) -> tuple[Hashable, ...]:
    uniq = pd.unique(values)
    try:
        return tuple(sorted(uniq.tolist()))
    except TypeError:
        return tuple(sorted(uniq.tolist(), key=str))


def encode_events(
    alarms: pd.DataFrame,
    *,
    type_ids: Sequence[Hashable] | None = None,
    device_ids: Sequence[Hashable] | None = None,
) -> EventData:
    """Validate an alarm DataFrame and encode it, sorted by start time.

    ``type_ids`` / ``device_ids`` fix the code order (e.g. the rows of a prior or
    topology matrix); by default the sorted distinct ids of the data are used.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in alarms.columns]
    if missing:
        raise ValidationError(
            "missing_columns", f"alarm table lacks columns {missing}", columns=list(alarms.columns)
        )
    frame = alarms.loc[:, list(REQUIRED_COLUMNS)].dropna()
    if len(frame) < 2:
        raise ValidationError("too_few_alarms", "need at least two alarms", rows=len(frame))
    try:
        times = pd.to_numeric(frame["start_timestamp"]).to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError("bad_timestamp", "start_timestamp must be numeric") from exc
    if not np.isfinite(times).all():
        raise ValidationError(
            "bad_timestamp",
            "start_timestamp must be finite",
            rows=int((~np.isfinite(times)).sum()),
            hint="drop the rows first (usable_alarms)",
        )
    t_ids = tuple(type_ids) if type_ids is not None else _sorted_ids(frame["alarm_id"])
    d_ids = tuple(device_ids) if device_ids is not None else _sorted_ids(frame["device_id"])
    types = _codes(frame["alarm_id"], t_ids, "alarm_id")
    devices = _codes(frame["device_id"], d_ids, "device_id")
    order = np.lexsort((types, times))
    return EventData(types[order], devices[order], times[order], t_ids, d_ids)


def _codes(values: pd.Series, ids: tuple[Hashable, ...], column: str) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(ids)).codes.astype(np.int64)
    if (codes < 0).any():
        unknown = sorted(set(values[codes < 0].tolist()), key=str)[:5]
        raise ValidationError(
            "unknown_id", f"{column} values not covered by the matrix ids", examples=unknown
        )
    return codes


def _square(matrix: np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValidationError("not_square", f"{name} must be a square matrix", shape=arr.shape)
    if not np.isfinite(arr).all():
        raise ValidationError("not_finite", f"{name} has NaN or infinite entries")
    return arr


def encode_topology(
    topology: np.ndarray, data: EventData, ids: Sequence[Hashable] | None = None
) -> np.ndarray:
    """Symmetric boolean device adjacency in the code order of ``data`` (no self loops)."""
    arr = _square(topology, "topology") != 0
    row_ids = tuple(ids) if ids is not None else tuple(range(arr.shape[0]))
    if len(row_ids) != arr.shape[0]:
        raise ValidationError("id_count", "topology ids do not match its size", n=arr.shape[0])
    pos = {d: k for k, d in enumerate(row_ids)}
    absent = [d for d in data.device_ids if d not in pos]
    if absent:
        raise ValidationError(
            "device_not_in_topology", "devices missing from the topology", examples=absent[:5]
        )
    idx = np.array([pos[d] for d in data.device_ids], dtype=np.int64)
    sub = arr[np.ix_(idx, idx)]
    sub = sub | sub.T
    np.fill_diagonal(sub, False)
    return sub


@dataclass(frozen=True, slots=True)
class PriorKnowledge:
    """Required and forbidden directed edges between alarm types (``[cause, effect]``)."""

    required: np.ndarray  # bool K x K
    forbidden: np.ndarray  # bool K x K

    @classmethod
    def empty(cls, n_types: int) -> PriorKnowledge:
        z = np.zeros((n_types, n_types), dtype=bool)
        return cls(z, z.copy())

    @classmethod
    def from_matrix(
        cls,
        matrix: np.ndarray,
        data: EventData,
        *,
        ids: Sequence[Hashable] | None = None,
        encoding: PriorEncoding = "auto",
    ) -> PriorKnowledge:
        """Read a prior matrix, ``matrix[i, j]`` about the edge type i -> type j.

        ``signed``: 1 required, -1 forbidden, 0 unknown. ``gcastle``: 1 required,
        0 forbidden, -1 unknown (gCastle ``PrioriKnowledge`` and the NeurIPS 2023 CSL
        competition files). ``auto`` takes the most frequent off-diagonal value as
        "unknown" (a partial prior leaves most pairs unknown): -1 means ``gcastle``.
        Diagonal entries are ignored. Types of the matrix absent from the data are
        dropped; data types absent from the matrix get no prior.
        """
        arr = _square(matrix, "prior")
        values = set(np.unique(arr).tolist())
        if not values <= {-1.0, 0.0, 1.0}:
            raise ValidationError("bad_prior_values", "prior entries must be -1, 0 or 1")
        enc = _resolve_encoding(arr, encoding)
        forbidden_value = -1.0 if enc == "signed" else 0.0
        row_ids = tuple(ids) if ids is not None else tuple(range(arr.shape[0]))
        if len(row_ids) != arr.shape[0]:
            raise ValidationError("id_count", "prior ids do not match its size", n=arr.shape[0])
        pos = {t: k for k, t in enumerate(row_ids)}
        prior = cls.empty(data.n_types)
        have = [(k, pos[t]) for k, t in enumerate(data.type_ids) if t in pos]
        if len(have) < data.n_types:
            logger.warning("%s alarm types have no prior row", data.n_types - len(have))
        mine = np.array([k for k, _ in have], dtype=np.int64)
        theirs = np.array([p for _, p in have], dtype=np.int64)
        sub = arr[np.ix_(theirs, theirs)]
        prior.required[np.ix_(mine, mine)] = sub == 1.0
        prior.forbidden[np.ix_(mine, mine)] = sub == forbidden_value
        np.fill_diagonal(prior.required, False)
        np.fill_diagonal(prior.forbidden, False)
        logger.info(
            "prior (%s encoding): %s required, %s forbidden edges",
            enc,
            int(prior.required.sum()),
            int(prior.forbidden.sum()),
        )
        return prior


def _resolve_encoding(arr: np.ndarray, encoding: PriorEncoding) -> str:
    if encoding in ("signed", "gcastle"):
        return encoding
    if encoding != "auto":
        raise ValidationError("bad_prior_encoding", "encoding must be auto, signed or gcastle")
    off = arr[~np.eye(arr.shape[0], dtype=bool)]
    vals, counts = np.unique(off, return_counts=True)
    majority = float(vals[np.argmax(counts)]) if len(vals) else 0.0
    chosen = "gcastle" if majority == -1.0 else "signed"
    logger.info("prior encoding auto-detected as %s (majority value %s)", chosen, majority)
    return chosen
