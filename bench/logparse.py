"""Log templates on the loghub 2k dev systems: leave-one-system-out, peers, speed.

    python -m bench.logparse --json [--quick] [--data PATH]

Prints one JSON object. Per dev system: grouping accuracy (GA, loghub's metric) and
parsing accuracy (PA: share of lines whose template text equals the true one, after
collapsing blanks and runs of adjacent ``<*>``) of TwinRCA's templater; GA of
plain drain3 (its defaults) and of logparser3's Drain and Brain run in the same
benchmark on the same message text, once with one setting for all systems (their
defaults) and once with the per-system settings of their published benchmark
scripts; Drain's published GA.

Leave-one-system-out (LOSO): for each system, the setting is chosen from a small
grid by mean GA on the other five, then scored on it (``loso_*``). The templater has
one default setting; LOSO shows whether the data would have chosen another.
``lines_per_s`` is the templater's throughput over all six files (median of three
runs, masking included). ``synthetic`` gives GA on generated log systems of other
shapes (:mod:`twinrca.ingest.logsynth`). Ground truth is the corrected templates
(``EventTemplate``). When the data folder is absent it says so and exits 0.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DRAIN_PUBLISHED = {
    "HDFS": 0.9975,
    "BGL": 0.9625,
    "OpenSSH": 0.7875,
    "Apache": 1.0,
    "Zookeeper": 0.9665,
    "Linux": 0.69,
}
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared/datasets/logs/loghub_2k"
GRID = [(sim, classes) for sim in (0.4, 0.5, 0.6) for classes in (2, 3, 4)]
DEFAULT = (0.5, 3)
_WILD = re.compile(r"(?:<\*>)+")


def _load(folder: Path, system: str, layout: str) -> tuple[list[str], list[str]]:
    import pandas as pd

    from twinrca.ingest.logformat import LogFormat

    fmt = LogFormat.compile(layout)
    raw = (folder / system / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace")
    truth = pd.read_csv(folder / system / f"{system}_2k.log_structured_corrected.csv")
    by_line = {k: fmt.parse(line).content for k, line in enumerate(raw.splitlines(), 1)}
    return [by_line[int(k)] for k in truth["LineId"]], list(truth["EventTemplate"])


def _norm(template: str) -> str:
    return _WILD.sub("<*>", " ".join(str(template).split()))


def _ours(contents: list[str], setting: tuple[float, int]) -> tuple[list[str], list[str], float]:
    from twinrca.ingest.logsplit import SplitRules
    from twinrca.ingest.logtemplates import LogTemplater, TemplaterConfig
    from twinrca.ingest.masking import clear_cache

    config = TemplaterConfig(sim_th=setting[0], split=SplitRules(max_classes=setting[1]))
    clear_cache()  # time a cold start: no token memoised by an earlier run
    start = time.perf_counter()
    matches = LogTemplater(config).parse(contents)
    seconds = time.perf_counter() - start
    return [m.template_id for m in matches], [m.template for m in matches], seconds


def _plain_drain3(contents: list[str]) -> list[int]:
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    miner = TemplateMiner(config=TemplateMinerConfig())
    return [miner.add_log_message(c)["cluster_id"] for c in contents]


def _published_settings(parser: str) -> dict[str, dict[str, Any]]:
    """``benchmark_settings`` of logparser3's own benchmark script (read, not run)."""
    import logparser

    source = Path(logparser.__file__).parent / parser / "benchmark.py"
    for node in ast.walk(ast.parse(source.read_text())):
        if (
            isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", "") == "benchmark_settings"
        ):
            return dict(ast.literal_eval(node.value))
    return {}


