"""Versioned causal graphs in the store (document kind ``causal_graph``): every save is a
new version with what the graph was learned from, and the history is kept."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from twinrca.core.errors import NotFound
from twinrca.store.base import Store

__all__ = ["graph_history", "load_graph", "save_graph"]

KIND = "causal_graph"


def save_graph(
    store: Store, name: str, edges: pd.DataFrame, *, method: str, source: dict[str, Any]
) -> int:
    """Store ``edges`` (cause, effect, weight) as the next version of graph ``name``."""
    rows = edges[["cause", "effect", "weight"]].astype({"weight": float})
    records = [
        {"cause": str(c), "effect": str(e), "weight": float(w)}
        for c, e, w in rows.itertuples(index=False)
    ]
    digest = hashlib.sha256(repr(records).encode()).hexdigest()[:16]
    doc = {
        "name": name,
        "method": method,
        "source": source,
        "edges": records,
        "n_edges": len(records),
        "digest": digest,
        "learned_at": datetime.now(UTC).isoformat(),
    }
    return store.put_document(KIND, name, doc)


def load_graph(store: Store, name: str, version: int | None = None) -> pd.DataFrame:
    """The edges of the latest (or a given) version."""
    if version is None:
        doc = store.get_document(KIND, name)
    else:
        doc = next(
            (v.doc for v in store.document_history(KIND, name) if v.version == version), None
        )
    if doc is None:
        raise NotFound(f"no causal graph {name!r}" + (f" version {version}" if version else ""))
    return pd.DataFrame(doc["edges"], columns=["cause", "effect", "weight"])


def graph_history(store: Store, name: str) -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "recorded_at": v.recorded_at.isoformat(),
            "n_edges": v.doc.get("n_edges"),
            "digest": v.doc.get("digest"),
            "method": v.doc.get("method"),
        }
        for v in store.document_history(KIND, name)
    ]
