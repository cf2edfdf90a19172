"""Verification fits each hypothesis' timing to the alarms it predicts: precursor faults
whose outage follows later, alarms of other incidents in the window, alarms raised
before the window; and rerank's temperature is fitted by log loss."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from twinrca.core.errors import ValidationError
from twinrca.core.records import RootCauseCandidate
from twinrca.core.topology import ElementKind
from twinrca.fmea.catalogue import load_catalogue
from twinrca.twin_replay import Intervention, generate_demand, generate_topology, simulate
from twinrca.twin_replay.observe import Observation
from twinrca.twin_replay.verify import (
    Verification,
    _alarm_scope,
    _anchors,
    _timing,
    fit_temperature,
    rerank,
    verify_candidates,
)

WINDOW = (30, 80)  # demand steps of the incident window


@pytest.fixture(scope="module")
def net():
    topo = generate_topology(150, seed=3)
    return topo, generate_demand(topo, days=1, seed=3)


def _sites(topo) -> list[str]:
    return [s for s in topo.ids(ElementKind.SITE) if len(topo.parents(s)) == 1]


def _grid(demand):
    from twinrca.twin_replay.verify import _window

    return _window(Observation.from_frames(), demand, WINDOW)[0]


def _key(rule) -> str:
    return f"{rule.probable_cause}|{rule.specific_problem}"


def test_timing_of_a_precursor_and_its_follower(net) -> None:
    topo, demand = net
    cat, site = load_catalogue(), _sites(topo)[2]
    leak, oom = cat.mode("FM-SW-MEMLEAK"), cat.mode("FM-SW-OOM")
    anchors = _anchors(topo, cat, leak, site, _grid(demand))
    cell = topo.children(site)[0]
    spans = {
        (site, _key(leak.alarms[0])): (19, 31),  # 14 steps after the leak's start
        (site, _key(oom.alarms[0])): (30, 34),
        (cell, _key(oom.alarms[1])): (30, 34),
        ("cell:elsewhere", _key(oom.alarms[1])): (2, 3),  # not where this hypothesis acts
    }
    t = _timing(anchors, spans, first_alarm=2, fallback_end=None)
    assert t.onset == 19 - 14 and t.end == 30
    assert t.follower == ("FM-SW-OOM", 30, 34)
    # no follower seen: the leak stopped short, it stays open and nothing follows it
    quiet = _timing(anchors, {(site, _key(leak.alarms[0])): (19, None)}, 19, None)
    assert (quiet.onset, quiet.end, quiet.follower) == (5, None, None)


def test_timing_from_a_follower_after_the_window_start(net) -> None:
    """Mains loss raised before the window: the battery's alarms date it."""
    topo, demand = net
    cat = load_catalogue()
    site = next(s for s in _sites(topo) if topo.element(s).attrs["battery_min"] == 120)
    mains, battery = cat.mode("FM-PWR-MAINS"), cat.mode("FM-PWR-BATTERY")
    anchors = _anchors(topo, cat, mains, site, _grid(demand))
    spans = {(site, _key(battery.alarms[0])): (12, 20)}
    t = _timing(anchors, spans, first_alarm=12, fallback_end=None)
    assert t.onset == 12 - 120 // 15 and t.end == 20 and t.follower is None
    # a board fault has no such alarm: the window's first alarm minus its own lag
    board = _anchors(topo, cat, cat.mode("FM-RAN-BOARD"), site, _grid(demand))
    assert _timing(board, spans, first_alarm=12, fallback_end=25).onset == 12


def test_alarm_scope_is_what_the_candidates_touch_and_what_feeds_them(net) -> None:
    topo, _ = net
    site = _sites(topo)[2]
    scope = _alarm_scope(topo, [RootCauseCandidate(site, "FM-RAN-BOARD", 1.0)])
    cells = set(topo.children(site))
    assert site in scope and cells <= scope and topo.ancestors(site) <= scope
    nbs = {n for c in cells for n in topo.neighbours(c)} - cells
    assert nbs and nbs <= scope  # a neighbour cell's alarm may be this fault's
    far = [s for s in _sites(topo) if not set(topo.children(s)) & (nbs | cells)]
    assert far and not {far[0], *topo.children(far[0])} & scope


def _observe(topo, demand, ivs, seed: int) -> Observation:
    return Observation.from_result(simulate(topo, demand.window(*WINDOW), ivs, seed=seed))


def _leak_then_crash(topo, demand):
    """A memory leak whose crash (the follower, drawn per scenario) happened."""
    site = _sites(topo)[2]
    for seed in range(20, 40):
        obs = _observe(topo, demand, [Intervention("fault", "FM-SW-MEMLEAK", site, 2, 30)], seed)
        if (obs.alarms["specific_problem"] == "Process killed: out of memory").any():
            return site, obs
    raise AssertionError("no scenario with the crash")


