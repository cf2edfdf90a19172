from __future__ import annotations

import pytest

from twinrca.predict.features import FeatureSpec
from twinrca.predict.pipeline import prepare, train_evaluate
from twinrca.predict.synthetic import precursor_streams

SPEC = FeatureSpec(period_min=15, windows=(2, 4, 8), seasonal_days=1)


@pytest.fixture(scope="package")
def scenario():
    return precursor_streams(
        n_sites=6, cells_per_site=3, days=6, period_min=15, faults_per_cell_day=0.6, seed=11
    )


@pytest.fixture(scope="package")
def trained(scenario):
    ds = prepare(
        scenario.kpis,
        scenario.faults,
        spec=SPEC,
        horizon_min=60,
        alarms=scenario.alarms,
        topology=scenario.topology,
    )
    return ds, train_evaluate(ds, seed=0)
