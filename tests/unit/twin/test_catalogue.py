from __future__ import annotations

import pytest

from twinrca.core.errors import NotFound
from twinrca.core.topology import ElementKind
from twinrca.fmea.catalogue import load_catalogue


def test_catalogue_has_the_required_modes() -> None:
    cat = load_catalogue()
    assert len(cat) >= 15
    for mode_id in (
        "FM-PWR-MAINS",
        "FM-PWR-BATTERY",
        "FM-TX-FIBRE-CUT",
        "FM-TX-MW-FADING",
        "FM-TX-CONGESTION",
        "FM-RAN-BOARD",
        "FM-RAN-RU",
        "FM-RAN-VSWR",
        "FM-SW-MEMLEAK",
        "FM-SW-CRASH",
        "FM-CFG-HO",
        "FM-CFG-TILT",
        "FM-CFG-PCI",
        "FM-EXT-INTERF",
        "FM-CORE-OVERLOAD",
        "FM-ENV-TEMP",
    ):
        mode = cat.mode(mode_id)
        assert mode.alarms, mode_id
        assert mode.remediations, mode_id
        assert 1 <= mode.severity <= 10


def test_lookup_by_kind_and_followers() -> None:
    cat = load_catalogue()
    cells = {m.id for m in cat.by_kind(ElementKind.CELL)}
    assert "FM-RAN-VSWR" in cells and "FM-PWR-MAINS" not in cells
    assert [m.id for m in cat.followers("FM-PWR-MAINS")] == ["FM-PWR-BATTERY"]
    assert cat.mode("FM-SW-MEMLEAK").onset.profile == "gradual"
    with pytest.raises(NotFound):
        cat.mode("FM-NOPE")


def test_correct_remediation_depends_on_the_root() -> None:
    cat = load_catalogue()
    assert (
        cat.correct_remediation("FM-TX-FIBRE-CUT", {"standby_path": True}) == "RA-SWITCH-PROTECTION"
    )
    assert cat.correct_remediation("FM-TX-FIBRE-CUT", {}) == "RA-DISPATCH-FIELD"
    assert len(cat.to_frame()) == len(cat)
