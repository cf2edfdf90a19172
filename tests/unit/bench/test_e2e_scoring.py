"""bench.e2e's matching of planted faults to incidents (the rule bench.rca uses)."""

from __future__ import annotations

import json

import pandas as pd
from bench.e2e import match


def _label(root: str, affected: list[str]) -> dict:
    return {
        "root_element": root,
        "affected_elements": json.dumps(affected),
        "start": "2024-06-03 10:00:00+00:00",
        "end": "2024-06-03 12:00:00+00:00",
    }


def _doc(iid: str, opened: str, elements: list[str]) -> dict:
    return {"incident_id": iid, "opened_at": opened, "elements": elements}


def test_the_root_incident_wins_then_the_most_affected_elements() -> None:
    labels = pd.DataFrame(
        [
            _label("tx:1", ["tx:1", "site:1", "cell:1-1"]),
            _label("tx:2", ["tx:2", "site:2", "cell:2-1", "cell:2-2"]),
            _label("cell:3-1", ["cell:3-1"]),
        ]
    )
    docs = [
        _doc("early-affected", "2024-06-03T10:05:00+00:00", ["site:1", "cell:1-1"]),
        _doc("root", "2024-06-03T10:20:00+00:00", ["tx:1"]),
        # tx:2's own alarms lost: the incident holding most of what it affected
        _doc("one", "2024-06-03T10:05:00+00:00", ["cell:2-1"]),
        _doc("three", "2024-06-03T10:10:00+00:00", ["site:2", "cell:2-1", "cell:2-2"]),
        # cell:3-1 only has an incident before its fault (outside the window)
        _doc("before", "2024-06-03T08:00:00+00:00", ["cell:3-1"]),
    ]
    got = {i: d["incident_id"] for i, d in match(labels, docs).items()}
    assert got == {0: "root", 1: "three"}


def test_a_tie_goes_to_the_earliest_incident() -> None:
    labels = pd.DataFrame([_label("site:1", ["site:1", "cell:1-1"])])
    docs = [
        _doc("later", "2024-06-03T10:40:00+00:00", ["site:1"]),
        _doc("first", "2024-06-03T09:45:00+00:00", ["site:1"]),
    ]
    assert match(labels, docs)[0]["incident_id"] == "first"
