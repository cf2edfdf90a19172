"""Paging figures shared by bench.rca and bench.e2e: how many pages the NOC gets per
planted fault, next to an Alertmanager-style baseline measured on the same alarms.

- ``incidents``: incidents opened; ``paged_incidents``: those that page (not a
  condition, not silenced); ``paged_per_fault``: paged incidents / planted faults;
- ``fault_recall``: planted faults whose root element is the top cause of the paged
  incident they are matched to;
- ``merged_faults``: paged incidents matched by two or more planted faults;
- ``condition_recall``: labelled non-fault conditions that no paged incident holds
  (kept as conditions, or never opened one); None when the run has none;
- ``compression``: raw alarms (raise notifications) / paged incidents;
- ``follow_ups``: incidents kept under an open incident with the same diagnosed root
  cause (twinrca.detect.followups); a fault matched to one counts through its parent.

Baseline (``alertmanager``): one page per (element, alarm type) group, a group collecting
the raises of its key for 5 minutes from its first (``group_by: [element, alarm type]``,
``group_wait``/``group_interval`` 5 m, nothing suppressed); its top cause is the page's
element. Faults are matched to the earliest page on their root element within the fault
window, conditions to pages on their element within theirs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "Page",
    "alertmanager_pages",
    "document_pages",
    "match_conditions",
    "match_pages",
    "pages_its_noc",
    "paging_metrics",
    "wire_alarms",
]

GROUP_WINDOW = pd.Timedelta(minutes=5)
#: states of an incident that does not page (serve's alerts.subscriptions.QUIET_STATES)
_QUIET = frozenset({"condition", "silenced", "follow_up"})
SLACK = pd.Timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Page:
    """One incident as paging sees it: its elements, time span, top cause element and
    whether it paged."""

    key: str
    elements: frozenset[str]
    start: pd.Timestamp
    end: pd.Timestamp
    top_element: str | None
    paged: bool = True
    #: the key of the open incident this one follows up (it does not page itself)
    follows: str | None = None


def raised(alarms: pd.DataFrame) -> pd.DataFrame:
    return alarms[alarms["state"].astype(str).str.lower() != "cleared"]


def alertmanager_pages(alarms: pd.DataFrame) -> list[Page]:
    """The baseline's pages: raises grouped by (element, alarm type), a group open for
    :data:`GROUP_WINDOW` from its first raise."""
    up = raised(alarms)
    t = pd.to_datetime(up["event_time"], utc=True, format="ISO8601")
    frame = pd.DataFrame(
        {
            "mo": up["managed_object"].astype(str).to_numpy(),
            "ty": up["alarm_type"].astype(str).to_numpy(),
            "t": t.to_numpy(),
        }
    ).sort_values("t", kind="stable")
    opened: dict[tuple[str, str], pd.Timestamp] = {}
    pages: list[Page] = []
    for mo, ty, at in frame.itertuples(index=False):
        at = pd.Timestamp(at, tz="UTC") if pd.Timestamp(at).tzinfo is None else pd.Timestamp(at)
        first = opened.get((mo, ty))
        if first is not None and at - first <= GROUP_WINDOW:
            continue
        opened[(mo, ty)] = at
        pages.append(Page(f"am{len(pages)}", frozenset({mo}), at, at + GROUP_WINDOW, mo))
    return pages


def match_pages(labels: pd.DataFrame, pages: Sequence[Page]) -> dict[int, str]:
    """label row -> the earliest page on the fault's root element within its window."""
    out: dict[int, str] = {}
    by_el: dict[str, list[Page]] = {}
    for p in pages:
        for e in p.elements:
            by_el.setdefault(e, []).append(p)
    for i, lab in enumerate(labels.itertuples(index=False)):
        lo, hi = pd.Timestamp(lab.start) - SLACK, pd.Timestamp(lab.end) + SLACK
        hits = [p for p in by_el.get(str(lab.root_element), []) if lo <= p.start <= hi]
        if hits:
            out[i] = min(hits, key=lambda p: p.start).key
    return out


def match_conditions(conditions: pd.DataFrame, pages: Sequence[Page]) -> dict[int, list[str]]:
    """condition row -> the pages (incidents) holding its element during it."""
    out: dict[int, list[str]] = {}
    if conditions is None or conditions.empty:
        return out
    by_el: dict[str, list[Page]] = {}
    for p in pages:
        for e in p.elements:
            by_el.setdefault(e, []).append(p)
    for i, c in enumerate(conditions.itertuples(index=False)):
        lo = pd.Timestamp(c.start) - GROUP_WINDOW
        hi = pd.Timestamp(c.end) + GROUP_WINDOW
        out[i] = [p.key for p in by_el.get(str(c.element), []) if p.start <= hi and p.end >= lo]
    return out


