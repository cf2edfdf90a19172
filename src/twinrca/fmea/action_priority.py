"""Action Priority (H / M / L) from an editable table of S, O and D bands.

The table is data: a CSV with columns ``severity, occurrence, detection, ap, rationale``
where each of the first three is a band (``"9-10"`` or ``"1"``). Every (S, O, D) triple
in 1..10 must fall in exactly one row. The packaged default
(``data/action_priority_default.csv``) is TwinRCA's own, documented in ``docs/fmea.md``;
it is *not* the AIAG-VDA table. Users load theirs with
:meth:`ActionPriorityTable.from_csv`.
"""

from __future__ import annotations

import csv
import enum
import itertools
from dataclasses import dataclass
from pathlib import Path

from twinrca.core.errors import ValidationError
from twinrca.fmea.ratings import check_rating, read_csv_rows, severity_meaning

__all__ = ["ActionPriorityTable", "ApResult", "ApRule", "Priority", "parse_band"]

_COLUMNS = ("severity", "occurrence", "detection", "ap", "rationale")


class Priority(enum.StrEnum):
    """A three-level priority, used by Action Priority and the criticality matrix."""

    HIGH = "H"
    MEDIUM = "M"
    LOW = "L"

    @property
    def rank(self) -> int:
        """2 for H, 1 for M, 0 for L (sort key: higher is more urgent)."""
        return {"H": 2, "M": 1, "L": 0}[self.value]

    @classmethod
    def parse(cls, value: str) -> Priority:
        text = str(value).strip().upper()[:1]
        try:
            return cls(text)
        except ValueError as exc:
            raise ValidationError(
                "bad_priority", f"priority must be H, M or L, not {value!r}"
            ) from exc


def parse_band(text: str, field: str = "band") -> tuple[int, int]:
    """``"9-10"`` -> (9, 10); ``"1"`` -> (1, 1)."""
    parts = str(text).replace(" ", "").split("-")
    if len(parts) not in (1, 2):
        raise ValidationError("bad_band", f"{field} band {text!r} is not 'N' or 'N-M'")
    lo, hi = check_rating(parts[0], field), check_rating(parts[-1], field)
    if lo > hi:
        raise ValidationError("bad_band", f"{field} band {text!r} runs backwards")
    return lo, hi


def _band_text(band: tuple[int, int]) -> str:
    return str(band[0]) if band[0] == band[1] else f"{band[0]}-{band[1]}"


@dataclass(frozen=True, slots=True)
class ApRule:
    """One row of the table: bands of S, O and D and the priority they get."""

    severity: tuple[int, int]
    occurrence: tuple[int, int]
    detection: tuple[int, int]
    ap: Priority
    rationale: str

    def matches(self, s: int, o: int, d: int) -> bool:
        return (
            self.severity[0] <= s <= self.severity[1]
            and self.occurrence[0] <= o <= self.occurrence[1]
            and self.detection[0] <= d <= self.detection[1]
        )


@dataclass(frozen=True, slots=True)
class ApResult:
    """The priority of one (S, O, D) and why."""

    ap: Priority
    reason: str
    rule: ApRule


class ActionPriorityTable:
    """A complete lookup (S, O, D) -> :class:`ApResult`."""

    def __init__(self, rules: list[ApRule], *, source: str = "") -> None:
        self.rules = tuple(rules)
        self.source = source
        self._lookup: dict[tuple[int, int, int], ApRule] = {}
        for s, o, d in itertools.product(range(1, 11), repeat=3):
            hits = [r for r in self.rules if r.matches(s, o, d)]
            if len(hits) != 1:
                problem = "no row covers" if not hits else f"{len(hits)} rows cover"
                raise ValidationError(
                    "incomplete_ap_table", f"{problem} S={s} O={o} D={d}", source=source
                )
            self._lookup[(s, o, d)] = hits[0]

    @classmethod
    def from_csv(cls, path: str | Path) -> ActionPriorityTable:
        """Load a table (see the module docstring for the columns)."""
        rows = read_csv_rows(path, _COLUMNS[:4])
        rules = [
            ApRule(
                severity=parse_band(r["severity"], "severity"),
                occurrence=parse_band(r["occurrence"], "occurrence"),
                detection=parse_band(r["detection"], "detection"),
                ap=Priority.parse(r["ap"]),
                rationale=(r.get("rationale") or "").strip(),
            )
            for r in rows
        ]
        return cls(rules, source=str(path))

    @classmethod
    def default(cls) -> ActionPriorityTable:
        """TwinRCA's documented default (severity weighs most; see docs/fmea.md)."""
        table = cls.from_csv("pkg:action_priority_default.csv")
        table.source = "default"
        return table

    def to_csv(self, path: str | Path) -> None:
        with Path(path).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(_COLUMNS)
            for r in self.rules:
                writer.writerow(
                    [
                        _band_text(r.severity),
                        _band_text(r.occurrence),
                        _band_text(r.detection),
                        r.ap.value,
                        r.rationale,
                    ]
                )

    def priority(self, severity: int, occurrence: int, detection: int) -> Priority:
        return self.assess(severity, occurrence, detection).ap

    def assess(self, severity: int, occurrence: int, detection: int) -> ApResult:
        """Priority and a one-line reason naming the ratings and the band rule."""
        s = check_rating(severity, "severity")
        o = check_rating(occurrence, "occurrence")
        d = check_rating(detection, "detection")
        rule = self._lookup[(s, o, d)]
        reason = (
            f"S={s} ({severity_meaning(s)}), O={o} (band {_band_text(rule.occurrence)}), "
            f"D={d} (band {_band_text(rule.detection)})"
        )
        if rule.rationale:
            reason = f"{reason}: {rule.rationale}"
        return ApResult(rule.ap, reason, rule)
