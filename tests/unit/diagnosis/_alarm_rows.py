"""One alarm notification as a store row (ALARM_COLUMNS), for the diagnosis tests."""

from __future__ import annotations

import pandas as pd


def alarm_row(aid: str, el: str, at: pd.Timestamp, kind: tuple[str, ...], state: str = "raised"):
    """``kind``: (alarm type, probable cause, specific problem, severity)."""
    ty, pc, sp, sev = kind
    return {
        "alarm_id": aid,
        "notification_id": 2 if state == "cleared" else 1,
        "managed_object": el,
        "event_time": at,
        "alarm_type": ty,
        "probable_cause": pc,
        "specific_problem": sp,
        "perceived_severity": "CLEARED" if state == "cleared" else sev,
        "state": state,
        "additional_text": "",
    }
