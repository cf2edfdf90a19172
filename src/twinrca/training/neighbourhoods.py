"""The representative network the diagnoser is trained on (issue 18, item 1).

The diagnoser learns per element kind: its tables are indexed by failure mode and by
the healthy class of a kind, and its symptoms are read relative to a candidate element
(on it, upstream, on the share of what it feeds, on neighbour cells). So it need not be
trained on the operator's whole network, only on twin runs of a network holding every
kind of element with every parameter value the target's kinds take, wired as the
target is: a few *neighbourhoods*, each an aggregation element (a transport element
fed by the core) with the sites under it, their cells, their transport chain and core
path. :func:`representative_network` picks them from the target itself, first those
that bring parameter values not yet covered (microwave access, protection, a standby
path, each battery autonomy, each band...), then more, in id order, until the network
holds :data:`REPRESENTATIVE_CELLS` cells. Training cost then no longer grows with the
network, and one trained model serves any topology built from the same kinds
(:meth:`twinrca.causal.diagnosis.BayesianDiagnoser.for_topology`).
"""

from __future__ import annotations

from collections.abc import Iterable

from twinrca.core.topology import ElementKind, Topology

__all__ = [
    "REPRESENTATIVE_CELLS",
    "REPRESENTATIVE_DAYS",
    "REPRESENTATIVE_FAULTS",
    "REPRESENTATIVE_RUNS",
    "coverage_items",
    "neighbourhood_anchors",
    "representative_network",
    "representative_seeds",
]

#: cells of the representative network (the target itself when it has no more)
REPRESENTATIVE_CELLS = 300
#: the representative training: twin runs with the full training's fault density
#: (bench.rca trains on 70 faults per 3-day run of 1,000 cells: 21 per 3 days on
#: :data:`REPRESENTATIVE_CELLS`), so the mix of faults, background alarms and
#: conditions the condition model learns is the network's; 6-day runs (42 faults
#: each) and ten of them, twice the full training's 210 training faults: at 210 the
#: condition model kept more real faults from the NOC (bench.rca --quick fault_recall
#: .938 against .948 trained on the full network)
REPRESENTATIVE_DAYS = 6.0
REPRESENTATIVE_FAULTS = 42
REPRESENTATIVE_RUNS = 10


def representative_seeds(first: int) -> tuple[int, ...]:
    """The seeds of the representative training's runs, from ``first`` on."""
    return tuple(range(first, first + REPRESENTATIVE_RUNS))


_IDENTITY_ATTRS = frozenset({"pci"})


def coverage_items(topology: Topology, elements: Iterable[str]) -> set[tuple[str, str, str]]:
    """(kind, attribute, value) of the elements, without identifiers (PCI)."""
    out: set[tuple[str, str, str]] = set()
    for e in elements:
        el = topology.element(e)
        out.add((str(el.kind), "", ""))
        for k, v in el.attrs.items():
            if k not in _IDENTITY_ATTRS:
                out.add((str(el.kind), k, repr(v)))
    return out


def neighbourhood_anchors(topology: Topology) -> list[str]:
    """The elements a neighbourhood hangs from: transport elements every parent of
    which is a core element (aggregation), else (no such level) the sites."""
    anchors = []
    for t in topology.ids(ElementKind.TRANSPORT):
        parents = topology.parents(t)
        if parents and all(topology.element(p).kind == ElementKind.CORE for p in parents):
            anchors.append(t)
    return sorted(anchors) or sorted(topology.ids(ElementKind.SITE))


def _closure(topology: Topology, anchor: str) -> set[str]:
    """The anchor's sites with their cells, and every element upstream of them."""
    below = {anchor} | set(topology.descendants(anchor))
    sites = [e for e in below if topology.element(e).kind == ElementKind.SITE]
    keep: set[str] = set()
    for s in sites:
        keep |= {s} | set(topology.descendants(s)) | set(topology.ancestors(s))
    return keep or below | set(topology.ancestors(anchor))


def _cells(topology: Topology, elements: Iterable[str]) -> int:
    return sum(1 for e in elements if topology.element(e).kind == ElementKind.CELL)


def representative_network(topology: Topology, *, cells: int = REPRESENTATIVE_CELLS) -> Topology:
    """A sub-network of ``topology`` with every kind and parameter value it holds and
    about ``cells`` cells (at least, when whole neighbourhoods need more; the topology
    itself when it has no more than ``cells``)."""
    if _cells(topology, topology.ids()) <= cells:
        return topology
    anchors = neighbourhood_anchors(topology)
    closures = {a: _closure(topology, a) for a in anchors}
    items = {a: coverage_items(topology, c) for a, c in closures.items()}
    wanted = set().union(*items.values())
    keep: set[str] = set()
    covered: set[tuple[str, str, str]] = set()
    chosen: list[str] = []
    order = {a: i for i, a in enumerate(anchors)}
    while covered < wanted:  # greedy set cover: the neighbourhood adding most new values
        best = max(anchors, key=lambda a: (len(items[a] - covered), -order[a]))
        if not items[best] - covered:
            break
        chosen.append(best)
        covered |= items[best]
        keep |= closures[best]
    for a in anchors:  # then more, in id order, up to the cell budget
        if _cells(topology, keep) >= cells:
            break
        if a not in chosen:
            chosen.append(a)
            keep |= closures[a]
    elements = [el for el in topology if el.element_id in keep]
    feeds = [(u, d) for u, d in topology.feeds if u in keep and d in keep]
    pairs = [(a, b) for a, b in topology.neighbour_pairs if a in keep and b in keep]
    return Topology(elements, feeds, pairs)
