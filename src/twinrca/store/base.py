"""The store contract: one interface, three backends (TimescaleDB, PostgreSQL, embedded DuckDB).

Every row belongs to a tenant; a :class:`Store` is bound to one tenant and reads and
writes only that tenant's rows. Times are timezone-aware UTC. Time ranges are
half-open: ``start <= t < end`` (either bound may be ``None``).

Frames written through :meth:`Store.write_batch` use exactly these columns:

* KPIs (:data:`KPI_COLUMNS`), unique on (tenant, managed_object, measurement, period_end)
* alarms (:data:`ALARM_COLUMNS`), unique on (tenant, alarm_id, state, event_time)
* logs (:data:`LOG_COLUMNS`, optional ``log_key``), unique on
  (tenant, source, time, log_key) where ``log_key`` defaults to ``md5(message)``

A batch is one transaction: its rows and its consumer offsets commit together or not
at all, and replaying a batch never creates a row (duplicates are skipped and counted).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

import pandas as pd

from twinrca.core.columns import ALARM_COLUMNS, KPI_COLUMNS, LOG_COLUMNS
from twinrca.core.topology import Topology

__all__ = [
    "ALARM_COLUMNS",
    "BACKENDS",
    "KPI_COLUMNS",
    "KPI_HOURLY_COLUMNS",
    "LOG_COLUMNS",
    "METRIC_COLUMNS",
    "DocumentVersion",
    "OutboxEntry",
    "OutboxMessage",
    "Store",
    "TimeLike",
    "WriteBatch",
    "WriteResult",
    "open_store",
]

BACKENDS = ("timescaledb", "postgres", "embedded")

KPI_HOURLY_COLUMNS = ("bucket", "managed_object", "measurement", "n", "mean", "min", "max")
METRIC_COLUMNS = ("time", "name", "value", "labels")

TimeLike: TypeAlias = datetime | pd.Timestamp | str | int | float
#: an entry of ``Store.put_document(..., outbox=)``: ``(destination, payload)`` or
#: ``(destination, payload, key)`` (a key already enqueued for the tenant enqueues nothing)
OutboxEntry: TypeAlias = tuple[str, Mapping[str, Any]] | tuple[str, Mapping[str, Any], str | None]


@dataclass(frozen=True, slots=True)
class WriteBatch:
    """What one ingest poll produced; written in one transaction with its offsets.

    ``offsets`` maps (topic, partition) to the *next* offset to consume; ``group`` is
    the consumer group they belong to (required when offsets are given).
    """

    kpis: pd.DataFrame | None = None
    alarms: pd.DataFrame | None = None
    logs: pd.DataFrame | None = None
    offsets: dict[tuple[str, int], int] | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Rows actually inserted per table and rows skipped as already stored."""

    kpis_written: int = 0
    alarms_written: int = 0
    logs_written: int = 0
    duplicates_skipped: int = 0

    @property
    def rows_written(self) -> int:
        return self.kpis_written + self.alarms_written + self.logs_written


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A pending webhook delivery claimed from the transactional outbox.

    ``attempts`` counts the deliveries tried *before* this claim (0 on the first).
    """

    id: int
    destination: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    """One entry of a document's history (every put is kept)."""

    kind: str
    doc_id: str
    version: int
    recorded_at: datetime
    doc: dict[str, Any] = field(default_factory=dict)


