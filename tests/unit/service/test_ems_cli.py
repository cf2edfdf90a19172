"""``twinrca ems replay``: which topology keys the replay by region (no Kafka needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from twinrca.cli.ems import _region_of, find_topology
from twinrca.core.errors import ConfigError

TOPOLOGY = {
    "elements": [
        {"element_id": "site:1", "kind": "site", "region": "north"},
        {"element_id": "cell:1", "kind": "cell", "region": "north"},
        {"element_id": "site:2", "kind": "site", "region": "south"},
    ],
    "feeds": [{"upstream": "site:1", "downstream": "cell:1"}],
    "neighbours": [],
}


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    """The layout of a generated scenario: topology.json beside streams/."""
    (tmp_path / "streams").mkdir()
    (tmp_path / "streams" / "alarms.jsonl").write_text("")
    (tmp_path / "topology.json").write_text(json.dumps(TOPOLOGY))
    return tmp_path


def test_topology_is_found_in_the_scenario_folder(scenario: Path, tmp_path: Path) -> None:
    found = scenario / "topology.json"
    assert find_topology([scenario]) == found
    assert find_topology([scenario / "streams"]) == found
    assert find_topology([scenario / "streams" / "alarms.jsonl"]) == found
    elsewhere = tmp_path / "other" / "rec"
    elsewhere.mkdir(parents=True)
    assert find_topology([elsewhere]) is None  # only beside a streams/ folder, not above


def test_by_region_defaults_to_on_with_a_topology(scenario: Path, tmp_path: Path) -> None:
    region_of = {"site:1": "north", "cell:1": "north", "site:2": "south"}
    assert _region_of(None, [scenario], None) == region_of
    assert _region_of(None, [scenario], False) is None
    bare = tmp_path / "bare"
    bare.mkdir()
    assert _region_of(None, [bare], None) is None  # no topology: the unkeyed replay
    assert _region_of(scenario / "topology.json", [bare], None) == region_of
    with pytest.raises(ConfigError, match="needs a topology"):
        _region_of(None, [bare], True)