def _logparser3(
    parser: str, contents: list[str], setting: dict[str, Any] | None
) -> list[str] | None:
    """EventIds of logparser3's Drain or Brain over the message texts (None if unavailable)."""
    try:
        import pandas as pd
        from logparser import Brain, Drain
    except ImportError:
        return None
    setting = setting or {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        # one message per line; an empty message would be dropped by the peers' reader
        Path(tmp, "x.log").write_text("\n".join(c.strip() or "-" for c in contents) + "\n")
        if parser == "Drain":
            kwargs = {"rex": setting.get("regex", [])}
            if setting:
                kwargs.update(st=setting["st"], depth=setting["depth"])
            Drain.LogParser("<Content>", indir=tmp, outdir=tmp, **kwargs).parse("x.log")
        else:
            Brain.LogParser(
                setting.get("name", ""),
                "<Content>",
                indir=tmp,
                outdir=tmp,
                threshold=setting.get("theshold", 2),
                delimeter=setting.get("delimiter", []),
                rex=setting.get("regex", []),
            ).parse("x.log")
        ids = list(pd.read_csv(Path(tmp, "x.log_structured.csv"))["EventId"])
    return ids if len(ids) == len(contents) else None


def _peers(contents: list[str], truth: list[str], system: str) -> dict[str, float | None]:
    from twinrca.ingest.logeval import grouping_accuracy as ga

    out: dict[str, float | None] = {"drain3_ga": round(ga(_plain_drain3(contents), truth), 4)}
    for parser in ("Drain", "Brain"):
        published = _published_settings(parser).get(system)
        if published is not None:
            published = {**published, "name": system}
        for label, setting in (("default", None), ("published", published)):
            ids = _logparser3(parser, contents, setting)
            key = f"logparser3_{parser.lower()}_{label}_ga"
            out[key] = None if ids is None else round(ga(ids, truth), 4)
    return out


def _grid(
    data: dict[str, tuple[list[str], list[str]]],
) -> dict[tuple[float, int], dict[str, float]]:
    from twinrca.ingest.logeval import grouping_accuracy as ga

    scores: dict[tuple[float, int], dict[str, float]] = {}
    for setting in GRID:
        scores[setting] = {
            s: ga(_ours(contents, setting)[0], truth) for s, (contents, truth) in data.items()
        }
    return scores


def _loso(scores: dict[tuple[float, int], dict[str, float]], systems: list[str]) -> dict[str, Any]:
    folds: dict[str, dict[str, Any]] = {}
    for held in systems:
        rest = [s for s in systems if s != held]

        def train(setting: tuple[float, int], rest: list[str] = rest) -> tuple[float, bool]:
            return statistics.fmean(scores[setting][s] for s in rest), setting == DEFAULT

        chosen = max(GRID, key=train)  # ties go to the default
        folds[held] = {"setting": list(chosen), "ga": round(scores[chosen][held], 4)}
    values = [float(f["ga"]) for f in folds.values()]
    return {"folds": folds, "mean": round(statistics.fmean(values), 4), "min": min(values)}


def _speed(data: dict[str, tuple[list[str], list[str]]]) -> float:
    lines = sum(len(c) for c, _ in data.values())
    runs = [sum(_ours(c, DEFAULT)[2] for c, _ in data.values()) for _ in range(3)]
    return round(lines / statistics.median(runs))


def _synthetic() -> dict[str, dict[str, float]]:
    from twinrca.ingest.logeval import grouping_accuracy as ga
    from twinrca.ingest.logsynth import SYSTEMS, generate

    out = {}
    for system in SYSTEMS:
        labels, texts = zip(*generate(system, 2000, seed=7), strict=True)
        out[system] = {
            "ga": round(ga(_ours(list(texts), DEFAULT)[0], list(labels)), 4),
            "drain3_ga": round(ga(_plain_drain3(list(texts)), list(labels)), 4),
        }
    return out


def run(folder: Path, systems: list[str], peers: bool = True) -> dict[str, object]:
    from twinrca.ingest.logeval import grouping_accuracy as ga

    layouts = json.loads((folder / "formats.json").read_text())
    data = {s: _load(folder, s, layouts[s]) for s in systems}
    rows: dict[str, dict[str, Any]] = {}
    for system, (contents, truth) in data.items():
        print(f"logparse: {system}", file=sys.stderr)
        ids, texts, _ = _ours(contents, DEFAULT)
        pa = statistics.fmean(_norm(a) == _norm(b) for a, b in zip(texts, truth, strict=True))
        rows[system] = {
            "ga": round(ga(ids, truth), 4),
            "pa": round(pa, 4),
            "templates": len(set(ids)),
            "true_templates": len(set(truth)),
            "drain_published_ga": DRAIN_PUBLISHED.get(system),
            **(_peers(contents, truth, system) if peers else {}),
        }
    print("logparse: settings grid for leave-one-system-out", file=sys.stderr)
    loso = _loso(_grid(data), systems)
    for system, fold in loso["folds"].items():
        rows[system].update(loso_ga=fold["ga"], loso_setting=fold["setting"])
    return _summary(rows, loso, _speed(data))


def _mean(rows: dict[str, dict[str, Any]], key: str) -> float | None:
    values = [r.get(key) for r in rows.values()]
    if any(v is None for v in values):
        return None
    return round(statistics.fmean(float(v) for v in values), 4)  # type: ignore[arg-type]


def _summary(
    rows: dict[str, dict[str, Any]], loso: dict[str, Any], speed: float
) -> dict[str, object]:
    peer_keys = sorted({k for r in rows.values() for k in r if k.startswith("logparser3_")})
    mean_ga, drain3 = _mean(rows, "ga"), _mean(rows, "drain3_ga")
    return {
        "benchmark": "logparse",
        "metric": "grouping accuracy (loghub GA) vs corrected templates; PA = exact template text",
        "setting": {"sim_th": DEFAULT[0], "max_classes": DEFAULT[1], "grid": GRID},
        "loso_mean_ga": loso["mean"],
        "loso_min_ga": loso["min"],
        "mean_ga": mean_ga,
        "min_ga": min(float(r["ga"]) for r in rows.values()),
        "mean_pa": _mean(rows, "pa"),
        "lines_per_s": speed,
        "drain3_mean_ga": drain3,
        "ratio_to_drain3": round(mean_ga / drain3, 4) if mean_ga and drain3 else None,
        **{f"{k[:-3]}_mean_ga": _mean(rows, k) for k in peer_keys},
        "drain_published_mean_ga": _mean(rows, "drain_published_ga"),
        "synthetic": _synthetic(),
        "systems": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--quick", action="store_true", help="three systems, no logparser3 peers")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="loghub_2k folder")
    args = parser.parse_args(argv)
    folder = args.data.resolve()
    if not (folder / "formats.json").is_file():
        print(f"logparse: no dataset at {folder}; skipped", file=sys.stderr)
        print(json.dumps({"benchmark": "logparse", "skipped": f"no dataset at {folder}"}))
        return 0
    systems = list(DRAIN_PUBLISHED)[:3] if args.quick else list(DRAIN_PUBLISHED)
    print(json.dumps(run(folder, systems, peers=not args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
