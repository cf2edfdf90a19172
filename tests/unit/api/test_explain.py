"""``GET /v1/incidents/{id}/explain``: the upstream ranking and path from a KPI symptom
on the stored topology (embedded store, generated KPIs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from twinrca.api.app import ApiContext, create_app
from twinrca.core.incident import IncidentDoc
from twinrca.core.topology import Element, ElementKind, Topology
from twinrca.runtime.auth import create_api_key
from twinrca.runtime.explain import explain_incident
from twinrca.runtime.incident_store import save_incident
from twinrca.store import open_store
from twinrca.store.base import WriteBatch

OPENED = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
CHAIN = ["core:1", "tx:1", "site:1", "cell:1"]  # each feeds the next
KINDS = [ElementKind.CORE, ElementKind.TRANSPORT, ElementKind.SITE, ElementKind.CELL]


def _kpis(root: str) -> pd.DataFrame:
    """Hourly drop rate for two days; from OPENED on, ``root`` and everything it feeds
    rise by the same amount (the fault propagates downstream)."""
    rng = np.random.default_rng(7)
    times = pd.date_range(OPENED - timedelta(days=2), OPENED + timedelta(hours=2), freq="h")
    affected = set(CHAIN[CHAIN.index(root) :])
    rows = []
    for element in CHAIN:
        values = 1.0 + rng.normal(0.0, 0.05, len(times))
        if element in affected:
            values[times >= OPENED] += 3.0
        rows += [
            {"managed_object": element, "measurement": "drop_rate", "value": float(v),
             "period_end": t, "granularity_s": 3600, "suspect": False}
            for t, v in zip(times, values, strict=True)
        ]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def client_and_key(tmp_path):
    stores: dict[str, object] = {}

    def store_for(tenant: str):
        if tenant not in stores:
            stores[tenant] = open_store(
                "embedded", path=tmp_path / f"{tenant}.duckdb", tenant=tenant
            )
            stores[tenant].migrate()
        return stores[tenant]

    system = store_for("_system")
    key = create_api_key(system, "acme")
    store = store_for("acme")
    elements = [Element(e, k) for e, k in zip(CHAIN, KINDS, strict=True)]
    store.save_topology(Topology(elements, list(pairwise(CHAIN))))
    store.write_batch(WriteBatch(kpis=_kpis("site:1")))
    inc = IncidentDoc(
        incident_id="inc-x", tenant="acme", opened_at=OPENED,
        updated_at=OPENED + timedelta(hours=2),
        root_element="cell:1", elements=["cell:1"],
        anomalies=[{"managed_object": "cell:1", "measurement": "drop_rate", "z": 9.0}],
    )  # fmt: skip
    save_incident(store, inc)
    app = create_app(
        ApiContext(store_for=store_for, system_store=system, rate_per_s=1000, burst=1000,
                   jobs_dir=str(tmp_path / "jobs"), start_jobs=False)
    )  # fmt: skip
    yield TestClient(app), key
    for s in stores.values():
        s.close()  # type: ignore[attr-defined]


def test_explain_ranks_the_upstream_root_first_with_its_path(client_and_key) -> None:
    client, key = client_and_key
    resp = client.get("/v1/incidents/inc-x/explain?kpi=drop_rate", headers={"X-API-Key": key})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["symptom"] == {"element": "cell:1", "kpi": "drop_rate"}
    assert body["ranking"][0]["element"] == "site:1"
    assert body["path"] == ["site:1", "cell:1"]
    ranked = [r["element"] for r in body["ranking"]]
    assert set(ranked) == set(CHAIN)


def test_explain_unknown_kpi_is_404_and_needs_a_key(client_and_key) -> None:
    client, key = client_and_key
    assert (
        client.get("/v1/incidents/inc-x/explain?kpi=nope", headers={"X-API-Key": key}).status_code
        == 404
    )
    assert client.get("/v1/incidents/inc-x/explain?kpi=drop_rate").status_code == 401


def test_unmeasured_upstream_element_feeding_anomalous_cells_ranks_first(tmp_path) -> None:
    """Only cells have KPIs. site:a feeds cells a1..a3 (all drop), site:b feeds b1, b2
    (normal); both hang off tx:1. From cell a1 the shared upstream cause is site:a."""
    store = open_store("embedded", path=tmp_path / "t.duckdb", tenant="acme")
    store.migrate()
    cells = {"site:a": ["cell:a1", "cell:a2", "cell:a3"], "site:b": ["cell:b1", "cell:b2"]}
    elements = [Element("tx:1", ElementKind.TRANSPORT)]
    feeds = []
    for site, fed in cells.items():
        elements.append(Element(site, ElementKind.SITE))
        feeds.append(("tx:1", site))
        for cell in fed:
            elements.append(Element(cell, ElementKind.CELL))
            feeds.append((site, cell))
    store.save_topology(Topology(elements, feeds))
    rng = np.random.default_rng(2)
    times = pd.date_range(OPENED - timedelta(days=3), OPENED + timedelta(hours=2), freq="h")
    rows = []
    for site, fed in cells.items():
        for cell in fed:
            values = 1.0 + rng.normal(0.0, 0.05, len(times))
            if site == "site:a":
                values[times >= OPENED] += 3.0
            rows += [
                {"managed_object": cell, "measurement": "drop_rate", "value": float(v),
                 "period_end": t, "granularity_s": 3600, "suspect": False}
                for t, v in zip(times, values, strict=True)
            ]  # fmt: skip
    store.write_batch(WriteBatch(kpis=pd.DataFrame(rows)))
    inc = IncidentDoc(
        incident_id="inc-y", tenant="acme", opened_at=OPENED,
        updated_at=OPENED + timedelta(hours=2), root_element="cell:a1",
        anomalies=[{"managed_object": "cell:a1", "measurement": "drop_rate", "z": 9.0}],
    )  # fmt: skip
    try:
        body = explain_incident(store, inc, "drop_rate")
    finally:
        store.close()
    ranked = [r["element"] for r in body["ranking"]]
    assert ranked[0] == "site:a", body["ranking"]
    assert body["path"] == ["site:a", "cell:a1"]
    # tx:1 feeds 3 anomalous cells of 5 (a majority): shared too, after the site that
    # explains the same cells with a larger share
    assert ranked[:3] == ["site:a", "tx:1", "cell:a1"]
    assert body["ranking"][1]["feeds_anomalous"] == 3 and body["ranking"][1]["feeds_measured"] == 5
    scores = [r["score"] for r in body["ranking"]]
    assert scores == sorted(scores, reverse=True)
