"""Root-cause ranking on twin scenarios from seeds development never used.

    python -m bench.rca --json [--quick] [--cells N] [--alarm-loss F] [--calibrate]

Trains the Bayesian diagnoser as ``serve``, ``analyse`` and the demo do, on twin runs of
the representative network of the test network's kinds (``--train-on representative``,
the default: training.neighbourhoods), or on runs with training seeds (1..) of the test
network itself (``--train-on full``), then scores
incidents of runs with test seeds (70001..) on a 1,000-cell network: planted faults of
every primary failure mode, with EMS imperfections (lost alarms, unrelated background
alarms). A case is a planted fault; it counts as found at rank k when the true
(root element, failure mode) is among the top k candidates of the incident that
holds its alarms. Baseline in the same run: the first alarm's element, with the
failure mode whose root alarm has that alarm's signature ("first alarm").

``verified``: the top 3 replayed on the twin and re-ranked as the service does
(weight 0.5, rerank's default temperature; ``--calibrate`` refits the temperature on
held-out training-range runs 4..12 first). ``misses`` (unverified and verified): the
cases not found at rank 1 by kind (``unmatched``: no incident holds the fault's
alarms; ``wrong_mode``: top 1 on the true element; ``wrong_element``) and, of the
matched ones, where the truth is (``truth_in_top3``: what verification could fix).
``detected``: incidents detection opened in the test runs, of which KPI-triggered
(sustained KPI anomalies with no alarm), and those matched to no planted fault (the
KPI-triggered ones among them: false positives of the silent-fault detection; the
test runs also hold unrelated background alarms, which open unmatched alarm incidents).
``kpi_triggered_cases``: the faults matched to a KPI-triggered incident, and how they
rank. ``--alarm-loss`` sets the EMS's alarm loss of the TEST runs only: the diagnoser and
the calibration keep the default, as a deployment does not know its EMS drops more.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from bench.paging import (
    Page,
    alertmanager_pages,
    match_pages,
    paging_metrics,
    raised,
    with_baseline,
)
from twinrca.causal.diagnosis import signature
from twinrca.core.topology import ElementKind
from twinrca.detect.detector import clear_times
from twinrca.detect.followups import follow_ups, opened
from twinrca.fmea.catalogue import Catalogue, load_catalogue
from twinrca.training.diagnoser import (
    TRAIN_ON,
    new_diagnoser,
    training_network,
    training_sets,
    twin_run,
)
from twinrca.training.neighbourhoods import (
    REPRESENTATIVE_DAYS,
    REPRESENTATIVE_FAULTS,
    representative_seeds,
)
from twinrca.training.twin_data import AlarmNoise
from twinrca.twin_replay.conditions import condition_labels
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.observe import Observation
from twinrca.twin_replay.verify import (
    RERANK_TEMPERATURE,
    fit_temperature,
    rerank,
    verify_candidates,
)

TRAIN_SEEDS = (1, 2, 3)
TEST_SEED_BASE = 70001
VERIFY_WEIGHT = 0.5  # the service's default (PipelineConfig.verify_weight)
CALIBRATION_SEEDS = tuple(range(4, 13))  # held-out training-range runs (--calibrate)


def train(topo, cat: Catalogue, train_on: str, *, days: float, faults: int):
    """The diagnoser, its training cases and what it was trained on: twin runs of the
    test network itself (``full``: seeds 1-3, ``faults`` per run), or the service's
    representative training (``representative``: its network, seeds and faults)."""
    if train_on == "full":
        net, seeds = topo, TRAIN_SEEDS
    else:
        net, seeds = training_network(topo, train_on), representative_seeds(TRAIN_SEEDS[0])
        days, faults = REPRESENTATIVE_DAYS, REPRESENTATIVE_FAULTS
    training, outcomes = training_sets(
        seeds,
        net,
        cat,
        days=days,
        faults=faults,
        progress=lambda seed: print(f"train seed {seed}", file=sys.stderr),
    )
    diag = new_diagnoser(net, cat).fit(training).fit_conditions(outcomes).for_topology(topo)
    info = {
        "train_on": train_on,
        "training_network_cells": len(net.ids(ElementKind.CELL)),
        "train_seeds": list(seeds),
        "train_days": days,
        "train_faults_per_run": faults,
    }
    return diag, training, info


def first_alarm_baseline(cat: Catalogue, topo):
    by_sig: dict[str, str] = {}
    for m in cat:
        if m.primary and m.alarms:
            by_sig.setdefault(
                signature(m.alarms[0].probable_cause, m.alarms[0].specific_problem), m.id
            )
    by_kind = {}
    for m in cat:
        if m.primary:
            by_kind.setdefault(str(m.element_kind), m.id)

    def rank(ev) -> list[tuple[str, str]]:
        if ev.alarms.empty:  # a KPI-triggered incident: no alarm to rank by
            return []
        a = ev.alarms.sort_values("event_time", kind="stable")
        out = []
        for r in a.itertuples(index=False):
            mode = by_sig.get(signature(r.probable_cause, r.specific_problem)) or by_kind.get(
                str(topo.element(r.managed_object).kind), ""
            )
            if (r.managed_object, mode) not in out:
                out.append((r.managed_object, mode))
        return out

    return rank


def verify_top(topo, cat: Catalogue, tw, inc, top, seed: int, params=None):
    """The candidates replayed on the twin, with the observation the service builds: the
    run's alarms and KPIs around the incident (``params``: the twin's cell parameters)."""
    lo = pd.Timestamp(inc.group.start) - pd.Timedelta(hours=2)
    hi = pd.Timestamp(inc.group.end) + pd.Timedelta(hours=4)
    t = pd.to_datetime(tw.alarms["event_time"], utc=True)
    alarms = tw.alarms[(t >= lo) & (t <= hi)]
    near = set(inc.evidence.candidates) | set(inc.group.elements)
    for e in list(near):
        near |= topo.descendants(e) if str(topo.element(e).kind) != "core" else set()
    kpis = Observation.from_result(tw.result, elements=sorted(near)).kpis
    kt = pd.to_datetime(kpis["period_end"], utc=True)
    obs = Observation.from_frames(alarms, kpis[(kt >= lo) & (kt <= hi)])
    step = pd.Timedelta(minutes=tw.demand.step_minutes)
    start = pd.Timestamp(tw.demand.start)
    a = int(np.clip((lo - start) // step, 0, tw.demand.steps - 1))
    b = int(np.clip((hi - start) // step + 1, a + 1, tw.demand.steps))
    return verify_candidates(
        topo,
        obs,
        top,
        demand=tw.demand,
        window=(a, b),
        scenarios=16,
        seed=seed,
        catalogue=cat,
        params=params,
    )


def verified(topo, cat: Catalogue, tw, inc, ranked, seed: int, temperature: float):
    """The top 3 replayed on the twin and re-ranked, as the service does."""
    top = list(ranked[:3])
    ver = verify_top(topo, cat, tw, inc, top, seed)
    checked = rerank(top, ver, weight=VERIFY_WEIGHT, temperature=temperature)
    return checked + list(ranked[3:]), ver


def calibrate(topo, cat: Catalogue, diag, *, days: float, faults: int) -> dict:
    """Fit rerank's temperature (at the service's weight) on held-out training-range runs
    with the default EMS noise, by the log loss of the true candidate among the top 3."""
    cases = []
    for seed in CALIBRATION_SEEDS:
        tw = twin_run(seed, topo, cat, days=days, faults=faults)
        for li, ii in tw.match.items():
            lab, inc = tw.labels.iloc[li], tw.incidents[ii]
            top = diag.rank(inc.evidence, top=3)
            ver = verify_top(topo, cat, tw, inc, top, seed)
            cases.append((top, ver, (lab.root_element, lab.mode_id)))
        print(f"calibration seed {seed}: {len(tw.match)} incidents verified", file=sys.stderr)
    temperature, loss = fit_temperature(cases, VERIFY_WEIGHT)
    _, default_loss = fit_temperature(cases, VERIFY_WEIGHT, grid=[RERANK_TEMPERATURE])
    _, diag_loss = fit_temperature(cases, 0.0, grid=[1.0])
    return {
        "seeds": list(CALIBRATION_SEEDS),
        "incidents": len(cases),
        "temperature": round(temperature, 4),
        "log_loss": round(loss, 4),
        "log_loss_at_default_temperature": round(default_loss, 4),
        "log_loss_diagnosis_only": round(diag_loss, 4),
    }


def ac_metrics(ranks: list[int]) -> dict[str, float]:
    r = np.asarray(ranks)
    ac = {k: float(np.mean((r >= 1) & (r <= k))) for k in range(1, 6)}
    return {
        "ac_at_1": round(ac[1], 4),
        "ac_at_3": round(ac[3], 4),
        "avg_at_5": round(float(np.mean(list(ac.values()))), 4),
    }


def rank_of(keys: list[tuple[str, str]], truth: tuple[str, str]) -> int:
    return keys.index(truth) + 1 if truth in keys else 0


def miss_kind(keys: list[tuple[str, str]] | None, truth: tuple[str, str]) -> str | None:
    """Why a case is not found at rank 1: ``unmatched`` (no incident holds the fault's
    alarms, ``keys`` None), ``wrong_mode`` (top-1 on the root element with another mode),
    ``wrong_element``; None for a hit."""
    if keys is None:
        return "unmatched"
    if keys and keys[0] == truth:
        return None
    return "wrong_mode" if keys and keys[0][0] == truth[0] else "wrong_element"


def miss_breakdown(cases: list[tuple[list[tuple[str, str]] | None, tuple[str, str]]]) -> dict:
    """Counts of the misses by kind, and of the matched misses whose truth is at rank 2-3
    (those verification of the top 3 could fix), at rank 4-5, or not in the top 5."""
    out = {"unmatched": 0, "wrong_mode": 0, "wrong_element": 0}
    out |= {"truth_in_top3": 0, "truth_at_4_5": 0, "truth_not_in_top5": 0}
    for keys, truth in cases:
        kind = miss_kind(keys, truth)
        if kind is None:
            continue
        out[kind] += 1
        if keys is not None:
            r = rank_of(keys, truth)
            out["truth_in_top3"] += 2 <= r <= 3
            out["truth_at_4_5"] += r >= 4
            out["truth_not_in_top5"] += r == 0
    return out


def top1_changes(before: list, after: list) -> dict[str, int]:
    """How verification changed the top 1: ``changed_top1`` in all, of which
    ``top1_fixed`` (a miss made a hit) and ``top1_broken`` (a hit made a miss)."""
    out = {"changed_top1": 0, "top1_fixed": 0, "top1_broken": 0}
    for (a, truth), (b, _) in zip(before, after, strict=True):
        if a is None or b is None or a[:1] == b[:1]:
            continue
        out["changed_top1"] += 1
        out["top1_fixed"] += b[:1] == [truth]
        out["top1_broken"] += a[:1] == [truth]
    return out


def _keys(cands) -> list[tuple[str, str]]:
    return [(c.element, c.failure_mode) for c in cands]


def _show_miss(seed: int, truth, ranked, checked, ver) -> None:
    """One verified-ranking miss on stderr: the candidates, posteriors, verification scores."""
    scores = {v.key: v for v in ver}
    print(f"miss seed {seed} truth {truth[0]} {truth[1]}", file=sys.stderr)
    for c in ranked[:3]:
        v = scores.get((c.element, c.failure_mode))
        comp = {k: round(x, 3) for k, x in (v.components if v else {}).items()}
        mark = "*" if (c.element, c.failure_mode) == truth else " "
        print(
            f"  {mark} {c.element} {c.failure_mode} p={c.probability:.3f} "
            f"score={v.score if v else float('nan'):.3f} {comp}",
            file=sys.stderr,
        )
    print(f"    verified top-1: {_keys(checked)[:1]}", file=sys.stderr)


def incident_pages(key: str, incidents, diag, alarms: pd.DataFrame) -> list[Page]:
    """Detected incidents as pages: those the diagnoser keeps as a condition do not
    page, nor do follow-ups of an open incident with the same top cause (as serve)."""
    out, opens = [], []
    cleared = clear_times(alarms.reset_index(drop=True))
    for i, inc in enumerate(incidents):
        top = diag.rank(inc.evidence, top=1)
        verdict = diag.condition(inc.evidence)
        pages = verdict is None or not verdict.condition
        cause = (top[0].element, top[0].failure_mode) if top else None
        opens.append(opened(f"{key}:{i}", inc, cleared, cause=cause, pages=pages))
        out.append(
            Page(
                f"{key}:{i}",
                frozenset(inc.group.elements),
                pd.Timestamp(inc.group.start),
                pd.Timestamp(inc.group.end),
                top[0].element if top else None,
                paged=pages,
            )
        )
    parents = follow_ups(opens)
    return [replace(p, paged=False, follows=parents[p.key]) if p.key in parents else p for p in out]


def add_paging(pg: dict, seed: int, tw, diag, topo) -> None:
    """One test run's pages (ours and the Alertmanager baseline's), labels and matches."""
    base = sum(len(x) for x in pg["labels"])
    pages = incident_pages(str(seed), tw.incidents, diag, tw.alarms)
    am = [replace(p, key=f"{seed}:{p.key}") for p in alertmanager_pages(tw.alarms)]
    pg["pages"] += pages
    pg["am"] += am
    pg["match"].update({base + li: pages[ii].key for li, ii in tw.match.items()})
    pg["am_match"].update({base + li: k for li, k in match_pages(tw.labels, am).items()})
    pg["labels"].append(tw.labels)
    pg["conditions"].append(condition_labels(tw.result, topo, tw.labels))
    pg["raw"] += len(raised(tw.alarms))


def paging_summary(pg: dict) -> dict:
    labels = pd.concat(pg["labels"], ignore_index=True)
    conds = pd.concat(pg["conditions"], ignore_index=True)
    ours = paging_metrics(pg["pages"], labels, pg["match"], raw_alarms=pg["raw"], conditions=conds)
    am = paging_metrics(pg["am"], labels, pg["am_match"], raw_alarms=pg["raw"], conditions=conds)
    kinds = conds["kind"].value_counts().to_dict() if len(conds) else {}
    return {**with_baseline(ours, am), "condition_kinds": kinds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object (always on)")
    ap.add_argument("--quick", action="store_true", help="fewer test runs (still >= 200 incidents)")
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument(
        "--alarm-loss",
        type=float,
        default=AlarmNoise().loss,
        help="share of alarms the EMS loses in the TEST runs (training keeps the default "
        f"{AlarmNoise().loss}: a deployment does not know its EMS drops more)",
    )
    ap.add_argument(
        "--train-on",
        choices=TRAIN_ON,
        default="representative",
        help="twin runs the diagnoser trains on: the service's representative network of "
        "the test network's kinds (representative, the product's setting) or the test "
        "network itself (full)",
    )
    ap.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip the twin verification of the top candidates",
    )
    ap.add_argument(
        "--show-misses",
        action="store_true",
        help="print each matched miss of the verified ranking with its candidates' "
        "verification scores on stderr",
    )
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="fit rerank's temperature on held-out training-range runs (seeds "
        f"{CALIBRATION_SEEDS[0]}..{CALIBRATION_SEEDS[-1]}, default EMS noise) and use it "
        f"instead of the default {RERANK_TEMPERATURE}",
    )
    args = ap.parse_args(argv)
    if not 0.0 <= args.alarm_loss < 1.0:
        ap.error("--alarm-loss must lie in [0, 1)")
    test_noise = replace(AlarmNoise(), loss=args.alarm_loss)
    t_start = time.perf_counter()
    cat = load_catalogue()
    topo = generate_topology(args.cells, seed=0)
    days, faults = 3.0, 70
    t_train = time.perf_counter()
    diag, training, train_info = train(topo, cat, args.train_on, days=days, faults=faults)
    train_info["training_s"] = round(time.perf_counter() - t_train, 1)
    calibration = None
    temperature = RERANK_TEMPERATURE
    if args.calibrate and args.verify:
        calibration = calibrate(topo, cat, diag, days=days, faults=faults)
        temperature = calibration["temperature"]
    baseline = first_alarm_baseline(cat, topo)
    ranks, base_ranks, times, base_times, modes = [], [], [], [], set()
    unmatched = 0
    detected = {"incidents": 0, "kpi_incidents": 0, "kpi_matched": 0, "unmatched_incidents": 0}
    detected["unmatched_kpi_incidents"] = 0
    n_runs = 3 if args.quick else 5
    verified_ranks, verify_times = [], []
    kpi_ranks, kpi_verified_ranks = [], []
    cases, verified_cases = [], []
    pg = {"pages": [], "am": [], "labels": [], "conditions": [], "match": {}, "am_match": {}}
    pg["raw"] = 0
    for run in range(n_runs):
        seed = TEST_SEED_BASE + run
        tw = twin_run(seed, topo, cat, days=days, faults=faults, noise=test_noise)
        incidents, labels, match = tw.incidents, tw.labels, tw.match
        unmatched += len(labels) - len(match)
        used = set(match.values())
        kpi = {i for i, inc in enumerate(incidents) if inc.trigger == "kpi"}
        detected["incidents"] += len(incidents)
        detected["kpi_incidents"] += len(kpi)
        detected["kpi_matched"] += len(kpi & used)
        detected["unmatched_incidents"] += len(incidents) - len(used)
        detected["unmatched_kpi_incidents"] += len(kpi - used)
        add_paging(pg, seed, tw, diag, topo)
        for li in range(len(labels)):
            lab = labels.iloc[li]
            truth = (lab.root_element, lab.mode_id)
            modes.add(lab.mode_id)
            if li not in match:
                ranks.append(0)
                base_ranks.append(0)
                verified_ranks.append(0)
                cases.append((None, truth))
                verified_cases.append((None, truth))
                continue
            inc = incidents[match[li]]
            ev = inc.evidence
            kpi_case = inc.trigger == "kpi"
            t0 = time.perf_counter()
            ranked = diag.rank(ev, top=5)
            times.append(time.perf_counter() - t0)
            ranks.append(rank_of(_keys(ranked), truth))
            if kpi_case:
                kpi_ranks.append(ranks[-1])
            cases.append((_keys(ranked), truth))
            t0 = time.perf_counter()
            base_keys = baseline(ev)[:5]
            base_times.append(time.perf_counter() - t0)
            base_ranks.append(rank_of(base_keys, truth))
            if args.verify:
                t0 = time.perf_counter()
                checked, ver = verified(topo, cat, tw, inc, ranked, seed, temperature)
                verify_times.append(time.perf_counter() - t0)
                verified_ranks.append(rank_of(_keys(checked), truth))
                if kpi_case:
                    kpi_verified_ranks.append(verified_ranks[-1])
                verified_cases.append((_keys(checked), truth))
                if args.show_misses and _keys(checked)[:1] != [truth]:
                    _show_miss(seed, truth, ranked, checked, ver)
        print(
            f"test seed {seed}: {len(match)}/{len(labels)} faults matched to incidents",
            file=sys.stderr,
        )
    out = {
        "paging": paging_summary(pg),
        **ac_metrics(ranks),
        "p50_s": round(float(np.percentile(times, 50)), 4),
        "p95_s": round(float(np.percentile(times, 95)), 4),
        "misses": miss_breakdown(cases),
        "baseline": {
            "name": "first alarm",
            **ac_metrics(base_ranks),
            "p50_s": round(float(np.percentile(base_times, 50)), 5),
            "p95_s": round(float(np.percentile(base_times, 95)), 5),
        },
        "verified": (
            {
                **ac_metrics(verified_ranks),
                "misses": miss_breakdown(verified_cases),
                **top1_changes(cases, verified_cases),
                "p95_verify_s": round(float(np.percentile(verify_times, 95)), 4),
                "weight": VERIFY_WEIGHT,
                "temperature": temperature,
                "calibration": calibration,
                "note": "top 3 replayed on the twin with the twin's KPIs as observation, re-ranked",
            }
            if args.verify
            else None
        ),
        "incidents": len(ranks),
        "unmatched_faults": unmatched,
        "detected": detected,
        "kpi_triggered_cases": {
            "cases": len(kpi_ranks),
            "ac_at_1": round(float(np.mean(np.asarray(kpi_ranks) == 1)), 4) if kpi_ranks else None,
            "ac_at_3": round(
                float(np.mean((np.asarray(kpi_ranks) >= 1) & (np.asarray(kpi_ranks) <= 3))), 4
            )
            if kpi_ranks
            else None,
            "verified_ac_at_1": round(float(np.mean(np.asarray(kpi_verified_ranks) == 1)), 4)
            if kpi_verified_ranks
            else None,
        },
        "failure_modes": len(modes),
        "cells": args.cells,
        "train_incidents": len(training),
        **train_info,
        "test_seeds": [TEST_SEED_BASE + r for r in range(n_runs)],
        "alarm_noise": {
            "loss": test_noise.loss,
            "train_loss": AlarmNoise().loss,
            "background_per_element_day": test_noise.background_per_element_day,
        },
        "timing_note": "p50/p95: incident evidence to ranked candidates "
        "(grouping is batch and excluded)",
        "wall_s": round(time.perf_counter() - t_start, 1),
        "quick": args.quick,
    }
    out["ac_at_1_ratio_to_baseline"] = round(
        out["ac_at_1"] / max(out["baseline"]["ac_at_1"], 1e-9), 3
    )
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