def paging_metrics(
    pages: Sequence[Page],
    labels: pd.DataFrame,
    match: Mapping[int, str],
    *,
    raw_alarms: int,
    conditions: pd.DataFrame | None = None,
) -> dict[str, object]:
    """The paging figures of one method over one or more runs (keys unique across runs);
    ``match``: label row -> page key."""
    by_key = {p.key: p for p in pages}
    paged = [p for p in pages if p.paged]
    n_faults = len(labels)
    recalled = 0
    held: Counter[str] = Counter()
    for i, lab in enumerate(labels.itertuples(index=False)):
        p = by_key.get(match.get(i, ""))
        if p is not None and p.follows is not None:
            p = by_key.get(p.follows)
        if p is None or not p.paged:
            continue
        held[p.key] += 1
        recalled += p.top_element == str(lab.root_element)
    cond = None
    if conditions is not None and len(conditions):
        hits = match_conditions(conditions, pages)
        kept = sum(
            not any(by_key[k].paged for k in hits.get(i, [])) for i in range(len(conditions))
        )
        cond = round(kept / len(conditions), 4)
    return {
        "incidents": len(pages),
        "paged_incidents": len(paged),
        "paged_per_fault": round(len(paged) / n_faults, 4) if n_faults else None,
        "fault_recall": round(recalled / n_faults, 4) if n_faults else None,
        "merged_faults": sum(n >= 2 for n in held.values()),
        "follow_ups": sum(p.follows is not None for p in pages),
        "condition_recall": cond,
        "conditions": 0 if conditions is None else len(conditions),
        "compression": round(raw_alarms / max(1, len(paged)), 3),
        "raw_alarms": raw_alarms,
        "planted_faults": n_faults,
    }


def with_baseline(ours: dict[str, object], baseline: dict[str, object]) -> dict[str, object]:
    """``ours`` with the baseline's figures under ``baseline`` and the compression ratio."""
    b = float(baseline["compression"] or 0.0)  # type: ignore[arg-type]
    ratio = round(float(ours["compression"]) / b, 3) if b else None  # type: ignore[arg-type]
    return {
        **ours,
        "baseline": {"name": "alertmanager group_by element+alarm type, 5 m", **baseline},
        "compression_ratio_to_baseline": ratio,
    }


def concat_labels(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pages_its_noc(doc: Mapping[str, object]) -> bool:
    """Whether a stored incident paged: not one kept as a condition or silenced that
    never went on to be diagnosed as a fault (the service's rule, restated here)."""
    if doc.get("state") in _QUIET:
        return False
    states = {h.get("state") for h in doc.get("history", [])}  # type: ignore[attr-defined]
    if not states & _QUIET:
        return True
    return bool(states & {"diagnosed", "verified", "recommended"})


def document_pages(docs: Sequence[Mapping]) -> list[Page]:  # type: ignore[type-arg]
    """Stored incident documents as pages, keyed by incident id."""
    out = []
    for d in docs:
        end = d.get("closed_at") or d.get("updated_at") or d["opened_at"]
        cands = d.get("candidates") or []
        out.append(
            Page(
                str(d["incident_id"]),
                frozenset(str(e) for e in d.get("elements", [])),
                pd.Timestamp(d["opened_at"]),
                pd.Timestamp(end),
                str(cands[0]["element"]) if cands else None,
                paged=pages_its_noc(d),
                follows=str(d["follow_up_of"]) if d.get("follow_up_of") else None,
            )
        )
    return out


def wire_alarms(path: object) -> pd.DataFrame:
    """3GPP alarm notifications (one JSON per line) as the columns the baseline reads."""
    import json
    from pathlib import Path

    rows = []
    for line in Path(str(path)).read_bytes().splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        kind = str(m.get("notificationType", "")).lower()
        if kind.endswith("changedalarm"):
            continue  # a change of an alarm already raised: not a new raise
        cleared = kind.endswith("clearedalarm")
        rows.append(
            {
                "managed_object": str(m["objectInstance"]),
                "alarm_type": str(m.get("alarmType", "")),
                "event_time": m["eventTime"],
                "state": "cleared" if cleared else "raised",
            }
        )
    return pd.DataFrame(rows, columns=["managed_object", "alarm_type", "event_time", "state"])
