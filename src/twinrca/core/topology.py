"""Network topology: core nodes, transport links, sites, cells, neighbour relations.

The topology is a directed *feeds* graph from the core to the cells
(``core -> transport -> ... -> site -> cell``): an element depends on its parents.
An element with two parents is protected (either parent can feed it, e.g. a
transport link with a protection path). Neighbour relations between cells are kept
apart: they matter for coverage compensation and handover, not for propagation.

The queries are the ones diagnosis needs: parents, children, ancestors,
descendants, the shared upstream element of a set of elements, and hop distance.
"""

from __future__ import annotations

import enum
import json
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from twinrca.core.errors import NotFound, ValidationError

__all__ = ["Element", "ElementKind", "Topology"]


class ElementKind(enum.StrEnum):
    CORE = "core"
    TRANSPORT = "transport"
    SITE = "site"
    CELL = "cell"


@dataclass(frozen=True, slots=True)
class Element:
    """A managed element. ``attrs`` holds kind-specific properties
    (``medium`` of a transport link, ``band`` and ``sector`` of a cell, ``battery_min``
    of a site ...)."""

    element_id: str
    kind: ElementKind
    lat: float = 0.0
    lon: float = 0.0
    region: str = "r0"
    attrs: Mapping[str, Any] = field(default_factory=dict)


