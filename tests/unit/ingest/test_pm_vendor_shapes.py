"""PM files of the shapes real vendors write: both standards, distribution counters,
a stylesheet line before the XML declaration, gzip, suspect flags, DN-named objects,
mixed granularities; a bad value costs that value only."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from twinrca.core.errors import ValidationError
from twinrca.core.vendor_wire import pm_file_xml
from twinrca.ingest.files import dead_letter_file_sink, ingest_files
from twinrca.ingest.pmxml import read_pm_xml
from twinrca.store import open_store

END = datetime(2024, 6, 3, 12, 15, tzinfo=UTC)
DN = "SubNetwork=RAN,MeContext=gnb7"
CELL = "ManagedElement=gnb7,GNBDUFunction=1,NRCellDU=32"


def _objects() -> dict[str, dict[str, object]]:
    return {
        CELL: {
            "RRC.ConnEstabAtt": 200,
            "RRC.ConnEstabSucc": 190,
            "DRB.UEThpDl.Dist": [0, 0, 3, 12, 0],
            "pmVendorThing": 7,
        },
        "ManagedElement=gnb7,GNBDUFunction=1,NRCellDU=33": {"RRC.ConnEstabAtt": None},
    }


@pytest.mark.parametrize("root", ["measCollecFile", "measDataFile"])
def test_both_standards_read_with_bins_dns_and_periods(root: str) -> None:
    data = pm_file_xml(_objects(), END, 60, dn_prefix=DN, root=root, suspect=[CELL])
    pm = read_pm_xml(data)
    rows = {
        (mo, m): (v, g, s)
        for mo, m, v, g, s in zip(
            pm.kpis.managed_object,
            pm.kpis.measurement,
            pm.kpis.value,
            pm.kpis.granularity_s,
            pm.kpis.suspect,
            strict=True,
        )
    }
    full = f"{DN},{CELL}"
    assert rows[(full, "RRC.ConnEstabSucc")] == (190.0, 60, True)
    assert [rows[(full, f"DRB.UEThpDl.Dist.bin{i}")][0] for i in range(5)] == [0, 0, 3, 12, 0]
    assert (full, "DRB.UEThpDl.Dist.bin5") not in rows  # the trailing comma is no bin
    assert len(rows) == 8  # NIL is not available: not stored, not refused
    assert pm.multi_valued == 1 and pm.rejected == [] and pm.warnings == []
    assert set(pm.kpis.period_end_ns) == {int(END.timestamp()) * 10**9}


def test_stylesheet_before_the_declaration_is_a_warning_not_a_refusal() -> None:
    data = pm_file_xml(_objects(), END, dn_prefix=DN, stylesheet_first=True)
    with pytest.raises(ET.ParseError):  # the parser alone refuses it
        ET.fromstring(data)
    pm = read_pm_xml(data)
    assert len(pm.kpis) == 8
    assert len(pm.warnings) == 1 and "xml-stylesheet" in pm.warnings[0]


def test_a_bad_value_costs_that_value_only_and_is_dead_lettered(tmp_path: Path) -> None:
    objects = _objects()
    objects[CELL]["RRC.ConnEstabSucc"] = "abc"
    objects[CELL]["DRB.UEThpDl.Dist"] = "1,x,3,"
    folder = tmp_path / "pm"
    folder.mkdir()
    data = pm_file_xml(objects, END, dn_prefix=DN)
    (folder / "A1.xml.gz").write_bytes(gzip.compress(data))
    (folder / "broken.xml").write_bytes(b"<measCollecFile>")
    sink, dead_path = dead_letter_file_sink(tmp_path / "dead.jsonl")
    store = open_store("embedded", path=None, tenant="t")
    store.migrate()
    result = ingest_files([folder], store, dead_letters=sink, log_templates=False)
    stored = store.read_kpis()
    full = f"{DN},{CELL}"
    assert set(stored.loc[stored.managed_object == full, "measurement"]) == {
        "RRC.ConnEstabAtt",
        "pmVendorThing",
    }
    letters = [orjson.loads(x) for x in dead_path.read_bytes().splitlines()]
    by_counter = {(d.get("object"), d.get("counter")): d for d in letters}
    assert set(by_counter) == {
        (full, "RRC.ConnEstabSucc"),
        (full, "DRB.UEThpDl.Dist"),
        (None, None),
    }
    assert by_counter[(full, "RRC.ConnEstabSucc")]["reason"] == "bad_value"
    assert by_counter[(full, "RRC.ConnEstabSucc")]["source"]["topic"].endswith("A1.xml.gz")
    assert by_counter[(None, None)]["reason"] == "xml_malformed"  # not XML: refused whole
    assert result.dead_letters_by_reason() == {"bad_value": 2, "xml_malformed": 1}


def test_bad_granularity_costs_its_meas_info_only() -> None:
    good = pm_file_xml({CELL: {"a": 1.0}}, END)
    bad = good.replace(b'duration="PT900S"', b'duration="P0D"')
    pm = read_pm_xml(bad)
    assert len(pm.kpis) == 0 and [r.error.reason for r in pm.rejected] == ["bad_value"]
    with pytest.raises(ValidationError) as err:
        read_pm_xml(b"<foo/>")
    assert err.value.reason == "not_meas_collec"
