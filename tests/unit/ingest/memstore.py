"""An in-memory stand-in for the parts of the Store contract ingest uses (write_batch,
read_offsets, record_metric), with the same dedup keys and one-transaction semantics.
``down`` makes it raise StoreUnavailable like a server that cannot be reached."""

from __future__ import annotations

import threading

import pandas as pd

from twinrca.core.errors import StoreUnavailable
from twinrca.store.base import WriteBatch, WriteResult


class MemStore:
    backend = "memory"
    tenant = "test"

    def __init__(self) -> None:
        self.kpis: dict[tuple, tuple] = {}
        self.alarms: dict[tuple, tuple] = {}
        self.logs: dict[tuple, tuple] = {}
        self.offsets: dict[str, dict[tuple[str, int], int]] = {}
        self.metrics: list[tuple] = []
        self.down = False
        self.lock = threading.Lock()

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("memstore is down")

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        self._check()
        with self.lock:
            counts = []
            dup = 0
            for frame, table, key in (
                (batch.kpis, self.kpis, ("managed_object", "measurement", "period_end")),
                (batch.alarms, self.alarms, ("alarm_id", "state", "event_time")),
                (batch.logs, self.logs, ("source", "time", "message")),
            ):
                n = 0
                for row in [] if frame is None else frame.to_dict("records"):
                    k = tuple(row[c] for c in key)
                    if k in table:
                        dup += 1
                    else:
                        table[k] = row
                        n += 1
                counts.append(n)
            if batch.offsets:
                self.offsets.setdefault(batch.group, {}).update(batch.offsets)
        return WriteResult(counts[0], counts[1], counts[2], dup)

    def read_offsets(self, group: str) -> dict[tuple[str, int], int]:
        self._check()
        return dict(self.offsets.get(group, {}))

    def record_metric(self, name, value, labels=None, *, time=None) -> None:
        self.metrics.append((name, value, labels))

    def close(self) -> None:
        pass

    def kpi_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.kpis.values()))
