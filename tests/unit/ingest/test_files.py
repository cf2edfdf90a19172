"""File sources and ``twinrca ingest files`` into the embedded store: exact counts,
dead letters with reasons in a file, non-stream files skipped, log template ids,
metrics in the store, structured logs."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from twinrca.core.records import Alarm, AlarmState, AlarmType, KpiSample, LogEvent
from twinrca.core.wire import (
    alarm_message,
    dumps,
    log_message,
    meas_collec_xml,
    pm_batch,
    syslog_line,
)
from twinrca.ingest.files import dead_letter_file_sink, ingest_files
from twinrca.ingest.logtag import STATE_KEY
from twinrca.store.base import open_store

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def _pm_lines(n: int) -> list[bytes]:
    # value j of batch i; measurement m3 is null (not available) on every 4th batch
    return [
        dumps(
            pm_batch(
                f"cell:{i % 5}",
                T0 + timedelta(minutes=15 * (i // 5)),
                {f"m{j}": (None if j == 3 and i % 4 == 0 else float(i + j)) for j in range(4)},
            )
        )
        for i in range(n)
    ]


def _alarm_lines() -> list[bytes]:
    out = []
    for k in range(3):
        raised = Alarm(
            f"a{k}",
            f"site:{k}",
            T0 + timedelta(minutes=k),
            AlarmType.EQUIPMENT_ALARM,
            "powerProblem",
            notification_id=2 * k,
        )
        cleared = Alarm(
            f"a{k}",
            f"site:{k}",
            T0 + timedelta(minutes=30 + k),
            AlarmType.EQUIPMENT_ALARM,
            "powerProblem",
            state=AlarmState.CLEARED,
            notification_id=2 * k + 1,
        )
        out += [dumps(alarm_message(raised)), dumps(alarm_message(cleared))]
    return out


USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "gina", "hal")


def _user(name: str) -> str:
    return f"user {name} logged in from console"


def _log_events() -> list[LogEvent]:
    # "user NAME logged in from console" widens as the file goes on (names are not
    # masked): batch mode must still give every line of it one id
    events = [
        LogEvent(T0 + timedelta(seconds=k), f"site:{k % 3}", "INFO", _user(name))
        for k, name in enumerate(USERS)
    ]
    events += [
        LogEvent(
            T0 + timedelta(seconds=100 + k),
            "core:1",
            "WARNING",
            f"link eth{k % 2} down on port {k}",
        )
        for k in range(4)
    ]
    return events


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A folder of every supported format (with known bad lines) and non-stream files."""
    root = tmp_path / "rec"
    (root / "streams").mkdir(parents=True)
    pm = _pm_lines(20)
    bad_json = [b"{not json", b'{"periodEnd":"2024-05-01T10:15:00Z","measurements":{"a":1}}']
    logs = [dumps(log_message(e)) for e in _log_events()]
    (root / "streams" / "all.jsonl").write_bytes(
        b"\n".join(pm[:10] + _alarm_lines() + logs[:8] + [b""] + bad_json + pm[10:]) + b"\n"
    )
    samples = [
        KpiSample(f"cell:{c}", f"x{m}", float(c * 10 + m), T0 + timedelta(days=1))
        for c in range(3)
        for m in range(2)
    ]
    (root / "streams" / "pm.xml").write_text(meas_collec_xml(samples))
    (root / "streams" / "export.csv").write_text(
        "managed_object,measurement,value,period_end\n"
        "c1,a,1.5,2024-05-02T10:15:00Z\nc1,b,oops,2024-05-02T10:15:00Z\n"
        "c2,a,2.5,2024-05-02T10:15:00Z\n"
    )
    syslog = [syslog_line(e).encode() for e in _log_events()[8:]]
    syslog.append(b"<13>May  1 10:00:00 host7 app: disk 3 full")
    syslog.append(b"garbage that is no syslog")
    (root / "streams" / "app.log").write_bytes(b"\n".join(syslog) + b"\n")
    # what the twin and people put next to streams: skipped, not read as data
    (root / "labels.csv").write_text("fault_id,mode_id,start\nF0,FM-X,2024-05-01\n")
    (root / "topology.json").write_text(json.dumps({"elements": [{"id": "a"}]}, indent=1))
    (root / "README.txt").write_text("Recorded on the lab EMS.\nDo not edit.\n")
    expected = {
        # 20 batches x 4 values, minus the null m3 of batches 0, 4, 8, 12, 16
        "kpis": 20 * 4 - 5 + len(samples) + 2,
        "alarms": 6,
        "logs": 8 + 4 + 1,
        "messages": 20 + 6 + 8 + 2 + 1 + 1 + 6,  # jsonl lines + xml + csv + syslog lines
        "skipped": 3,
    }
    return root, expected


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "twinrca", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _stats(stdout: str) -> dict[str, int]:
    line = [x for x in stdout.splitlines() if x.startswith("files=")][-1]
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split())}


