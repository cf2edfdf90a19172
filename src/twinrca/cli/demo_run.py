"""The end-to-end demo on the embedded default (no servers).

A generated network scenario with planted faults streams through the file source into
the embedded store; incidents are detected, diagnosed, verified on the twin and given
remediations; alerts go through the outbox to a local webhook receiver. Everything is
written under ``out`` (store, scenario, incidents.json, summary.json).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd

from twinrca.alerts.delivery import Deliverer
from twinrca.alerts.subscriptions import paged, secrets_by_url
from twinrca.core.incident import IncidentDoc
from twinrca.fmea.catalogue import load_catalogue
from twinrca.ingest.files import ingest_files
from twinrca.predict.scenario import read_twin_scenario
from twinrca.runtime.auth import create_api_key
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.runtime.fmea_feedback import rerate_from_service
from twinrca.runtime.forecasting import Forecaster, predictions_came_true
from twinrca.runtime.plugins import DIAGNOSERS, PREDICTORS, load_plugins
from twinrca.store import open_store
from twinrca.training.diagnoser import representative_or_load
from twinrca.training.predictor import PredictorConfig, predictor_or_load
from twinrca.twin_replay.generate import generate_scenario

__all__ = ["DemoResult", "run_demo"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DemoResult:
    out: Path
    store_path: Path
    incidents: list[IncidentDoc]
    labels: pd.DataFrame
    webhooks_received: int
    summary: dict[str, Any]
    predictions: list[dict[str, Any]]


class _Receiver:
    """A local NOC webhook receiver on loopback, standing in for the NOC's tool."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.append(
                    {
                        "path": self.path,
                        "body": json.loads(body),
                        "signature": self.headers.get("X-TwinRCA-Signature"),
                    }
                )
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_demo(
    out: Path,
    *,
    cells: int = 200,
    days: float = 3.0,
    faults: int = 12,
    seed: int = 7,
    tenant: str = "demo",
    say=print,
) -> DemoResult:
    t_start = time.perf_counter()
    out = Path(out)
    scenario_dir = out / "scenario"
    store_path = out / "twinrca.duckdb"
    for p in (scenario_dir, store_path, Path(str(store_path) + ".wal")):
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    catalogue = load_catalogue()

    say(
        f"[1/7] twin: generating {cells} cells x {days:g} days with {faults} planted faults "
        f"(seed {seed})"
    )
    summary = generate_scenario(scenario_dir, cells=cells, days=days, faults=faults, seed=seed)
    from twinrca.core.topology import Topology

    topology = Topology.from_json(scenario_dir / "topology.json")
    labels = pd.read_csv(scenario_dir / "labels.csv")

    say(
        f"[2/7] ingest: {summary.kpi_messages} PM, {summary.alarm_messages} alarm and "
        f"{summary.log_messages} log messages through the file source into the embedded store"
    )
    store = open_store("embedded", path=store_path, tenant=tenant)
    store.migrate()
    store.save_topology(topology)
    dead_path = out / "dead-letters.jsonl"
    dead_count = 0

    def dead(letters) -> None:
        nonlocal dead_count
        dead_count += len(letters)
        with dead_path.open("a") as fh:
            for d in letters:
                fh.write(
                    json.dumps({"reason": d.reason, "source": str(getattr(d, "topic", ""))}) + "\n"
                )

    ingested = ingest_files([scenario_dir / "streams"], store, dead_letters=dead)
    say(
        f"      stored {ingested.kpis_written} KPI values, {ingested.alarms_written} alarms, "
        f"{ingested.logs_written} templated logs; {dead_count} dead letters"
    )

    say("[3/7] diagnosis: training the Bayesian diagnoser on labelled twin runs of this topology")
    diagnoser = representative_or_load(out / "cache", topology, catalogue, first_seed=101)

    receiver = _Receiver()
    system = store  # one tenant in the demo: keys live beside the data
    api_key = create_api_key(system, tenant, name="demo")
    subscriptions = [(fmt, ["incident"]) for fmt in ("generic", "alertmanager", "pagerduty")]
    for fmt, events in [*subscriptions, ("3gpp", ["prediction"])]:
        store.put_document(
            "subscription",
            f"demo-{fmt}",
            {
                "subscription_id": f"demo-{fmt}",
                "url": f"{receiver.base}/{fmt}",
                "format": fmt,
                "events": events,
                "secret": "demo-secret" if fmt != "pagerduty" else "R" * 32,
                "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
                "active": True,
            },
        )

    say(
        "[4/7] prediction: training the fault-risk model (LightGBM) on twin runs of this "
        "topology; scoring every reporting period"
    )
    trained = predictor_or_load(
        out / "cache" / "predictor.pkl", topology, catalogue, PredictorConfig(days=3.0)
    )
    m = trained.metrics
    say(
        f"      model on an unseen twin run: PR-AUC {m['test_pr_auc']:.2f}, precision "
        f"{m['test_precision_at_threshold']:.2f} / recall {m['test_recall_at_threshold']:.2f}"
        f" at its threshold, {m['test_faults_warned']}/{m['test_faults_total']} faults warned"
    )

    say("[5/7] incidents: detect, diagnose, verify on the twin, simulate remediations")
    pipeline = Pipeline(
        store,
        topology,
        catalogue,
        diagnoser,
        config=PipelineConfig(seed=seed),
        plugins=load_plugins(DIAGNOSERS, topology=topology, catalogue=catalogue),
        base_url="http://127.0.0.1:8750",
    )
    # "now" is the middle of the last planted fault: the NOC looks while it is still on,
    # so the demo has open incidents next to resolved ones
    last = labels.sort_values("start").iloc[-1]
    now = (
        pd.Timestamp(last["start"]) + (pd.Timestamp(last["end"]) - pd.Timestamp(last["start"])) / 2
    )
    incidents = pipeline.run_window(None, now.to_pydatetime())
    forecaster = Forecaster(
        store,
        topology,
        trained,
        backfill=None,
        base_url=pipeline.base_url,
        plugins=load_plugins(PREDICTORS, topology=topology, catalogue=catalogue),
    )
    tick = forecaster.tick(until=now.to_pydatetime())
    predictions = store.list_documents("prediction", limit=100_000)
    came_true = predictions_came_true(
        predictions, read_twin_scenario(scenario_dir).events, topology
    )
    share = f"{came_true / len(predictions):.0%}" if predictions else "n/a"
    say(
        f"      {tick.scored_periods} reporting periods scored: {len(predictions)} fault "
        f"predictions (MDA reports), {came_true} followed by service loss in their window "
        f"(came true: {share})"
    )
    labels = labels[pd.to_datetime(labels["start"], utc=True) < now]

    observed = (now - pd.Timestamp(labels["start"].min() if len(labels) else now)).total_seconds()
    changes = rerate_from_service(
        store, incidents, topology, observed_days=max(observed / 86400, days)
    )
    say(
        f"      FMEA: {changes} occurrence/detection ratings re-rated from these incidents "
        "(history kept)"
    )

    say("[6/7] alerts: delivering the outbox to the local webhook receiver")
    secrets = secrets_by_url(store)  # the demo's subscriptions do not change while it delivers
    deliverer = Deliverer(store, timeout_s=5, secret_for=secrets.get)
    for _ in range(5):
        if deliverer.run_once(limit=1000).delivered == 0:
            break
    deliverer.close()
    receiver.close()

    say("[7/7] results")
    scored = _score(incidents, labels)
    pages = sum(paged(d) for d in incidents)
    summary_doc = {
        "cells": cells,
        "days": days,
        "planted_faults": len(labels),
        "incidents": len(incidents),
        "paged_incidents": pages,
        "condition_incidents": sum(
            any(h.get("state") == "condition" for h in d.history) for d in incidents
        ),
        "paged_per_fault": round(pages / len(labels), 3) if len(labels) else None,
        "faults_found_top1": scored["top1"],
        "faults_found_top3": scored["top3"],
        "predictions": len(predictions),
        "predictions_came_true": came_true,
        "predictions_came_true_share": round(came_true / len(predictions), 4)
        if predictions
        else None,
        "prediction_model": trained.metrics,
        "webhooks_received": len(receiver.received),
        "dead_letters": dead_count,
        "store": str(store_path),
        "api_key": api_key,
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    (out / "incidents.json").write_text(
        json.dumps([d.model_dump(mode="json") for d in incidents], indent=1)
    )
    (out / "summary.json").write_text(json.dumps(summary_doc, indent=1))
    (out / "webhooks.json").write_text(json.dumps(receiver.received, indent=1, default=str))
    store.close()
    return DemoResult(
        out, store_path, incidents, labels, len(receiver.received), summary_doc, predictions
    )


def _score(incidents: list[IncidentDoc], labels: pd.DataFrame) -> dict[str, int]:
    """How many planted faults appear as the top (or a top-3) candidate of some incident."""
    top1 = {
        (d.candidates[0].element, d.candidates[0].failure_mode) for d in incidents if d.candidates
    }
    top3 = {(c.element, c.failure_mode) for d in incidents for c in d.candidates[:3]}
    truth = list(zip(labels["root_element"], labels["mode_id"], strict=True))
    return {"top1": sum(t in top1 for t in truth), "top3": sum(t in top3 for t in truth)}
