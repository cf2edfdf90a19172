"""Reader of the PetShop RCA dataset layout (Hardt et al. 2023, CC-BY-4.0).

A scenario folder holds ``graph.csv`` (adjacency matrix; a row *calls* the columns it
has a 1 in: ``PetSite`` calls ``payforadoption``, so cause -> effect is column ->
row), ``noissue/metrics.csv`` (normal operation) and ``{train,test}/issue_*/`` with
``metrics.csv`` and ``target.json`` (``target``: node, metric, agg, timestamp;
``root_cause.node``). ``metrics.csv`` has three header rows (microservice, metric,
statistic) and the unix time as index.

Metrics are flattened to one column per ``node|metric`` (``SEP = "|"``), with the
statistic asked for (the target's ``agg``) where the metric has it, else the metric's
only statistic (``requests`` has ``Sum``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from twinrca.causal.graph_io import GraphFile, read_graph_file
from twinrca.core.errors import ValidationError

__all__ = [
    "SEP",
    "PetShopIssue",
    "PetShopScenario",
    "flatten",
    "is_petshop_metrics",
    "issue_folders",
    "issue_periods",
    "load_scenario",
    "read_issue",
    "read_metrics",
    "split_window",
]

log = logging.getLogger(__name__)

SEP = "|"


@dataclass(frozen=True, slots=True)
class PetShopIssue:
    """One labelled issue: its metrics (three-level columns), symptom and truth."""

    name: str
    metrics: pd.DataFrame
    target_node: str
    target_metric: str
    target_agg: str
    timestamp: float
    root_cause: str | None


@dataclass(frozen=True, slots=True)
class PetShopScenario:
    """A scenario: call graph, normal metrics, labelled issues per split."""

    graph: GraphFile
    normal: pd.DataFrame
    issues: dict[str, tuple[PetShopIssue, ...]]

    def edges(self) -> list[tuple[str, str]]:
        """``(cause, effect)`` = ``(callee, caller)`` pairs."""
        return self.graph.oriented("calls")


def is_petshop_metrics(path: Path) -> bool:
    """True when ``path`` starts with the three PetShop header rows."""
    try:
        with path.open(encoding="utf-8") as handle:
            heads = [handle.readline().split(",", 1)[0].strip() for _ in range(3)]
    except (OSError, UnicodeDecodeError):
        return False
    return heads == ["microservice", "metric", "statistic"]


def read_metrics(path: Path) -> pd.DataFrame:
    """A PetShop ``metrics.csv`` with its three header levels."""
    try:
        frame = pd.read_csv(path, header=[0, 1, 2], index_col=0)
    except (OSError, ValueError) as exc:
        raise ValidationError(
            "unreadable_csv", "cannot read PetShop metrics", path=str(path)
        ) from exc
    frame = frame.apply(pd.to_numeric, errors="coerce")
    frame.index = pd.to_numeric(frame.index, errors="coerce")
    return frame[frame.index.notna()]


def flatten(frame: pd.DataFrame, statistic: str = "Average") -> pd.DataFrame:
    """One ``node|metric`` column per node and metric (see the module notes)."""
    chosen: dict[tuple[str, str], tuple[str, str, str]] = {}
    for node, metric, stat in frame.columns:
        key = (str(node), str(metric))
        if key not in chosen or stat == statistic:
            chosen[key] = (node, metric, stat)
    flat = frame[list(chosen.values())].copy()
    flat.columns = [f"{n}{SEP}{m}" for n, m in chosen]
    return flat.loc[:, ~flat.columns.duplicated()]


def read_issue(folder: Path) -> PetShopIssue:
    """One ``issue_*`` folder."""
    try:
        doc = json.loads((folder / "target.json").read_text(encoding="utf-8"))
        target = doc["target"]
        root = (doc.get("root_cause") or {}).get("node")
        issue = PetShopIssue(
            name=folder.name,
            metrics=read_metrics(folder / "metrics.csv"),
            target_node=str(target["node"]),
            target_metric=str(target["metric"]),
            target_agg=str(target.get("agg") or "Average"),
            timestamp=float(target["timestamp"]),
            root_cause=str(root) if root else None,
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("bad_issue", "unreadable PetShop issue", path=str(folder)) from exc
    return issue


def _issue_key(folder: Path) -> tuple[int, str]:
    tail = folder.name.rpartition("_")[2]
    return (int(tail) if tail.isdigit() else 1 << 30, folder.name)


def issue_folders(split_dir: Path) -> list[Path]:
    """``issue_*`` folders with a ``target.json``, in numeric order."""
    found = [p for p in split_dir.glob("issue_*") if (p / "target.json").is_file()]
    return sorted(found, key=_issue_key)


def load_scenario(root: Path, splits: tuple[str, ...] = ("train", "test")) -> PetShopScenario:
    """Read a scenario folder (see the module notes)."""
    if not (root / "graph.csv").is_file() or not (root / "noissue" / "metrics.csv").is_file():
        raise ValidationError(
            "bad_petshop_dir", "not a PetShop scenario (graph.csv, noissue/)", path=str(root)
        )
    issues = {s: tuple(read_issue(f) for f in issue_folders(root / s)) for s in splits}
    return PetShopScenario(
        graph=read_graph_file(root / "graph.csv"),
        normal=read_metrics(root / "noissue" / "metrics.csv"),
        issues=issues,
    )


def split_window(frame: pd.DataFrame, start: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(clean pre-window rows, window rows)`` of an issue's flat metrics.

    The window is every row at or after ``start`` (the symptom's time); a pre-window row
    is clean when its whole sampling interval ends by ``start`` (the row holding the
    symptom's time may already be affected).
    """
    times = frame.index.to_numpy(dtype=float)
    step = float(pd.Series(times).diff().median()) if len(times) > 1 else 0.0
    window = frame[times >= start]
    clean = frame[times + step <= start]
    return clean, window


def issue_periods(issue: PetShopIssue, normal: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(baseline, window)``: the flat normal period plus the issue's clean pre-window
    rows, and the issue's rows from the symptom's time on."""
    flat = flatten(issue.metrics, issue.target_agg)
    pre, window = split_window(flat, issue.timestamp)
    base = flatten(normal, issue.target_agg)
    return pd.concat([base, pre.reindex(columns=base.columns)]), window
