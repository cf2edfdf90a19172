"""Plugins: loading, protocol checks, and one contract suite every diagnoser passes
(the built-in Bayesian one and a user's)."""

from __future__ import annotations

import pandas as pd
import pytest

from twinrca.core import ConfigError, RootCauseCandidate
from twinrca.fmea.catalogue import load_catalogue
from twinrca.runtime.plugins import DIAGNOSERS, Diagnoser, load_plugins
from twinrca.training.diagnoser import labelled_run, new_diagnoser, training_cases
from twinrca.twin_replay.network import generate_topology


class FirstAlarmDiagnoser:
    """A user's plugin: blame the element of the first alarm."""

    def __init__(self, topology, catalogue) -> None:
        self.kinds = {str(m.element_kind): m.id for m in catalogue if m.primary}
        self.topology = topology

    def rank(self, evidence):
        first = evidence.alarms.sort_values("event_time").iloc[0]["managed_object"]
        mode = self.kinds.get(str(self.topology.element(first).kind), "unknown")
        return [RootCauseCandidate(first, mode, 1.0, {"rule": "first alarm"})]


class NotADiagnoser:
    def __init__(self, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def world():
    cat = load_catalogue()
    topo = generate_topology(60, seed=1)
    builtin = new_diagnoser(topo, cat).fit(training_cases((21, 22), topo, cat, days=2.0, faults=20))
    incidents, _, _ = labelled_run(23, topo, cat, days=2.0, faults=10)
    return cat, topo, builtin, incidents


def test_plugins_load_and_are_checked(world) -> None:
    cat, topo, _, _ = world
    loaded = load_plugins(
        DIAGNOSERS, extra={"first": FirstAlarmDiagnoser}, topology=topo, catalogue=cat
    )
    assert [p.name for p in loaded if p.name == "first"] == ["first"]
    with pytest.raises(ConfigError, match="does not implement"):
        load_plugins(DIAGNOSERS, extra={"bad": NotADiagnoser}, topology=topo, catalogue=cat)
    with pytest.raises(ConfigError, match="unknown plugin group"):
        load_plugins("twinrca.nothing")


@pytest.mark.parametrize("which", ["builtin", "plugin"])
def test_diagnoser_contract(world, which) -> None:
    """Inputs not mutated, same answer twice, candidates best first with probabilities
    in [0, 1], elements of the topology."""
    cat, topo, builtin, incidents = world
    diag: Diagnoser = builtin if which == "builtin" else FirstAlarmDiagnoser(topo, cat)
    assert isinstance(diag, Diagnoser)
    for inc in incidents[:8]:
        ev = inc.evidence
        before = (ev.alarms.copy(), ev.anomalies.copy(), tuple(ev.candidates))
        first, second = list(diag.rank(ev)), list(diag.rank(ev))
        pd.testing.assert_frame_equal(ev.alarms, before[0])
        pd.testing.assert_frame_equal(ev.anomalies, before[1])
        assert tuple(ev.candidates) == before[2]
        assert [(c.element, c.failure_mode, c.probability) for c in first] == [
            (c.element, c.failure_mode, c.probability) for c in second
        ]
        probs = [c.probability for c in first]
        assert (
            first and all(0.0 <= p <= 1.0 for p in probs) and probs == sorted(probs, reverse=True)
        )
        assert all(c.element in topo for c in first)


def test_plugin_candidates_reach_verification_ranking() -> None:
    from twinrca.runtime.flow import merge_sources

    builtin = [RootCauseCandidate("site:1", "FM-A", 0.9), RootCauseCandidate("site:2", "FM-B", 0.1)]
    plugin = [RootCauseCandidate("cell:9", "FM-C", 1.0, {"source": "mine"})]
    merged = merge_sources(builtin, [plugin], top=3)
    assert [(c.element, c.failure_mode) for c in merged] == [
        ("cell:9", "FM-C"),
        ("site:1", "FM-A"),
        ("site:2", "FM-B"),
    ]
    assert abs(sum(c.probability for c in merged) - 1.0) < 1e-9
    assert merged[0].evidence["source"] == "mine"
    assert merge_sources(builtin, [], top=3) == builtin


def test_a_real_entry_point_is_found(tmp_path, monkeypatch, world) -> None:
    """An installed distribution declaring ``twinrca.diagnosers`` is loaded by name."""
    import importlib

    cat, topo, _, incidents = world
    (tmp_path / "my_rca.py").write_text(
        "from tests.unit.service.test_plugins import FirstAlarmDiagnoser as MyDiagnoser\n"
    )
    info = tmp_path / "my_rca-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rca\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[twinrca.diagnosers]\nmy-rca = my_rca:MyDiagnoser\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    loaded = load_plugins(DIAGNOSERS, topology=topo, catalogue=cat)
    assert [p.name for p in loaded] == ["my-rca"]
    assert loaded[0].instance.rank(incidents[0].evidence)[0].evidence == {"rule": "first alarm"}
