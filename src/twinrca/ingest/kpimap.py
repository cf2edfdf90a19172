"""Counters to the KPIs the analyses read (TS 28.552 measurements -> TS 28.554 KPIs).

A :class:`KpiMapping` is read from TOML: the shipped ``data/kpis_ts28552.toml`` (its
header documents the format), extended and overridden by users' files naming their
vendors' counters, without code. :meth:`KpiMapping.derive` takes the raw counters of
one file or event (every counter is stored as it is, under its own name) and returns
the derived KPI rows, per measured object and granularity period, with the counts
``ingest files`` prints: counter values *mapped* (read by some KPI, or KPIs already),
KPI values *derived*, counter values left *unmapped*, and the unmapped names.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from twinrca.core.errors import ConfigError
from twinrca.ingest.columns import KpiColumns
from twinrca.ingest.formula import Formula
from twinrca.ingest.pmvalues import BIN

__all__ = ["SHIPPED", "KpiMapping", "MappingStats", "load_mapping"]

SHIPPED = "kpis_ts28552.toml"
_KEY = ["managed_object", "period_end_ns", "granularity_s"]


@dataclass(slots=True)
class MappingStats:
    """Counts over the values one mapping pass saw (added up over a run)."""

    mapped: int = 0
    derived: int = 0
    unmapped: int = 0
    unmapped_names: Counter[str] = field(default_factory=Counter)

    def add(self, other: MappingStats) -> None:
        self.mapped += other.mapped
        self.derived += other.derived
        self.unmapped += other.unmapped
        self.unmapped_names.update(other.unmapped_names)


def _formulas(name: str, raw: object, where: str) -> list[Formula]:
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise ConfigError(f"{where}: kpis.{name} must be a formula or a list of formulas")
    return [Formula(t, where=f"{where}: kpis.{name}") for t in texts]


def _table(doc: dict[str, object], key: str, where: str) -> dict[str, object]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _bins(name: str, raw: object, where: str) -> np.ndarray:
    values = raw.get("values") if isinstance(raw, dict) else None
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: distributions.{name}.values must be a list of numbers")
    try:
        return np.asarray([float(v) for v in values])
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: distributions.{name}.values must be numbers") from None


class KpiMapping:
    """KPI formulas, counter aliases and documented distributions."""

    def __init__(self) -> None:
        self.kpis: dict[str, list[Formula]] = {}
        self.aliases: dict[str, str] = {}
        self.distributions: dict[str, np.ndarray] = {}
        self.sources: list[str] = []
        self.native: set[str] = set()

    def update(self, doc: dict[str, object], where: str) -> None:
        """Add (and override) what one TOML document defines."""
        for name, raw in _table(doc, "kpis", where).items():
            self.kpis[name] = _formulas(name, raw, where)
        for vendor, std in _table(doc, "aliases", where).items():
            if not isinstance(std, str) or not std:
                raise ConfigError(f"{where}: aliases.{vendor} must name a counter")
            self.aliases[vendor] = std
        native = doc.get("native", [])
        if not isinstance(native, list) or not all(isinstance(n, str) for n in native):
            raise ConfigError(f"{where}: native must be a list of KPI names")
        self.native.update(native)
        for name, raw in _table(doc, "distributions", where).items():
            self.distributions[name] = _bins(name, raw, where)
        self.sources.append(where)

    @property
    def inputs(self) -> frozenset[str]:
        """Counter names the KPIs read."""
        return frozenset(c for fs in self.kpis.values() for f in fs for c in f.counters)

    # --- deriving -------------------------------------------------------------------
    def standard_name(self, counter: str) -> str:
        """The standard name an aliased vendor counter (or its sub-counter) stands for."""
        if counter in self.aliases:
            return self.aliases[counter]
        parts = counter.split(".")
        for i in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:i])
            if head in self.aliases:
                return ".".join([self.aliases[head], *parts[i:]])
        return counter

    def is_mapped(self, std: str, inputs: frozenset[str]) -> bool:
        if std in self.kpis or std in inputs or std in self.native:
            return True
        base = std.split(BIN, 1)[0] if BIN in std else None
        if base is not None:
            return base in self.distributions
        parts = std.split(".")
        return any(".".join(parts[:i]) in inputs for i in range(1, len(parts)))

    def derive(self, raw: KpiColumns) -> tuple[KpiColumns, MappingStats]:
        """KPI rows derived from the counters in ``raw``, and the counts."""
        out, stats = KpiColumns(), MappingStats()
        if not len(raw):
            return out, stats
        frame = raw.to_frame_ns()
        names = {n: self.standard_name(n) for n in set(raw.measurement)}
        inputs = self.inputs
        mapped = {n: self.is_mapped(std, inputs) for n, std in names.items()}
        frame["std"] = [names[n] for n in raw.measurement]
        is_mapped = np.fromiter((mapped[n] for n in raw.measurement), bool, len(raw))
        stats.mapped = int(is_mapped.sum())
        stats.unmapped = len(raw) - stats.mapped
        stats.unmapped_names = Counter(
            n for n, ok in zip(raw.measurement, is_mapped.tolist(), strict=True) if not ok
        )
        wide = self._wide(frame)
        for name, series in self._evaluate(wide).items():
            _append(out, wide, name, series)
        stats.derived = len(out)
        return out, stats

    def _wide(self, frame: pd.DataFrame) -> pd.DataFrame:
        native = frame[frame["measurement"] == frame["std"]]
        aliased = frame[frame["measurement"] != frame["std"]]
        # a standard name written by the file wins over a vendor alias of it
        both = pd.concat([aliased, native]).drop_duplicates([*_KEY, "std"], keep="last")
        wide = both.pivot(index=_KEY, columns="std", values="value")
        wide["__suspect"] = both.groupby(_KEY)["suspect"].any()
        return wide

    def _evaluate(self, wide: pd.DataFrame) -> dict[str, pd.Series]:
        cols = _Resolver(wide)
        period = pd.Series(wide.index.get_level_values("granularity_s"), index=wide.index)
        out: dict[str, pd.Series] = {}
        for name, bins in self.distributions.items():
            count, mean = _distribution(wide, name, bins)
            if count is not None:
                out[f"{name}.count"], out[f"{name}.mean"] = count, mean
                cols.add(f"{name}.count", count)
                cols.add(f"{name}.mean", mean)
        for name, formulas in self.kpis.items():
            value = pd.Series(np.nan, index=wide.index)
            for formula in formulas:
                value = value.fillna(formula.evaluate(cols, period.astype(float)))
            if name in wide.columns:  # objects that report the KPI itself keep theirs
                value = value.where(wide[name].isna())
            out[name] = value
        return out


class _Resolver:
    """A counter name's column: itself, its ``.sum``, or the sum of its sub-counters."""

    def __init__(self, wide: pd.DataFrame) -> None:
        self.wide = wide
        self.extra: dict[str, pd.Series] = {}
        self.cache: dict[str, pd.Series] = {}

    def add(self, name: str, series: pd.Series) -> None:
        self.extra[name] = series

    def __call__(self, name: str) -> pd.Series:
        if name in self.extra:
            return self.extra[name]
        if name not in self.cache:
            self.cache[name] = self._find(name)
        return self.cache[name]

    def _find(self, name: str) -> pd.Series:
        """Per row: the counter, else its ``.sum``, else the sum of its sub-counters."""
        w = self.wide
        out = pd.Series(np.nan, index=w.index)
        for exact in (name, f"{name}.sum"):
            if exact in w.columns:
                out = out.fillna(w[exact].astype(float))
        prefix = name + "."
        subs = [c for c in w.columns if c.startswith(prefix) and c != f"{name}.sum"]
        subs = [c for c in subs if BIN not in c]
        if subs:
            out = out.fillna(w[subs].astype(float).sum(axis=1, min_count=1))
        return out


