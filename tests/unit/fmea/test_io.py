"""CSV and Excel round trips of the FMEA table."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinrca.core.errors import ValidationError
from twinrca.fmea import (
    ActionPriorityTable,
    CriticalityMatrix,
    assess,
    current_rows,
    export_table,
    import_table,
)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip(tmp_path: Path, suffix: str) -> None:
    rows = current_rows()
    rows[0] = rows[0].with_ratings(severity=10, detection=7)
    path = export_table(
        assess(rows),
        tmp_path / f"fmea{suffix}",
        ap_table=ActionPriorityTable.default(),
        matrix=CriticalityMatrix.default(),
    )
    back = import_table(path)
    assert back == rows
    assert any(r.causes and r.detection_controls for r in back)


def test_xlsx_has_reference_sheets(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = export_table(
        assess(current_rows()),
        tmp_path / "f.xlsx",
        ap_table=ActionPriorityTable.default(),
        matrix=CriticalityMatrix.default(),
    )
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["FMEA", "AP table", "Criticality"]


def test_hand_written_csv_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text('mode_id,severity,occurrence,detection,causes\nFM-X,7,3,4,"a\nb"\n')
    (row,) = import_table(path)
    assert (row.severity, row.occurrence, row.detection, row.causes) == (7, 3, 4, ("a", "b"))
    path.write_text("mode_id,severity,occurrence,detection\nFM-X,11,3,4\n")
    with pytest.raises(ValidationError, match="row 2"):
        import_table(path)
    path.write_text("mode_id,severity\nFM-X,3\n")
    with pytest.raises(ValidationError, match="lacks columns"):
        import_table(path)
    with pytest.raises(ValidationError, match=r"\.csv or \.xlsx"):
        import_table(tmp_path / "table.ods")
