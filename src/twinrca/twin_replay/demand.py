"""Traffic demand per cell and step: generated profiles or replayed telemetry.

Demand is the offered downlink traffic in Mbit/s of every cell (rows in the order of
``topology.ids(ElementKind.CELL)``) for every step. Generated demand mixes a
business and a residential daily profile per cell, a weekly factor, slow
multiplicative noise and events (a stadium surge: the cells near one site carry
several times their usual traffic for a few hours).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.topology import ElementKind, Topology

__all__ = ["Demand", "SurgeEvent", "demand_from_telemetry", "generate_demand"]

DEFAULT_START = datetime(2024, 6, 3, tzinfo=UTC)  # a Monday


@dataclass(frozen=True, slots=True)
class SurgeEvent:
    """Extra traffic around a place for a while (a match at a stadium)."""

    lat: float
    lon: float
    radius_km: float
    start_step: int
    end_step: int
    factor: float = 3.0


@dataclass(frozen=True, slots=True)
class Demand:
    """Offered DL traffic (Mbit/s), float32 ``[cells, steps]``."""

    start: datetime
    step_minutes: int
    offered: np.ndarray
    cell_ids: tuple[str, ...]
    events: tuple[SurgeEvent, ...] = ()

    @property
    def steps(self) -> int:
        return int(self.offered.shape[1])

    def time(self, step: int) -> datetime:
        """End of the period of ``step``."""
        return self.start + timedelta(minutes=self.step_minutes * (step + 1))

    def window(self, start_step: int, end_step: int) -> Demand:
        """The same demand restricted to steps ``[start_step, end_step)``."""
        return Demand(
            self.start + timedelta(minutes=self.step_minutes * start_step),
            self.step_minutes,
            np.ascontiguousarray(self.offered[:, start_step:end_step]),
            self.cell_ids,
            (),
        )


def _profiles(hours: np.ndarray, weekday: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Business and residential load shapes (0..1) for the given local hours."""

    def bump(centre: float, width: float) -> np.ndarray:
        d = np.minimum(np.abs(hours - centre), 24 - np.abs(hours - centre))
        return np.exp(-0.5 * (d / width) ** 2)

    weekend = weekday >= 5
    business = 0.12 + 0.85 * (bump(11.0, 2.5) + 0.8 * bump(15.5, 2.0)) / 1.35
    business = np.where(weekend, 0.12 + 0.35 * bump(14.0, 4.0), business)
    residential = 0.1 + 0.55 * bump(13.0, 3.0) + 0.9 * bump(20.5, 2.2)
    residential = residential * np.where(weekend, 1.1, 1.0) / 1.05
    return business, residential


def _slow_noise(rng: np.random.Generator, cells: int, steps: int, sd: float) -> np.ndarray:
    """Multiplicative AR(1) noise with a few hours' memory, mean about 1."""
    if sd <= 0:
        return np.ones((cells, steps), dtype=np.float32)
    phi = 0.9
    eps = rng.normal(0.0, sd * math.sqrt(1 - phi**2), size=(cells, steps)).astype(np.float32)
    x = np.empty_like(eps)
    x[:, 0] = rng.normal(0.0, sd, size=cells)
    for t in range(1, steps):
        x[:, t] = phi * x[:, t - 1] + eps[:, t]
    return np.exp(x - 0.5 * sd**2)


def _surge(topology: Topology, cells: list[str], ev: SurgeEvent, offered: np.ndarray) -> None:
    km = np.array(
        [
            math.hypot(
                (topology.element(c).lat - ev.lat) * 111.0,
                (topology.element(c).lon - ev.lon) * 111.0 * math.cos(math.radians(ev.lat)),
            )
            for c in cells
        ]
    )
    near = np.flatnonzero(km <= ev.radius_km)
    lo, hi = max(ev.start_step, 0), min(ev.end_step, offered.shape[1])
    if hi <= lo or not len(near):
        return
    ramp = np.minimum(1.0, np.minimum(np.arange(hi - lo) + 1, hi - lo - np.arange(hi - lo)) / 3.0)
    offered[np.ix_(near, np.arange(lo, hi))] *= (1 + (ev.factor - 1) * ramp).astype(np.float32)


