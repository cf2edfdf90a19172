"""Scenario generation jobs of the Twin lab.

:func:`submit` writes a ``scenario_job`` document (``queued``) and starts the generation
in a background process (:mod:`twinrca.runtime.jobrunner`), so no page script ever
runs the twin. The runner reports through ``<out>/progress.json``; :func:`sync` merges
that file into the job document (written only when something changed) — the runner
never opens the store, so it works with the embedded single-writer store too.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twinrca.core.errors import StoreError, ValidationError
from twinrca.core.timeutil import utcnow
from twinrca.store.base import Store

__all__ = ["KIND", "PROGRESS_FILE", "ZIP_NAME", "read_progress", "submit", "sync"]

log = logging.getLogger(__name__)

KIND = "scenario_job"
PROGRESS_FILE = "progress.json"
ZIP_NAME = "dataset.zip"
_LIMITS = {"cells": (10, 20_000), "days": (0.1, 30.0), "faults": (0, 1000), "seed": (0, 2**31)}
_TRACKED = ("state", "stage", "progress", "zip", "error", "finished_at", "started_at", "summary")


def _check(request: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (lo, hi) in _LIMITS.items():
        value = request.get(name)
        if value is None or not lo <= float(value) <= hi:
            raise ValidationError("bad_request", f"{name} must be within {lo}..{hi}, got {value!r}")
        out[name] = float(value) if name == "days" else int(value)
    return out


def submit(
    store: Store, jobs_dir: str | Path, request: Mapping[str, Any], *, start: bool = True
) -> dict[str, Any]:
    """Record the job and start its background process; returns the job document."""
    req = _check(request)
    job_id = uuid.uuid4().hex[:12]
    out = (Path(jobs_dir) / job_id).resolve()
    doc: dict[str, Any] = {
        "job_id": job_id,
        "state": "queued",
        "stage": "queued",
        "progress": 0.0,
        "request": req,
        "created_at": utcnow().isoformat(),
        "out": str(out),
    }
    store.put_document(KIND, job_id, doc)
    if start:
        doc["pid"] = _spawn(out, req)
        store.put_document(KIND, job_id, doc)
    return doc


def _spawn(out: Path, req: Mapping[str, Any]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "twinrca.runtime.jobrunner", "--out", str(out)]
    for name, value in req.items():
        args += [f"--{name}", str(value)]
    try:
        with (out / "runner.log").open("ab") as logf:
            proc = subprocess.Popen(
                args, stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, start_new_session=True
            )
    except OSError as exc:
        raise StoreError(f"cannot start the scenario job: {exc}", out=str(out)) from exc
    log.info("scenario job %s started (pid %s)", out.name, proc.pid)
    return proc.pid


def read_progress(out: str | Path) -> dict[str, Any]:
    """The runner's last report, or {} before its first one."""
    path = Path(out) / PROGRESS_FILE
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # a torn read cannot happen (atomic replace); be safe
        log.warning("unreadable progress file %s: %s", path, exc)
        return {}


def sync(store: Store, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The job document with the runner's progress merged in (stored when it changed)."""
    report = read_progress(doc.get("out", ""))
    merged = {**doc, **{k: report[k] for k in _TRACKED if k in report}}
    if any(merged.get(k) != doc.get(k) for k in _TRACKED):
        store.put_document(KIND, str(doc["job_id"]), merged)
    return merged
