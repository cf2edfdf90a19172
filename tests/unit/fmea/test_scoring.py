"""RPN, Action Priority and criticality on known values; the editable AP table."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from twinrca.core.errors import ValidationError
from twinrca.fmea import (
    ActionPriorityTable,
    CriticalityMatrix,
    FmeaRow,
    Priority,
    assess,
    rpn,
    sort_assessed,
)


def _row(mode_id: str, s: int, o: int, d: int) -> FmeaRow:
    return FmeaRow(mode_id, mode_id, "test", "cell", "effect", ("cause",), (), ("alarm",), s, o, d)


def test_rpn_known_values_and_validation() -> None:
    assert rpn(9, 4, 1) == 36
    assert rpn(10, 10, 10) == 1000
    assert _row("x", 5, 5, 5).rpn == 125
    for bad in (0, 11, 2.5, "high"):
        with pytest.raises(ValidationError):
            rpn(bad, 1, 1)  # type: ignore[arg-type]


def test_default_ap_known_values_and_reason() -> None:
    table = ActionPriorityTable.default()
    result = table.assess(9, 4, 5)
    assert result.ap is Priority.HIGH
    assert result.reason.startswith("S=9 (loss of service to >1000 subscribers")
    assert "O=4 (band 4-5)" in result.reason and "D=5 (band 5-6)" in result.reason
    assert table.priority(1, 10, 10) is Priority.LOW
    assert table.priority(7, 8, 1) is Priority.HIGH
    assert table.priority(5, 4, 7) is Priority.MEDIUM
    assert table.priority(5, 4, 6) is Priority.LOW


def test_rpn_flaw_is_handled_by_ap() -> None:
    """S10 O1 D1 has RPN 10, far below S5 O5 D5 = 125; AP ranks it higher."""
    rare_severe, middling = _row("severe", 10, 1, 1), _row("middling", 5, 5, 5)
    assert rare_severe.rpn < middling.rpn
    items = assess([middling, rare_severe])
    by_id = {a.row.mode_id: a for a in items}
    assert by_id["severe"].ap.rank > by_id["middling"].ap.rank
    assert [a.row.mode_id for a in sort_assessed(items, "ap")] == ["severe", "middling"]
    assert [a.row.mode_id for a in sort_assessed(items, "rpn")] == ["middling", "severe"]


def test_default_ap_is_monotone_and_weighs_severity_most() -> None:
    table = ActionPriorityTable.default()
    grid = {k: table.priority(*k).rank for k in itertools.product(range(1, 11), repeat=3)}
    for (s, o, d), rank in grid.items():
        for step in ((1, 0, 0), (0, 1, 0), (0, 0, 1)):
            up = (s + step[0], o + step[1], d + step[2])
            if max(up) <= 10:
                assert grid[up] >= rank, (s, o, d, up)

    # severity the most weight: raising S by 5 lifts more triples than raising O or D by 5
    def lifted(axis: int) -> int:
        count = 0
        for k, rank in grid.items():
            up = list(k)
            up[axis] = min(10, up[axis] + 5)
            count += grid[tuple(up)] > rank
        return count

    assert lifted(0) > lifted(1) > 0 and lifted(0) > lifted(2)
    assert min(grid[(s, o, d)] for s in (9, 10) for o in range(1, 11) for d in range(1, 11)) >= 1


def test_ap_table_loaded_from_csv_changes_results(tmp_path: Path) -> None:
    default = ActionPriorityTable.default()
    path = tmp_path / "ap.csv"
    default.to_csv(path)
    text = path.read_text().replace("4-6,4-5,5-6,L,", "4-6,4-5,5-6,H,")
    path.write_text(text)
    custom = ActionPriorityTable.from_csv(path)
    row = _row("m", 5, 5, 5)
    assert assess([row], default)[0].ap is Priority.LOW
    assert assess([row], custom)[0].ap is Priority.HIGH
    assert ActionPriorityTable.from_csv(path).priority(5, 5, 4) is Priority.LOW  # untouched rows


def test_incomplete_or_overlapping_ap_table_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ap.csv"
    path.write_text("severity,occurrence,detection,ap,rationale\n1-10,1-10,1-9,L,x\n")
    with pytest.raises(ValidationError, match="no row covers S=1 O=1 D=10"):
        ActionPriorityTable.from_csv(path)
    path.write_text("severity,occurrence,detection,ap\n1-10,1-10,1-10,L\n5,5,5,H\n")
    with pytest.raises(ValidationError, match="2 rows cover"):
        ActionPriorityTable.from_csv(path)
    path.write_text("severity,occurrence,detection,ap\n1-10,1-10,1-10,X\n")
    with pytest.raises(ValidationError):
        ActionPriorityTable.from_csv(path)


def test_criticality_matrix_known_cells_and_csv(tmp_path: Path) -> None:
    matrix = CriticalityMatrix.default()
    assert matrix.zone(9, 4) is Priority.HIGH
    assert matrix.zone(9, 1) is Priority.MEDIUM
    assert matrix.zone(1, 10) is Priority.LOW
    assert "high zone" in matrix.reason(9, 4)
    path = tmp_path / "crit.csv"
    matrix.to_csv(path)
    assert CriticalityMatrix.from_csv(path).zones == matrix.zones
    for s, o in itertools.product(range(1, 10), range(1, 10)):
        assert matrix.zone(s + 1, o).rank >= matrix.zone(s, o).rank
        assert matrix.zone(s, o + 1).rank >= matrix.zone(s, o).rank


def test_side_by_side_on_the_packaged_catalogue() -> None:
    from twinrca.fmea import current_rows

    items = assess(current_rows())
    assert len(items) >= 12
    for a in items:
        assert a.rpn == a.row.severity * a.row.occurrence * a.row.detection
        assert a.ap_reason.startswith(f"S={a.row.severity} (")
        assert a.criticality_reason.startswith(f"S={a.row.severity} x O={a.row.occurrence}")


def test_public_surface_is_sorted_and_importable() -> None:
    import twinrca.fmea as fmea

    assert fmea.__all__ == sorted(fmea.__all__)
    assert all(hasattr(fmea, name) for name in fmea.__all__)
