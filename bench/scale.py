"""Operator scale (issue 18), what is measurable today, on one machine.

    python -m bench.scale --json [--quick] [--cells N] [--no-training] [--dask ADDR]

Measures, on a generated ``N``-cell twin network (``--quick``: 5,000; full: 20,000):

* ``first_start_training_s``: what ``twinrca serve`` does at its first start with an
  empty cache, the diagnoser's training (``training.diagnoser.train_or_load`` with
  ``train_on="representative"``: the twin runs of ``training.neighbourhoods``'
  representative network of the network's kinds, ``training_network_cells`` cells,
  detection, fit, the model bound to the whole network) with its twin runs on Dask
  (``runtime.dask_pool.batch_map``, ``min_pieces=2``: a local 2-worker cluster unless
  ``--dask``); ``training_twin_runs_s`` (until the last run's cases are back) and
  ``diagnoser_fit_s`` (the fit and the cache write) are its parts;
  ``second_start_training_s``: the next start, the cached model loaded and bound;
  ``--baseline`` also times the single-process path (same seeds) as
  ``first_start_training_serial_s``;
* ``peak_rss_mib``: the peak resident memory of this process (the one ``serve`` would
  be); ``worker_peak_rss_mib``: the largest Dask worker process (``RUSAGE_CHILDREN``);
* ``storm_root_incident_s``: a fibre cut on the aggregation link with the most cells
  under it: the twin's alarms of the cut (the link and everything it feeds) raised and
  cleared again and again (EMS flapping) within 60 s, plus unrelated alarms on random
  elements of the whole network, 10,000 alarm messages in all, through the detector
  (``detect.detector.detect_incidents``) as ``serve``'s detection loop would see them:
  a tick every ``TICK_S`` seconds of event time over the alarms arrived so far, each
  tick's computing time moving the clock on (a slow tick delays the next). The figure
  is the clock, from the first alarm, of the first tick from which every tick to
  the end of the storm returns an incident holding
  the cut link, >= 90 % of the storm's alarms arrived so far and <= 10 % unrelated
  ones; null (with ``storm_found: false``) when the last tick does not.

Not measured here (null, listed in ``not_measured``): everything that needs the
Kafka -> TimescaleDB -> 2 ``serve`` instances run of the issue (instances,
replay speed, faults, AC@1, alarm-to-recommendation latency, lag, rebalance, webhooks).
Prints one JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

import numpy as np
import pandas as pd

from twinrca.core.columns import ALARM_COLUMNS
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, load_catalogue
from twinrca.twin_replay import generate_demand, generate_topology
from twinrca.twin_replay.effects import Intervention
from twinrca.twin_replay.simulate import simulate

STORM_ALARMS = 10_000
STORM_WINDOW_S = 60.0
NOISE_SHARE = 0.05  # unrelated alarms among the storm's messages (--noise)
TICK_S = 2.0
SEED = 18
SERVE_FIRST_SEED = 101  # serve's first training seed (runtime.runner.RunOptions)
NOT_MEASURED = [
    "instances",
    "replay_speed",
    "faults",
    "ac_at_1",
    "p95_alarm_to_recommendation_s",
    "max_lag_messages",
    "rebalance_recovery_s",
    "webhooks_lost",
    "webhooks_doubled",
]


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _rss_mib(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024.0, 1)  # Linux: KiB


def _training(topo: Topology, cat: Catalogue, dask: str | None, serial: bool) -> dict[str, Any]:
    import tempfile
    from pathlib import Path

    from twinrca.causal.diagnosis import BayesianDiagnoser
    from twinrca.runtime.dask_pool import batch_map
    from twinrca.training.diagnoser import train_or_load, training_network
    from twinrca.training.neighbourhoods import (
        REPRESENTATIVE_DAYS,
        REPRESENTATIVE_FAULTS,
        representative_seeds,
    )

    seeds = representative_seeds(SERVE_FIRST_SEED)
    setup = {"days": REPRESENTATIVE_DAYS, "faults": REPRESENTATIVE_FAULTS}
    setup |= {"seeds": seeds, "train_on": "representative"}
    out: dict[str, Any] = {}
    marks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with batch_map(dask, min_pieces=2) as mapper:
            model = train_or_load(
                Path(tmp) / "diagnoser.pkl",
                topo,
                cat,
                mapper=mapper,
                progress=lambda _seed: marks.append(time.perf_counter()),
                **setup,
            )
        done = time.perf_counter()
        out["first_start_training_s"] = round(done - t0, 1)
        if not isinstance(model, BayesianDiagnoser) or len(marks) != len(seeds):
            raise SystemExit("training did not run its twin runs")
        if model.topology is not topo:
            raise SystemExit("the trained diagnoser is not bound to the network")
        # the runs' results arrive in seed order; the last one ends the twin-run part
        out["training_twin_runs_s"] = round(marks[-1] - t0, 1)
        out["diagnoser_fit_s"] = round(done - marks[-1], 1)
        out["training_network_cells"] = len(
            training_network(topo, "representative").ids(ElementKind.CELL)
        )
        out["training_seeds"] = len(seeds)
        out["training_faults_per_run"] = setup["faults"]
        t1 = time.perf_counter()  # a restart: the cached model, bound to the network
        again = train_or_load(Path(tmp) / "diagnoser.pkl", topo, cat, **setup)
        out["second_start_training_s"] = round(time.perf_counter() - t1, 1)
        if again.topology is not topo:
            raise SystemExit("the cached diagnoser is not bound to the network")
        _log(f"training: {out}")
        if serial:
            t3 = time.perf_counter()
            train_or_load(Path(tmp) / "serial.pkl", topo, cat, **setup)
            out["first_start_training_serial_s"] = round(time.perf_counter() - t3, 1)
    return out


def _storm_link(topo: Topology) -> str:
    agg = [
        e
        for e in topo.ids(ElementKind.TRANSPORT)
        if topo.element(e).attrs.get("level") == "aggregation"
    ]
    return max(agg, key=lambda e: (len(topo.descendants(e)), e))


def storm_frame(
    topo: Topology, cat: Catalogue, *, seed: int = SEED, noise: float = NOISE_SHARE
) -> tuple[pd.DataFrame, str]:
    """10,000 alarm messages in 60 s: a fibre cut's alarms flapping, unrelated noise."""
    link = _storm_link(topo)
    demand = generate_demand(topo, days=0.25, seed=seed)
    cut = Intervention("fault", "FM-TX-FIBRE-CUT", link, 2, None)
    res = simulate(topo, demand, [cut], seed=seed, catalogue=cat, full=False)
    sigs = res.alarms[["element_id", "alarm_type", "probable_cause", "specific_problem"]]
    sigs = sigs.drop_duplicates().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-05T10:00:00Z")
    n_storm = int(STORM_ALARMS * (1 - noise))
    pick = rng.integers(len(sigs), size=n_storm)
    storm = sigs.iloc[pick].reset_index(drop=True)
    storm_t = np.sort(rng.uniform(0, STORM_WINDOW_S, size=n_storm))
    storm_t[0] = 0.0
    elements = [e for e in topo.ids() if e != link and e not in topo.descendants(link)]
    rules = {k: [r for m in cat if m.element_kind == k for r in m.alarms] for k in ElementKind}
    rows = []
    for t in rng.uniform(0, STORM_WINDOW_S, size=STORM_ALARMS - n_storm):
        el = elements[int(rng.integers(len(elements)))]
        kind_rules = rules[topo.element(el).kind]
        r = kind_rules[int(rng.integers(len(kind_rules)))]
        rows.append((el, str(r.alarm_type), r.probable_cause, r.specific_problem, float(t)))
    noise = pd.DataFrame(
        rows, columns=["element_id", "alarm_type", "probable_cause", "specific_problem", "t"]
    )
    frame = pd.concat([storm.assign(t=storm_t, storm=True), noise.assign(storm=False)])
    frame = frame.sort_values("t", kind="stable").reset_index(drop=True)
    n = len(frame)
    # an element's storm alarm alternates raise / clear (flapping), noise only raises
    flap = frame.groupby(["element_id", "specific_problem"]).cumcount() % 2 == 1
    state = np.where(frame["storm"] & flap, "cleared", "raised")
    out = pd.DataFrame(
        {
            "alarm_id": [
                f"storm-{e}-{p}" if s else f"noise-{i}"
                for i, (e, p, s) in enumerate(
                    zip(frame["element_id"], frame["specific_problem"], frame["storm"], strict=True)
                )
            ],
            "notification_id": np.arange(n),
            "managed_object": frame["element_id"].to_numpy(),
            "alarm_type": frame["alarm_type"].to_numpy(),
            "probable_cause": frame["probable_cause"].to_numpy(),
            "specific_problem": frame["specific_problem"].to_numpy(),
            "perceived_severity": np.where(state == "cleared", "CLEARED", "MAJOR"),
            "state": state,
            "event_time": start + pd.to_timedelta(frame["t"].to_numpy(), unit="s"),
            "additional_text": "",
        }
    )
    return out[list(ALARM_COLUMNS)].assign(_storm=frame["storm"].to_numpy()), link


