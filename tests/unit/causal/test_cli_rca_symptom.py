"""``twinrca rca rank`` with a symptom: PetShop layout read directly, adjacency matrix
detected and oriented, one-line errors (exit 2) on bad files and options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinrca.cli import main

NODES = ["web", "api", "db"]


def _petshop_csv(path: Path, values: dict[str, np.ndarray], times: np.ndarray) -> None:
    """A metrics.csv with the three PetShop header rows (latency, Average)."""
    cols = pd.MultiIndex.from_tuples(
        [(n, "latency", "Average") for n in values], names=["microservice", "metric", "statistic"]
    )
    frame = pd.DataFrame(np.column_stack(list(values.values())), index=times, columns=cols)
    frame.index.name = "unix_timestamp"
    frame.to_csv(path)


def scenario(tmp_path: Path) -> dict[str, Path]:
    """db slows down from t0 on; api and web (its callers) inherit the delay."""
    rng = np.random.default_rng(0)
    n = 120
    times = np.arange(n) * 300.0

    def chain(k: int, slow: float) -> dict[str, np.ndarray]:
        db = 0.05 + rng.normal(0, 0.005, k) + slow
        api = db + 0.05 + rng.normal(0, 0.005, k)
        web = api + 0.1 + rng.normal(0, 0.005, k)
        return {"web": web, "api": api, "db": db}

    (tmp_path / "noissue").mkdir()
    _petshop_csv(tmp_path / "noissue" / "metrics.csv", chain(n, 0.0), times)
    issue = tmp_path / "test" / "issue_0"
    issue.mkdir(parents=True)
    t0 = 10 * n * 300.0
    before, during = chain(2, 0.0), chain(3, 0.4)
    joined = {k: np.concatenate([before[k], during[k]]) for k in before}
    _petshop_csv(issue / "metrics.csv", joined, t0 + (np.arange(5) - 2) * 300.0)
    target = {"node": "web", "metric": "latency", "agg": "Average", "timestamp": t0}
    (issue / "target.json").write_text(json.dumps({"target": target, "root_cause": {"node": "db"}}))
    # adjacency matrix, row calls column (the PetShop convention)
    (tmp_path / "graph.csv").write_text(",web,api,db\nweb,0,1,0\napi,0,0,1\ndb,0,0,0\n")
    return {"normal": tmp_path / "noissue" / "metrics.csv", "issue": issue,
            "graph": tmp_path / "graph.csv"}  # fmt: skip


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def test_issue_folder_with_adjacency_matrix_ranks_the_callee(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = scenario(tmp_path)
    out = tmp_path / "r.json"
    code, err = run(
        ["rca", "rank", "--normal", str(p["normal"]), "--anomalous", str(p["issue"]),
         "--graph", str(p["graph"]), "--method", "traversal", "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["entities"][0]["entity"] == "db"
    assert doc["paths"]["db"] == ["db", "api", "web"]
    assert {m["metric"] for m in doc["metrics"]} == {f"{n}|latency" for n in NODES}


def test_explicit_target_and_start_give_the_same_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = scenario(tmp_path)
    out = tmp_path / "r.json"
    t0 = json.loads((p["issue"] / "target.json").read_text())["target"]["timestamp"]
    code, err = run(
        ["rca", "rank", "--normal", str(p["normal"]),
         "--anomalous", str(p["issue"] / "metrics.csv"), "--graph", str(p["graph"]),
         "--graph-direction", "calls", "--target", "web|latency", "--start", str(t0),
         "--out", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out.read_text())["entities"][0]["entity"] == "db"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--method", "nope"], "method must be"),
        (["--graph-direction", "sideways"], "graph direction"),
        (["--target", "nothere|latency"], "symptom"),
        (["--graph", "MISSING"], "cannot read graph CSV"),
        (["--graph", "BAD"], "graph CSV"),
    ],
)
def test_bad_options_and_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    p = scenario(tmp_path)
    (tmp_path / "bad.csv").write_text("just_one_column\n")
    extra = [
        str(tmp_path / "missing.csv")
        if x == "MISSING"
        else str(tmp_path / "bad.csv")
        if x == "BAD"
        else x
        for x in extra
    ]
    argv = ["rca", "rank", "--normal", str(p["normal"]), "--anomalous", str(p["issue"]),
            "--out", str(tmp_path / "r.json")]  # fmt: skip
    if "--graph" not in extra:
        argv += ["--graph", str(p["graph"])]
    code, err = run(argv + extra, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], err
