"""The service's calibrated twin on TimescaleDB: the detection loop refits the tenant's
twin from the stored KPIs, versions it in the store, hands the parameters to the
pipeline's verification and what-if, reloads them after a restart, and refits when the
topology's cells change (the check: tests/unit/service/test_twin_calibrator.py); and
twin-drift findings reach the diagnosis (tests/unit/service/test_drift_input.py)."""

from __future__ import annotations

import pytest
from tests.unit.service.test_twin_calibrator import run_refit_check
from tests.unit.service.test_twin_calibrator import twin_network as twin_network

pytestmark = pytest.mark.integration


def test_detection_loop_refits_on_timescaledb(tsdb_url: str, unique_name: str, twin_network):
    from twinrca.store.base import open_store

    def opened():
        store = open_store("timescaledb", url=tsdb_url, tenant=unique_name)
        store.migrate()
        return store

    run_refit_check(opened, twin_network)


def test_drift_findings_reach_diagnosis_on_timescaledb(tsdb_url: str, unique_name: str):
    """Drift documents round-trip through TimescaleDB's JSON into the diagnoser's evidence,
    and the stored incident keeps null (not NaN) for the finding's value."""
    from tests.unit.service.test_drift_input import run_drift_input_check

    from twinrca.store.base import open_store

    store = open_store("timescaledb", url=tsdb_url, tenant=unique_name)
    store.migrate()
    try:
        run_drift_input_check(store)
    finally:
        store.close()
