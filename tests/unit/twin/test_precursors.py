"""Precursor telemetry: battery drains to 0 then service is lost; a memory leak ramps to a
crash unless restarted; cabinet heating and microwave fades announce their failures."""

from __future__ import annotations

import numpy as np
import pytest

from twinrca.core.topology import ElementKind
from twinrca.twin_replay import Intervention, generate_demand, generate_topology, simulate


@pytest.fixture(scope="module")
def net():
    topo = generate_topology(120, seed=5)
    return topo, generate_demand(topo, days=1, seed=5)


def _sites(topo):
    return [s for s in topo.ids(ElementKind.SITE) if len(topo.parents(s)) == 1]


def test_battery_drains_to_zero_then_service_is_lost(net) -> None:
    topo, dem = net
    site = _sites(topo)[0]
    autonomy = float(topo.element(site).attrs["battery_min"])
    r = simulate(topo, dem, [Intervention("fault", "FM-PWR-MAINS", site, 4, 70)], seed=1)
    soc = r.series(site, "battery_soc")
    cell = topo.children(site)[0]
    av = r.series(cell, "availability")
    lost = int(np.flatnonzero(av < 50.0)[0])
    assert soc[:4].min() > 98.0
    assert np.all(np.diff(soc[4:lost]) < 0)  # draining while on battery
    assert soc[lost] < 2.0 and soc[lost - 2] > 5.0  # empty when service goes
    assert abs((lost - 4) * 15 - autonomy) <= 30  # the site's autonomy sets the pace
    assert soc[-1] > soc[75]  # recharging once the mains is back


def test_short_mains_loss_drains_and_recovers_without_service_loss(net) -> None:
    topo, dem = net
    site = next(s for s in _sites(topo) if topo.element(s).attrs["battery_min"] >= 90)
    r = simulate(topo, dem, [Intervention("fault", "FM-PWR-MAINS", site, 4, 8)], seed=1)
    soc = r.series(site, "battery_soc")
    assert soc[7] < 90.0 and soc[-1] > soc[8]
    for cell in topo.children(site):
        assert r.series(cell, "availability").min() == 100.0


def _leak(topo, dem, seed):
    site = _sites(topo)[1]
    r = simulate(
        topo, dem, [Intervention("fault", "FM-SW-MEMLEAK", site, 2, 50)], scenarios=8, seed=seed
    )
    return site, r


def test_memory_leak_ramps_to_a_crash_or_is_released(net) -> None:
    topo, dem = net
    site, r = _leak(topo, dem, 3)
    cell = topo.children(site)[0]
    crashed = {f.scenario for f in r.faults if f.mode.id == "FM-SW-OOM"}
    assert 0 < len(crashed) < 8  # most leaks crash, some are released first (decoys)
    for s in range(8):
        mem = r.series(site, "memory_util", s)
        av = r.series(cell, "availability", s)
        assert mem[45:50].mean() > mem[2:7].mean() + 15  # ramping
        if s in crashed:
            assert mem[47:50].max() > 95.0 and np.all(av[50:52] == 0.0)
        else:
            assert mem[47:50].max() < 97.0 and av[50:].min() == 100.0
        assert mem[52] < mem[49] - 20  # freed by the crash or the restart


def test_restart_before_exhaustion_prevents_the_crash(net) -> None:
    topo, dem = net
    site = _sites(topo)[1]
    ivs = [
        Intervention("fault", "FM-SW-MEMLEAK", site, 2, 50),
        Intervention("remediation", "RA-RESTART-PROCESS", site, 30),
    ]
    r = simulate(topo, dem, ivs, scenarios=4, seed=3)
    ok = [
        s
        for s in range(4)
        if not any(f.scenario == s and f.mode.id == "FM-SW-OOM" for f in r.faults)
    ]
    assert len(ok) >= 3  # restart succeeds with p = 0.95
    for s in ok:
        assert r.series(site, "memory_util", s)[35:50].max() < 70.0


def test_fade_lowers_rsl_and_modulation_before_link_down(net) -> None:
    topo, dem = net
    link = next(
        t
        for t in topo.ids(ElementKind.TRANSPORT)
        if topo.element(t).attrs.get("medium") == "microwave"
    )
    r = simulate(
        topo, dem, [Intervention("fault", "FM-TX-MW-FADING", link, 10, 20)], scenarios=6, seed=2
    )
    down = {f.scenario for f in r.faults if f.mode.id == "FM-TX-MW-LINKDOWN"}
    assert 0 < len(down) < 6
    for s in range(6):
        rsl = r.series(link, "rsl_dbm", s)
        mod = r.series(link, "modulation_bits", s)
        assert rsl[19] < rsl[9] - 10 and mod[19] < mod[9]
        assert (r.series(link, "availability", s)[20] == 0.0) == (s in down)
    fibre = next(
        t for t in topo.ids(ElementKind.TRANSPORT) if topo.element(t).attrs.get("medium") == "fibre"
    )
    assert np.isnan(r.series(fibre, "rsl_dbm")).all()


def test_cooling_failure_heats_the_cabinet_before_shutdown(net) -> None:
    topo, dem = net
    site = _sites(topo)[2]
    r = simulate(
        topo, dem, [Intervention("fault", "FM-ENV-TEMP", site, 2, 30)], scenarios=6, seed=4
    )
    shut = {f.scenario for f in r.faults if f.mode.id == "FM-ENV-SHUTDOWN"}
    for s in range(6):
        temp = r.series(site, "cabinet_temp", s)
        assert temp[29] > temp[1] + 10
        assert (temp[28:30].max() > 64.0) == (s in shut)


def test_kernel_and_reference_agree_with_telemetry(net) -> None:
    topo, dem = net
    site = _sites(topo)[0]
    ivs = [
        Intervention("fault", "FM-PWR-MAINS", site, 4, 60),
        Intervention("fault", "FM-SW-MEMLEAK", _sites(topo)[1], 2, 40),
    ]
    a = simulate(topo, dem, ivs, scenarios=2, seed=7, engine="numba")
    b = simulate(topo, dem, ivs, scenarios=2, seed=7, engine="numpy")
    np.testing.assert_allclose(a.kpis, b.kpis, rtol=1e-4, atol=1e-3, equal_nan=True)
