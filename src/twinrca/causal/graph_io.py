"""Reading a dependency graph file: an edge list or an adjacency matrix, detected.

- **Edge list**: rows ``cause,effect[,weight]`` (an optional header row whose first two
  cells are ``cause,effect``, ``source,target`` or ``from,to``).
- **Adjacency matrix**: the header row and the first column hold the same node names
  (the top-left cell is empty or a label); a non-zero cell ``(row, column)`` is an edge
  ``row -> column``.

Detection: a file is a matrix when its header (after the first cell) and its first
column (after the header) are the same set of names and every other cell is a number;
anything else with at least two columns is read as an edge list.

``direction`` says what an edge means: ``"cause-effect"`` (row / first name is the
cause), ``"calls"`` (row / first name *calls* the second: a call graph, read reversed,
since a callee's fault shows at its callers). :func:`orient_for_target` implements
``"auto"``: cause -> effect unless the symptom then has no upstream node at all but
does have downstream ones, in which case the file is a call graph (logged).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from twinrca.core.errors import ValidationError

__all__ = ["Direction", "GraphFile", "orient_for_target", "read_graph_file"]

log = logging.getLogger(__name__)

Direction = Literal["auto", "cause-effect", "calls"]
_HEADERS = {("cause", "effect"), ("source", "target"), ("from", "to")}


@dataclass(frozen=True, slots=True)
class GraphFile:
    """Edges as read (``first -> second`` as in the file) and the detected format."""

    edges: tuple[tuple[str, str, float], ...]
    kind: Literal["edge_list", "adjacency"]

    def oriented(self, direction: Literal["cause-effect", "calls"]) -> list[tuple[str, str]]:
        """``(cause, effect)`` pairs."""
        if direction == "calls":
            return [(b, a) for a, b, _w in self.edges]
        return [(a, b) for a, b, _w in self.edges]


def _as_float(cell: object) -> float | None:
    try:
        value = float(str(cell).strip())
    except ValueError:
        return None
    return value


def _is_matrix(raw: pd.DataFrame) -> bool:
    if raw.shape[0] < 2 or raw.shape[1] < 2 or raw.shape[1] != raw.shape[0]:
        return False
    header = [str(c).strip() for c in raw.iloc[0, 1:]]
    first = [str(c).strip() for c in raw.iloc[1:, 0]]
    if set(header) != set(first) or len(set(header)) != len(header):
        return False
    return all(_as_float(c) is not None for c in raw.iloc[1:, 1:].to_numpy().ravel())


def _matrix_edges(raw: pd.DataFrame) -> list[tuple[str, str, float]]:
    header = [str(c).strip() for c in raw.iloc[0, 1:]]
    edges = []
    for _, row in raw.iloc[1:].iterrows():
        source = str(row.iloc[0]).strip()
        for name, cell in zip(header, row.iloc[1:], strict=True):
            weight = _as_float(cell) or 0.0
            if weight != 0.0 and name != source:
                edges.append((source, name, weight))
    return edges


def _list_edges(raw: pd.DataFrame, path: Path) -> list[tuple[str, str, float]]:
    rows = raw.fillna("").astype(str).map(str.strip)
    first = (rows.iloc[0, 0].lower(), rows.iloc[0, 1].lower())
    if first in _HEADERS:
        rows = rows.iloc[1:]
    edges = []
    for line, row in enumerate(rows.itertuples(index=False), start=1):
        cause, effect = row[0], row[1]
        if not cause or not effect:
            raise ValidationError(
                "bad_graph", "graph edge with an empty node name", path=str(path), row=line
            )
        weight = 1.0
        if len(row) > 2 and row[2] != "":
            parsed = _as_float(row[2])
            if parsed is None:
                raise ValidationError(
                    "bad_graph", "edge weight is not a number", path=str(path), row=line
                )
            weight = parsed
        edges.append((cause, effect, weight))
    return edges


def read_graph_file(path: Path) -> GraphFile:
    """Read ``path`` as an adjacency matrix or an edge list (detected from the content)."""
    try:
        raw = pd.read_csv(
            path, header=None, dtype=str, skip_blank_lines=True, keep_default_na=False
        )
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("unreadable_csv", "cannot read graph CSV", path=str(path)) from exc
    if raw.shape[1] < 2 or raw.empty:
        raise ValidationError(
            "bad_graph", "graph CSV needs cause,effect columns or an adjacency matrix",
            path=str(path),
        )  # fmt: skip
    if _is_matrix(raw):
        return GraphFile(edges=tuple(_matrix_edges(raw)), kind="adjacency")
    edges = _list_edges(raw, path)
    if not edges:
        raise ValidationError("bad_graph", "graph CSV has no edge", path=str(path))
    return GraphFile(edges=tuple(edges), kind="edge_list")


def orient_for_target(
    graph: GraphFile, direction: Direction, target: str | None
) -> tuple[list[tuple[str, str]], Literal["cause-effect", "calls"]]:
    """``(cause, effect)`` pairs and the direction used (``auto`` resolved)."""
    if direction != "auto":
        return graph.oriented(direction), direction
    pairs = graph.oriented("cause-effect")
    if target is None:
        return pairs, "cause-effect"
    has_upstream = any(e == target for _c, e in pairs)
    has_downstream = any(c == target for c, _e in pairs)
    if not has_upstream and has_downstream:
        log.warning(
            "the symptom %s has no upstream node when the graph is read cause -> effect "
            "but has downstream ones: reading it as a call graph (caller -> callee)",
            target,
        )
        return graph.oriented("calls"), "calls"
    return pairs, "cause-effect"
