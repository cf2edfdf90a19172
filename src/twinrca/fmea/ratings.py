"""Severity, occurrence and detection scales (1..10) as editable band tables.

What the ratings mean in this product:

- **S**everity: service impact (subscribers affected, SLA, emergency service);
  ``data/severity_scale.csv``.
- **O**ccurrence: observed incidents per element-year, or a predicted probability over a
  horizon turned into a rate; ``data/occurrence_bands_default.csv`` maps the rate to 1..10.
- **D**etection: how well monitoring and prediction catch the mode. The share of incidents
  of the mode that raised an alarm or KPI anomaly gives a base rating
  (``data/detection_coverage_default.csv``); a median prediction lead time earns a credit
  (``data/detection_lead_default.csv``). 1 = certain, early detection; 10 = undetected.

Every table can be replaced by a user CSV of the same columns (``from_csv``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from twinrca.core.errors import ValidationError

__all__ = [
    "RATING_FIELDS",
    "DetectionBands",
    "OccurrenceBands",
    "check_rating",
    "read_csv_rows",
    "rpn",
    "severity_meaning",
]

RATING_FIELDS = ("severity", "occurrence", "detection")
_MIN, _MAX = 1, 10


def check_rating(value: object, field: str = "rating") -> int:
    """Return ``value`` as an int in 1..10 or raise :class:`ValidationError`."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValidationError("bad_rating", f"{field} must be a number 1..10", value=value) from exc
    if not number.is_integer() or not _MIN <= number <= _MAX:
        raise ValidationError("bad_rating", f"{field} must be an integer 1..10", value=value)
    return int(number)


def rpn(severity: int, occurrence: int, detection: int) -> int:
    """Classic risk priority number S x O x D (1..1000)."""
    return (
        check_rating(severity, "severity")
        * check_rating(occurrence, "occurrence")
        * check_rating(detection, "detection")
    )


def read_csv_rows(source: str | Path, required: Iterable[str]) -> list[dict[str, str]]:
    """Rows of a CSV file (``source`` a path) or of a packaged file (``"pkg:NAME"``)."""
    if isinstance(source, str) and source.startswith("pkg:"):
        text = resources.files("twinrca.fmea").joinpath("data", source[4:]).read_text("utf-8")
    else:
        try:
            text = Path(source).read_text("utf-8-sig")
        except OSError as exc:
            raise ValidationError("unreadable_file", f"cannot read {source}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ValidationError(
                "unreadable_file", f"{source}: not UTF-8 text (byte {exc.start})"
            ) from exc
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise ValidationError("unreadable_file", f"{source}: not a readable CSV: {exc}") from exc
    missing = set(required) - set(rows[0] if rows else {})
    if missing:
        raise ValidationError("missing_columns", f"{source} lacks columns {sorted(missing)}")
    return rows


def _float(row: Mapping[str, str], column: str, source: object) -> float:
    try:
        return float(row[column])
    except (TypeError, ValueError) as exc:
        raise ValidationError("bad_number", f"{source}: {column}={row[column]!r}") from exc


def _severity_scale() -> dict[int, str]:
    rows = read_csv_rows("pkg:severity_scale.csv", ("rating", "meaning"))
    return {int(r["rating"]): r["meaning"] for r in rows}


_SEVERITY = _severity_scale()


def severity_meaning(severity: int) -> str:
    """What a severity rating means for subscribers (from ``severity_scale.csv``)."""
    return _SEVERITY[check_rating(severity, "severity")]


