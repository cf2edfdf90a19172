"""Grouping accuracy of the log templater on the loghub 2k dev systems.

    python -m bench.logparse --json [--quick] [--data PATH]

Prints one JSON object: per system the grouping accuracy (GA) of TwinRCA's
templater with its defaults, of plain drain3 (default config, no masking) measured
in the same run, and Drain's published GA; the means; and the ratio of TwinRCA's
mean GA to plain drain3's. Ground-truth groups are the corrected templates
(``EventTemplate``); GA against the ``EventId`` column is printed too (in the
corrected Linux file three ids share one template). Progress goes to stderr. When
the data folder is absent it prints a message and exits with status 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DRAIN_PUBLISHED = {
    "HDFS": 0.9975,
    "BGL": 0.9625,
    "OpenSSH": 0.7875,
    "Apache": 1.0,
    "Zookeeper": 0.9665,
    "Linux": 0.69,
}
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared/datasets/logs/loghub_2k"


def _load(folder: Path, system: str, layout: str) -> tuple[list[str], list[str], list[str]]:
    import pandas as pd

    from twinrca.ingest.logformat import LogFormat

    fmt = LogFormat.compile(layout)
    raw = (folder / system / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace")
    truth = pd.read_csv(folder / system / f"{system}_2k.log_structured_corrected.csv")
    parsed = [fmt.parse(line) for line in raw.splitlines()]
    by_line = {k: p.content for k, p in enumerate(parsed, 1)}
    contents = [by_line[int(k)] for k in truth["LineId"]]
    return contents, list(truth["EventTemplate"]), list(truth["EventId"])


def _plain_drain3(contents: list[str]) -> list[int]:
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    miner = TemplateMiner(config=TemplateMinerConfig())
    return [miner.add_log_message(c)["cluster_id"] for c in contents]


def _ours(contents: list[str]) -> tuple[list[str], float]:
    from twinrca.ingest.logtemplates import LogTemplater

    start = time.perf_counter()
    ids = [m.template_id for m in LogTemplater().parse(contents)]
    return ids, time.perf_counter() - start


def run(folder: Path, systems: list[str]) -> dict[str, object]:
    from twinrca.ingest.logeval import grouping_accuracy as ga

    layouts = json.loads((folder / "formats.json").read_text())
    rows: dict[str, dict[str, float | int]] = {}
    for system in systems:
        print(f"logparse: {system}", file=sys.stderr)
        contents, templates, event_ids = _load(folder, system, layouts[system])
        ours, seconds = _ours(contents)
        plain = _plain_drain3(contents)
        rows[system] = {
            "ga": round(ga(ours, templates), 4),
            "ga_by_event_id": round(ga(ours, event_ids), 4),
            "drain3_plain_ga": round(ga(plain, templates), 4),
            "drain_published_ga": DRAIN_PUBLISHED[system],
            "templates": len(set(ours)),
            "true_templates": len(set(templates)),
            "lines": len(contents),
            "seconds": round(seconds, 3),
        }
    return _summary(rows)


def _summary(rows: dict[str, dict[str, float | int]]) -> dict[str, object]:
    def mean(key: str) -> float:
        return round(sum(float(r[key]) for r in rows.values()) / len(rows), 4)

    ours, plain = mean("ga"), mean("drain3_plain_ga")
    return {
        "benchmark": "logparse",
        "metric": "grouping accuracy (loghub GA) vs corrected templates",
        "systems": rows,
        "mean_ga": ours,
        "mean_ga_by_event_id": mean("ga_by_event_id"),
        "mean_drain3_plain_ga": plain,
        "mean_drain_published_ga": mean("drain_published_ga"),
        "ratio_to_drain3_plain": round(ours / plain, 4) if plain else None,
        "better_than_drain_or_both_perfect": all(
            float(r["ga"]) > float(r["drain_published_ga"]) or float(r["ga"]) == 1.0
            for r in rows.values()
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default)")
    parser.add_argument("--quick", action="store_true", help="three systems only")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="loghub_2k folder")
    args = parser.parse_args(argv)
    folder = args.data.resolve()
    if not (folder / "formats.json").is_file():
        print(f"logparse: no dataset at {folder}; skipped", file=sys.stderr)
        print(json.dumps({"benchmark": "logparse", "skipped": f"no dataset at {folder}"}))
        return 0
    systems = list(DRAIN_PUBLISHED)[:3] if args.quick else list(DRAIN_PUBLISHED)
    print(json.dumps(run(folder, systems), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