def _root_incident(incidents: list[Any], link: str, seen: int) -> bool:
    """Some incident holds the cut link, >= 90 % of the storm's raised alarms so far and
    <= 10 % unrelated ones (a storm glued to the noise is no root incident)."""
    for inc in incidents:
        if link not in set(inc.group.elements):
            continue
        ids = inc.alarms["alarm_id"].astype(str)
        n_storm = int(ids.str.startswith("storm-").sum())
        if n_storm >= 0.9 * seen and len(ids) - n_storm <= 0.1 * len(ids):
            return True
    return False


def storm(topo: Topology, cat: Catalogue, noise: float = NOISE_SHARE) -> dict[str, Any]:
    from twinrca.detect.detector import detect_incidents

    frame, link = storm_frame(topo, cat, noise=noise)
    is_storm = frame.pop("_storm").to_numpy() & (frame["state"] == "raised").to_numpy()
    first = frame["event_time"].iloc[0]
    secs = (frame["event_time"] - first).dt.total_seconds().to_numpy()
    clock, ticks, found, worst = 0.0, 0, None, 0.0
    while clock <= STORM_WINDOW_S + TICK_S:
        upto = int(np.searchsorted(secs, clock, side="right"))
        t0 = time.perf_counter()
        incidents = detect_incidents(frame.iloc[:upto], topo, silent=False)
        took = time.perf_counter() - t0
        worst, ticks = max(worst, took), ticks + 1
        clock += took
        if not _root_incident(incidents, link, int(is_storm[:upto].sum())):
            found = None  # not (or no longer) there: the storm's incident must hold
        elif found is None:
            found = {"s": round(clock, 2), "incidents": len(incidents), "upto": upto}
        clock = max(clock, (int(clock // TICK_S) + 1) * TICK_S)
    _log(f"storm: link {link}, {len(frame)} messages, ticks {ticks}, worst tick {worst:.2f} s")
    return {
        "storm_alarms": len(frame),
        "storm_noise_share": noise,
        "storm_link": link,
        "storm_cells_under_link": sum(
            1 for e in topo.descendants(link) if topo.element(e).kind == ElementKind.CELL
        ),
        "storm_found": found is not None,
        "storm_root_incident_s": None if found is None else found["s"],
        "storm_incidents_at_detection": None if found is None else found["incidents"],
        "storm_alarms_seen_at_detection": None if found is None else found["upto"],
        "storm_worst_tick_s": round(worst, 2),
        "storm_tick_s": TICK_S,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object (always)")
    ap.add_argument("--quick", action="store_true", help="5,000 cells instead of 20,000")
    ap.add_argument("--cells", type=int, default=None, help="override the network size")
    ap.add_argument("--no-training", action="store_true", help="skip the first-start training")
    ap.add_argument("--baseline", action="store_true", help="also time single-process training")
    ap.add_argument("--noise", type=float, default=NOISE_SHARE, help="unrelated share")
    ap.add_argument("--dask", default=None, help="Dask scheduler (default: a local cluster)")
    args = ap.parse_args(argv)
    cells = args.cells or (5000 if args.quick else 20000)
    t0 = time.perf_counter()
    topo = generate_topology(cells, seed=SEED)
    cat = load_catalogue()
    _log(f"{cells} cells, {len(topo)} elements")
    result: dict[str, Any] = {"cells": cells, "elements": len(topo)}
    result.update({k: None for k in NOT_MEASURED})
    not_measured = list(NOT_MEASURED)
    result.update(storm(topo, cat, args.noise))
    if args.no_training:
        result["first_start_training_s"] = None
        not_measured.append("first_start_training_s")
    else:
        result.update(_training(topo, cat, args.dask, args.baseline))
    result["peak_rss_mib"] = _rss_mib(resource.RUSAGE_SELF)
    result["worker_peak_rss_mib"] = _rss_mib(resource.RUSAGE_CHILDREN)
    result["not_measured"] = sorted(not_measured)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
