"""Background process of a Twin-lab job: generate a scenario, zip it, report progress.

``python -m twinrca.runtime.jobrunner --out DIR --cells N --days D --faults F --seed S``
writes ``DIR/progress.json`` (atomically) at each stage and ``DIR/dataset.zip`` at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from twinrca.core.timeutil import utcnow
from twinrca.runtime.jobs import PROGRESS_FILE, ZIP_NAME

__all__ = ["main", "run"]

log = logging.getLogger(__name__)
_SKIP = {PROGRESS_FILE, ZIP_NAME, "runner.log", PROGRESS_FILE + ".tmp"}


def _report(out: Path, **fields: Any) -> None:
    tmp = out / (PROGRESS_FILE + ".tmp")
    tmp.write_text(json.dumps(fields, default=str), encoding="utf-8")
    os.replace(tmp, out / PROGRESS_FILE)


def _zip(out: Path, started: str) -> Path:
    files = sorted(p for p in (out / "data").rglob("*") if p.is_file() and p.name not in _SKIP)
    target = out / ZIP_NAME
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i, path in enumerate(files, 1):
            zf.write(path, path.relative_to(out / "data"))
            if i % 5 == 0 or i == len(files):
                _report(
                    out,
                    state="running",
                    stage="packing",
                    started_at=started,
                    progress=round(0.8 + 0.19 * i / len(files), 3),
                )
    return target


def run(out: Path, *, cells: int, days: float, faults: int, seed: int) -> Path:
    """Generate into ``out/data`` and zip it; progress reported all along."""
    from twinrca.core.settings import load_settings
    from twinrca.runtime.dask_pool import batch_map
    from twinrca.twin_replay.generate import generate_scenario

    out.mkdir(parents=True, exist_ok=True)
    started = utcnow().isoformat()
    _report(out, state="running", stage="simulating the twin", progress=0.05, started_at=started)
    t0 = time.perf_counter()
    with batch_map(settings=load_settings().dask) as mapper:  # TWINRCA_DASK__SCHEDULER
        summary = generate_scenario(
            out / "data", cells=cells, days=days, faults=faults, seed=seed, mapper=mapper
        )
    info = {
        "cells": summary.cells,
        "steps": summary.steps,
        "faults": summary.faults,
        "kpi_messages": summary.kpi_messages,
        "alarm_messages": summary.alarm_messages,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    _report(out, state="running", stage="packing", progress=0.8, started_at=started, summary=info)
    target = _zip(out, started)
    _report(
        out,
        state="done",
        stage="done",
        progress=1.0,
        started_at=started,
        summary=info,
        zip=str(target),
        finished_at=utcnow().isoformat(),
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--days", type=float, default=1.0)
    parser.add_argument("--faults", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        run(args.out, cells=args.cells, days=args.days, faults=args.faults, seed=args.seed)
    except Exception as exc:  # the page must learn about any failure
        log.exception("scenario job failed")
        _report(
            args.out,
            state="failed",
            stage="failed",
            progress=1.0,
            error=str(exc),
            finished_at=utcnow().isoformat(),
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
