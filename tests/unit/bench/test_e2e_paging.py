"""bench.e2e's paging figures from stored incidents: a condition never pages (nor is
its resolve expected as a webhook), a condition that became a recommended fault does."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from bench.e2e import expected_alerts, paging
from bench.paging import document_pages, wire_alarms


def _doc(iid: str, states: list[str], elements: list[str], top: str) -> dict:
    return {
        "incident_id": iid,
        "state": states[-1],
        "history": [{"state": s} for s in states],
        "opened_at": "2024-06-03T10:05:00+00:00",
        "updated_at": "2024-06-03T11:00:00+00:00",
        "elements": elements,
        "candidates": [{"element": top, "failure_mode": "m"}],
    }


def _alarm(nid: int, obj: str, kind: str, at: str, ty: str = "EQUIPMENT_ALARM") -> dict:
    return {
        "notificationId": nid,
        "notificationType": kind,
        "eventTime": at,
        "objectInstance": obj,
        "alarmId": f"a{nid}",
        "alarmType": ty,
    }


DOCS = [
    _doc("fault", ["open", "diagnosed", "verified", "recommended", "resolved"], ["tx:1"], "tx:1"),
    _doc("busy", ["open", "condition", "resolved"], ["cell:9-1"], "cell:9-1"),
    _doc("late", ["open", "condition", "recommended"], ["site:2"], "site:2"),
]


def test_conditions_do_not_page_unless_they_became_a_fault() -> None:
    paged = {p.key: p.paged for p in document_pages(DOCS)}
    assert paged == {"fault": True, "busy": False, "late": True}
    assert expected_alerts(DOCS) == {
        ("fault", "trigger"),
        ("fault", "resolve"),
        ("late", "trigger"),
    }


def test_paging_figures_next_to_the_baseline(tmp_path: Path) -> None:
    streams = tmp_path / "streams"
    streams.mkdir()
    alarms = [
        _alarm(1, "tx:1", "notifyNewAlarm", "2024-06-03T10:01:00Z"),
        _alarm(2, "site:1", "notifyNewAlarm", "2024-06-03T10:01:05Z"),
        _alarm(3, "cell:1-1", "notifyNewAlarm", "2024-06-03T10:01:10Z"),
        _alarm(3, "cell:1-1", "notifyChangedAlarm", "2024-06-03T10:02:10Z"),
        _alarm(1, "tx:1", "notifyClearedAlarm", "2024-06-03T10:50:00Z"),
        _alarm(4, "cell:9-1", "notifyNewAlarm", "2024-06-03T10:20:00Z", "QOS_ALARM"),
    ]
    (streams / "alarms.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alarms))
    assert len(wire_alarms(streams / "alarms.jsonl")) == 5  # the change is not a raise
    pd.DataFrame(
        [{"element": "cell:9-1", "kind": "busy_hour", "start": "2024-06-03T10:15:00Z",
          "end": "2024-06-03T10:45:00Z"}]
    ).to_csv(tmp_path / "conditions.csv", index=False)  # fmt: skip
    labels = pd.DataFrame(
        [{"root_element": "tx:1", "affected_elements": json.dumps(["site:1", "cell:1-1"]),
          "start": "2024-06-03T10:00:00+00:00", "end": "2024-06-03T10:50:00+00:00"}]
    )  # fmt: skip
    out = paging(tmp_path, labels, DOCS[:2])
    assert out["incidents"] == 2 and out["paged_incidents"] == 1
    assert out["paged_per_fault"] == 1.0 and out["fault_recall"] == 1.0
    assert out["condition_recall"] == 1.0 and out["compression"] == 4.0
    base = out["baseline"]
    # one page per (element, alarm type): tx:1, site:1, cell:1-1 and the busy cell
    assert base["paged_incidents"] == 4 and base["condition_recall"] == 0.0
    assert out["compression_ratio_to_baseline"] == 4.0


def test_alertmanager_pages_read_mixed_iso_times() -> None:
    """The store gives event times with and without fractional seconds in one column
    (bench.e2e crashed on it): both raises are read and paged."""
    from bench.paging import alertmanager_pages

    alarms = pd.DataFrame(
        {
            "state": ["raised", "raised"],
            "event_time": ["2024-06-03T08:15:00.250Z", "2024-06-03T08:15:00Z"],
            "managed_object": ["cell:1", "cell:2"],
            "alarm_type": ["x", "x"],
        }
    )
    assert len(alertmanager_pages(alarms)) == 2
