"""The row schemas of the store's tables (column names, in order)."""

from __future__ import annotations

__all__ = ["ALARM_COLUMNS", "KPI_COLUMNS", "LOG_COLUMNS"]

KPI_COLUMNS = ("managed_object", "measurement", "value", "period_end", "granularity_s", "suspect")
ALARM_COLUMNS = (
    "alarm_id",
    "notification_id",
    "managed_object",
    "event_time",
    "alarm_type",
    "probable_cause",
    "specific_problem",
    "perceived_severity",
    "state",
    "additional_text",
)
LOG_COLUMNS = ("time", "source", "severity", "message", "template_id")
