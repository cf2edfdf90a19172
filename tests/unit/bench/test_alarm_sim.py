"""bench.alarm_sim: seeded topological Hawkes alarm sets with a known DAG."""

from __future__ import annotations

import numpy as np
import pandas as pd
from bench.alarm_sim import SimSpec, random_topology, scale_spec, simulate, suite


def _spec(**kw) -> SimSpec:
    base = {
        "name": "t",
        "n_devices": 40,
        "n_types": 12,
        "density": 0.2,
        "median_gap_s": 30.0,
        "n_alarms": 6000,
        "seed": 7,
    }
    base.update(kw)
    return SimSpec(**base)


def test_same_seed_same_frame_other_seed_other_frame() -> None:
    a, b = simulate(_spec()), simulate(_spec())
    pd.testing.assert_frame_equal(a.alarms, b.alarms)
    np.testing.assert_array_equal(a.truth, b.truth)
    np.testing.assert_array_equal(a.topology, b.topology)
    c = simulate(_spec(seed=8))
    assert not (len(c.alarms) == len(a.alarms) and c.alarms.equals(a.alarms))


def test_truth_is_a_dag_with_the_asked_density() -> None:
    for density in (0.03, 0.15, 0.3):
        s = simulate(_spec(n_types=30, density=density, n_alarms=3000))
        k = s.truth.shape[0]
        assert s.truth.shape == (k, k) and np.all(np.diag(s.truth) == 0)
        assert abs(s.truth.sum() / (k * (k - 1) / 2) - density) < 0.01
        # a DAG: repeatedly removing the types no remaining type causes empties it
        alive = np.ones(k, dtype=bool)
        for _ in range(k):
            roots = alive & ~(s.truth.astype(bool) & alive[:, None]).any(axis=0)
            alive &= ~roots
        assert not alive.any(), "cycle in the true graph"
        off = ~np.eye(k, dtype=bool)
        assert ((s.alpha > 0) & off).sum() == s.truth.sum()
        assert ((s.alpha > 0) == (s.truth == 1))[off].all()


def test_frame_columns_sorted_integer_times_and_about_n_alarms() -> None:
    s = simulate(_spec(median_gap_s=1.0))
    a = s.alarms
    assert list(a.columns) == ["alarm_id", "device_id", "start_timestamp", "end_timestamp"]
    assert all(pd.api.types.is_integer_dtype(a[c]) for c in a.columns)
    assert a["start_timestamp"].is_monotonic_increasing
    assert (a["end_timestamp"] > a["start_timestamp"]).all()
    assert (a["start_timestamp"].diff().dropna() == 0).any()  # ties, as in EMS data
    assert abs(len(a) - 6000) < 0.1 * 6000
    assert a["alarm_id"].between(0, 11).all() and a["device_id"].between(0, 39).all()


def test_lost_share_drops_the_count_by_that_share() -> None:
    # n_alarms counts the alarms kept: 15,000 after losing 25 % is the process of
    # 20,000 alarms (same seed, same draws up to the loss), then thinned
    full = simulate(_spec(n_alarms=20_000)).alarms
    thinned = simulate(_spec(n_alarms=15_000, lost_share=0.25)).alarms
    assert abs(len(thinned) / len(full) - 0.75) < 0.02
    counts_full = full["alarm_id"].value_counts()
    counts_thin = thinned["alarm_id"].value_counts().reindex(counts_full.index, fill_value=0)
    big = counts_full > 1000
    assert (abs(counts_thin[big] / counts_full[big] - 0.75) < 0.06).all()  # at random


def test_median_gap_follows_the_spec() -> None:
    for gap in (5.0, 600.0):
        a = simulate(_spec(median_gap_s=gap)).alarms.sort_values(["device_id", "start_timestamp"])
        d = a["start_timestamp"].diff()[a["device_id"].diff() == 0]
        med = float(d[d > 0].median())
        assert 0.8 * gap <= med <= 1.3 * gap + 1


def test_topology_sparse_connected_and_given_only_when_asked() -> None:
    rng = np.random.default_rng(0)
    for kind, lo, hi in (("tree", 1.9, 2.0), ("mesh", 2.5, 3.5)):
        adj = random_topology(200, kind, rng)
        assert (adj == adj.T).all() and not np.diag(adj).any()
        assert lo <= adj.sum() / 200 <= hi
        seen, todo = {0}, [0]
        while todo:
            for j in np.flatnonzero(adj[todo.pop()]):
                if j not in seen:
                    seen.add(int(j))
                    todo.append(int(j))
        assert len(seen) == 200
    given, hidden = simulate(_spec()), simulate(_spec(with_topology=False))
    assert hidden.topology is None and given.topology is not None
    pd.testing.assert_frame_equal(given.alarms, hidden.alarms)  # data propagates anyway