def generate_demand(
    topology: Topology,
    *,
    days: float = 1.0,
    step_minutes: int = 15,
    start: datetime = DEFAULT_START,
    seed: int = 0,
    noise: float = 0.08,
    busy_load: float = 0.55,
    surges: int | Sequence[SurgeEvent] = 1,
) -> Demand:
    """Daily + weekly profiles per cell with noise and stadium surges.

    ``busy_load`` is the typical busy-hour offered load as a share of capacity.
    ``surges`` is a number of random stadium events or a list of them.
    """
    if not 1 <= step_minutes <= 60 or 1440 % step_minutes:
        raise ValidationError(
            "bad_step", f"step_minutes must divide a day (1..60), got {step_minutes}"
        )
    cells = topology.ids(ElementKind.CELL)
    steps = max(1, int(round(days * 1440 / step_minutes)))  # noqa: RUF046
    rng = np.random.default_rng([seed, 7])
    t = np.arange(steps)
    when = start.timestamp() + (t + 0.5) * step_minutes * 60
    hours = ((when % 86400) / 3600.0 + 2.0) % 24  # local time ~ UTC+2
    weekday = ((when // 86400 + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
    business, residential = _profiles(hours, weekday)
    mix = rng.beta(2.0, 2.0, size=len(cells)).astype(np.float32)
    cap = np.array([float(topology.element(c).attrs.get("capacity_mbps", 100.0)) for c in cells])
    scale = (busy_load * cap * rng.lognormal(0.0, 0.35, size=len(cells))).astype(np.float32)
    shape = mix[:, None] * business[None, :] + (1 - mix[:, None]) * residential[None, :]
    offered = (scale[:, None] * shape * _slow_noise(rng, len(cells), steps, noise)).astype(
        np.float32
    )
    events = _make_surges(topology, cells, rng, steps, step_minutes, surges)
    for ev in events:
        _surge(topology, cells, ev, offered)
    return Demand(start, step_minutes, offered, tuple(cells), tuple(events))


def _make_surges(
    topology: Topology,
    cells: list[str],
    rng: np.random.Generator,
    steps: int,
    step_minutes: int,
    surges: int | Sequence[SurgeEvent],
) -> list[SurgeEvent]:
    if not isinstance(surges, int):
        return list(surges)
    out = []
    per_day = 1440 // step_minutes
    for _ in range(surges):
        site = topology.element(cells[int(rng.integers(len(cells)))])
        day = int(rng.integers(max(1, steps // per_day)))
        begin = day * per_day + int(17.5 * 60 / step_minutes)
        out.append(SurgeEvent(site.lat, site.lon, 1.5, begin, begin + int(180 / step_minutes), 3.0))
    return out


def demand_from_telemetry(
    kpis: pd.DataFrame,
    topology: Topology,
    *,
    step_minutes: int = 15,
    start: datetime | None = None,
    steps: int | None = None,
) -> Demand:
    """Demand replayed from recorded KPIs.

    ``kpis`` has columns ``element_id, measurement, value, time`` (long format, as the
    twin and the store write). Served DL throughput (``dl_throughput_mbps``) divided by
    availability is the offered traffic; periods where the cell was down or the
    sample is missing are filled from the same time of day on other days of the
    cell (or the cell's median).
    """
    need = {"element_id", "measurement", "value", "time"}
    if need - set(kpis.columns):
        raise ValidationError(
            "bad_telemetry", f"telemetry lacks columns {sorted(need - set(kpis.columns))}"
        )
    cells = topology.ids(ElementKind.CELL)
    times = pd.to_datetime(kpis["time"], utc=True)
    t0 = start or times.min().to_pydatetime() - timedelta(minutes=step_minutes)
    step_idx = ((times - pd.Timestamp(t0)).dt.total_seconds() // (step_minutes * 60)).astype(
        int
    ) - 0
    step_idx = step_idx.where(step_idx >= 0, -1)
    n_steps = steps or int(step_idx.max()) + 1
    pivot = {}
    for name in ("dl_throughput_mbps", "availability"):
        sel = (kpis["measurement"] == name) & (step_idx >= 0) & (step_idx < n_steps)
        grid = np.full((len(cells), n_steps), np.nan, dtype=np.float64)
        rows = kpis.loc[sel, "element_id"].map({c: i for i, c in enumerate(cells)})
        ok = rows.notna().to_numpy()
        grid[rows.to_numpy()[ok].astype(int), step_idx[sel].to_numpy()[ok] - 0] = kpis.loc[
            sel, "value"
        ].to_numpy()[ok]
        pivot[name] = grid
    avail = pivot["availability"] / 100.0
    offered = np.where(avail > 0.5, pivot["dl_throughput_mbps"] / np.maximum(avail, 1e-3), np.nan)
    offered = _fill_by_time_of_day(offered, 1440 // step_minutes)
    return Demand(t0, step_minutes, offered.astype(np.float32), tuple(cells))


def _fill_by_time_of_day(x: np.ndarray, per_day: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: filled below
        return _fill(x, per_day)


def _fill(x: np.ndarray, per_day: int) -> np.ndarray:
    out = x.copy()
    slot = np.arange(x.shape[1]) % per_day
    for s in range(min(per_day, x.shape[1])):
        cols = slot == s
        med = (
            np.nanmedian(np.where(np.isnan(x[:, cols]), np.nan, x[:, cols]), axis=1)
            if np.isfinite(x[:, cols]).any()
            else np.full(x.shape[0], np.nan)
        )
        block = out[:, cols]
        out[:, cols] = np.where(np.isnan(block), med[:, None], block)
    overall = np.nanmedian(np.where(np.isfinite(out), out, np.nan), axis=1)
    overall = np.where(np.isnan(overall), 0.0, overall)
    return np.where(np.isnan(out), overall[:, None], out)
