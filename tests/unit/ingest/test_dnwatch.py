"""The ingest worker's DN index follows the stored topology (saved or changed later)."""

from __future__ import annotations

import json
from pathlib import Path

from twinrca.core.topology import ElementKind, Topology
from twinrca.ingest.dnwatch import TopologyWatch
from twinrca.ingest.vendor import Normaliser
from twinrca.store import open_store
from twinrca.twin_replay.network import generate_topology

DN = "SubNetwork=RAN,ManagedElement=gnb1,GNBDUFunction=1,NRCellDU=1"


def _topology(tmp_path: Path, cell_index: int) -> tuple[Topology, str]:
    topo = generate_topology(10, seed=1)
    path = tmp_path / f"topology{cell_index}.json"
    topo.to_json(path)
    doc = json.loads(path.read_text())
    cell = topo.ids(ElementKind.CELL)[cell_index]
    doc["dns"] = {DN: cell}
    path.write_text(json.dumps(doc))
    return Topology.from_json(path), cell


def test_topology_saved_after_start_resolves_later_names(tmp_path: Path) -> None:
    store = open_store("embedded", path=tmp_path / "s.duckdb", tenant="t")
    store.migrate()
    norm = Normaliser()
    watch = TopologyWatch(store, norm, every_s=10.0)
    assert watch.check(now=0.0)  # first look: no topology yet, names stay as they come
    assert norm._element(DN) == DN
    topo, cell = _topology(tmp_path, 0)
    store.save_topology(topo)
    assert not watch.check(now=5.0)  # not due yet
    assert norm._element(DN) == DN
    assert watch.check(now=10.0)
    assert norm._element(DN) == cell
    assert not watch.check(now=20.0)  # unchanged topology: index kept
    moved, other = _topology(tmp_path, 1)  # the DN now names another cell
    store.save_topology(moved)
    assert watch.check(now=30.0)
    assert other != cell and norm._element(DN) == other
    store.close()
