"""Root-cause verification: plant a fault, observe it with other noise, verify candidates."""

from __future__ import annotations

import json

import pytest

from twinrca.core.records import RootCauseCandidate
from twinrca.core.topology import ElementKind
from twinrca.twin_replay import Intervention, generate_demand, generate_topology, simulate
from twinrca.twin_replay.observe import Observation
from twinrca.twin_replay.verify import rerank, verify_candidates

WINDOW = (30, 80)  # demand steps of the incident window


@pytest.fixture(scope="module")
def net():
    topo = generate_topology(150, seed=3)
    return topo, generate_demand(topo, days=1, seed=3)


def _unprotected_sites(topo):
    return [s for s in topo.ids(ElementKind.SITE) if len(topo.parents(s)) == 1]


def _observe(topo, demand, truth: Intervention, *, seed: int = 99) -> Observation:
    run = simulate(topo, demand.window(*WINDOW), [truth], seed=seed)
    return Observation.from_result(run)


def _cands(topo, site: str, other: str, truth: tuple[str, str]) -> list[RootCauseCandidate]:
    link = topo.parents(site)[0]
    pool = [
        (other, "FM-RAN-BOARD"),
        (site, "FM-SW-CRASH"),
        (site, "FM-RAN-BOARD"),
        (topo.children(site)[0], "FM-RAN-RU"),
        (link, "FM-TX-FIBRE-CUT"),
    ]
    assert truth in pool
    return [RootCauseCandidate(e, m, 0.2) for e, m in pool]


@pytest.mark.parametrize("mode", ["FM-RAN-BOARD", "FM-TX-FIBRE-CUT"])
def test_true_candidate_verifies_best(net, mode: str) -> None:
    topo, demand = net
    site, other = _unprotected_sites(topo)[2], _unprotected_sites(topo)[6]
    root = site if mode == "FM-RAN-BOARD" else topo.parents(site)[0]
    obs = _observe(topo, demand, Intervention("fault", mode, root, 12, 38))
    cands = _cands(topo, site, other, (root, mode))
    ver = verify_candidates(topo, obs, cands, demand=demand, window=WINDOW, seed=1)
    assert [v.key for v in ver] == [(c.element, c.failure_mode) for c in cands]
    best = max(ver, key=lambda v: v.score)
    assert best.key == (root, mode)
    assert all(0.0 <= v.score <= 1.0 for v in ver)
    assert abs(best.onset_step - 12) <= 1
    assert best.components["alarm_f1"] > 0.9 and best.components["kpi_fit"] > 0.5
    rest = sorted(v.score for v in ver if v is not best)
    assert best.score - rest[-1] > 0.02


def test_demand_from_telemetry_when_no_demand_given(net) -> None:
    topo, demand = net
    site, other = _unprotected_sites(topo)[2], _unprotected_sites(topo)[6]
    obs = _observe(topo, demand, Intervention("fault", "FM-RAN-BOARD", site, 12, 38))
    cands = _cands(topo, site, other, (site, "FM-RAN-BOARD"))
    ver = verify_candidates(topo, obs, cands, seed=1)  # grid and demand from the KPIs
    assert max(ver, key=lambda v: v.score).key == (site, "FM-RAN-BOARD")


def test_rerank_fixes_a_wrong_top1(net) -> None:
    topo, demand = net
    site, other = _unprotected_sites(topo)[2], _unprotected_sites(topo)[6]
    obs = _observe(topo, demand, Intervention("fault", "FM-RAN-BOARD", site, 12, 38))
    probs = [0.6, 0.15, 0.1, 0.1, 0.05]  # a confident, wrong diagnosis
    cands = [
        RootCauseCandidate(c.element, c.failure_mode, p)
        for c, p in zip(_cands(topo, site, other, (site, "FM-RAN-BOARD")), probs, strict=True)
    ]
    ver = verify_candidates(topo, obs, cands, demand=demand, window=WINDOW, seed=1)
    assert rerank(cands, ver, weight=0.0)[0].element == other  # weight 0: diagnosis as is
    out = rerank(cands, ver, weight=0.5)
    assert (out[0].element, out[0].failure_mode) == (site, "FM-RAN-BOARD")
    assert out[0].verified_score == max(v.score for v in ver)
    assert out[0].evidence["diagnosis_probability"] == 0.1
    assert sum(c.probability for c in out) == pytest.approx(1.0)


def test_payload_is_json_ready_and_inapplicable_scores_zero(net) -> None:
    topo, demand = net
    site = _unprotected_sites(topo)[2]
    obs = _observe(topo, demand, Intervention("fault", "FM-RAN-BOARD", site, 12, 38))
    cands = [
        RootCauseCandidate(site, "FM-RAN-BOARD", 0.5),
        RootCauseCandidate(site, "FM-RAN-RU", 0.3),  # a cell mode on a site
        RootCauseCandidate("site:nowhere", "FM-RAN-BOARD", 0.2),
    ]
    ver = verify_candidates(topo, obs, cands, demand=demand, window=WINDOW, seed=1)
    assert [v.score for v in ver[1:]] == [0.0, 0.0]
    doc = json.loads(json.dumps(ver[0].to_json()))
    assert len(doc["times"]) == WINDOW[1] - WINDOW[0]
    assert doc["observed"] and doc["observed"].keys() == doc["simulated"].keys()
    assert all(len(v) == len(doc["times"]) for v in doc["simulated"].values())
    assert all(k.split("/")[0] in topo for k in doc["observed"])


def test_onset_from_kpis_when_no_alarm_was_seen(net) -> None:
    topo, demand = net
    site, other = _unprotected_sites(topo)[2], _unprotected_sites(topo)[6]
    obs = _observe(topo, demand, Intervention("fault", "FM-RAN-BOARD", site, 12, 38))
    silent = Observation.from_frames(None, obs.kpis)  # the alarms were lost
    cands = _cands(topo, site, other, (site, "FM-RAN-BOARD"))
    ver = verify_candidates(topo, silent, cands, demand=demand, window=WINDOW, seed=1)
    best = max(ver, key=lambda v: v.score)
    assert abs(best.onset_step - 12) <= 1
    assert best.components["kpi_fit"] > 0.5
    assert best.key[0] == site  # alarms would tell the board from a crash; KPIs cannot
