"""DoWhy gcm path (graph given) and the ``twinrca rca rank`` CLI round trip."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from tests.unit.causal._attribution_synth import CHAIN, EDGES, ENTITIES, planted
from typer.testing import CliRunner

from twinrca.causal.attribution import AttributionConfig, rank_root_causes
from twinrca.cli.rca import app

ENTITY_EDGES = [(a, b) for a, b in itertools.pairwise(ENTITIES)]


def _metrics_only(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("time")


@pytest.mark.parametrize(
    ("root", "graph", "quiet"),
    [
        ("amf_cpu", EDGES, False),
        ("upf_cpu", EDGES, True),
        ("smf_cpu", ENTITY_EDGES, False),
    ],
)
def test_gcm_planted_root_ranks_first(root: str, graph: list[tuple[str, str]], quiet: bool) -> None:
    normal, anomalous = (_metrics_only(f) for f in planted(root, seed=3, quiet_children=quiet))
    result = rank_root_causes(normal, anomalous, graph=graph)
    assert result.method == "gcm"
    assert result.entities[0].entity == root.split("_")[0]
    assert result.metrics[0].metric == root
    assert result.metrics[0].score > result.metrics[1].score


def test_gcm_attribution_alone_finds_root_without_prior() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("smf_cpu", seed=4))
    config = AttributionConfig(prior_weight=0.0)
    result = rank_root_causes(normal, anomalous, graph=EDGES, config=config)
    assert result.metrics[0].metric == "smf_cpu"
    downstream = {m.metric: m.score for m in result.metrics}
    assert downstream["upf_cpu"] < 0.5 * downstream["smf_cpu"]


def test_gcm_with_graph_on_unknown_names_falls_back_to_robust_scores() -> None:
    normal, anomalous = (_metrics_only(f) for f in planted("smf_cpu"))
    gcm = rank_root_causes(normal, anomalous, graph=[("nope", "none")])
    robust = rank_root_causes(normal, anomalous)
    assert [m.metric for m in gcm.metrics] == [m.metric for m in robust.metrics]


def _write(tmp_path: Path, root: str) -> tuple[Path, Path]:
    normal, anomalous = planted(root, seed=7)
    n_path, a_path = tmp_path / "normal.csv", tmp_path / "anomalous.csv"
    normal.to_csv(n_path, index=False)
    anomalous.to_csv(a_path, index=False)
    return n_path, a_path


@pytest.mark.parametrize("with_graph", [False, True])
def test_cli_round_trip(tmp_path: Path, with_graph: bool) -> None:
    n_path, a_path = _write(tmp_path, "smf_cpu")
    out = tmp_path / "out" / "r.json"
    args = ["rank", "--normal", str(n_path), "--anomalous", str(a_path), "--out", str(out)]
    if with_graph:
        graph = tmp_path / "g.csv"
        pd.DataFrame(CHAIN, columns=["cause", "effect"]).to_csv(graph, index=False)
        args += ["--graph", str(graph)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    ranking = json.loads(out.read_text())
    assert ranking["entities"][0] == {"entity": "smf", "score": ranking["entities"][0]["score"]}
    assert ranking["metrics"][0]["metric"] == "smf_cpu"
    assert "time" not in {m["metric"] for m in ranking["metrics"]}
    scores = [e["score"] for e in ranking["entities"]]
    assert scores == sorted(scores, reverse=True)


def test_cli_entity_separator(tmp_path: Path) -> None:
    normal, anomalous = planted("upf_cpu", seed=1)
    rename = {c: c.replace("_", ".") for c in normal.columns if c != "time"}
    n_path, a_path = tmp_path / "n.csv", tmp_path / "a.csv"
    normal.rename(columns=rename).to_csv(n_path, index=False)
    anomalous.rename(columns=rename).to_csv(a_path, index=False)
    out = tmp_path / "r.json"
    args = ["rank", "--normal", str(n_path), "--anomalous", str(a_path), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--entity-sep", "."])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["entities"][0]["entity"] == "upf"