def test_cli_ingests_every_format_and_quarantines_with_reasons(tmp_path, recording) -> None:
    root, expected = recording
    db = tmp_path / "store.duckdb"
    env = {
        "TWINRCA_STORE__BACKEND": "embedded",
        "TWINRCA_STORE__EMBEDDED_PATH": str(db),
        "TWINRCA_DATA_DIR": str(tmp_path / "var"),
        "TWINRCA_TENANT": "lab",
        "TWINRCA_LOG_JSON": "true",
    }
    done = _cli(["ingest", "files", str(root)], env)
    assert done.returncode == 0, done.stderr
    stats = _stats(done.stdout)
    assert stats["files"] == 4 and stats["skipped"] == expected["skipped"]
    assert stats["messages"] == expected["messages"]
    assert (stats["kpis"], stats["alarms"], stats["logs"]) == (
        expected["kpis"],
        expected["alarms"],
        expected["logs"],
    )
    assert stats["dead_letters"] == 4 and stats["duplicates"] == 0
    for name in ("labels.csv", "topology.json", "README.txt"):
        assert f"skipped {root / name}:" in done.stderr
    # structured logs: every log record on stderr is one JSON object
    records = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    assert any(r["logger"] == "twinrca.ingest.files" and r["level"] == "WARNING" for r in records)

    # dead letters: default folder under the data dir, one JSON line each with reason,
    # source file and line, and the original bytes
    (dead_file,) = (tmp_path / "var" / "dead-letters").glob("dead-letters-*.jsonl")
    dead = [json.loads(x) for x in dead_file.read_text().splitlines()]
    got = sorted(
        (d["reason"], Path(d["source"]["topic"]).name, d["source"]["offset"]) for d in dead
    )
    assert got == [
        ("bad_syslog", "app.log", 6),
        ("bad_value", "export.csv", 3),
        ("missing_field", "all.jsonl", 27),
        ("not_json", "all.jsonl", 26),
    ]
    by_offset = {d["source"]["offset"]: base64.b64decode(d["original_b64"]) for d in dead}
    assert by_offset[26] == b"{not json" and by_offset[6] == b"garbage that is no syslog"
    assert f"written to {dead_file}" in done.stderr

    with open_store("embedded", path=db, tenant="lab") as store:
        assert len(store.read_kpis()) == expected["kpis"]
        assert len(store.read_alarms()) == expected["alarms"]
        logs = store.read_logs()
        assert len(logs) == expected["logs"] and logs["template_id"].notna().all()
        by_template = logs.groupby("template_id")["message"].apply(set)
        users = {_user(name) for name in USERS}
        assert users in list(by_template)  # one id for all eight, though the template widened
        assert store.get_state(STATE_KEY) is not None
        metrics = store.read_metrics()
    rates = metrics[metrics["name"] == "ingest_rows_per_s"]
    best: dict[str, float] = {}
    for labels, value in zip(rates["labels"], rates["value"], strict=True):
        assert labels["source"] == "files"
        best[labels["table"]] = max(best.get(labels["table"], 0.0), value)
    assert set(best) == {"kpi", "alarm", "log"} and min(best.values()) > 0
    dl = metrics[metrics["name"] == "ingest_dead_letters"]
    assert {d["reason"]: v for d, v in zip(dl["labels"], dl["value"], strict=True)} == {
        "bad_syslog": 1,
        "bad_value": 1,
        "missing_field": 1,
        "not_json": 1,
    }

    # a second run stores nothing twice
    again = _stats(_cli(["ingest", "files", str(root / "streams")], env).stdout)
    assert again["kpis"] == again["alarms"] == again["logs"] == 0
    assert again["duplicates"] == expected["kpis"] + expected["alarms"] + expected["logs"]


def test_batches_smaller_than_a_file_lose_nothing(recording) -> None:
    root, expected = recording
    with open_store("embedded", path=None, tenant="t") as store:
        store.migrate()
        result = ingest_files([root], store, batch_rows=7)
        assert result.rows_written == expected["kpis"] + expected["alarms"] + expected["logs"]
        assert len(store.read_kpis()) == expected["kpis"]
        assert len(store.read_logs()) == expected["logs"]
    assert result.dead_letters_by_reason() == {
        "bad_syslog": 1,
        "bad_value": 1,
        "missing_field": 1,
        "not_json": 1,
    }
    assert sorted(p.name for p, _ in result.skipped) == [
        "README.txt",
        "labels.csv",
        "topology.json",
    ]


def test_template_ids_survive_a_restart_through_the_store(tmp_path, recording) -> None:
    root, _ = recording
    db = tmp_path / "s.duckdb"
    with open_store("embedded", path=db, tenant="t") as store:
        store.migrate()
        ingest_files([root / "streams" / "all.jsonl"], store)
        first = dict(
            zip(store.read_logs()["message"], store.read_logs()["template_id"], strict=True)
        )
    later = [
        LogEvent(T0 + timedelta(hours=5, seconds=k), "site:9", "INFO", _user(name))
        for k, name in enumerate(("zed", "yan"))
    ]
    (tmp_path / "later.jsonl").write_bytes(b"\n".join(dumps(log_message(e)) for e in later))
    with open_store("embedded", path=db, tenant="t") as store:
        ingest_files([tmp_path / "later.jsonl"], store)
        logs = store.read_logs(sources=["site:9"])
    # learned from the stored state: a fresh templater would name "user zed ..." alone
    assert set(logs["template_id"]) == {first[_user("alice")]}
    with open_store("embedded", path=db, tenant="other") as store:
        assert store.get_state(STATE_KEY) is None  # state is per tenant


def test_dead_letter_sink_file_or_folder(tmp_path) -> None:
    sink, path = dead_letter_file_sink(tmp_path / "out" / "dead.jsonl")
    assert path == tmp_path / "out" / "dead.jsonl" and not path.exists()
    _, folder_path = dead_letter_file_sink(tmp_path / "dl")
    assert folder_path.parent == tmp_path / "dl" and folder_path.name.startswith("dead-letters-")
    from twinrca.core.errors import ValidationError
    from twinrca.ingest.deadletter import DeadLetter

    sink([DeadLetter.of(b"x", ValidationError("not_json", "bad"), "file:a", 0, 3)])
    sink([DeadLetter.of(b"y", ValidationError("empty", "bad"), "file:a", 0, 4)])
    assert [json.loads(x)["reason"] for x in path.read_text().splitlines()] == [
        "not_json",
        "empty",
    ]
