"""File ingest across many write batches loses nothing (regression: rows decoded after
a mid-file flush went to a batch that was never written)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twinrca.core import wire
from twinrca.ingest.files import ingest_files
from twinrca.store import open_store


def test_rows_after_a_mid_file_flush_are_written(tmp_path) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    path = tmp_path / "kpi.jsonl"
    with path.open("wb") as fh:
        for i in range(500):
            msg = wire.pm_batch(
                f"cell:{i % 7}", t0 + timedelta(minutes=15 * i), {"a": 1.0, "b": 2.0, "c": 3.0}
            )
            fh.write(wire.dumps(msg) + b"\n")
    with open_store("embedded", path=tmp_path / "s.duckdb") as store:
        store.migrate()
        result = ingest_files([path], store, batch_rows=100)  # forces many flushes inside one file
        assert result.kpis_written == 1500
        assert len(store.read_kpis()) == 1500
