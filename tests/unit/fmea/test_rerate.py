"""Re-rating from synthetic incident counts, lead times and predictions; the history."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from twinrca.core.errors import ValidationError
from twinrca.fmea import (
    DetectionBands,
    FmeaRow,
    InMemoryDocumentStore,
    JsonDirDocumentStore,
    OccurrenceBands,
    RatingHistory,
    rerate_from_incidents,
    rerate_from_predictions,
)


def _row(mode_id: str, kind: str = "cell", o: int = 5, d: int = 5) -> FmeaRow:
    return FmeaRow(mode_id, mode_id, "test", kind, "e", ("c",), (), ("alarm",), 7, o, d)


def _incidents(
    mode: str, n: int, detected: int, lead_min: list[float] | None = None
) -> pd.DataFrame:
    lead = lead_min if lead_min is not None else [np.nan] * n
    return pd.DataFrame(
        {
            "failure_mode": [mode] * n,
            "detected": [i < detected for i in range(n)],
            "lead_time_min": lead,
        }
    )


def test_occurrence_bands_known_values() -> None:
    bands = OccurrenceBands.default()
    assert bands.rating_for_rate(0.0) == 1
    assert bands.rating_for_rate(0.3) == 7
    assert bands.rating_for_rate(0.299) == 6
    assert bands.rating_for_rate(12.0) == 10
    # p = 1 - exp(-rate * years): rate 0.5/year over 30 days
    p = 1 - np.exp(-0.5 * 30 / 365.25)
    assert bands.rating_for_probability(float(p), 30) == bands.rating_for_rate(0.5) == 7
    with pytest.raises(ValidationError):
        bands.rating_for_probability(1.5, 30)


def test_detection_bands_coverage_and_lead() -> None:
    bands = DetectionBands.default()
    assert bands.rating_for(1.0) == 2
    assert bands.rating_for(0.85) == 5
    assert bands.rating_for(0.85, 40.0) == 3
    assert bands.rating_for(0.85, 10.0) == 4
    assert bands.rating_for(0.0) == 10
    assert bands.rating_for(1.0, 60.0) == 1


def test_rerate_from_incidents_records_history() -> None:
    rows = [_row("FM-A", o=2, d=8), _row("FM-B", kind="site", o=9, d=3), _row("FM-C")]
    incidents = pd.concat(
        [
            # 30 incidents over 100 cell-years = 0.3/element-year -> O 7; 27/30 detected -> D 4,
            # median lead 45 min (more than half predicted) -> credit 2 -> D 2
            _incidents("FM-A", 30, 27, [45.0] * 20 + [np.nan] * 10),
            # 2 incidents over 50 site-years = 0.04 -> O 5; too few for detection
            _incidents("FM-B", 2, 0),
        ]
    )
    history = RatingHistory()
    t0 = datetime.now(UTC)
    new = rerate_from_incidents(
        rows, incidents, {"cell": 100.0, "site": 50.0}, history, who="tester"
    )
    by_id = {r.mode_id: r for r in new}
    assert (by_id["FM-A"].occurrence, by_id["FM-A"].detection) == (7, 2)
    assert (by_id["FM-B"].occurrence, by_id["FM-B"].detection) == (5, 3)
    # FM-C: 0 incidents over 100 cell-years -> rate 0 -> O 1
    assert by_id["FM-C"].occurrence == 1
    changes = {(c.mode_id, c.field): c for c in history}
    assert set(changes) == {
        ("FM-A", "occurrence"),
        ("FM-A", "detection"),
        ("FM-B", "occurrence"),
        ("FM-C", "occurrence"),
    }
    a_occ = changes[("FM-A", "occurrence")]
    assert (a_occ.old, a_occ.new, a_occ.source, a_occ.who) == (2, 7, "incidents", "tester")
    assert "30 incidents over 100 element-years" in a_occ.reason and a_occ.at >= t0
    assert "27/30" in changes[("FM-A", "detection")].reason
    assert history.apply(rows) == new


def test_lead_time_improves_detection() -> None:
    rows = [_row("FM-A", d=5)]
    slow = rerate_from_incidents(
        rows, _incidents("FM-A", 10, 9, [2.0] * 10), {"FM-A": 10}, RatingHistory(), who="t"
    )
    fast = rerate_from_incidents(
        rows, _incidents("FM-A", 10, 9, [35.0] * 10), {"FM-A": 10}, RatingHistory(), who="t"
    )
    assert fast[0].detection < slow[0].detection


def test_rerate_from_predictions() -> None:
    rows = [_row("FM-A", o=2), _row("FM-B", o=4)]
    preds = pd.DataFrame({"failure_mode": ["FM-A"] * 4, "probability": [0.2, 0.3, 0.25, 0.25]})
    history = RatingHistory()
    new = rerate_from_predictions(rows, preds, history, horizon_days=30, who="model")
    # mean p 0.25 over 30 days -> 3.5 per element-year -> O 9
    assert new[0].occurrence == 9 and new[1] == rows[1]
    (change,) = list(history)
    assert change.source == "prediction" and "0.25" in change.reason


@pytest.mark.parametrize("kind", ["memory", "json"])
def test_history_persists_through_document_store(kind: str, tmp_path) -> None:
    store = InMemoryDocumentStore() if kind == "memory" else JsonDirDocumentStore(tmp_path)
    history = RatingHistory()
    history.record("FM-A", "severity", 7, 9, reason="regulator", source="manual", who="ann")
    history.record("FM-A", "severity", 9, 8, reason="review", source="manual", who="bob")
    history.record("FM-B", "detection", 4, 4, reason="no change", source="manual", who="bob")
    assert len(history) == 2
    assert history.save(store) == 2
    assert history.save(store) == 0  # nothing new to put
    loaded = RatingHistory.load(store)
    assert list(loaded) == list(history)
    assert loaded.current() == {"FM-A": {"severity": 8}}
    assert [c.who for c in RatingHistory.load(store, "FM-A")] == ["ann", "bob"]
    assert len(RatingHistory.load(store, "FM-B")) == 0
    loaded.record("FM-B", "detection", 4, 6, reason="audit", source="manual", who="cy")
    assert loaded.save(store) == 1
    assert RatingHistory.load(store).current()["FM-B"] == {"detection": 6}
