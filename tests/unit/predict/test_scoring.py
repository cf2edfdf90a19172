"""Scoring: quality on held-out time, explanations, MDA reports, streamed scoring."""

from __future__ import annotations

from datetime import UTC

import numpy as np
import pandas as pd

from twinrca.predict.scoring import StreamScorer, fmea_predictions, score_frame

from .conftest import SPEC


def test_model_beats_prior_and_explains(trained) -> None:
    ds, ev = trained
    prevalence = ds.y.mean()
    assert ev.test.pr_auc > 3 * prevalence  # far above a random ranking
    assert ev.test.pr_auc > ev.baseline_lr.pr_auc
    x = ds.x[ds.y == 1][:5]
    reasons = ev.model.explain(x, top=3)
    assert len(reasons) == 5 and all(len(r) <= 3 for r in reasons)
    assert any(r for r in reasons) and all(
        c.contribution > 0 and c.text for r in reasons for c in r
    )


def test_batch_warnings_are_mda_reports(trained) -> None:
    ds, ev = trained
    warnings = score_frame(ev.model, ds.frame.iloc[-300:], threshold=0.0)
    assert warnings
    rep = warnings[0].to_mda()
    assert set(rep) == {"mDAType", "mDAOutputList", "analyticsWindow", "confidenceDegree"}
    names = [o["mDAOutputIEName"] for o in rep["mDAOutputList"]]
    assert names[:2] == ["predictedFaultObject", "predictedFailureMode"]
    win = rep["analyticsWindow"]
    start, end = pd.Timestamp(win["mDAOutputStartTime"]), pd.Timestamp(win["mDAOutputEndTime"])
    assert end - start == pd.Timedelta(minutes=60)
    assert 0.0 <= rep["confidenceDegree"] <= 1.0


def test_streamed_periods_give_the_batch_scores(scenario, trained) -> None:
    ds, ev = trained
    # threshold 0: every element is scored and reported each period
    scorer = StreamScorer(ev.model, spec=SPEC, topology=scenario.topology, threshold=0.0, explain=0)
    times = np.sort(scenario.kpis["time"].unique())[-12:]
    step = pd.Timedelta(minutes=15)
    al = scenario.alarms
    scorer.feed(scenario.kpis[scenario.kpis["time"] < times[0]], al[al["time"] <= times[0] - step])
    warned = []
    for t in times:
        rows = scenario.kpis[scenario.kpis["time"] == t]
        warned += scorer.feed(rows, al[(al["time"] > t - step) & (al["time"] <= t)])
    assert len(warned) == len(times) * scenario.kpis["element"].nunique()
    batch = score_frame(ev.model, ds.frame[ds.frame["time"].isin(times)], threshold=0.0, explain=0)
    got = {(w.element, w.start): w.confidence for w in warned}
    want = {(w.element, w.start): w.confidence for w in batch}
    # the batch holds only label-valid rows; each of them is scored alike in the stream
    assert want and set(want) <= set(got)
    assert all(abs(got[k] - want[k]) < 1e-9 for k in want)


def test_fmea_predictions_one_row_per_element(trained) -> None:
    ds, ev = trained
    pred = fmea_predictions(ev.model, ds.frame)
    assert list(pred.columns) == ["element", "failure_mode", "probability"]
    assert pred["element"].is_unique and pred["probability"].between(0, 1).all()
    assert set(pred["failure_mode"]) <= set(ev.model.modes)


def test_model_matrix_aligns_columns_and_fills_absent_event_types(trained) -> None:
    import pytest

    from twinrca.core.errors import ModelError

    ds, ev = trained
    frame = ds.frame.iloc[:100]
    shuffled = frame[list(reversed(frame.columns))]
    np.testing.assert_array_equal(ev.model.matrix(shuffled), ev.model.matrix(frame))
    alarm_cols = [c for c in ds.names if c.startswith("alarm__")]
    assert alarm_cols
    dropped = ev.model.matrix(frame.drop(columns=alarm_cols))
    j = ds.names.index(alarm_cols[0])
    assert np.all(dropped[:, j] == 0.0)
    kpi_col = next(c for c in ds.names if c.endswith("__last"))
    with pytest.raises(ModelError):
        ev.model.matrix(frame.drop(columns=[kpi_col]))


def test_warnings_move_to_the_element_their_mode_is_a_fault_of() -> None:
    from datetime import datetime

    from twinrca.core.topology import ElementKind
    from twinrca.predict.scoring import FaultWarning, on_faulty_element
    from twinrca.twin_replay import generate_topology

    topo = generate_topology(12, seed=1)
    site = topo.ids(ElementKind.SITE)[0]
    cells = sorted(c for c in topo.descendants(site) if c in set(topo.ids(ElementKind.CELL)))
    other = next(c for c in topo.ids(ElementKind.CELL) if c not in topo.descendants(site))
    t0 = datetime(2024, 6, 3, 10, tzinfo=UTC)
    t1 = datetime(2024, 6, 3, 11, tzinfo=UTC)

    def warn(element: str, mode: str, p: float) -> FaultWarning:
        return FaultWarning(element, mode, t0, t1, p, 60.0)

    kinds = {"LEAK": ElementKind.SITE, "CELLMODE": ElementKind.CELL}
    got = on_faulty_element(
        [warn(c, "LEAK", 0.5 + i / 10) for i, c in enumerate(cells[:2])]
        + [warn(other, "CELLMODE", 0.9), warn(site, "UNKNOWN-MODE", 0.7)],
        topo,
        kinds,
    )
    by = {(w.element, w.failure_mode): w for w in got}
    assert len(got) == 3  # the two cells' site warning is one
    leak = by[(site, "LEAK")]
    assert leak.confidence == 0.6 and leak.raised_on == tuple(cells[:2])
    assert by[(other, "CELLMODE")].raised_on == ()  # already on its kind
    assert by[(site, "UNKNOWN-MODE")].raised_on == ()  # no kind known: stays
    # a different window is another warning
    later = FaultWarning(cells[0], "LEAK", t1, t1.replace(hour=12), 0.8, 60.0)
    assert len(on_faulty_element([warn(cells[0], "LEAK", 0.5), later], topo, kinds)) == 2
