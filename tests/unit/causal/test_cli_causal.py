"""``twinrca causal discover`` round trip on a small generated alarm file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tests.unit.causal._alarm_synth import ring_topology, simulate, truth_matrix
from typer.testing import CliRunner

from twinrca.cli import app


def test_discover_round_trip(tmp_path: Path) -> None:
    alarms = simulate(topology=ring_topology(8), seed=3)
    alarms.to_csv(tmp_path / "alarms.csv", index=False)
    np.save(tmp_path / "topo.npy", ring_topology(8))
    prior = np.zeros((6, 6))
    prior[1, 2] = -1  # forbid a true edge
    prior[5, 0] = 1  # require a false one
    np.save(tmp_path / "prior.npy", prior)
    out = tmp_path / "edges.csv"
    result = CliRunner().invoke(
        app,
        ["causal", "discover", "--alarms", str(tmp_path / "alarms.csv"),
         "--topology", str(tmp_path / "topo.npy"), "--prior", str(tmp_path / "prior.npy"),
         "--prior-encoding", "signed", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    edges = pd.read_csv(out)
    assert list(edges.columns) == ["cause", "effect", "weight"]
    pairs = set(zip(edges["cause"], edges["effect"], strict=True))
    assert (1, 2) not in pairs
    assert (5, 0) in pairs
    want = {tuple(e) for e in np.argwhere(truth_matrix())} - {(1, 2)}
    assert want <= pairs


def test_discover_keeps_non_contiguous_ids(tmp_path: Path) -> None:
    alarms = simulate(seed=4)
    alarms["alarm_id"] = alarms["alarm_id"] * 10 + 100  # ids 100, 110, ..., 150
    alarms.to_csv(tmp_path / "a.csv", index=False)
    out = tmp_path / "e.csv"
    result = CliRunner().invoke(
        app, ["causal", "discover", "--alarms", str(tmp_path / "a.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    edges = pd.read_csv(out)
    assert {(100, 110), (110, 120)} <= set(zip(edges["cause"], edges["effect"], strict=True))


def test_discover_rejects_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["causal", "discover", "--alarms", str(tmp_path / "nope.csv"), "--out", "x.csv"]
    )
    assert result.exit_code != 0


def test_discover_min_confidence_filters_and_reports(tmp_path: Path) -> None:
    alarms = simulate(topology=ring_topology(8), seed=3)
    alarms.to_csv(tmp_path / "alarms.csv", index=False)
    np.save(tmp_path / "topo.npy", ring_topology(8))
    runs = {}
    for level in ("0", "1"):
        out = tmp_path / f"edges{level}.csv"
        result = CliRunner().invoke(
            app,
            ["causal", "discover", "--alarms", str(tmp_path / "alarms.csv"),
             "--topology", str(tmp_path / "topo.npy"), "--min-confidence", level,
             "--out", str(out)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        runs[level] = pd.read_csv(out)
        edges = runs[level]
        median = edges["weight"].median()
        said = " ".join(result.output.split())  # rich wraps long lines
        assert f"{len(edges)} edges written" in said
        assert f"median confidence {median:.2f}" in said
    every, strict = runs["0"], runs["1"]
    assert ((every["weight"] > 0) & (every["weight"] <= 1)).all()
    assert len(strict) == int((every["weight"] >= 1).sum())


def test_discover_rejects_a_confidence_outside_0_1(tmp_path: Path) -> None:
    alarms = simulate(seed=4)
    alarms.to_csv(tmp_path / "a.csv", index=False)
    result = CliRunner().invoke(
        app,
        ["causal", "discover", "--alarms", str(tmp_path / "a.csv"), "--out",
         str(tmp_path / "e.csv"), "--min-confidence", "1.5"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "min_confidence" in result.output or "min-confidence" in result.output
