"""Twin streams through the real file ingest into TimescaleDB."""

from __future__ import annotations

import pytest

from twinrca.twin_replay import generate_scenario

pytestmark = pytest.mark.integration


def _ingest(tsdb_url: str, tenant: str, folder):
    from twinrca.ingest.files import ingest_files
    from twinrca.store.base import open_store

    with open_store("timescaledb", url=tsdb_url, tenant=tenant, connect_timeout_s=5) as store:
        store.migrate()
        return ingest_files([folder], store)


def test_small_scenario_streams_into_timescaledb(tmp_path, tsdb_url, unique_name) -> None:
    s = generate_scenario(tmp_path, cells=60, days=1, faults=6, seed=21)
    res = _ingest(tsdb_url, unique_name, tmp_path / "streams")
    assert not res.dead_letters
    assert res.messages == s.kpi_messages + s.alarm_messages + s.log_messages
    assert res.kpis_written > 0 and res.alarms_written > 0 and res.logs_written > 0


@pytest.mark.slow
def test_done_when_1000_cells_7_days_50_faults(tmp_path, tsdb_url, unique_name) -> None:
    s = generate_scenario(tmp_path, cells=1000, days=7, faults=50, seed=4)
    assert s.faults == 50
    res = _ingest(tsdb_url, unique_name, tmp_path / "streams")
    assert not res.dead_letters
    assert res.messages == s.kpi_messages + s.alarm_messages + s.log_messages