def _followed(
    a: pd.DataFrame, adj: np.ndarray, cause: int, effect: int, w: int, after: bool = False
) -> float:
    """Share of ``effect`` alarms with a ``cause`` alarm on the same or an adjacent
    device in the ``w`` seconds before (``after``: the ``w`` seconds after, excluded
    the same second)."""
    near = adj.astype(bool) | np.eye(adj.shape[0], dtype=bool)
    c = a[a["alarm_id"] == cause]
    by_dev = {d: np.sort(g["start_timestamp"].to_numpy()) for d, g in c.groupby("device_id")}
    e = a[a["alarm_id"] == effect]
    hits = 0
    for d, t in zip(e["device_id"].to_numpy(), e["start_timestamp"].to_numpy(), strict=True):
        for n in np.flatnonzero(near[d]):
            ts = by_dev.get(n)
            if ts is None:
                continue
            if after:
                i = np.searchsorted(ts, t, side="right")
                found = i < len(ts) and ts[i] - t <= w
            else:
                i = np.searchsorted(ts, t, side="right")
                found = i > 0 and t - ts[i - 1] <= w
            if found:
                hits += 1
                break
    return hits / max(len(e), 1)


def test_planted_cause_is_followed_by_its_effect_nearby() -> None:
    spec = _spec(n_types=2, density=1.0, n_alarms=4000, median_gap_s=60.0, alpha_range=(1, 1))
    s = simulate(spec)
    cause, effect = (int(x) for x in np.argwhere(s.truth == 1)[0])
    assert s.alpha[cause, effect] == 1.0
    a, adj, w = s.alarms, s.topology, 10
    # for each cause alarm: an effect alarm nearby in the next w s, or the w s before
    after = _followed(a, adj, effect, cause, w, after=True)
    before = _followed(a, adj, effect, cause, w)
    rng = np.random.default_rng(1)
    shuffled = a.copy()  # same alarms, the effect alarms moved to random devices
    is_e = shuffled["alarm_id"] == effect
    shuffled.loc[is_e, "device_id"] = rng.integers(0, len(adj), int(is_e.sum()))
    chance = _followed(shuffled, adj, effect, cause, w, after=True)
    assert after > 1.25 * before, (after, before)  # effects follow their causes
    assert after > 1.25 * chance, (after, chance)  # on the same or an adjacent device


def test_self_excitation_repeats_alarms_of_the_same_type() -> None:
    def repeats(a: pd.DataFrame) -> float:
        a = a.sort_values(["device_id", "start_timestamp"], kind="stable")
        same_dev = a["device_id"].diff() == 0
        close = a["start_timestamp"].diff() <= 10
        return float(((a["alarm_id"].diff() == 0) & same_dev & close).mean())

    plain = simulate(_spec(n_alarms=5000)).alarms
    echo = simulate(_spec(n_alarms=5000, self_excitation=0.9)).alarms
    assert repeats(echo) > 1.3 * repeats(plain)


def test_suite_spans_the_issue_range() -> None:
    full, quick = suite(False), suite(True)
    assert 10 <= len(full) <= 14 and 4 <= len(quick) <= 6
    assert {s.name for s in quick} <= {s.name for s in full}
    assert min(s.n_devices for s in full) <= 20 and max(s.n_devices for s in full) >= 500
    assert min(s.n_types for s in full) <= 10 and max(s.n_types for s in full) >= 60
    assert min(s.density for s in full) <= 0.03 and max(s.density for s in full) >= 0.3
    assert min(s.median_gap_s for s in full) <= 1 and max(s.median_gap_s for s in full) >= 600
    assert {s.with_topology for s in full} == {True, False}
    assert any(s.noise_share > 0 for s in full) and any(s.lost_share > 0 for s in full)
    assert any(
        400 <= s.n_devices <= 500 and 24 <= s.n_types <= 25 and s.density >= 0.2 and s.with_topology
        for s in quick
    )
    big = scale_spec()
    assert (big.n_devices, big.n_types, big.n_alarms) == (500, 60, 1_000_000)
