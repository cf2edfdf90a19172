"""On-disk cache of ``bench.predict``'s twin-run features (``var/cache/bench_predict``).

A twin run's features do not depend on the horizon, and several runs (training pool,
validation pool, test) are built per benchmark: building them is most of its time. The
key holds the seed, the size and a digest of the code that makes them (twin generator,
scenario reader, feature builder), so a code change builds them afresh.
``TWINRCA_BENCH_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(os.environ.get("TWINRCA_BENCH_CACHE_DIR", "var/cache/bench_predict"))
_SOURCES = (
    "twinrca/predict/features.py",
    "twinrca/predict/physics.py",
    "twinrca/predict/scenario.py",
    "twinrca/predict/registry.py",
    "twinrca/twin_replay",
    "twinrca/core",
    "twinrca/fmea",
)


def code_digest() -> str:
    import twinrca

    base = Path(twinrca.__file__).parent.parent
    h = hashlib.sha256()
    for sub in _SOURCES:
        path = base / sub
        files = [path] if path.is_file() else sorted(path.rglob("*.py")) if path.exists() else []
        for p in files:
            h.update(str(p.relative_to(base)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cached_features(seed: int, quick: bool, build: Callable[[], tuple]) -> tuple[Any, ...]:
    """``build()`` -> (features, events, period_min, schema), through the cache."""
    if os.environ.get("TWINRCA_BENCH_CACHE", "1") == "0":
        return build()
    folder = ROOT / f"{code_digest()}-s{seed}-{'q' if quick else 'f'}"
    meta = folder / "meta.json"
    if meta.exists():
        doc = json.loads(meta.read_text())
        feats = pd.read_parquet(folder / "features.parquet")
        events = pd.read_parquet(folder / "events.parquet")
        return feats, events, int(doc["period_min"]), dict(doc["schema"])
    feats, events, period, schema = build()
    folder.mkdir(parents=True, exist_ok=True)
    feats.to_parquet(folder / "features.parquet")
    events.to_parquet(folder / "events.parquet")
    meta.write_text(json.dumps({"period_min": int(period), "schema": schema}))
    return feats, events, period, schema