class Store(abc.ABC):
    """The store interface every backend implements (see the module docstring)."""

    backend: str
    tenant: str

    # --- lifecycle ----------------------------------------------------------------
    @abc.abstractmethod
    def migrate(self) -> int:
        """Apply pending migrations (idempotent, safe to run concurrently); return the version."""

    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version stored in the database (0 before the first migration)."""

    @abc.abstractmethod
    def server_version(self) -> str:
        """E.g. ``"PostgreSQL 18.6, timescaledb 2.31.0"`` or ``"DuckDB v1.1.3"``."""

    @abc.abstractmethod
    def features(self) -> dict[str, bool]:
        """Optional server features in use (``continuous_aggregates``, ``compression``,
        ``retention_policy``, ``hypertables``, ``partitioning`` ...); False means the
        plain fallback is used."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections (idempotent)."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- time series ----------------------------------------------------------------
    @abc.abstractmethod
    def write_batch(self, batch: WriteBatch) -> WriteResult:
        """Insert KPIs, alarms, logs and advance offsets in ONE transaction."""

    @abc.abstractmethod
    def read_kpis(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
        measurements: list[str] | None = None,
    ) -> pd.DataFrame:
        """KPI rows (:data:`KPI_COLUMNS`) ordered by period_end, managed_object, measurement."""

    @abc.abstractmethod
    def read_alarms(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
    ) -> pd.DataFrame:
        """Alarm rows (:data:`ALARM_COLUMNS`) ordered by event_time."""

    @abc.abstractmethod
    def read_logs(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        sources: list[str] | None = None,
    ) -> pd.DataFrame:
        """Log rows (:data:`LOG_COLUMNS`) ordered by time."""

    @abc.abstractmethod
    def read_kpi_hourly(
        self,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        managed_objects: list[str] | None = None,
        measurements: list[str] | None = None,
    ) -> pd.DataFrame:
        """Hourly aggregates (:data:`KPI_HOURLY_COLUMNS`), up to date with every write
        (continuous aggregate where offered, else the rollup table refreshed first)."""

    @abc.abstractmethod
    def apply_retention(
        self, older_than: timedelta, *, tables: tuple[str, ...] = ("kpi", "alarm", "log", "metric")
    ) -> dict[str, int]:
        """The project's own retention job: drop time-series data older than
        ``now - older_than`` (whole chunks / partitions on the servers, rows when
        embedded; for every tenant). Returns the number of chunks, partitions or rows
        dropped per table."""

    @abc.abstractmethod
    def read_offsets(self, group: str) -> dict[tuple[str, int], int]:
        """Next offset to consume per (topic, partition) for a consumer group."""

    # --- topology and state ----------------------------------------------------------
    @abc.abstractmethod
    def save_topology(self, topology: Topology) -> None:
        """Replace the tenant's topology."""

    @abc.abstractmethod
    def load_topology(self) -> Topology | None:
        """The tenant's topology, or None when none was saved."""

    @abc.abstractmethod
    def get_state(self, key: str) -> bytes | None:
        """Opaque per-tenant state (e.g. drain3's template miner)."""

    @abc.abstractmethod
    def put_state(self, key: str, value: bytes) -> None:
        """Store opaque per-tenant state (upsert)."""

    # --- documents ----------------------------------------------------------------
    @abc.abstractmethod
    def put_document(
        self,
        kind: str,
        doc_id: str,
        doc: Mapping[str, Any],
        *,
        version: int | None = None,
        outbox: Sequence[OutboxEntry] | None = None,
    ) -> int:
        """Upsert a JSON document and append it to the history; return its version.

        ``version=None`` takes the next version. An explicit version must be greater
        than the stored one (re-putting the same version with the same document is a
        no-op; with a different document it raises :class:`StoreError`).
        ``outbox`` entries ``(destination, payload)`` or ``(destination, payload, key)``
        are enqueued in the same transaction (the transactional outbox). As with
        :meth:`outbox_put`, a ``key`` already enqueued for the tenant enqueues nothing,
        also when two connections put it at the same time; the document is written
        all the same."""

    @abc.abstractmethod
    def get_document(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        """The latest version of a document, or None."""

    @abc.abstractmethod
    def list_documents(
        self, kind: str, *, where: Mapping[str, Any] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """Latest documents of a kind, newest first; ``where`` matches top-level keys
        by equality."""

    @abc.abstractmethod
    def document_history(self, kind: str, doc_id: str) -> list[DocumentVersion]:
        """Every version put for a document, oldest first."""

    # --- twin calibration ------------------------------------------------------------
    # The tenant's calibrated twin parameters, versioned (every refit one version, with
    # its fit window and held-out error in the document), kept as the store's documents
    # of kind ``twin_calibration``: every backend has them, no schema change.
    TWIN_CALIBRATION = "twin_calibration"

    def put_twin_calibration(self, doc: Mapping[str, Any]) -> int:
        """Store a new calibration of the tenant's twin; return its version."""
        return self.put_document(self.TWIN_CALIBRATION, "current", doc)

    def get_twin_calibration(self) -> dict[str, Any] | None:
        """The tenant's current twin calibration, or None before the first fit."""
        return self.get_document(self.TWIN_CALIBRATION, "current")

    def twin_calibration_history(self) -> list[DocumentVersion]:
        """Every calibration of the tenant's twin, oldest first."""
        return self.document_history(self.TWIN_CALIBRATION, "current")

    # --- webhook outbox ---------------------------------------------------------------
    @abc.abstractmethod
    def outbox_put(
        self, destination: str, payload: Mapping[str, Any], *, key: str | None = None
    ) -> int:
        """Enqueue a delivery; return its id. A repeated ``key`` enqueues nothing and
        returns the existing id."""

    @abc.abstractmethod
    def outbox_claim(self, limit: int = 100, *, lease_s: float = 60.0) -> list[OutboxMessage]:
        """Claim due deliveries for ``lease_s`` seconds (others do not see them meanwhile)."""

    @abc.abstractmethod
    def outbox_done(self, message_id: int) -> None:
        """Mark a delivery as delivered."""

    @abc.abstractmethod
    def outbox_retry(self, message_id: int, next_attempt_at: datetime | None, error: str) -> None:
        """Reschedule a failed delivery; ``next_attempt_at=None`` gives up (dead letter)."""

    # --- operational metrics ----------------------------------------------------------
    @abc.abstractmethod
    def record_metric(
        self,
        name: str,
        value: float,
        labels: Mapping[str, Any] | None = None,
        *,
        time: TimeLike | None = None,
    ) -> None:
        """Record one operational metric point (ingest lag, rates, dead letters ...)."""

    @abc.abstractmethod
    def read_metrics(
        self,
        name: str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        *,
        labels: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Metric points (:data:`METRIC_COLUMNS`, ``labels`` as dicts) ordered by time."""


def open_store(
    backend: str,
    *,
    url: str | None = None,
    path: str | Path | None = None,
    tenant: str = "default",
    pool_max: int = 8,
    connect_timeout_s: float = 5.0,
) -> Store:
    """Open a store. ``url`` for ``timescaledb`` / ``postgres``, ``path`` for ``embedded``
    (``None`` or ``":memory:"`` keeps it in memory).

    Raises :class:`StoreUnavailable` when the server cannot be reached or refuses the
    credentials, :class:`ConfigError` for a bad backend / missing extension, and
    :class:`SchemaMismatch` when the stored schema is newer than this code.
    """
    from twinrca.core.errors import ConfigError

    if not tenant:
        raise ConfigError("the tenant name is empty", hint="set TWINRCA_TENANT")
    if backend == "embedded":
        from twinrca.store._duckdb import DuckDBStore

        return DuckDBStore(path, tenant=tenant)
    if backend in ("timescaledb", "postgres"):
        if not url:
            raise ConfigError(
                f"the {backend} store needs a database URL", hint="set TWINRCA_STORE__URL"
            )
        from twinrca.store._postgres import PostgresStore

        return PostgresStore(
            url,
            timescale=backend == "timescaledb",
            tenant=tenant,
            pool_max=pool_max,
            connect_timeout_s=connect_timeout_s,
        )
    raise ConfigError(
        f"unknown store backend {backend!r}",
        hint=f"set TWINRCA_STORE__BACKEND to one of {', '.join(BACKENDS)}",
    )
