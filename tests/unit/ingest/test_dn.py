"""DN-named measured objects to topology elements."""

from __future__ import annotations

import json
from pathlib import Path

from twinrca.core.dn import DnIndex
from twinrca.core.topology import Element, ElementKind, Topology

CELL_DN = "SubNetwork=RAN,ManagedElement=gnb7,GNBDUFunction=1,NRCellDU=32"


def _index() -> DnIndex:
    return DnIndex(
        [
            ("cell:7-32", {"dn": CELL_DN}),
            ("cell:8-32", {"dn": "SubNetwork=RAN,ManagedElement=gnb8,GNBDUFunction=1,NRCellDU=32"}),
            ("ManagedElement=gnb9", {}),  # an element id that is a DN itself
        ]
    )


def test_full_local_and_longer_dns_resolve() -> None:
    idx = _index()
    assert idx.resolve("cell:7-32") == "cell:7-32"
    assert idx.resolve(CELL_DN) == "cell:7-32"
    assert idx.resolve("ManagedElement=gnb7, GNBDUFunction=1, NRCellDU=32") == "cell:7-32"
    assert idx.resolve(f"DC=op.example,{CELL_DN}") == "cell:7-32"
    assert idx.resolve("SubNetwork=X,ManagedElement=gnb9") == "ManagedElement=gnb9"


def test_shared_or_too_short_suffixes_name_nothing() -> None:
    idx = _index()
    assert idx.resolve("GNBDUFunction=1,NRCellDU=32") is None  # both cells end so
    assert idx.resolve("NRCellDU=32") is None
    assert idx.resolve("ManagedElement=gnb6,GNBDUFunction=1,NRCellDU=32") is None


def test_topology_file_maps_dns_to_ids(tmp_path: Path) -> None:
    topo = Topology([Element("site:1", ElementKind.SITE), Element("cell:1", ElementKind.CELL)],
                    [("site:1", "cell:1")])  # fmt: skip
    path = tmp_path / "t.json"
    topo.to_json(path)
    doc = json.loads(path.read_text())
    doc["dns"] = {CELL_DN: "cell:1"}
    path.write_text(json.dumps(doc))
    loaded = Topology.from_json(path)
    assert DnIndex.of(loaded).resolve(CELL_DN) == "cell:1"
    assert loaded.element("cell:1").attrs["dn"] == [CELL_DN]
