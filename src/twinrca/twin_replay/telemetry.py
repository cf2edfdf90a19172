"""Precursor telemetry of sites and microwave links (NumPy, outside the cell kernel).

Sites report ``battery_soc`` (%), ``memory_util`` (%) and ``cabinet_temp`` (deg C);
microwave links report ``rsl_dbm`` (received signal level) and ``modulation_bits``
(bits per symbol of the adaptive modulation, 0 when the link is down); fibre links
report neither (NaN). Everything is a function of the fault instances (their windows,
``reach`` and ``planned_end``), the site attributes and a seeded background:

* **battery**: 100 % on mains (float charge, small noise). During a mains loss it
  drains linearly at ``100 / (battery_min + ramp/2)`` %/min, so it reaches 0 when the
  battery-exhaustion follower has taken half of the service (availability < 50 %);
  after the mains returns it recharges at a third of that pace. Mains losses shorter
  than the autonomy drain and recover with no service loss (the decoys).
* **memory**: a per-site baseline (30-50 %) plus a slow creep released by scheduled
  restarts at 03:00 (daily on sites with a fast, benign creep up to ~90 %: decoys;
  weekly elsewhere), plus load noise. A memory leak ramps it linearly from its level
  at onset towards 100 % at the leak's planned end, where the process crashes
  (FM-SW-OOM) unless the leak was remediated first; a leak that does not crash
  (``reach`` < 1) is released at 55-92 % of the way (a maintenance restart). Any
  crash or restart resets it to the baseline.
* **cabinet temperature**: ambient daily cycle + day-to-day weather + 10 deg C cabinet
  rise + load heating. A cooling failure adds a saturating rise that reaches the 68
  deg C shutdown limit at its planned end (FM-ENV-SHUTDOWN) or stops short of it
  (``reach`` < 1); afterwards it decays back with a one-hour time constant.
* **microwave RSL**: nominal -48..-36 dBm with scintillation noise and light rain
  fades (4-18 dB, recovering: decoys). A fading fault lowers the level towards the
  -80 dBm receiver sensitivity, reached at the fade's planned end when the link drops
  (FM-TX-MW-LINKDOWN; -95 dBm while down); a fade that does not drop the link
  bottoms out short of it and recovers. Modulation steps 10/8/6/4/2/0 bits at margins
  24/18/12/6/0 dB above sensitivity.

Which failure modes drive which telemetry is the table :data:`PRECURSORS`.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from twinrca.core.topology import ElementKind, Topology
from twinrca.twin_replay.effects import FaultInstance

__all__ = ["LINK_TELEMETRY", "PRECURSORS", "SITE_TELEMETRY", "TELEMETRY", "precursor_telemetry"]

SITE_TELEMETRY: tuple[str, ...] = ("battery_soc", "memory_util", "cabinet_temp")
LINK_TELEMETRY: tuple[str, ...] = ("rsl_dbm", "modulation_bits")
TELEMETRY: tuple[str, ...] = SITE_TELEMETRY + LINK_TELEMETRY
PRECURSORS: dict[str, str] = {
    "FM-PWR-MAINS": "battery_soc",
    "FM-SW-MEMLEAK": "memory_util",
    "FM-SW-OOM": "memory_util",
    "FM-SW-CRASH": "memory_util",
    "FM-ENV-TEMP": "cabinet_temp",
    "FM-TX-MW-FADING": "rsl_dbm",
    "FM-TX-MW-LINKDOWN": "rsl_dbm",
}
SENSITIVITY_DBM = -80.0
SHUTDOWN_C = 68.0
_BATTERY_RAMP_MIN = 30.0  # FM-PWR-BATTERY's onset ramp: half of it to 50 % service


def _hours(start: datetime, n_t: int, step_minutes: int) -> np.ndarray:
    """Local hour of day (float) and day index of each step's end."""
    m0 = start.hour * 60 + start.minute
    return (m0 + step_minutes * (np.arange(n_t) + 1)) / 60.0


