"""Import and export the FMEA table as CSV or Excel (.xlsx, openpyxl).

Exported files carry the editable columns (effects, causes, controls, S/O/D) and the
computed ones (RPN, AP and its reason, criticality) side by side. List cells (causes,
controls, remediations) hold one item per line. On import the computed columns are
ignored and recomputed; only ``mode_id`` and the three ratings are required.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.fmea.action_priority import ActionPriorityTable
from twinrca.fmea.criticality import CriticalityMatrix
from twinrca.fmea.table import FRAME_COLUMNS, AssessedRow, FmeaRow, assessed_frame

__all__ = ["export_table", "import_table", "read_frame"]

_LIST_COLUMNS = ("causes", "prevention_controls", "detection_controls", "remediations")
_REQUIRED = ("mode_id", "severity", "occurrence", "detection")
_SHEET = "FMEA"


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationError("bad_format", f"{path.name}: use a .csv or .xlsx file")
    return suffix[1:]


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in _LIST_COLUMNS:
        out[col] = out[col].map(lambda items: "\n".join(items))
    return out


def export_table(
    items: Iterable[AssessedRow],
    path: str | Path,
    *,
    ap_table: ActionPriorityTable | None = None,
    matrix: CriticalityMatrix | None = None,
) -> Path:
    """Write the assessed table; an .xlsx also gets the AP table and the matrix as sheets."""
    path = Path(path)
    frame = _flat(assessed_frame(items))
    try:
        if _format(path) == "csv":
            frame.to_csv(path, index=False)
        else:
            _write_xlsx(frame, path, ap_table, matrix)
    except OSError as exc:
        raise ValidationError("unwritable_file", f"cannot write {path}: {exc}") from exc
    return path


def _write_xlsx(
    frame: pd.DataFrame,
    path: Path,
    ap_table: ActionPriorityTable | None,
    matrix: CriticalityMatrix | None,
) -> None:
    from openpyxl.styles import Alignment

    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name=_SHEET, index=False)
        sheet = writer.sheets[_SHEET]
        for cells in sheet.iter_rows(min_row=2):
            for cell in cells:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        for idx, col in enumerate(frame.columns, start=1):
            width = 12 if col in ("severity", "occurrence", "detection", "rpn", "ap") else 36
            sheet.column_dimensions[sheet.cell(1, idx).column_letter].width = width
        if ap_table is not None:
            _ap_frame(ap_table).to_excel(writer, sheet_name="AP table", index=False)
        if matrix is not None:
            _matrix_frame(matrix).to_excel(writer, sheet_name="Criticality", index=False)


def _ap_frame(table: ActionPriorityTable) -> pd.DataFrame:
    def band(b: tuple[int, int]) -> str:
        return str(b[0]) if b[0] == b[1] else f"{b[0]}-{b[1]}"

    return pd.DataFrame(
        [
            (band(r.severity), band(r.occurrence), band(r.detection), r.ap.value, r.rationale)
            for r in table.rules
        ],
        columns=["severity", "occurrence", "detection", "ap", "rationale"],
    )


def _matrix_frame(matrix: CriticalityMatrix) -> pd.DataFrame:
    return pd.DataFrame(
        [[s, *(matrix.zones[(s, o)].value for o in range(1, 11))] for s in range(10, 0, -1)],
        columns=["severity", *(f"o{o}" for o in range(1, 11))],
    )


def read_frame(path: str | Path) -> pd.DataFrame:
    """The raw table of a CSV or .xlsx file (all cells as text)."""
    path = Path(path)
    kind = _format(path)
    try:
        if kind == "csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, KeyError, UnicodeError) as exc:
        raise ValidationError("unreadable_file", f"cannot read {path}: {exc}") from exc
    return _read_xlsx(path)


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The FMEA sheet of a workbook. A corrupt one fails inside openpyxl with whatever
    its zip or XML layer raises (BadZipFile, an XML parse error, KeyError for a missing
    part, InvalidFileException ...): all of them mean the file cannot be read."""
    try:
        return pd.read_excel(path, sheet_name=_SHEET, dtype=str, engine="openpyxl").fillna("")
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # any failure of the reader is the file's
        raise ValidationError(
            "unreadable_file",
            f"cannot read {path} as an .xlsx workbook with a {_SHEET!r} sheet: "
            f"{type(exc).__name__}: {exc}",
        ) from exc


def _items(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in str(text).splitlines() if line.strip())


def _row(record: Mapping[str, str], line: int) -> FmeaRow:
    try:
        return FmeaRow(
            mode_id=record["mode_id"].strip(),
            name=record.get("name", ""),
            category=record.get("category", ""),
            element_kind=record.get("element_kind", ""),
            effects=record.get("effects", ""),
            causes=_items(record.get("causes", "")),
            prevention_controls=_items(record.get("prevention_controls", "")),
            detection_controls=_items(record.get("detection_controls", "")),
            severity=record["severity"],  # type: ignore[arg-type]
            occurrence=record["occurrence"],  # type: ignore[arg-type]
            detection=record["detection"],  # type: ignore[arg-type]
            remediations=_items(record.get("remediations", "")),
        )
    except ValidationError as exc:
        raise ValidationError(
            exc.reason, f"row {line}: {exc.message}", hint=exc.hint, **exc.context
        ) from exc


def import_table(path: str | Path) -> list[FmeaRow]:
    """Read FMEA rows from a CSV or .xlsx written by :func:`export_table` (or by hand)."""
    frame = read_frame(path)
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise ValidationError(
            "missing_columns",
            f"{path} lacks columns {missing}",
            hint=f"the columns are {', '.join(FRAME_COLUMNS)}",
        )
    rows = [_row(rec, i + 2) for i, rec in enumerate(frame.to_dict("records"))]
    ids = [r.mode_id for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValidationError("duplicate_id", f"{path} lists {dupes} more than once")
    return rows
