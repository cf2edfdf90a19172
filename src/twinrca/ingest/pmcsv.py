"""CSV PM exports into KPI columns, one row at a time so a bad row rejects only itself.

Two layouts, recognised from the header (names case-insensitive):

* long: ``managed_object`` (or ``measObjLdn``), ``measurement`` (or ``measType``),
  ``value``, ``period_end`` (or ``endTime``), optional ``granularity_s``, ``suspect``;
* wide: ``managed_object``, ``period_end``, optional ``granularity_s`` / ``suspect``,
  and one column per measurement type.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from twinrca.core.errors import ValidationError
from twinrca.ingest.columns import KpiColumns
from twinrca.ingest.decode import MAX_NAME, time_ns
from twinrca.ingest.pmvalues import number as _number

__all__ = ["decode_pm_csv", "is_pm_csv_header"]

_ALIASES = {
    "managed_object": "managed_object",
    "measobjldn": "managed_object",
    "object": "managed_object",
    "measurement": "measurement",
    "meastype": "measurement",
    "value": "value",
    "period_end": "period_end",
    "endtime": "period_end",
    "time": "period_end",
    "granularity_s": "granularity_s",
    "granularity": "granularity_s",
    "suspect": "suspect",
}
_TRUE = {"1", "true", "yes", "t", "y"}


def _row(
    cells: dict[str, str], measures: list[tuple[str, str]], out: KpiColumns, line: int
) -> None:
    mo = (cells.get("managed_object") or "").strip()
    if not mo or len(mo) > MAX_NAME:
        raise ValidationError("missing_field", f"line {line}: no managed_object", line=line)
    end_ns = time_ns((cells.get("period_end") or "").strip() or None, "period_end")
    gran_text = (cells.get("granularity_s") or "900").strip()
    if not gran_text.isdigit() or not 0 < int(gran_text) <= 31 * 86400:
        raise ValidationError("bad_value", f"line {line}: granularity_s {gran_text[:16]!r}")
    suspect = (cells.get("suspect") or "").strip().lower() in _TRUE
    names, values = [], []
    for name, raw in measures:
        number = _number(raw, f"line {line}")
        if number is not None:
            names.append(name)
            values.append(number)
    out.add_batch(mo, names, values, end_ns, int(gran_text), suspect)


def _keys(header: list[str]) -> list[str]:
    return [_ALIASES.get(h.strip().lower(), h.strip()) for h in header]


def is_pm_csv_header(header: list[str]) -> bool:
    """True when a CSV header has a PM export layout (long or wide)."""
    keys = _keys(header)
    return "managed_object" in keys and "period_end" in keys


def decode_pm_csv(text: str, out: KpiColumns) -> Iterator[tuple[int, str, ValidationError]]:
    """Append every valid row to ``out``; yield ``(line, raw_line, error)`` for the others."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError("empty", "CSV without a header") from None
    keys = _keys(header)
    if not is_pm_csv_header(header):
        raise ValidationError("bad_csv", "CSV header needs managed_object and period_end")
    long = "measurement" in keys and "value" in keys
    extra = [i for i, k in enumerate(keys) if k not in _ALIASES.values()]
    for cells_list in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells_list):
            continue
        try:
            if len(cells_list) != len(keys):
                raise ValidationError(
                    "bad_csv",
                    f"line {line}: {len(cells_list)} cells for {len(keys)} columns",
                    line=line,
                )
            cells = dict(zip(keys, cells_list, strict=True))
            if long:
                name = cells["measurement"].strip()
                if not name:
                    raise ValidationError("missing_field", f"line {line}: no measurement")
                measures = [(name, cells["value"])]
            else:
                measures = [(keys[i], cells_list[i]) for i in extra]
            _row(cells, measures, out, line)
        except ValidationError as exc:
            yield line, ",".join(cells_list), exc
