"""Causal graphs of alarm types on the public alarm sets, next to published results.

    python -m bench.causal --json [--quick] [--data DIR]

DIR (default ``../shared/datasets/alarms`` from the repository root) holds
``18V_55N_Wireless/`` (Alarm.csv, DAG.npy; no topology) and ``neurips2023_sample/``
(alarm.csv, topology.npy, causal_prior.npy, true_graph.npy). ``DAG[i, j] = 1`` and
``true_graph[i, j] = 1`` mean alarm id i causes alarm id j (matrix row = alarm id).
The prior is passed exactly as the CLI would (``prior_encoding="auto"``).

For each set: the default learner (topological Hawkes), a baseline measured in the
same run (pgmpy PC on fixed 300 s windows, no topology, prior used as the organisers'
PC-with-prior did), "every edge", the published numbers, and (without ``--quick``)
a sensitivity check of the Hawkes learner: BIC price x0.5 / x2 and the kernel time
scale fixed at x0.25 / x4 of the one the likelihood chose. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twinrca.causal import learn_alarm_graph
from twinrca.causal.alarm_events import PriorKnowledge, encode_events
from twinrca.causal.graph_scores import edge_scores
from twinrca.causal.thp import HawkesSettings
from twinrca.causal.windows import learn_window_graph

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "alarms"
BASELINE_WINDOW = 300.0  # the NeurIPS 2023 organisers' demo window, seconds

PUBLISHED: dict[str, dict[str, dict[str, float]]] = {
    "18V_55N_Wireless": {
        "THP": {"f1": 0.5765},
        "PC": {"f1": 0.4299},
        "PCMCI": {"f1": 0.4226},
        "ADM4": {"f1": 0.4074},
        "GES": {"f1": 0.3393},
        "NOTEARS": {"f1": 0.1957},
        "all_edges": {"f1": 0.368},
    },
    "neurips2023_sample": {
        "PC_with_prior": {"f1": 0.7097, "g_score": 0.3878},
        "NOTEARS": {"f1": 0.2471, "g_score": 0.1293},
    },
}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load(folder: Path) -> tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None, np.ndarray]:
    if (folder / "Alarm.csv").exists():
        return pd.read_csv(folder / "Alarm.csv"), None, None, np.load(folder / "DAG.npy")
    topo = np.load(folder / "topology.npy") if (folder / "topology.npy").exists() else None
    prior = np.load(folder / "causal_prior.npy") if (folder / "causal_prior.npy").exists() else None
    return pd.read_csv(folder / "alarm.csv"), topo, prior, np.load(folder / "true_graph.npy")


def _hawkes(alarms, topo, prior, truth, settings: HawkesSettings | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    graph = learn_alarm_graph(
        alarms, topo, prior, type_ids=range(truth.shape[0]), hawkes_settings=settings
    )
    out: dict[str, Any] = edge_scores(graph.matrix(), truth).as_dict()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["kernel_scale"] = round(float(graph.info["kernel_scale"]), 3)
    return out


def _baseline(alarms, prior, truth) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = encode_events(alarms, type_ids=range(truth.shape[0]))
    knowledge = PriorKnowledge.empty(data.n_types)
    if prior is not None:
        knowledge = PriorKnowledge.from_matrix(prior, data)
    adj, _ = learn_window_graph(data, None, knowledge, width=BASELINE_WINDOW)
    out: dict[str, Any] = edge_scores(adj, truth).as_dict()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def _sensitivity(alarms, topo, prior, truth, scale: float) -> dict[str, dict[str, Any]]:
    variants = {
        "bic_x0.5": HawkesSettings(penalty_scale=0.5),
        "bic_x2": HawkesSettings(penalty_scale=2.0),
        "kernel_x0.25": HawkesSettings(kernel_scale=scale * 0.25),
        "kernel_x4": HawkesSettings(kernel_scale=scale * 4.0),
    }
    out = {}
    for name, settings in variants.items():
        _log(f"  sensitivity {name}")
        res = _hawkes(alarms, topo, prior, truth, settings)
        out[name] = {k: res[k] for k in ("precision", "recall", "f1", "g_score")}
    return out


def run_set(folder: Path, quick: bool) -> dict[str, Any]:
    alarms, topo, prior, truth = _load(folder)
    _log(f"{folder.name}: {len(alarms)} alarms, {int(truth.sum())} true edges")
    ours = _hawkes(alarms, topo, prior, truth)
    _log(f"  hawkes F1 {ours['f1']} g {ours['g_score']} ({ours['seconds']} s)")
    base = _baseline(alarms, prior, truth)
    _log(f"  baseline PC F1 {base['f1']} g {base['g_score']} ({base['seconds']} s)")
    every = np.ones_like(truth)
    if prior is not None:  # every edge the prior does not forbid, as a fair "all edges"
        data = encode_events(alarms, type_ids=range(truth.shape[0]))
        every = ~PriorKnowledge.from_matrix(prior, data).forbidden
    result: dict[str, Any] = {
        "alarms": len(alarms),
        "true_edges": int(truth.sum()),
        "topology": topo is not None,
        "prior": prior is not None,
        "twinrca_hawkes": ours,
        "baseline_pc_fixed_windows": base,
        "all_edges": edge_scores(every, truth).as_dict(),
        "published": PUBLISHED.get(folder.name, {}),
        "f1_ratio_to_baseline": round(ours["f1"] / base["f1"], 3) if base["f1"] else None,
    }
    if not quick:
        result["sensitivity"] = _sensitivity(alarms, topo, prior, truth, ours["kernel_scale"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--quick", action="store_true", help="skip the sensitivity check")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    np.random.seed(0)
    sets = [args.data / n for n in ("18V_55N_Wireless", "neurips2023_sample")]
    present = [s for s in sets if s.is_dir()]
    if not present:
        _log(f"no alarm data set under {args.data}; nothing to benchmark")
        print(json.dumps({"skipped": True, "reason": f"no data under {args.data}"}))
        return 0
    results = {s.name: run_set(s, args.quick) for s in present}
    print(json.dumps({"bench": "causal", "datasets": results}, indent=None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
