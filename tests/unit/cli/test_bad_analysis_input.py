"""Analyses on data that cannot support an answer: ``rca rank`` on NaN or constant
metrics, ``causal discover`` on alarm CSVs with NaN, blank or infinite rows (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.causal._alarm_synth import simulate

from twinrca.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def _periods(tmp: Path, normal: pd.DataFrame, anomalous: pd.DataFrame) -> list[str]:
    normal.to_csv(tmp / "n.csv", index_label="time")
    anomalous.to_csv(tmp / "a.csv", index_label="time")
    return ["rca", "rank", "--normal", str(tmp / "n.csv"), "--anomalous", str(tmp / "a.csv")]


def _frame(seed: int, n: int = 60, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amf_cpu": rng.normal(50, 2, n) + shift,
            "smf_cpu": rng.normal(40, 2, n),
            "upf_lat": rng.normal(10, 1, n),
        }
    )


def test_rca_rank_all_nan_anomalous_period_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anomalous = _frame(1) * np.nan
    argv = _periods(tmp_path, _frame(0), anomalous)
    code, err = _run([*argv, "--out", str(tmp_path / "r.json")], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "no metric can be scored" in err
    assert "Traceback" not in err and not (tmp_path / "r.json").exists()


def test_rca_rank_flags_a_nan_metric_instead_of_scoring_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    normal, anomalous = _frame(0), _frame(1, shift=20.0)
    normal["gw_cpu"], anomalous["gw_cpu"] = np.nan, 5.0
    argv = _periods(tmp_path, normal, anomalous)
    code, err = _run([*argv, "--out", str(tmp_path / "r.json")], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [m["metric"] for m in doc["skipped"]] == ["gw_cpu"]
    assert "gw_cpu" not in {m["metric"] for m in doc["metrics"]}
    assert doc["entities"][0]["entity"] == "amf"
    assert "skipped metric gw_cpu" in err and "top entity amf" in err


def test_rca_rank_constant_metrics_everywhere_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flat = pd.DataFrame({"a_x": [1.0] * 5, "b_y": [2.0] * 5})
    argv = _periods(tmp_path, flat, flat.copy())
    code, err = _run([*argv, "--out", str(tmp_path / "r.json")], capsys)
    assert code == 2 and "constant" in err and len(err.strip().splitlines()) == 1


def _alarms(tmp: Path) -> tuple[Path, int]:
    frame = simulate(seed=3, horizon=60_000.0)
    lines = frame.to_csv(index=False).splitlines()
    n = len(lines) - 1
    # line 4: NaN alarm id; line 6: blank; line 9: inf time; line 12: text time
    body = lines[1:]
    cols = lines[0].split(",")
    t = cols.index("start_timestamp")

    def with_time(row: str, value: str) -> str:
        cells = row.split(",")
        cells[t] = value
        return ",".join(cells)

    body[2] = "," + body[2].split(",", 1)[1]
    body.insert(4, "")
    body[7] = with_time(body[7], "inf")
    body[10] = with_time(body[10], "soon")
    path = tmp / "alarms.csv"
    path.write_text("\n".join([lines[0], *body]) + "\n")
    return path, n


def test_causal_discover_reports_bad_rows_with_count_and_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _n = _alarms(tmp_path)
    out = tmp_path / "edges.csv"
    code, err = _run(["causal", "discover", "--alarms", str(path), "--out", str(out)], capsys)
    assert code == 0, err
    assert "skipped 4 of" in err and "first at line 4" in err
    edges = pd.read_csv(out)
    ids = set(edges["cause"]) | set(edges["effect"])
    assert ids and all(isinstance(i, int | np.integer) for i in ids)  # 3, not 3.0


def test_causal_discover_with_no_usable_row_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("alarm_id,device_id,start_timestamp,end_timestamp\n,1,2,3\n1,2,nan,4\n\n")
    code, err = _run(["causal", "discover", "--alarms", str(path), "--out", "x.csv"], capsys)
    assert code == 2 and "0 usable alarm rows of 3" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("labels", "args", "needle"),
    [
        (b"id,t\n1,a\n2,b\n", ["fit", "--target", "nope", "--out", "m.json"], "no column 'nope'"),
        (b"id,t\n1,a\n2,b\n", ["cv", "--target", "t", "--id", "x"], "no column 'x'"),
        (b"id,t\n0,a\n1,b\n2,a\n3,b\n", ["cv", "--target", "t", "--folds", "2"], "too few"),
        (b"id,t\n1,a\n2,\n3,b\n", ["fit", "--target", "t", "--out", "m.json"], "1 empty values"),
        (b"id,t\n1,a\n2,a\n", ["fit", "--target", "t", "--out", "m.json"], "single class"),
    ],
)
def test_predict_refuses_labels_that_cannot_support_a_model(
    labels: bytes,
    args: list[str],
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "l.csv").write_bytes(labels)
    argv = ["predict", args[0], "--labels", "l.csv", "--id", "id", *args[1:]]
    code, err = _run(argv, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert not (tmp_path / "m.json").exists()


_CELLS = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0]),
)


@st.composite
def _periods_frames(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    cols = draw(st.lists(st.sampled_from(["a_x", "a_y", "b_x", "c_z"]), min_size=1, unique=True))

    def frame() -> pd.DataFrame:
        n = draw(st.integers(1, 8))
        return pd.DataFrame({c: draw(st.lists(_CELLS, min_size=n, max_size=n)) for c in cols})

    return frame(), frame()


@settings(max_examples=80, deadline=None)
@given(periods=_periods_frames())
def test_ranking_scores_every_usable_metric_and_flags_the_rest(
    periods: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from twinrca.causal.attribution import rank_root_causes
    from twinrca.core.errors import ValidationError

    normal, anomalous = periods
    try:
        result = rank_root_causes(normal, anomalous)
    except ValidationError as exc:
        assert exc.reason == "no_data"
        return
    scored = {m.metric for m in result.metrics}
    flagged = {m for m, _why in result.skipped}
    assert scored | flagged == set(normal.columns) and not scored & flagged
    assert all(np.isfinite(m.score) and m.score >= 0 for m in result.metrics)
    for col in flagged:  # a flagged metric really has no evidence
        n = normal[col].replace([np.inf, -np.inf], np.nan).dropna()
        a = anomalous[col].replace([np.inf, -np.inf], np.nan).dropna()
        assert n.empty or a.empty or (n.nunique() == a.nunique() == 1 and n.iloc[0] == a.iloc[0])


_ALARM_CELLS = st.one_of(
    st.integers(0, 5), st.sampled_from([np.nan, np.inf, "x", "", None, 3.0, "7"])
)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(_ALARM_CELLS, _ALARM_CELLS, _ALARM_CELLS), max_size=12))
def test_usable_alarm_rows_and_the_bad_ones_partition_the_table(rows: list[tuple]) -> None:
    from twinrca.causal.alarm_events import usable_alarms

    frame = pd.DataFrame(rows, columns=["alarm_id", "device_id", "start_timestamp"])
    good, bad = usable_alarms(frame)
    assert len(good) + len(bad) == len(frame)
    assert np.isfinite(good["start_timestamp"].to_numpy(float)).all()
    assert good["alarm_id"].notna().all() and good["device_id"].notna().all()
    for pos in bad:  # each refused row really lacks something
        a, d, t = rows[pos]
        try:
            finite = np.isfinite(float(t))
        except (TypeError, ValueError):
            finite = False
        assert pd.isna(a) or pd.isna(d) or not finite