def _distribution(
    wide: pd.DataFrame, name: str, bins: np.ndarray
) -> tuple[pd.Series | None, pd.Series | None]:
    cols = [f"{name}{BIN}{i}" for i in range(len(bins))]
    if cols[0] not in wide.columns:
        return None, None
    present = [c for c in cols if c in wide.columns]
    values = wide[present].to_numpy(float)
    count = np.nansum(values, axis=1)
    weighted = np.nansum(values * bins[: len(present)], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(count > 0, weighted / count, np.nan)
    return pd.Series(count, index=wide.index), pd.Series(mean, index=wide.index)


def _append(out: KpiColumns, wide: pd.DataFrame, name: str, series: pd.Series) -> None:
    ok = series.notna().to_numpy()
    if not ok.any():
        return
    idx = wide.index[ok]
    out.managed_object.extend(idx.get_level_values(0).tolist())
    out.measurement.extend([name] * int(ok.sum()))
    out.value.extend(series.to_numpy(float)[ok].tolist())
    out.period_end_ns.extend(idx.get_level_values(1).astype("int64").tolist())
    out.granularity_s.extend(idx.get_level_values(2).astype(int).tolist())
    out.suspect.extend(wide["__suspect"].to_numpy(bool)[ok].tolist())


def load_mapping(paths: Iterable[str | Path] = (), *, shipped: bool = True) -> KpiMapping:
    """The shipped mapping extended by users' TOML files (later files win)."""
    mapping = KpiMapping()
    if shipped:
        text = resources.files("twinrca.ingest").joinpath("data", SHIPPED).read_text()
        mapping.update(tomllib.loads(text), f"(shipped) {SHIPPED}")
    for path in paths:
        p = Path(path)
        try:
            doc = tomllib.loads(p.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read KPI mapping {p}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"KPI mapping {p}: not UTF-8 text (byte {exc.start})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"KPI mapping {p}: not TOML: {exc}") from None
        mapping.update(doc, str(p))
    return mapping