@dataclass(frozen=True, slots=True)
class OccurrenceBands:
    """Incident rate (per element-year) -> occurrence rating; highest matching band wins."""

    bands: tuple[tuple[int, float, str], ...]  # (rating, min_per_element_year, meaning)

    @classmethod
    def from_csv(cls, source: str | Path) -> OccurrenceBands:
        rows = read_csv_rows(source, ("rating", "min_per_element_year", "meaning"))
        bands = tuple(
            (check_rating(r["rating"]), _float(r, "min_per_element_year", source), r["meaning"])
            for r in rows
        )
        mins = sorted(b[1] for b in bands)
        if not bands or mins[0] != 0:
            raise ValidationError("bad_bands", f"{source}: one band must start at 0")
        ordered = sorted(bands, key=lambda b: b[1])
        if [b[0] for b in ordered] != sorted(b[0] for b in bands) or len(set(mins)) != len(mins):
            raise ValidationError("bad_bands", f"{source}: ratings must rise with the rate")
        return cls(tuple(ordered))

    @classmethod
    def default(cls) -> OccurrenceBands:
        return cls.from_csv("pkg:occurrence_bands_default.csv")

    def rating_for_rate(self, per_element_year: float) -> int:
        """Occurrence rating of an incident rate (incidents per element-year)."""
        if not per_element_year >= 0:
            raise ValidationError("bad_rate", "rate must be >= 0", rate=per_element_year)
        return max(r for r, lo, _ in self.bands if per_element_year >= lo)

    def rating_for_probability(self, probability: float, horizon_days: float) -> int:
        """Occurrence rating of a predicted per-element probability over a horizon.

        The probability is turned into a Poisson rate ``-ln(1 - p) / horizon_years``.
        """
        if not 0 <= probability <= 1 or not horizon_days > 0:
            raise ValidationError(
                "bad_probability",
                "need 0 <= p <= 1 and horizon_days > 0",
                probability=probability,
                horizon_days=horizon_days,
            )
        if probability >= 1:
            return self.bands[-1][0]
        rate = -math.log1p(-probability) / (horizon_days / 365.25)
        return self.rating_for_rate(rate)

    def meaning(self, rating: int) -> str:
        return next((m for r, _, m in self.bands if r == rating), "")


@dataclass(frozen=True, slots=True)
class DetectionBands:
    """Monitoring coverage and prediction lead time -> detection rating (1 best)."""

    coverage: tuple[tuple[int, float, str], ...]  # (rating, min_coverage, meaning)
    lead: tuple[tuple[float, int, str], ...]  # (min_median_lead_min, credit, meaning)

    @classmethod
    def from_csv(cls, coverage: str | Path, lead: str | Path) -> DetectionBands:
        cov_rows = read_csv_rows(coverage, ("rating", "min_coverage", "meaning"))
        cov = tuple(
            (check_rating(r["rating"]), _float(r, "min_coverage", coverage), r["meaning"])
            for r in cov_rows
        )
        if not cov or min(c[1] for c in cov) != 0:
            raise ValidationError("bad_bands", f"{coverage}: one band must start at coverage 0")
        lead_rows = read_csv_rows(lead, ("min_median_lead_min", "credit", "meaning"))
        credits = tuple(
            (_float(r, "min_median_lead_min", lead), int(_float(r, "credit", lead)), r["meaning"])
            for r in lead_rows
        )
        return cls(
            tuple(sorted(cov, key=lambda c: -c[1])), tuple(sorted(credits, key=lambda c: -c[0]))
        )

    @classmethod
    def default(cls) -> DetectionBands:
        return cls.from_csv("pkg:detection_coverage_default.csv", "pkg:detection_lead_default.csv")

    def rating_for(self, coverage: float, median_lead_min: float | None = None) -> int:
        """Base rating from coverage (0..1) minus the credit of the median lead time."""
        if not 0 <= coverage <= 1:
            raise ValidationError("bad_coverage", "coverage must be in 0..1", coverage=coverage)
        base = next(r for r, lo, _ in self.coverage if coverage >= lo)
        return max(_MIN, base - self.lead_credit(median_lead_min))

    def lead_credit(self, median_lead_min: float | None) -> int:
        if median_lead_min is None or math.isnan(median_lead_min):
            return 0
        return next((c for lo, c, _ in self.lead if median_lead_min >= lo), 0)
