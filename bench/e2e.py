"""End to end through the running service: Kafka -> ingest -> TimescaleDB -> detection,
diagnosis, twin verification, what-if -> incidents -> webhooks to a loopback receiver.

    python -m bench.e2e --json [--quick]

A 1,000-cell twin scenario with planted faults (seeded) is replayed to Kafka keyed by
region: the first day at full speed (history for the seasonal baselines), the rest
paced at ``--speed`` x real time. ``twinrca serve`` runs in a subprocess (starting the
services with deploy/services.sh when they are not running). Scored against the
generator's labels; a planted fault belongs to the incident opened during the fault
that holds its root element, else most of the elements it affected.

- ``ac_at_1_verified`` / ``ac_at_1_unverified``: top candidate after / before twin
  verification equals the label's (root element, failure mode); baseline in the same
  run: the first alarm's element with the mode of its alarm signature (bench.rca);
- ``remediation_top1_correct``: the recommended action is the label's correct one;
- ``p95_alarm_to_recommendation_s``: wall time from the incident's first alarm being
  handed to the Kafka producer to the incident's ``recommended`` entry in its history
  (faults in the paced part only);
- ``webhooks_delivered`` / ``webhooks_lost`` / ``webhooks_duplicated``: per
  (incident, event) the receiver got, against what the incident states require;
- ``predictions`` / ``predictions_came_true``: fault predictions the service stored
  while the stream ran, and how many saw service loss start in their window on the
  element or a cell it feeds (the model's target);
- ``paging``: bench.paging's figures (``incidents``, ``paged_incidents``,
  ``paged_per_fault``, ``fault_recall``, ``merged_faults``, ``condition_recall``,
  ``compression``) of the stored incidents, next to the Alertmanager-style baseline on
  the alarms sent (``paging.baseline``, ``compression_ratio_to_baseline``);
- ``per_fault``: each planted fault's top cause before / after verification and its
  recommended vs correct remediation.
Prints one JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SEED = 11
TERMINAL = ("recommended", "resolved", "condition", "follow_up")


def say(msg: str) -> None:
    print(f"[e2e] {msg}", file=sys.stderr, flush=True)


def services_env() -> dict[str, str]:
    script = REPO / "deploy" / "services.sh"
    if subprocess.run([script, "status"], capture_output=True).returncode != 0:
        say("starting services (deploy/services.sh up)")
        subprocess.run([script, "up"], check=True, stdout=sys.stderr)
    out = subprocess.run([script, "env"], capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.split() if "=" in line)


class Receiver:
    def __init__(self) -> None:
        self.got: list[tuple[float, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.got.append((time.time(), json.loads(body)))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def create_topics(bootstrap: str, prefix: str, partitions: int) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    names = [f"{prefix}{k}" for k in ("kpi", "alarms", "logs", "dlq")]
    admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
    )
    admin.close()


def start_service(
    env: dict[str, str], log: Path, predict: bool, predict_interval: float
) -> subprocess.Popen[bytes]:
    args = [
        sys.executable, "-m", "twinrca", "serve",
        "--no-api", "--health-port=0", "--interval=0.25", "--kinds=kpi,alarms,logs",
        "--webhook-max-backoff=2", "--webhook-max-attempts=1000",
        "--predict" if predict else "--no-predict", f"--predict-interval={predict_interval}",
    ]  # fmt: skip
    fh = log.open("ab")
    return subprocess.Popen(args, env=env, stdout=fh, stderr=fh)


def wait_for(cond, timeout: float, what: str, proc: subprocess.Popen[bytes], log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        if proc.poll() is not None:
            raise SystemExit(f"service exited while waiting for {what}:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}:\n{log.read_text()[-2000:]}")


def replay(
    bootstrap: str, prefix: str, scenario: Path, topology, speed: float, warm_days: float, on_live
):
    from twinrca.ingest.keyed import replay_by_region
    from twinrca.ingest.replay import open_producer
    from twinrca.ingest.topics import Topics

    published: dict[str, float] = {}

    def on_send(kind: str, element: str | None, value: bytes, at: float) -> None:
        if kind == "alarms":
            doc = json.loads(value)
            if doc.get("notificationType") == "notifyNewAlarm":
                published.setdefault(str(doc["alarmId"]), at)

    labels = pd.read_csv(scenario / "labels.csv")
    t0 = pd.Timestamp(labels["start"].min()).floor("D")
    fast_until = int((t0 + pd.Timedelta(days=warm_days)).value)
    producer = open_producer(bootstrap)
    try:
        result = replay_by_region(
            [scenario / "streams"], producer, Topics(prefix),
            {e.element_id: e.region for e in topology},
            speed=speed, fast_until_ns=fast_until, on_send=on_send, on_live=on_live,
        )  # fmt: skip
    finally:
        producer.close()
    return result, published, pd.Timestamp(fast_until, tz="UTC")


def drop_alarms(path: Path, loss: float, seed: int) -> int:
    """An EMS that loses alarms: drop every notification of a seeded random ``loss``
    share of the alarm ids (raise and clear alike). Returns the ids dropped."""
    if loss <= 0:
        return 0
    lines = path.read_bytes().splitlines()
    ids = sorted({json.loads(x)["alarmId"] for x in lines})
    rng = np.random.default_rng([seed, 23])
    gone = {a for a, u in zip(ids, rng.random(len(ids)), strict=True) if u < loss}
    kept = [x for x in lines if json.loads(x)["alarmId"] not in gone]
    path.write_bytes(b"".join(x + b"\n" for x in kept))
    return len(gone)


def match(labels: pd.DataFrame, docs: list[dict]) -> dict[int, dict]:
    """label index -> the incident opened during the fault that holds its root element,
    else the one holding most of the elements it affected (the root's own alarms may be
    lost: bench.rca's rule); the earliest on a tie."""
    out = {}
    for i, lab in labels.iterrows():
        lo = pd.Timestamp(lab["start"]) - pd.Timedelta(minutes=30)
        hi = pd.Timestamp(lab["end"]) + pd.Timedelta(minutes=15)
        affected = set(json.loads(lab["affected_elements"])) | {lab["root_element"]}
        best, best_n = None, (0, 0)
        for d in sorted(docs, key=lambda d: pd.Timestamp(d["opened_at"])):
            if not lo <= pd.Timestamp(d["opened_at"]) <= hi:
                continue
            n = (int(lab["root_element"] in d["elements"]), len(affected & set(d["elements"])))
            if n > best_n:
                best, best_n = d, n
        if best is not None:
            out[i] = best
    return out


def first_alarm_top1(doc: dict, rank) -> tuple[str, str] | None:
    from types import SimpleNamespace

    frame = pd.DataFrame(doc["alarms"])
    keys = rank(SimpleNamespace(alarms=frame))
    return keys[0] if keys else None


def score(labels, docs, published, history_of, live_from, rank) -> dict[str, Any]:
    m = match(labels, docs)
    ver = unver = first = base = remed = 0
    lat, lat_warm = [], 0
    per_fault = []
    for i, lab in labels.iterrows():
        d = m.get(i)
        if d is None:
            per_fault.append({"root": lab["root_element"], "mode": lab["mode_id"], "found": False})
            continue
        truth = (lab["root_element"], lab["mode_id"])
        top = lambda cs: (cs[0]["element"], cs[0]["failure_mode"]) if cs else None  # noqa: E731
        ver += top(d["candidates"]) == truth
        unver += top(d["unverified_candidates"]) == truth
        base += first_alarm_top1(d, rank) == truth
        action = d["remediations"][0]["action"] if d["remediations"] else None
        remed += action == lab["correct_remediation"]
        per_fault.append(
            {
                "root": lab["root_element"],
                "mode": lab["mode_id"],
                "found": True,
                "top1_verified": list(top(d["candidates"]) or ()),
                "top1_unverified": list(top(d["unverified_candidates"]) or ()),
                "remediation": action,
                "correct_remediation": lab["correct_remediation"],
            }
        )
        hist = history_of(d["incident_id"])
        rec = next((v for v in hist if v["state"] in ("recommended", "resolved")), None)
        if rec is not None:
            first += top(rec["candidates"]) == truth
        at = next((h["at"] for h in d["history"] if h["state"] == "recommended"), None)
        pubs = [published[a["alarm_id"]] for a in d["alarms"] if a["alarm_id"] in published]
        if at is None or not pubs:
            continue
        if pd.Timestamp(lab["start"]) < live_from:
            lat_warm += 1
            continue
        lat.append(pd.Timestamp(at).timestamp() - min(pubs))
    n = len(labels)
    return {
        "planted_faults": n,
        "faults_matched": len(m),
        "ac_at_1_verified": round(ver / n, 4),
        "ac_at_1_unverified": round(unver / n, 4),
        "ac_at_1_at_first_alert": round(first / n, 4),
        "remediation_top1_correct": round(remed / n, 4),
        "p50_alarm_to_recommendation_s": round(float(np.percentile(lat, 50)), 3) if lat else None,
        "p95_alarm_to_recommendation_s": round(float(np.percentile(lat, 95)), 3) if lat else None,
        "max_alarm_to_recommendation_s": round(float(np.max(lat)), 3) if lat else None,
        "latency_faults": len(lat),
        "latency_excluded_warmup_faults": lat_warm,
        "baseline": {"name": "first alarm", "ac_at_1": round(base / n, 4)},
        "per_fault": per_fault,
    }


def expected_alerts(docs: list[dict]) -> set[tuple[str, str]]:
    """What the service must send: a trigger once an incident is recommended, a resolve
    when it is resolved (an incident whose alarms all cleared before it could be
    recommended gets only the resolve)."""
    from bench.paging import pages_its_noc

    out = set()
    for d in docs:
        if any(h["state"] == "recommended" for h in d["history"]):
            out.add((d["incident_id"], "trigger"))
        if d["state"] == "resolved" and pages_its_noc(d):
            out.add((d["incident_id"], "resolve"))
    return out


def paging(scenario: Path, labels: pd.DataFrame, docs: list[dict]) -> dict[str, Any]:
    """bench.paging's figures of the stored incidents next to the Alertmanager baseline
    on the alarms the EMS sent (after any loss); faults matched as :func:`match` does."""
    from dataclasses import replace as with_key

    from bench.paging import (
        alertmanager_pages,
        document_pages,
        match_pages,
        paging_metrics,
        raised,
        wire_alarms,
        with_baseline,
    )

    pages = document_pages(docs)
    ours = {i: str(d["incident_id"]) for i, d in match(labels, docs).items()}
    sent = wire_alarms(scenario / "streams" / "alarms.jsonl")
    am = [with_key(p, key=f"am:{p.key}") for p in alertmanager_pages(sent)]
    path = scenario / "conditions.csv"
    conds = pd.read_csv(path) if path.exists() and path.stat().st_size > 1 else None
    raw = len(raised(sent))
    mine = paging_metrics(pages, labels, ours, raw_alarms=raw, conditions=conds)
    base = paging_metrics(am, labels, match_pages(labels, am), raw_alarms=raw, conditions=conds)
    return with_baseline(mine, base)


def webhooks(docs: list[dict], got: list[tuple[float, dict]]) -> dict[str, int]:
    expected = expected_alerts(docs)
    seen = Counter((b["incident_id"], b["event"]) for _, b in got)
    return {
        "webhooks_expected": len(expected),
        "webhooks_delivered": len(got),
        "webhooks_lost": len(expected - set(seen)),
        "webhooks_duplicated": sum(n - 1 for n in seen.values() if n > 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true", help="print one JSON object (always on)")
    ap.add_argument("--quick", action="store_true", help="1.5 days, 8 faults (else 2 days, 16)")
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--speed", type=float, default=720.0, help="paced replay speed (x real time)")
    ap.add_argument(
        "--no-predict", dest="predict", action="store_false", help="serve without predictions"
    )
    ap.add_argument(
        "--alarm-loss",
        type=float,
        default=0.0,
        help="share of alarms the EMS loses (seeded; the diagnoser is trained as usual)",
    )
    ap.add_argument(
        "--predict-interval",
        type=float,
        default=30.0,
        help="serve's prediction tick (wall s); at --speed 720 one tick spans 6 h of data",
    )
    args = ap.parse_args(argv)
    days, faults = (1.5, 8) if args.quick else (2.0, 16)
    t_start = time.perf_counter()
    svc = services_env()
    bootstrap, url = svc["TWINRCA_TEST_KAFKA"], svc["TWINRCA_TEST_TSDB_URL"]

    from bench.rca import first_alarm_baseline
    from twinrca.core.topology import Topology
    from twinrca.fmea.catalogue import load_catalogue
    from twinrca.store import open_store
    from twinrca.twin_replay.generate import generate_scenario

    work = Path(tempfile.mkdtemp(prefix="twinrca-e2e-"))
    say(f"twin: {args.cells} cells x {days} days, {faults} planted faults (seed {SEED})")
    generate_scenario(work / "scenario", cells=args.cells, days=days, faults=faults, seed=SEED)
    scenario = work / "scenario"
    dropped = drop_alarms(scenario / "streams" / "alarms.jsonl", args.alarm_loss, SEED)
    topology = Topology.from_json(scenario / "topology.json")
    labels = pd.read_csv(scenario / "labels.csv")
    name = "e2e_" + uuid.uuid4().hex[:10]
    create_topics(bootstrap, f"{name}.", partitions=2)
    receiver = Receiver()
    store = open_store("timescaledb", url=url, tenant=name)
    store.migrate()
    store.save_topology(topology)
    store.put_document("subscription", "noc", {
        "subscription_id": "noc", "url": receiver.url, "format": "generic", "events": ["incident"],
        "secret": "bench", "active": True, "created_at": pd.Timestamp.now(tz="UTC").isoformat(),
    })  # fmt: skip
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TWINRCA_")},
        "TWINRCA_TENANT": name, "TWINRCA_DATA_DIR": str(REPO / "var" / "bench-e2e"),
        "TWINRCA_WEBHOOKS__ALLOW": "127.0.0.1",  # the benchmark's receiver is on loopback
        "TWINRCA_STORE__BACKEND": "timescaledb", "TWINRCA_STORE__URL": url,
        "TWINRCA_KAFKA__BOOTSTRAP": bootstrap, "TWINRCA_KAFKA__GROUP_ID": name,
        "TWINRCA_KAFKA__TOPIC_PREFIX": f"{name}.", "TWINRCA_LOG_LEVEL": "INFO",
    }  # fmt: skip
    log = work / "serve.log"
    say(f"service starting (log {log}; the first run trains the diagnoser, cached after)")
    proc = start_service(env, log, args.predict, args.predict_interval)
    try:
        wait_for(lambda: b"twinrca serve started" in log.read_bytes(), 3600, "start-up", proc, log)
        say(f"replaying: first day at full speed, then {args.speed:g}x")

        def settled() -> list[dict] | None:
            docs = store.list_documents("incident", limit=10_000)
            if not docs or any(d["state"] not in TERMINAL for d in docs):
                return None
            got = {(b["incident_id"], b["event"]) for _, b in receiver.got}
            return docs if expected_alerts(docs) <= got else None

        def caught_up() -> None:
            say("history sent; waiting for the service to catch up before real-time pacing")
            time.sleep(5.0)
            wait_for(settled, 900, "the history backlog", proc, log)
            time.sleep(3.0)
            wait_for(settled, 300, "the history backlog", proc, log)
            say("caught up; pacing")

        result, published, live_from = replay(
            bootstrap, f"{name}.", scenario, topology, args.speed, 1.0, caught_up
        )
        say(f"replayed {result.sent} in {result.seconds:.1f} s; waiting for the service to settle")

        wait_for(settled, 600, "settled incidents", proc, log)
        time.sleep(5.0)
        docs = wait_for(settled, 120, "settled incidents", proc, log)
        time.sleep(3.0)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    rank = first_alarm_baseline(load_catalogue(), topology)

    def history_of(incident_id: str) -> list[dict]:
        return [v.doc for v in store.document_history("incident", incident_id)]

    from twinrca.predict.scenario import read_twin_scenario
    from twinrca.runtime.forecasting import predictions_came_true

    predictions = store.list_documents("prediction", limit=100_000)
    came = predictions_came_true(predictions, read_twin_scenario(scenario).events, topology)
    out = {
        "incidents": len(docs),
        "incidents_resolved_before_recommendation": sum(
            d["state"] == "resolved" and all(h["state"] != "recommended" for h in d["history"])
            for d in docs
        ),
        "predictions": len(predictions),
        "predictions_came_true": came,
        **score(labels, docs, published, history_of, live_from, rank),
        **webhooks(docs, receiver.got),
        "paging": paging(scenario, labels, docs),
        "service_exit_code": rc,
        "cells": args.cells,
        "days": days,
        "speed": args.speed,
        "predict": args.predict,
        "alarm_loss": args.alarm_loss,
        "alarms_dropped": dropped,
        "predict_interval_s": args.predict_interval,
        "warmup_days_full_speed": 1.0,
        "seed": SEED,
        "quick": args.quick,
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    v, u = out["ac_at_1_verified"], out["ac_at_1_unverified"]
    out["ac_at_1_ratio_verified_to_unverified"] = round(v / u, 3) if u else None
    b = out["baseline"]["ac_at_1"]
    out["ac_at_1_ratio_to_baseline"] = round(v / b, 3) if b else None
    store.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
