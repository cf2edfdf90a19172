"""The serve process's defaults, defined once: :class:`~twinrca.runtime.runner.ServeOptions`,
the window and flow configs and the ``twinrca serve`` options all read them (this module
imports nothing heavy, so ``twinrca --help`` stays fast)."""

from __future__ import annotations

from datetime import timedelta

__all__ = [
    "HEALTH_PORT",
    "HISTORY",
    "INTERVAL_S",
    "KINDS",
    "LOOKBACK",
    "PREDICT_INTERVAL_S",
    "VERIFY_SCENARIOS",
    "WEBHOOK_MAX_ATTEMPTS",
    "WEBHOOK_MAX_BACKOFF_S",
    "WHATIF_SCENARIOS",
]

#: the topic kinds consumed (``ves`` is opt-in), as :data:`twinrca.ingest.topics.KINDS`
KINDS = ("kpi", "alarms", "logs", "pm-xml")
HEALTH_PORT = 8751
INTERVAL_S = 1.0  # between detection ticks
PREDICT_INTERVAL_S = 30.0  # between prediction ticks
LOOKBACK = timedelta(hours=6)  # alarms and KPIs the detection looks at
HISTORY = timedelta(days=2)  # KPIs kept for the baseline and the twin demand
VERIFY_SCENARIOS = 16  # Monte Carlo runs per verified candidate
WHATIF_SCENARIOS = 64  # Monte Carlo runs per remediation
WEBHOOK_MAX_ATTEMPTS = 12
WEBHOOK_MAX_BACKOFF_S = 300.0
