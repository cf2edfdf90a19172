"""IEC 60812 criticality matrix: severity x occurrence -> H / M / L zone.

The zones are data (``data/criticality_default.csv``: a ``severity`` column and
``o1`` .. ``o10``), editable like the Action Priority table.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from twinrca.core.errors import ValidationError
from twinrca.fmea.action_priority import Priority
from twinrca.fmea.ratings import check_rating, read_csv_rows

__all__ = ["CriticalityMatrix"]

_RANGE = range(1, 11)
_ZONE_NAMES = {Priority.HIGH: "high", Priority.MEDIUM: "medium", Priority.LOW: "low"}


@dataclass(frozen=True, slots=True)
class CriticalityMatrix:
    """A complete 10 x 10 grid of zones, keyed by (severity, occurrence)."""

    zones: dict[tuple[int, int], Priority]
    source: str = ""

    @classmethod
    def from_csv(cls, path: str | Path) -> CriticalityMatrix:
        columns = ["severity", *(f"o{o}" for o in _RANGE)]
        rows = read_csv_rows(path, columns)
        zones: dict[tuple[int, int], Priority] = {}
        for r in rows:
            s = check_rating(r["severity"], "severity")
            for o in _RANGE:
                zones[(s, o)] = Priority.parse(r[f"o{o}"])
        if len(zones) != 100:
            raise ValidationError(
                "incomplete_matrix", f"{path} must have one row per severity 1..10"
            )
        return cls(zones, source=str(path))

    @classmethod
    def default(cls) -> CriticalityMatrix:
        matrix = cls.from_csv("pkg:criticality_default.csv")
        return cls(matrix.zones, source="default")

    def to_csv(self, path: str | Path) -> None:
        with Path(path).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["severity", *(f"o{o}" for o in _RANGE)])
            for s in reversed(_RANGE):
                writer.writerow([s, *(self.zones[(s, o)].value for o in _RANGE)])

    def zone(self, severity: int, occurrence: int) -> Priority:
        return self.zones[
            (check_rating(severity, "severity"), check_rating(occurrence, "occurrence"))
        ]

    def reason(self, severity: int, occurrence: int) -> str:
        zone = self.zone(severity, occurrence)
        return f"S={severity} x O={occurrence} lies in the {_ZONE_NAMES[zone]} zone"

    def counts(self, cells: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
        """How many items fall on each (severity, occurrence) cell."""
        out: dict[tuple[int, int], int] = {}
        for s, o in cells:
            out[(s, o)] = out.get((s, o), 0) + 1
        return out