def test_a_leak_that_crashed_verifies_above_a_plain_outage(net) -> None:
    topo, demand = net
    site, obs = _leak_then_crash(topo, demand)
    cands = [
        RootCauseCandidate(site, "FM-SW-CRASH", 0.4),
        RootCauseCandidate(site, "FM-RAN-BOARD", 0.3),
        RootCauseCandidate(site, "FM-SW-MEMLEAK", 0.3),
    ]
    ver = verify_candidates(topo, obs, cands, demand=demand, window=WINDOW, seed=1)
    best = max(ver, key=lambda v: v.score)
    assert best.key == (site, "FM-SW-MEMLEAK")
    assert best.components["kpi_fit"] > 0.6 and best.components["alarm_f1"] > 0.9
    # the leak's replay explains the outage as well as the plain outage modes do
    assert best.components["kpi_fit"] >= max(v.components["kpi_fit"] for v in ver) - 0.1


def test_alarms_of_another_incident_in_the_window_change_nothing(net) -> None:
    topo, demand = net
    site = _sites(topo)[2]
    near = {n for c in topo.children(site) for n in topo.neighbours(c)}
    other = next(s for s in _sites(topo)[3:] if not set(topo.children(s)) & near)
    truth = Intervention("fault", "FM-RAN-BOARD", site, 12, 38)
    alone = _observe(topo, demand, [truth], 99)
    elsewhere = Intervention("fault", "FM-RAN-BOARD", other, 3, 45)  # earlier, still open
    both = _observe(topo, demand, [truth, elsewhere], 99)
    assert set(both.alarms["managed_object"]) - set(alone.alarms["managed_object"])
    cands = [
        RootCauseCandidate(site, "FM-RAN-BOARD", 0.5),
        RootCauseCandidate(site, "FM-SW-CRASH", 0.3),
        RootCauseCandidate(topo.parents(site)[0], "FM-TX-FIBRE-CUT", 0.2),
    ]
    kpis = alone.kpis  # the same KPIs, so only the extra alarms differ
    a = verify_candidates(topo, alone, cands, demand=demand, window=WINDOW, seed=1)
    b = verify_candidates(
        topo, Observation(both.alarms, kpis), cands, demand=demand, window=WINDOW, seed=1
    )
    assert [v.score for v in a] == [v.score for v in b]
    assert [v.onset_step for v in a] == [v.onset_step for v in b]
    assert abs(a[0].onset_step - 12) <= 1


def _case(p_truth: float, s_truth: float, s_other: float):
    cands = [
        RootCauseCandidate("site:1", "FM-RAN-BOARD", 1.0 - p_truth),
        RootCauseCandidate("site:1", "FM-SW-CRASH", p_truth),
    ]
    ver = [Verification(cands[0], s_other), Verification(cands[1], s_truth)]
    return cands, ver, ("site:1", "FM-SW-CRASH")


def test_fit_temperature_follows_how_informative_verification_is() -> None:
    rng = np.random.default_rng(0)
    # verification separates the truth by 0.2 with noise, the diagnosis says 50/50
    telling = [_case(0.5, 0.6 + rng.normal(0, 0.05), 0.4) for _ in range(200)]
    # verification is pure noise, the diagnosis is right 80 % of the time at 0.8
    noise = [
        _case(0.8 if rng.random() < 0.8 else 0.2, rng.uniform(0, 1), rng.uniform(0, 1))
        for _ in range(200)
    ]
    t_telling, loss = fit_temperature(telling)
    t_noise, _ = fit_temperature(noise)
    assert t_telling < 0.1 < t_noise
    # the loss is the mean negative log of rerank's probability of the truth
    direct = [
        -np.log(
            next(
                r.probability
                for r in rerank(c, v, 0.5, temperature=t_telling)
                if (r.element, r.failure_mode) == truth
            )
        )
        for c, v, truth in telling
    ]
    assert loss == pytest.approx(np.mean(direct))
    with pytest.raises(ValidationError, match="truth"):
        fit_temperature([(*_case(0.5, 0.5, 0.5)[:2], ("site:9", "FM-X"))])


def test_payload_times_cover_the_window(net) -> None:
    topo, demand = net
    site, obs = _leak_then_crash(topo, demand)
    ver = verify_candidates(
        topo, obs, [RootCauseCandidate(site, "FM-SW-MEMLEAK", 1.0)], demand=demand, window=WINDOW
    )
    doc = ver[0].to_json()
    assert len(doc["times"]) == WINDOW[1] - WINDOW[0]
    assert pd.Series(doc["times"]).is_monotonic_increasing
