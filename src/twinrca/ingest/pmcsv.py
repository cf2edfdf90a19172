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
import re
from collections.abc import Iterator
from typing import Any

from twinrca.core.errors import ValidationError
from twinrca.ingest.columns import KpiColumns
from twinrca.ingest.decode import MAX_NAME, time_ns
from twinrca.ingest.pmvalues import number as _number

__all__ = ["FIELD_LIMIT", "decode_pm_csv", "is_pm_csv_header"]

#: the longest CSV cell read (characters); a longer one costs its row only
FIELD_LIMIT = 1 << 20

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


_ESCAPED = re.compile("[\udc80-\udcff]")


def _bad_encoding(cells: list[str]) -> bool:
    """Cells holding bytes that were not UTF-8 (decoded with ``surrogateescape``)."""
    return any(_ESCAPED.search(c) for c in cells)


def _rows(reader: Any) -> Iterator[tuple[int, list[str] | None, str]]:
    """``(line, cells, "")`` per row, or ``(line, None, message)`` for a row the csv module
    refuses (a NUL byte, a cell over :data:`FIELD_LIMIT`); reading goes on after it."""
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, None, str(exc)
            continue
        yield reader.line_num, cells, ""


def decode_pm_csv(text: str, out: KpiColumns) -> Iterator[tuple[int, str, ValidationError]]:
    """Append every valid row to ``out``; yield ``(line, raw_line, error)`` for the others.

    ``text`` may hold bytes that were not UTF-8 as surrogates (``surrogateescape``): a
    row with any is refused (``bad_encoding``), as the JSON and syslog decoders refuse
    such bytes; a header with any refuses the file.
    """
    csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError("empty", "CSV without a header") from None
    except csv.Error as exc:
        raise ValidationError("bad_csv", f"CSV header unreadable: {exc}") from None
    if _bad_encoding(header):
        raise ValidationError("bad_encoding", "CSV header is not UTF-8")
    keys = _keys(header)
    if not is_pm_csv_header(header):
        raise ValidationError("bad_csv", "CSV header needs managed_object and period_end")
    long = "measurement" in keys and "value" in keys
    extra = [i for i, k in enumerate(keys) if k not in _ALIASES.values()]
    for line, maybe_cells, problem in _rows(reader):
        if maybe_cells is None:
            yield line, "", ValidationError("bad_csv", f"line {line}: {problem}", line=line)
            continue
        cells_list = maybe_cells
        if not any(c.strip() for c in cells_list):
            continue
        try:
            if _bad_encoding(cells_list):
                raise ValidationError("bad_encoding", f"line {line}: bytes that are not UTF-8")
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
