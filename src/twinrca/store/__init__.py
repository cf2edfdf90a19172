"""The store: one interface (:class:`Store`), three backends.

``open_store("timescaledb" | "postgres", url=...)`` or ``open_store("embedded", path=...)``;
then ``store.migrate()`` once per database. See :mod:`twinrca.store.base` for the contract.
"""

from twinrca.store.base import (
    ALARM_COLUMNS,
    BACKENDS,
    KPI_COLUMNS,
    KPI_HOURLY_COLUMNS,
    LOG_COLUMNS,
    METRIC_COLUMNS,
    DocumentVersion,
    OutboxMessage,
    Store,
    WriteBatch,
    WriteResult,
    open_store,
)
from twinrca.store.frames import (
    alarms_frame,
    empty_alarms,
    empty_kpis,
    empty_logs,
    kpis_frame,
    logs_frame,
    normalise_alarms,
    normalise_kpis,
    normalise_logs,
)

__all__ = [
    "ALARM_COLUMNS",
    "BACKENDS",
    "KPI_COLUMNS",
    "KPI_HOURLY_COLUMNS",
    "LOG_COLUMNS",
    "METRIC_COLUMNS",
    "DocumentVersion",
    "OutboxMessage",
    "Store",
    "WriteBatch",
    "WriteResult",
    "alarms_frame",
    "empty_alarms",
    "empty_kpis",
    "empty_logs",
    "kpis_frame",
    "logs_frame",
    "normalise_alarms",
    "normalise_kpis",
    "normalise_logs",
    "open_store",
]
