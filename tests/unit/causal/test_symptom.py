"""Symptom-driven ranking on small generated graphs: traversal, unscored metrics,
graph file detection, rank fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twinrca.causal._pointscores import point_scores
from twinrca.causal.from_symptom import rank_from_symptom
from twinrca.causal.graph_io import orient_for_target, read_graph_file
from twinrca.core.errors import ValidationError

CHAIN = ["db", "api", "web"]  # db is called by api, api by web: cause -> effect


def periods(root: str, *, n_normal: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Latency of a chain callee -> caller: a caller's latency is its own time plus its
    callee's latency. ``root``'s own time grows by 0.5 s over 3 points."""
    rng = np.random.default_rng(seed)
    own = {"db": 0.05, "api": 0.05, "web": 0.10}

    def chain(n: int, slow: str | None) -> dict[str, np.ndarray]:
        out, below = {}, np.zeros(n)
        for e in CHAIN:
            below = below + own[e] + rng.normal(0, 0.01, n) + (0.5 if e == slow else 0.0)
            out[f"{e}|latency"] = below
        return out

    normal = pd.DataFrame(chain(n_normal, None), index=np.arange(n_normal) * 300.0)
    window = pd.DataFrame(chain(3, root), index=(n_normal + np.arange(3)) * 300.0)
    return normal, window


EDGES = [("db", "api"), ("api", "web")]


@pytest.mark.parametrize("root", CHAIN)
def test_traversal_ranks_the_root_first_not_the_callers(root: str) -> None:
    normal, window = periods(root)
    result = rank_from_symptom(
        normal, window, edges=EDGES, target="web", metric="latency", entity_sep="|",
        method="traversal",
    )  # fmt: skip
    order = [e.entity for e in result.ranking.entities]
    assert order[0] == root
    assert result.paths[root] == tuple(CHAIN[CHAIN.index(root) :])


def test_traversal_ignores_a_callee_whose_deviation_carries_no_share() -> None:
    """db drifts a little (10 sigma, 0.1 s) while api slows by 2 s: api is the root."""
    normal, window = periods("api")
    window["db|latency"] += 0.1
    window[["api|latency", "web|latency"]] += 1.5
    result = rank_from_symptom(
        normal, window, edges=EDGES, target="web", metric="latency", entity_sep="|",
        method="traversal",
    )  # fmt: skip
    assert result.ranking.entities[0].entity == "api"


def test_default_fuses_and_keeps_the_root_first() -> None:
    normal, window = periods("db", seed=3)
    result = rank_from_symptom(
        normal, window, edges=EDGES, target="web", metric="latency", entity_sep="|"
    )
    assert result.ranking.method == "default"
    assert result.ranking.entities[0].entity == "db"
    scores = [e.score for e in result.ranking.entities]
    assert scores == sorted(scores, reverse=True)


def test_gcm_attributes_the_symptom_upstream() -> None:
    normal, window = periods("db", seed=1)
    result = rank_from_symptom(
        normal, window, edges=EDGES, target="web", metric="latency", entity_sep="|", method="gcm"
    )
    assert result.ranking.entities[0].entity == "db"


def test_nan_only_metric_is_reported_not_scored() -> None:
    normal, window = periods("db")
    normal["cache|latency"] = 0.01
    window["cache|latency"] = np.nan
    pts = point_scores(normal, window)
    assert pts.unscored == {"cache|latency": "nan_only"}
    assert "cache|latency" not in pts.z.columns
    result = rank_from_symptom(
        normal, window, edges=[*EDGES, ("cache", "api")], target="web", metric="latency",
        entity_sep="|",
    )  # fmt: skip
    assert result.unscored == {"cache|latency": "nan_only"}
    assert "cache" not in [e.entity for e in result.ranking.entities]
    assert result.to_dict()["unscored"] == [{"metric": "cache|latency", "reason": "nan_only"}]


def test_constant_baseline_flags_any_move_and_a_flat_one_stays_normal() -> None:
    normal = pd.DataFrame({"a|availability": [100.0] * 50, "b|availability": [100.0] * 50})
    window = pd.DataFrame({"a|availability": [100.0, 97.0, 98.0], "b|availability": [100.0] * 3})
    pts = point_scores(normal, window)
    assert bool(pts.flagged["a|availability"]) and not bool(pts.flagged["b|availability"])
    assert np.isfinite(pts.z.to_numpy()).all()
    assert pts.score["b|availability"] == 0.0


def test_no_graph_falls_back_to_the_robust_scorer() -> None:
    normal, window = periods("db")
    result = rank_from_symptom(normal, window, entity_sep="|", method="traversal")
    assert result.ranking.method == "robust"


def test_unknown_symptom_is_a_validation_error() -> None:
    normal, window = periods("db")
    with pytest.raises(ValidationError):
        rank_from_symptom(normal, window, edges=EDGES, target="nope", entity_sep="|")


def test_graph_file_detection(tmp_path: Path) -> None:
    matrix = tmp_path / "m.csv"
    # row calls column: web calls api, api calls db
    matrix.write_text(",db,api,web\ndb,0,0,0\napi,1,0,0\nweb,0,1,0\n")
    edges = tmp_path / "e.csv"
    edges.write_text("cause,effect,weight\ndb,api,0.5\napi,web,1\n")
    bare = tmp_path / "b.csv"
    bare.write_text("db,api\napi,web\n")
    m, e, b = read_graph_file(matrix), read_graph_file(edges), read_graph_file(bare)
    assert (m.kind, e.kind, b.kind) == ("adjacency", "edge_list", "edge_list")
    assert set(m.oriented("calls")) == set(EDGES) == set(e.oriented("cause-effect"))
    assert set(b.oriented("cause-effect")) == set(EDGES)
    assert e.edges[0][2] == 0.5
    # auto: read cause -> effect, web would have no upstream: it is a call graph
    pairs, used = orient_for_target(m, "auto", "web")
    assert used == "calls" and set(pairs) == set(EDGES)
    pairs, used = orient_for_target(e, "auto", "web")
    assert used == "cause-effect"


@pytest.mark.parametrize(
    "text", ["only_one_column\n", "cause,effect,weight\na,b,heavy\n", "cause,effect\n"]
)
def test_bad_graph_files_are_validation_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "g.csv"
    path.write_text(text)
    with pytest.raises(ValidationError):
        read_graph_file(path)
