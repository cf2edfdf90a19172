"""Every primary failure mode: what-if ranks the catalogue's correct remediation first,
doing nothing below it; a repaired root ends its follow-on faults."""

from __future__ import annotations

import pytest

from twinrca.core.topology import ElementKind
from twinrca.fmea.catalogue import load_catalogue
from twinrca.twin_replay import Intervention, generate_demand, generate_topology, simulate
from twinrca.twin_replay.whatif import DO_NOTHING, what_if

CAT = load_catalogue()
PRIMARY = [m.id for m in CAT if m.primary]


@pytest.fixture(scope="module")
def net():
    topo = generate_topology(200, seed=3)
    return topo, generate_demand(topo, days=1, seed=3)


def _roots(topo, mode_id: str) -> list[str]:
    """Suitable roots: access links, sites with one feed; transport modes get one link with
    a standby path and one without (their correct remediation differs)."""
    mode = CAT.mode(mode_id)
    pool = [
        e.element_id
        for e in topo
        if e.kind == mode.element_kind
        and all(e.attrs.get(k) == v for k, v in mode.requires.items())
        and (e.kind != ElementKind.TRANSPORT or e.element_id.startswith("tx:acc"))
        and (e.kind != ElementKind.SITE or len(topo.parents(e.element_id)) == 1)
    ]
    if mode.element_kind == ElementKind.TRANSPORT:
        with_sb = [e for e in pool if topo.element(e).attrs.get("standby_path")]
        without = [e for e in pool if not topo.element(e).attrs.get("standby_path")]
        return with_sb[:1] + without[:1]
    if mode_id == "FM-PWR-MAINS":  # a battery shorter and one longer than the generator
        bat = [topo.element(e).attrs["battery_min"] for e in pool]
        short = next(e for e, b in zip(pool, bat, strict=True) if b <= 60)
        long_ = next(e for e, b in zip(pool, bat, strict=True) if b >= 180)
        return [short, long_]
    return pool[1:2] or pool[:1]


@pytest.mark.parametrize("mode_id", PRIMARY)
def test_correct_remediation_ranks_first(net, mode_id: str) -> None:
    topo, demand = net
    roots = _roots(topo, mode_id)
    assert roots
    for root in roots:
        want = CAT.correct_remediation(mode_id, topo.element(root).attrs)
        assert want is not None
        out = what_if(topo, (root, mode_id), now_step=36, demand=demand, scenarios=48, seed=2)
        ranks = {o.action_id: o.rank for o in out}
        assert out[0].action_id == want, (root, [(o.action_id, o.utility) for o in out])
        assert ranks[DO_NOTHING] > ranks[want]
        assert out[0].expected_service >= next(
            o.expected_service for o in out if o.action_id == DO_NOTHING
        )


def _unprotected_site(topo, min_battery: float) -> str:
    return next(
        s
        for s in topo.ids(ElementKind.SITE)
        if len(topo.parents(s)) == 1 and topo.element(s).attrs["battery_min"] >= min_battery
    )


def test_repaired_mains_ends_battery_exhaustion(net) -> None:
    topo, demand = net
    site = _unprotected_site(topo, 30)
    steps_to_exhaust = -(-topo.element(site).attrs["battery_min"] // demand.step_minutes)
    fault = Intervention("fault", "FM-PWR-MAINS", site, 2, None)
    # the field repair (4 h) arrives after the battery ran out: the site comes back with it
    fix_at = 2
    runs = {
        name: simulate(topo, demand, ivs, scenarios=8, seed=4, full=False)
        for name, ivs in {
            "nothing": [fault],
            "field": [fault, Intervention("remediation", "RA-DISPATCH-FIELD", site, fix_at)],
        }.items()
    }
    repair = fix_at + 240 // demand.step_minutes
    assert repair > 2 + steps_to_exhaust  # the battery was exhausted before the repair
    bat = {n: [f for f in r.faults if f.mode.id == "FM-PWR-BATTERY"] for n, r in runs.items()}
    assert all(f.end == demand.steps for f in bat["nothing"])
    mains = {f.scenario: f for f in runs["field"].faults if f.mode.id == "FM-PWR-MAINS"}
    repaired = [f for f in bat["field"] if mains[f.scenario].end < demand.steps]
    assert repaired  # success 0.95: most scenarios
    for f in repaired:
        assert f.end == mains[f.scenario].end == repair
    # and with the site back, its cells carry more traffic than doing nothing
    cells = [i for i, c in enumerate(runs["field"].cell_ids) if c in topo.children(site)]
    thr = {n: r.cell_agg[:, cells, 2].mean() for n, r in runs.items()}
    assert thr["field"] > thr["nothing"] * 1.2


def test_repair_before_exhaustion_prevents_it(net) -> None:
    topo, demand = net
    site = _unprotected_site(topo, 180)  # generator in 2 h
    ivs = [
        Intervention("fault", "FM-PWR-MAINS", site, 2, None),
        Intervention("remediation", "RA-DISPATCH-GENERATOR", site, 2),
    ]
    r = simulate(topo, demand, ivs, scenarios=8, seed=4, full=False)
    fixed = {f.scenario for f in r.faults if f.mode.id == "FM-PWR-MAINS" and f.end < demand.steps}
    assert fixed
    assert not [f for f in r.faults if f.mode.id == "FM-PWR-BATTERY" and f.scenario in fixed]