class Topology:
    """An immutable-by-convention network graph with the queries diagnosis needs."""

    def __init__(
        self,
        elements: Iterable[Element],
        feeds: Iterable[tuple[str, str]],
        neighbours: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._elements: dict[str, Element] = {}
        for el in elements:
            if el.element_id in self._elements:
                raise ValidationError(
                    "duplicate_element", f"element {el.element_id!r} listed twice"
                )
            self._elements[el.element_id] = el
        self._parents: dict[str, list[str]] = {e: [] for e in self._elements}
        self._children: dict[str, list[str]] = {e: [] for e in self._elements}
        for up, down in feeds:
            for name in (up, down):
                if name not in self._elements:
                    raise ValidationError(
                        "unknown_element", f"feed {up!r}->{down!r} names unknown {name!r}"
                    )
            self._parents[down].append(up)
            self._children[up].append(down)
        self._neighbours: dict[str, set[str]] = {e: set() for e in self._elements}
        for a, b in neighbours:
            if a not in self._elements or b not in self._elements:
                raise ValidationError(
                    "unknown_element", f"neighbour pair {a!r}, {b!r} names an unknown element"
                )
            self._neighbours[a].add(b)
            self._neighbours[b].add(a)
        self._index = {e: i for i, e in enumerate(self._elements)}
        self._check_acyclic()

    # --- basic access -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._elements)

    def __contains__(self, element_id: object) -> bool:
        return element_id in self._elements

    def __iter__(self) -> Iterator[Element]:
        return iter(self._elements.values())

    def element(self, element_id: str) -> Element:
        try:
            return self._elements[element_id]
        except KeyError:
            raise NotFound(f"no element {element_id!r} in the topology") from None

    def ids(self, kind: ElementKind | None = None) -> list[str]:
        return [e.element_id for e in self._elements.values() if kind is None or e.kind == kind]

    def index(self, element_id: str) -> int:
        """Position of the element in :meth:`ids` order (stable, used by array code)."""
        return self._index[element_id]

    def parents(self, element_id: str) -> list[str]:
        self.element(element_id)
        return list(self._parents[element_id])

    def children(self, element_id: str) -> list[str]:
        self.element(element_id)
        return list(self._children[element_id])

    def neighbours(self, element_id: str) -> set[str]:
        self.element(element_id)
        return set(self._neighbours[element_id])

    @property
    def feeds(self) -> list[tuple[str, str]]:
        return [(up, down) for down, ups in self._parents.items() for up in ups]

    @property
    def neighbour_pairs(self) -> list[tuple[str, str]]:
        return sorted({tuple(sorted((a, b))) for a, nb in self._neighbours.items() for b in nb})  # type: ignore[misc]

    # --- graph queries ------------------------------------------------------------
    def ancestors(self, element_id: str) -> set[str]:
        """Every element upstream of ``element_id`` (it depends on them)."""
        return self._walk(element_id, self._parents)

    def descendants(self, element_id: str) -> set[str]:
        """Every element downstream of ``element_id`` (they depend on it)."""
        return self._walk(element_id, self._children)

    def shared_upstream(self, element_ids: Iterable[str]) -> str | None:
        """The nearest element that is, or is upstream of, every given element.

        Returns the common element with the smallest total hop distance to the
        given ones (for a tree: the lowest common ancestor), or ``None``.
        """
        ids = list(dict.fromkeys(element_ids))
        if not ids:
            return None
        common: set[str] | None = None
        for e in ids:
            reach = self.ancestors(e) | {e}
            common = reach if common is None else common & reach
        if not common:
            return None
        dist = {c: sum(self._up_distance(e, c) for e in ids) for c in common}
        return min(sorted(dist), key=lambda c: dist[c])

    def hop_distance(self, a: str, b: str, *, via_neighbours: bool = False) -> int | None:
        """Shortest number of hops between two elements, ignoring edge direction.

        ``None`` when they are not connected. With ``via_neighbours`` cell neighbour
        relations count as edges too.
        """
        self.element(a)
        self.element(b)
        if a == b:
            return 0
        seen = {a}
        frontier = deque([(a, 0)])
        while frontier:
            node, d = frontier.popleft()
            nxt = self._parents[node] + self._children[node]
            if via_neighbours:
                nxt = nxt + sorted(self._neighbours[node])
            for n in nxt:
                if n == b:
                    return d + 1
                if n not in seen:
                    seen.add(n)
                    frontier.append((n, d + 1))
        return None

    def isolated_by(self, failed: Iterable[str]) -> set[str]:
        """Elements that lose every path to a core node when ``failed`` elements fail
        (protection paths keep an element fed while one parent survives)."""
        down = set(failed)
        order = self._topological_order()
        for e in order:
            if e in down:
                continue
            ups = self._parents[e]
            if ups and all(u in down for u in ups):
                down.add(e)
        return down

    # --- (de)serialisation --------------------------------------------------------
    def to_frames(self) -> dict[str, pd.DataFrame]:
        """``elements``, ``feeds`` and ``neighbours`` tables (for the store and files)."""
        rows = []
        for el in self._elements.values():
            d = asdict(el)
            d["kind"] = str(el.kind)
            d["attrs"] = json.dumps(dict(el.attrs), sort_keys=True)
            rows.append(d)
        return {
            "elements": pd.DataFrame(
                rows, columns=["element_id", "kind", "lat", "lon", "region", "attrs"]
            ),
            "feeds": pd.DataFrame(self.feeds, columns=["upstream", "downstream"]),
            "neighbours": pd.DataFrame(self.neighbour_pairs, columns=["a", "b"]),
        }

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> Topology:
        els = frames["elements"]
        elements = [
            Element(
                element_id=str(r.element_id),
                kind=ElementKind(r.kind),
                lat=float(r.lat),
                lon=float(r.lon),
                region=str(r.region),
                attrs=json.loads(r.attrs) if isinstance(r.attrs, str) and r.attrs else {},
            )
            for r in els.itertuples(index=False)
        ]
        feeds = [
            (str(a), str(b))
            for a, b in frames["feeds"][["upstream", "downstream"]].itertuples(index=False)
        ]
        nb_frame = frames.get("neighbours")
        nbs = (
            []
            if nb_frame is None
            else [(str(a), str(b)) for a, b in nb_frame[["a", "b"]].itertuples(index=False)]
        )
        return cls(elements, feeds, nbs)

    def to_json(self, path: str | Path) -> None:
        frames = self.to_frames()
        doc = {name: frame.to_dict(orient="records") for name, frame in frames.items()}
        for row in doc["elements"]:
            row["attrs"] = json.loads(str(row["attrs"]))
        Path(path).write_text(json.dumps(doc, indent=1))

    @classmethod
    def from_json(cls, path: str | Path) -> Topology:
        try:
            doc = json.loads(Path(path).read_text())
            _fold_dns(doc)
            for row in doc["elements"]:
                row["attrs"] = json.dumps(row.get("attrs") or {})
                row.setdefault("region", "r0")
                row.setdefault("lat", 0.0)
                row.setdefault("lon", 0.0)
            frames = {k: pd.DataFrame(v) for k, v in doc.items()}
            if frames["neighbours"].empty:
                frames["neighbours"] = pd.DataFrame(columns=["a", "b"])
            if frames["feeds"].empty:
                frames["feeds"] = pd.DataFrame(columns=["upstream", "downstream"])
            return cls.from_frames(frames)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # a missing key, a list where an object belongs ...: the file's shape is wrong
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ValidationError(
                "bad_topology_file", f"cannot read topology {path}: {what}"
            ) from exc

    # --- internals ----------------------------------------------------------------
    def _walk(self, start: str, edges: dict[str, list[str]]) -> set[str]:
        self.element(start)
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(edges[n])
        return seen

    def _up_distance(self, start: str, target: str) -> int:
        if start == target:
            return 0
        seen = {start}
        frontier = deque([(start, 0)])
        while frontier:
            node, d = frontier.popleft()
            for p in self._parents[node]:
                if p == target:
                    return d + 1
                if p not in seen:
                    seen.add(p)
                    frontier.append((p, d + 1))
        return 10**9

    def _topological_order(self) -> list[str]:
        indeg = {e: len(p) for e, p in self._parents.items()}
        queue = deque(e for e, d in indeg.items() if d == 0)
        order: list[str] = []
        while queue:
            n = queue.popleft()
            order.append(n)
            for c in self._children[n]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    queue.append(c)
        return order

    def _check_acyclic(self) -> None:
        if len(self._topological_order()) != len(self._elements):
            raise ValidationError("cyclic_topology", "the feeds graph has a cycle")


def _fold_dns(doc: dict[str, Any]) -> None:
    """A topology file's top-level ``"dns": {DN: element_id}`` into the elements'
    ``attrs["dn"]`` lists (see :mod:`twinrca.core.dn`)."""
    dns = doc.pop("dns", None) or {}
    if not isinstance(dns, dict):
        raise ValueError('"dns" must map DNs to element ids')
    rows = {str(r.get("element_id")): r for r in doc["elements"]}
    for dn, element_id in dns.items():
        if str(element_id) not in rows:
            raise ValueError(f"dns: {dn!r} maps to unknown element {element_id!r}")
        attrs = rows[str(element_id)].setdefault("attrs", {}) or {}
        held = attrs.get("dn")
        attrs["dn"] = [*([held] if isinstance(held, str) else held or []), dn]
        rows[str(element_id)]["attrs"] = attrs
