from __future__ import annotations

import pytest

from twinrca.core import Element, ElementKind, NotFound, Topology, ValidationError


def _small() -> Topology:
    """core -> agg -> {t1 -> s1 -> c1,c2 ; t2 -> s2 -> c3}; s3 protected by t1 and t2."""
    k = ElementKind
    els = [
        Element("core", k.CORE),
        Element("agg", k.TRANSPORT),
        Element("t1", k.TRANSPORT),
        Element("t2", k.TRANSPORT),
        Element("s1", k.SITE),
        Element("s2", k.SITE),
        Element("s3", k.SITE),
        Element("c1", k.CELL),
        Element("c2", k.CELL),
        Element("c3", k.CELL),
        Element("c4", k.CELL),
    ]
    feeds = [
        ("core", "agg"),
        ("agg", "t1"),
        ("agg", "t2"),
        ("t1", "s1"),
        ("t2", "s2"),
        ("t1", "s3"),
        ("t2", "s3"),
        ("s1", "c1"),
        ("s1", "c2"),
        ("s2", "c3"),
        ("s3", "c4"),
    ]
    return Topology(els, feeds, neighbours=[("c1", "c3"), ("c2", "c4")])


def test_ancestors_and_descendants() -> None:
    topo = _small()
    assert topo.ancestors("c1") == {"s1", "t1", "agg", "core"}
    assert topo.descendants("t1") == {"s1", "s3", "c1", "c2", "c4"}
    assert topo.ancestors("core") == set()


def test_shared_upstream_is_lowest_common_element() -> None:
    topo = _small()
    assert topo.shared_upstream(["c1", "c2"]) == "s1"
    assert topo.shared_upstream(["c1", "c3"]) == "agg"
    assert topo.shared_upstream(["c1"]) == "c1"
    assert topo.shared_upstream(["s1", "c1"]) == "s1"
    assert topo.shared_upstream([]) is None


def test_hop_distance() -> None:
    topo = _small()
    assert topo.hop_distance("c1", "c2") == 2
    assert topo.hop_distance("c1", "c3") == 6
    assert topo.hop_distance("c1", "c3", via_neighbours=True) == 1
    assert topo.hop_distance("c1", "c1") == 0


def test_protection_path_keeps_element_fed() -> None:
    topo = _small()
    down = topo.isolated_by(["t1"])
    assert {"s1", "c1", "c2"} <= down
    assert "s3" not in down and "c4" not in down
    assert {"s3", "c4"} <= topo.isolated_by(["t1", "t2"])


def test_unknown_element_and_cycles_rejected() -> None:
    topo = _small()
    with pytest.raises(NotFound):
        topo.ancestors("nope")
    with pytest.raises(ValidationError):
        Topology([Element("a", ElementKind.SITE)], [("a", "b")])
    with pytest.raises(ValidationError):
        Topology(
            [Element("a", ElementKind.SITE), Element("b", ElementKind.SITE)],
            [("a", "b"), ("b", "a")],
        )


def test_frames_and_json_round_trip(tmp_path) -> None:
    topo = _small()
    again = Topology.from_frames(topo.to_frames())
    assert sorted(again.feeds) == sorted(topo.feeds)
    assert again.neighbour_pairs == topo.neighbour_pairs
    path = tmp_path / "topo.json"
    topo.to_json(path)
    loaded = Topology.from_json(path)
    assert loaded.ids() == topo.ids()
    assert loaded.element("c1").kind is ElementKind.CELL
    assert loaded.ancestors("c4") == topo.ancestors("c4")
