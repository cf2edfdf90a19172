from __future__ import annotations

import pandas as pd
import pytest

from twinrca.cli.graphs import graph_history, load_graph, save_graph
from twinrca.core import NotFound
from twinrca.store import open_store


def test_graph_versions_round_trip(tmp_path) -> None:
    with open_store("embedded", path=tmp_path / "g.duckdb") as store:
        store.migrate()
        v1 = save_graph(
            store,
            "ran",
            pd.DataFrame({"cause": [1], "effect": [2], "weight": [0.5]}),
            method="hawkes",
            source={"rows": 10},
        )
        v2 = save_graph(
            store,
            "ran",
            pd.DataFrame({"cause": [1, 2], "effect": [2, 3], "weight": [0.5, 0.1]}),
            method="hawkes",
            source={"rows": 20},
        )
        assert (v1, v2) == (1, 2)
        assert len(load_graph(store, "ran")) == 2
        assert load_graph(store, "ran", version=1).to_dict("records") == [
            {"cause": "1", "effect": "2", "weight": 0.5}
        ]
        assert [h["n_edges"] for h in graph_history(store, "ran")] == [1, 2]
        with pytest.raises(NotFound):
            load_graph(store, "core")
