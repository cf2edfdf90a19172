"""Incident-table features and the ``twinrca predict`` CLI on generated tables."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from twinrca.cli.predict import app
from twinrca.core.errors import SchemaMismatch
from twinrca.predict.synthetic import incident_tables
from twinrca.predict.tables import TableFeaturizer, numeric_part


def test_numeric_part_parses_trailing_numbers() -> None:
    got = numeric_part(pd.Series(["location 123", "feature 7", "x", None]))
    assert got.iloc[0] == 123.0 and got.iloc[1] == 7.0
    assert np.isnan(got.iloc[2]) and np.isnan(got.iloc[3])


def test_counts_shares_and_sums_per_category() -> None:
    labels = pd.DataFrame({"id": [1, 2, 3], "loc": ["a", "a", "b"], "y": [0, 1, 0]})
    logs = pd.DataFrame(
        {
            "id": [1, 1, 1, 2, 3, 3],
            "feat": ["f1", "f1", "f2", "f2", "f1", "f2"],
            "vol": [2, 3, 5, 7, 1, 1],
        }
    )
    f = TableFeaturizer("id", "y", min_count=1).fit(labels, {"logs": logs})
    x = f.transform(labels, {"logs": logs}).set_index(labels["id"])
    assert x.loc[1, "logs:feat=f1"] == 2 and x.loc[1, "logs:feat=f2"] == 1
    assert x.loc[1, "logs:feat=f1:share"] == pytest.approx(2 / 3)
    assert x.loc[1, "logs:feat=f1:vol_sum"] == 5 and x.loc[2, "logs:feat=f2:vol_sum"] == 7
    assert x.loc[3, "logs:rows"] == 2 and x.loc[2, "logs:vol:max"] == 7
    # order within the group: id 2 comes after id 1 in location "a"
    assert x.loc[1, "grp:loc:rank_by_logs:first_pos"] == 1
    assert x.loc[2, "grp:loc:rank_by_logs:first_pos"] == 2


def _write(tmp_path, n: int, seed: int) -> list[str]:
    labels, tables = incident_tables(n, seed=seed)
    labels.to_csv(tmp_path / "train.csv", index=False)
    labels.drop(columns="fault_severity").to_csv(tmp_path / "test.csv", index=False)
    args = []
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        args += ["--table", str(tmp_path / f"{name}.csv")]
    return args


def test_cv_cli_beats_the_prior(tmp_path) -> None:
    tables = _write(tmp_path, 900, seed=5)
    res = CliRunner().invoke(
        app,
        [
            "cv",
            "--labels",
            str(tmp_path / "train.csv"),
            "--id",
            "id",
            "--target",
            "fault_severity",
            *tables,
            "--folds",
            "3",
            "--seed",
            "1",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert len(line) == 1
    out = json.loads(line[0])
    assert out["n"] == 900 and out["classes"] == [0, 1, 2]
    assert 0.0 <= out["accuracy"] <= 1.0
    # the target depends on the tables: the model must clearly beat class frequencies
    assert out["logloss"] < out["prior_logloss"] - 0.08


def test_fit_and_score_cli_round_trip(tmp_path) -> None:
    tables = _write(tmp_path, 400, seed=6)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "fit",
            "--labels",
            str(tmp_path / "train.csv"),
            "--id",
            "id",
            "--target",
            "fault_severity",
            *tables,
            "--out",
            str(tmp_path / "m.json"),
            "--registry",
            str(tmp_path / "reg"),
        ],
    )
    assert res.exit_code == 0, res.output
    for source in (["--model", str(tmp_path / "m.json")], ["--registry", str(tmp_path / "reg")]):
        res = runner.invoke(
            app,
            [
                "score",
                "--labels",
                str(tmp_path / "test.csv"),
                "--id",
                "id",
                *tables,
                *source,
                "--out",
                str(tmp_path / "p.csv"),
            ],
        )
        assert res.exit_code == 0, res.output
        p = pd.read_csv(tmp_path / "p.csv")
        assert list(p.columns) == ["id", "p_0", "p_1", "p_2"] and len(p) == 400
        assert np.allclose(p[["p_0", "p_1", "p_2"]].sum(axis=1), 1.0)


def test_score_rejects_tables_of_another_shape(tmp_path) -> None:
    from twinrca.predict.tabular import fit_table_model

    labels, tables = incident_tables(300, seed=2)
    model = fit_table_model(labels, tables, id_col="id", target_col="fault_severity")
    bad = dict(tables)
    bad["log_feature"] = bad["log_feature"].rename(columns={"volume": "count"})
    with pytest.raises(SchemaMismatch):
        model.predict_proba(labels, bad)