def _site_background(
    rng: np.random.Generator, n_sites: int, hours: np.ndarray, load: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Memory and temperature without faults ``[N, T]``; baseline, creep, restart period."""
    base = rng.uniform(30.0, 50.0, n_sites)
    fast = rng.random(n_sites) < 0.3
    creep = np.where(fast, rng.uniform(0.8, 1.6, n_sites), rng.uniform(0.0, 0.22, n_sites))
    period = np.where(fast, 24.0, 168.0)  # hours between scheduled restarts
    since = np.mod(hours[None, :] - 3.0, period[:, None])  # restarts at 03:00
    mem = base[:, None] + creep[:, None] * since + 6.0 * load
    days = int(hours[-1] // 24) + 2
    weather = rng.normal(0.0, 2.5, days)
    amb = 22.0 + 6.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0) + weather[(hours // 24).astype(int)]
    temp = amb[None, :] + rng.uniform(8.0, 12.0, n_sites)[:, None] + 5.0 * load
    return mem, temp, base, creep, period


def _link_background(rng: np.random.Generator, n_links: int, n_t: int, step_minutes: int):
    """RSL without faults ``[N, T]``: nominal level and light rain fades that recover."""
    nominal = rng.uniform(-48.0, -36.0, n_links)
    rsl = np.repeat(nominal[:, None], n_t, axis=1)
    per_step = step_minutes / (2 * 1440.0)  # about one light fade per link every 2 days
    for i in range(n_links):
        for t0 in np.flatnonzero(rng.random(n_t) < per_step):
            width = max(2, int(rng.uniform(30, 120) / step_minutes))
            shape = 1.0 - np.abs(np.linspace(-1.0, 1.0, width))
            hi = min(n_t, int(t0) + width)
            rsl[i, t0:hi] -= rng.uniform(4.0, 18.0) * shape[: hi - t0]
    return rsl, nominal


def _modulation(rsl: np.ndarray) -> np.ndarray:
    margin = rsl - SENSITIVITY_DBM
    bits = np.select(
        [margin >= 24, margin >= 18, margin >= 12, margin >= 6, margin >= 0],
        [10.0, 8.0, 6.0, 4.0, 2.0],
        0.0,
    )
    return np.where(np.isnan(rsl), np.nan, bits)


def _ramp_window(f: FaultInstance, n_t: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps of the precursor and its progress in (0, 1], paced by the planned end."""
    planned = f.planned_end if f.planned_end > 0 else f.end
    t = np.arange(max(f.start, 0), min(f.end, n_t))
    x = (t - f.start + 1.0) / max(planned - f.start, 1)
    return t, np.clip(x, 0.0, 1.0) * f.reach


def _battery(soc: np.ndarray, f: FaultInstance, battery_min: float, step: int, n_t: int):
    drain = 100.0 * step / (battery_min + 0.5 * _BATTERY_RAMP_MIN)
    a, b = max(f.start, 0), min(f.end, n_t)
    level = soc[a - 1] if a > 0 else 100.0
    cur = np.maximum(level - drain * np.arange(1, b - a + 1), 0.0)
    soc[a:b] = cur
    last = cur[-1] if len(cur) else level
    after = np.minimum(last + drain / 3.0 * np.arange(1, n_t - b + 1), 100.0)
    soc[b:] = np.minimum(soc[b:], after)


def _restart_memory(mem, s, i, t0, base, creep, period, hours, load) -> None:
    """Memory after a restart at ``t0``: baseline, creep from there to the next scheduled
    restart."""
    n_t = mem.shape[2]
    if t0 >= n_t:
        return
    nxt = np.mod(hours[t0:] - 3.0, period[i])
    span = hours[t0:] - hours[t0]
    since = np.where(span < nxt + 1e-9, span, nxt)
    mem[s, i, t0:] = np.minimum(mem[s, i, t0:], base[i] + creep[i] * since + 6.0 * load[s, i, t0:])


def precursor_telemetry(
    topology: Topology,
    nodes: list[str],
    faults: list[FaultInstance],
    load: np.ndarray,
    *,
    start: datetime,
    step_minutes: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """``name -> [S, N, T]`` float32 for the nodes (NaN where it does not apply).
    ``load [S, N, T]`` is each node's traffic over its cells' capacity (0..1)."""
    n_s, n_n, n_t = load.shape
    out = {k: np.full((n_s, n_n, n_t), np.nan, np.float32) for k in TELEMETRY}
    kinds = [topology.element(n).kind for n in nodes]
    sites = [i for i, k in enumerate(kinds) if k == ElementKind.SITE]
    links = [
        i
        for i, k in enumerate(kinds)
        if k == ElementKind.TRANSPORT
        and topology.element(nodes[i]).attrs.get("medium") == "microwave"
    ]
    rng = np.random.default_rng([seed, 0x7E1E])
    noise = np.random.default_rng([seed, 0x7E1F])
    hours = _hours(start, n_t, step_minutes)
    by_node: dict[int, list[FaultInstance]] = {}
    pos = {n: i for i, n in enumerate(nodes)}
    for f in sorted(faults, key=lambda f: f.start):
        if f.mode.id in PRECURSORS and f.root in pos:
            by_node.setdefault(pos[f.root], []).append(f)
    if sites:
        _sites(out, sites, nodes, topology, by_node, load, hours, rng, noise, step_minutes)
    if links:
        _links(out, links, by_node, rng, noise, step_minutes)
    return out


def _sites(out, sites, nodes, topology, by_node, load, hours, rng, noise, step) -> None:
    n_s, _, n_t = load.shape
    sl = np.clip(np.nan_to_num(load[:, sites]), 0.0, 1.0)
    mem0, temp0, base, creep, period = _site_background(rng, len(sites), hours, sl.mean(axis=0))
    soc = np.full((n_s, len(sites), n_t), 100.0)
    mem = np.repeat(mem0[None], n_s, axis=0) + 6.0 * (sl - sl.mean(axis=0))
    temp = np.repeat(temp0[None], n_s, axis=0) + 5.0 * (sl - sl.mean(axis=0))
    for j, i in enumerate(sites):
        batt = float(topology.element(nodes[i]).attrs.get("battery_min", 120) or 120)
        for f in by_node.get(i, ()):
            s = f.scenario
            kpi = PRECURSORS[f.mode.id]
            if kpi == "battery_soc":
                _battery(soc[s, j], f, batt, step, n_t)
            elif kpi == "memory_util":
                if f.mode.primary and f.follows is None and f.mode.onset.profile == "gradual":
                    t, x = _ramp_window(f, n_t)
                    if len(t):
                        m_on = mem[s, j, t[0]]
                        mem[s, j, t] = m_on + x * (100.0 - m_on)
                _restart_memory(mem, s, j, min(f.end, n_t), base, creep, period, hours, sl)
                if not f.mode.primary or f.mode.onset.profile == "sudden":  # crashed
                    mem[s, j, max(f.start, 0) : min(f.end, n_t)] = base[j] - 10.0
            else:
                t, x = _ramp_window(f, n_t)
                if not len(t):
                    continue
                p = x / max(f.reach, 1e-9)  # saturating rise to reach x the way to the limit
                rise = f.reach * (SHUTDOWN_C - temp[s, j, t[0]]) * (1 - np.exp(-p))
                rise /= 1 - np.exp(-1.0)
                temp[s, j, t] += rise
                tail = np.arange(min(f.end, n_t), n_t)
                temp[s, j, tail] += rise[-1] * np.exp(-(tail - f.end + 1) * step / 60.0)
    shape = soc.shape
    out["battery_soc"][:, sites] = np.clip(soc - np.abs(noise.normal(0, 0.4, shape)), 0, 100)
    out["memory_util"][:, sites] = np.clip(mem + noise.normal(0, 1.0, shape), 0, 100)
    out["cabinet_temp"][:, sites] = temp + noise.normal(0, 0.5, shape)


def _links(out, links, by_node, rng, noise, step) -> None:
    n_s, _, n_t = out["rsl_dbm"].shape
    rsl0, nominal = _link_background(rng, len(links), n_t, step)
    rsl = np.repeat(rsl0[None], n_s, axis=0)
    for j, i in enumerate(links):
        for f in by_node.get(i, ()):
            s = f.scenario
            a, b = max(f.start, 0), min(f.end, n_t)
            if f.follows is not None:  # link down: below sensitivity, then recovering
                rsl[s, j, a:b] = -95.0
                rec = np.arange(b, min(n_t, b + 3))
                rsl[s, j, rec] = np.minimum(
                    rsl[s, j, rec], SENSITIVITY_DBM + (rec - b + 1) * (nominal[j] + 80.0) / 4
                )
                continue
            t, x = _ramp_window(f, n_t)
            if not len(t):
                continue
            depth = (nominal[j] - SENSITIVITY_DBM) * x**1.5
            rsl[s, j, t] = np.minimum(rsl[s, j, t], nominal[j] - depth)
            width = max(2, (b - a) // 3)
            rec = np.arange(b, min(n_t, b + width))
            back = depth[-1] * (1.0 - (rec - b + 1) / (width + 1))
            rsl[s, j, rec] = np.minimum(rsl[s, j, rec], nominal[j] - back)
    rsl = rsl + noise.normal(0, 0.7, rsl.shape)
    out["rsl_dbm"][:, links] = rsl
    out["modulation_bits"][:, links] = _modulation(rsl)
