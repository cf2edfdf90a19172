"""The FMEA table: one row per failure mode, assessed three ways side by side.

:class:`FmeaRow` holds what a person edits (effects, causes, controls, S/O/D);
:func:`assess` adds the classic RPN, the Action Priority with its reason and the
criticality-matrix zone. Rows come from the catalogue (:func:`rows_from_catalogue`),
from an imported spreadsheet (``fmea.io``) and are re-rated by ``fmea.rerate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.fmea.action_priority import ActionPriorityTable, Priority
from twinrca.fmea.criticality import CriticalityMatrix
from twinrca.fmea.ratings import RATING_FIELDS, check_rating, rpn

__all__ = [
    "AssessedRow",
    "FmeaRow",
    "assess",
    "assessed_frame",
    "is_detection_control",
    "rows_from_catalogue",
    "sort_assessed",
]

SortKey = Literal["rpn", "ap", "criticality", "id"]


@dataclass(frozen=True, slots=True)
class FmeaRow:
    """One failure mode as an FMEA line (the editable part)."""

    mode_id: str
    name: str
    category: str
    element_kind: str
    effects: str
    causes: tuple[str, ...]
    prevention_controls: tuple[str, ...]
    detection_controls: tuple[str, ...]
    severity: int
    occurrence: int
    detection: int
    remediations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.mode_id:
            raise ValidationError("missing_id", "an FMEA row needs a failure-mode id")
        for name in RATING_FIELDS:
            object.__setattr__(
                self, name, check_rating(getattr(self, name), f"{self.mode_id}.{name}")
            )

    @property
    def rpn(self) -> int:
        return rpn(self.severity, self.occurrence, self.detection)

    def ratings(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in RATING_FIELDS}

    def with_ratings(self, **ratings: int) -> FmeaRow:
        unknown = set(ratings) - set(RATING_FIELDS)
        if unknown:
            raise ValidationError("bad_field", f"not a rating: {sorted(unknown)}")
        return replace(
            self,
            severity=ratings.get("severity", self.severity),
            occurrence=ratings.get("occurrence", self.occurrence),
            detection=ratings.get("detection", self.detection),
        )


_DETECTION_WORDS = (
    "alarm",
    "monitor",
    "supervision",
    "detection",
    "kpi",
    "audit",
    "watchdog",
    "threshold",
)


def is_detection_control(text: str) -> bool:
    """True when a control names monitoring (alarm, KPI, audit ...), else prevention."""
    lower = text.lower()
    return any(word in lower for word in _DETECTION_WORDS)


def _split_controls(mode: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(prevention, detection) controls: the catalogue's own split when it has one,
    else its ``controls`` split by :func:`is_detection_control`."""
    prevention = getattr(mode, "prevention_controls", None)
    detection = getattr(mode, "detection_controls", None)
    if prevention is not None or detection is not None:
        return tuple(prevention or ()), tuple(detection or ())
    controls = tuple(getattr(mode, "controls", ()))
    return (
        tuple(c for c in controls if not is_detection_control(c)),
        tuple(c for c in controls if is_detection_control(c)),
    )


def rows_from_catalogue(catalogue: Iterable[Any]) -> list[FmeaRow]:
    """One :class:`FmeaRow` per failure mode, with the catalogue's default ratings."""
    rows = []
    for m in catalogue:
        effects = m.effects if isinstance(m.effects, str) else "; ".join(m.effects)
        prevention, detection = _split_controls(m)
        rows.append(
            FmeaRow(
                mode_id=m.id,
                name=m.name,
                category=m.category,
                element_kind=str(m.element_kind),
                effects=effects,
                causes=tuple(m.causes),
                prevention_controls=prevention,
                detection_controls=detection,
                severity=m.severity,
                occurrence=m.occurrence,
                detection=m.detection,
                remediations=tuple(getattr(m, "remediations", ())),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class AssessedRow:
    """A row with RPN, Action Priority (and why) and criticality side by side."""

    row: FmeaRow
    rpn: int
    ap: Priority
    ap_reason: str
    criticality: Priority
    criticality_reason: str


def assess(
    rows: Iterable[FmeaRow],
    ap_table: ActionPriorityTable | None = None,
    matrix: CriticalityMatrix | None = None,
) -> list[AssessedRow]:
    """Assess every row with the given (or default) AP table and criticality matrix."""
    ap_table = ap_table or ActionPriorityTable.default()
    matrix = matrix or CriticalityMatrix.default()
    out = []
    for r in rows:
        ap = ap_table.assess(r.severity, r.occurrence, r.detection)
        out.append(
            AssessedRow(
                row=r,
                rpn=r.rpn,
                ap=ap.ap,
                ap_reason=ap.reason,
                criticality=matrix.zone(r.severity, r.occurrence),
                criticality_reason=matrix.reason(r.severity, r.occurrence),
            )
        )
    return out


def sort_assessed(items: Sequence[AssessedRow], by: SortKey = "ap") -> list[AssessedRow]:
    """Most urgent first. ``ap``: AP, then S, then RPN; ``rpn``: RPN, then S."""
    keys = {
        "ap": lambda a: (-a.ap.rank, -a.row.severity, -a.rpn, a.row.mode_id),
        "rpn": lambda a: (-a.rpn, -a.row.severity, a.row.mode_id),
        "criticality": lambda a: (
            -a.criticality.rank,
            -a.row.severity,
            -a.row.occurrence,
            a.row.mode_id,
        ),
        "id": lambda a: (a.row.mode_id,),
    }
    if by not in keys:
        raise ValidationError("bad_sort", f"sort by one of {sorted(keys)}, not {by!r}")
    return sorted(items, key=keys[by])


def assessed_frame(items: Iterable[AssessedRow]) -> pd.DataFrame:
    """A DataFrame with the editable columns, then RPN, AP, reasons and criticality."""
    records = []
    for a in items:
        r = a.row
        records.append(
            {
                "mode_id": r.mode_id,
                "name": r.name,
                "category": r.category,
                "element_kind": r.element_kind,
                "effects": r.effects,
                "causes": list(r.causes),
                "prevention_controls": list(r.prevention_controls),
                "detection_controls": list(r.detection_controls),
                "remediations": list(r.remediations),
                "severity": r.severity,
                "occurrence": r.occurrence,
                "detection": r.detection,
                "rpn": a.rpn,
                "ap": a.ap.value,
                "ap_reason": a.ap_reason,
                "criticality": a.criticality.value,
                "criticality_reason": a.criticality_reason,
            }
        )
    return pd.DataFrame.from_records(records, columns=FRAME_COLUMNS)


FRAME_COLUMNS = [
    "mode_id",
    "name",
    "category",
    "element_kind",
    "effects",
    "causes",
    "prevention_controls",
    "detection_controls",
    "remediations",
    "severity",
    "occurrence",
    "detection",
    "rpn",
    "ap",
    "ap_reason",
    "criticality",
    "criticality_reason",
]
