"""Model registry round trip and the schema check on load."""

from __future__ import annotations

import numpy as np
import pytest

from twinrca.core.errors import NotFound, SchemaMismatch
from twinrca.predict.registry import DirModelStore, MemoryModelStore, ModelRegistry
from twinrca.predict.risk import RiskModel


@pytest.mark.parametrize("kind", ["memory", "dir"])
def test_round_trip_keeps_model_and_card(trained, tmp_path, kind) -> None:
    ds, ev = trained
    store = MemoryModelStore() if kind == "memory" else DirModelStore(tmp_path)
    reg = ModelRegistry(store)
    window = (ds.frame["time"].min(), ds.frame["time"].max())
    card1 = ev.model.register(reg, "cell-risk-60", training_window=window)
    card2 = ev.model.register(reg, "cell-risk-60", training_window=window)
    assert (card1.version, card2.version) == (1, 2) and reg.versions("cell-risk-60") == [1, 2]
    card, loaded = RiskModel.load(reg, "cell-risk-60", live_schema=ds.schema)
    assert card.version == 2 and list(card.feature_names) == ds.names
    assert card.schema == ds.schema and card.metrics["pr_auc"] == pytest.approx(ev.test.pr_auc)
    assert card.training_window[0].startswith(str(window[0].date()))
    x = ds.x[:500]
    np.testing.assert_allclose(loaded.predict(x), ev.model.predict(x), atol=1e-12)
    assert loaded.threshold == ev.model.threshold and loaded.modes == ev.model.modes


def test_schema_mismatch_and_missing(trained) -> None:
    ds, ev = trained
    reg = ModelRegistry(MemoryModelStore())
    ev.model.register(reg, "m", training_window=("a", "b"))
    live = dict(ds.schema)
    live.pop(next(k for k in live if k not in ("time", "element")))
    with pytest.raises(SchemaMismatch) as err:
        reg.load("m", live_schema=live)
    assert "missing" in str(err.value)
    retyped = {**ds.schema, "element": "float64"}
    with pytest.raises(SchemaMismatch):
        RiskModel.load(reg, "m", live_schema=retyped)
    with pytest.raises(NotFound):
        reg.load("other")
    with pytest.raises(NotFound):
        reg.load("m", version=7)
