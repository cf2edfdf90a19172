"""Alarm grouping into incidents by time and topology distance.

Raised alarms are taken in time order; an alarm joins every open group (last alarm
within ``window_s``) that holds a related element, merging them. Elements of one site,
and neighbour cells, are always related; elements further apart that share an element
within ``max_up`` hops upstream (sites behind one transport link) are related only
when one is upstream of the other or they raise the same alarm signature, so two
unrelated faults that happen at the same time behind one link stay apart. Core nodes
are never shared anchors (they feed everything).

The root element of a group is localised as the shared upstream element of its
alarmed elements; the other alarms are its children (for 3GPP ``rootCauseIndicator`` and
``correlatedNotifications``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from twinrca.core.topology import ElementKind, Topology

__all__ = ["AlarmGroup", "candidate_elements", "group_alarms"]


@dataclass(frozen=True, slots=True)
class AlarmGroup:
    """One incident's alarms: ``rows`` index the input frame. A group opened from
    sustained KPI anomalies has ``trigger`` ``"kpi"``, no rows, its anomalous elements,
    and an ``anchor``: the element whose episode was sustained first, with that
    episode's first anomalous period (``anchor_start``), stable as data arrives."""

    group_id: int
    start: datetime
    end: datetime
    rows: tuple[int, ...]
    elements: tuple[str, ...]
    root_element: str | None
    child_rows: tuple[int, ...] = field(default=())
    root_rows: tuple[int, ...] = field(default=())
    trigger: str = "alarms"
    anchor: str | None = None
    anchor_start: datetime | None = None


def _anchors(topology: Topology, element: str, max_up: int) -> frozenset[str]:
    seen = {element}
    frontier = {element}
    for _ in range(max_up):
        frontier = {p for e in frontier for p in topology.parents(e)} - seen
        seen |= frontier
    return frozenset(e for e in seen if topology.element(e).kind != ElementKind.CORE)


def group_alarms(
    alarms: pd.DataFrame,
    topology: Topology,
    *,
    window_s: float = 1800.0,
    max_up: int = 2,
) -> list[AlarmGroup]:
    """Group the raised alarms of ``alarms`` (store columns) into incidents."""
    raised = alarms[alarms["state"].astype(str).str.lower() != "cleared"]
    raised = raised[raised["managed_object"].isin(set(topology.ids()))]
    raised = raised.sort_values("event_time", kind="stable")
    times = pd.to_datetime(raised["event_time"], utc=True)
    sigs = (
        raised["probable_cause"].astype(str) + "|" + raised["specific_problem"].astype(str)
    ).to_numpy()
    near_cache: dict[str, frozenset[str]] = {}
    far_cache: dict[str, frozenset[str]] = {}
    groups: list[dict] = []
    open_ids: list[int] = []
    for row, el, t, sig in zip(raised.index, raised["managed_object"], times, sigs, strict=True):
        near = near_cache.get(el)
        if near is None:
            near = near_cache[el] = _anchors(topology, el, 1)
            far_cache[el] = _anchors(topology, el, max_up) | {el}
        far = far_cache[el]
        open_ids = [g for g in open_ids if (t - groups[g]["last"]).total_seconds() <= window_s]
        hits = [g for g in open_ids if _related(groups[g], el, sig, near, far, topology)]
        if hits:
            keep = hits[0]
            for other in hits[1:]:
                _merge(groups[keep], groups[other])
                open_ids.remove(other)
        else:
            keep = len(groups)
            groups.append(
                {
                    "rows": [],
                    "elements": set(),
                    "near": set(),
                    "far": set(),
                    "sigs": set(),
                    "first": t,
                    "last": t,
                    "dead": False,
                }
            )
            open_ids.append(keep)
        g = groups[keep]
        g["rows"].append(row)
        g["elements"].add(el)
        g["near"] |= near
        g["far"] |= far
        g["sigs"].add(sig)
        g["last"] = max(g["last"], t)
    live = [g for g in groups if not g["dead"]]
    return [_finish(i, g, raised, topology) for i, g in enumerate(live)]


def _related(
    g: dict, el: str, sig: str, near: frozenset[str], far: frozenset[str], topology: Topology
) -> bool:
    """Same element or site (or neighbours): always. Further up (one transport link):
    only when one is upstream of the other, or they show the same symptom, so two
    unrelated faults behind one link are not merged."""
    if el in g["elements"] or g["near"] & near or g["elements"] & _neighbours(topology, el):
        return True
    if g["far"] & far:
        return el in g["far"] or bool(g["elements"] & far) or sig in g["sigs"]
    return False


def _neighbours(topology: Topology, element: str) -> set[str]:
    return topology.neighbours(element)


def _merge(into: dict, other: dict) -> None:
    into["rows"] += other["rows"]
    into["elements"] |= other["elements"]
    into["near"] |= other["near"]
    into["far"] |= other["far"]
    into["sigs"] |= other["sigs"]
    into["first"] = min(into["first"], other["first"])
    into["last"] = max(into["last"], other["last"])
    other["dead"] = True


def _finish(group_id: int, g: dict, raised: pd.DataFrame, topology: Topology) -> AlarmGroup:
    rows = tuple(sorted(g["rows"], key=lambda r: (raised.at[r, "event_time"], r)))
    root = topology.shared_upstream(sorted(g["elements"]))
    root_rows = tuple(r for r in rows if raised.at[r, "managed_object"] == root)
    return AlarmGroup(
        group_id=group_id,
        start=g["first"].to_pydatetime(warn=False),
        end=g["last"].to_pydatetime(warn=False),
        rows=rows,
        elements=tuple(sorted(g["elements"])),
        root_element=root,
        root_rows=root_rows,
        child_rows=tuple(r for r in rows if r not in set(root_rows)),
    )


def candidate_elements(group: AlarmGroup, topology: Topology, *, extra_up: int = 1) -> list[str]:
    """Elements that could explain the group: its alarmed elements, everything between
    them and their shared upstream element, and ``extra_up`` levels above that."""
    out: set[str] = set(group.elements)
    top = group.root_element
    for el in group.elements:
        ancestors = topology.ancestors(el)
        if top is not None and top in ancestors:
            below_top = {a for a in ancestors if a == top or top in topology.ancestors(a)}
            out |= below_top
    if top is not None:
        out.add(top)
        frontier = {top}
        for _ in range(extra_up):
            frontier = {p for e in frontier for p in topology.parents(e)}
            out |= frontier
    return sorted(out)
