"""Every CLI command that reads a user's file, fed random bytes or a mutated valid file:
it exits 0 or 2, never with an internal error or a traceback, and an exit 2 ends with
one ``error:`` line (issue 16). The input sits where the command reads it (an option,
an argument, a file inside a scenario folder)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinrca.cli import main
from twinrca.twin_replay import generate as generate_mod


def _topology_json(tmp: Path) -> bytes:
    from twinrca.twin_replay.network import generate_topology

    generate_topology(10, seed=0).to_json(tmp / "_topo.json")
    return (tmp / "_topo.json").read_bytes()


def _ap_csv(tmp: Path) -> bytes:
    from twinrca.fmea import ActionPriorityTable

    ActionPriorityTable.default().to_csv(tmp / "_ap.csv")
    return (tmp / "_ap.csv").read_bytes()


def _kpis_parquet(tmp: Path) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"cell_id": ["c"], "prb": [0.5]}).to_parquet(buf)
    return buf.getvalue()


ALARMS = b"alarm_id,device_id,start_timestamp,end_timestamp\n" + b"".join(
    b"%d,%d,%d,%d\n" % (i % 3, i % 2, 10 * i, 10 * i + 5) for i in range(12)
)
METRICS = b"time,a_x,b_y\n" + b"".join(b"%d,%d,%d\n" % (i, i % 3, 2 * (i % 4)) for i in range(8))
FMEA = b"mode_id,severity,occurrence,detection\nM1,5,5,5\n"
GRAPH = b"cause,effect\na_x,b_y\n"
MAPPING = b'[kpis.prb]\nformula = "a / b"\nunit = "%"\n'
SYSLOG = b"<13>1 2024-06-01T00:00:00Z host app - - - hello\n"
PM_CSV = b"managed_object,period_end,prb_utilisation\ncell:1,2024-06-01T01:15:00Z,41\n"

LABELS = b"id,t\n" + b"".join(b"%d,%s\n" % (i, b"ab"[i % 2 : i % 2 + 1]) for i in range(24))
TABLE = b"id,x,kind\n" + b"".join(b"%d,%d.5,k%d\n" % (i % 24, i, i % 3) for i in range(40))

# name -> (seed content maker, file name, argv maker(file, tmp))
Argv = Callable[[Path, Path], list[str]]
COMMANDS: dict[str, tuple[Callable[[Path], bytes], str, Argv]] = {
    "fmea table --ap-table": (
        _ap_csv,
        "ap.csv",
        lambda f, t: ["fmea", "table", "--format", "csv", "--ap-table", str(f), "--state", str(t)],
    ),
    "fmea ap-table --load": (
        _ap_csv,
        "ap.csv",
        lambda f, t: ["fmea", "ap-table", "--load", str(f), "--state", str(t / "st")],
    ),
    "fmea import csv": (
        lambda t: FMEA,
        "r.csv",
        lambda f, t: ["fmea", "import", str(f), "--state", str(t / "st"), "--dry-run"],
    ),
    "fmea import xlsx": (
        lambda t: FMEA,
        "r.xlsx",
        lambda f, t: ["fmea", "import", str(f), "--state", str(t / "st"), "--dry-run"],
    ),
    "fmea table --catalogue": (
        lambda t: b'{"modes": []}',
        "cat.json",
        lambda f, t: ["fmea", "table", "--format", "csv", "--catalogue", str(f), "--state", str(t)],
    ),
    "rca rank": (
        lambda t: METRICS,
        "m.csv",
        lambda f, t: [
            "rca",
            "rank",
            "--normal",
            str(f),
            "--anomalous",
            str(f),
            "--out",
            str(t / "o.json"),
        ],
    ),
    "rca rank --graph": (
        lambda t: GRAPH,
        "g.csv",
        lambda f, t: [
            "rca",
            "rank",
            "--normal",
            str(t / "n.csv"),
            "--anomalous",
            str(t / "n.csv"),
            "--graph",
            str(f),
            "--out",
            str(t / "o.json"),
        ],
    ),
    "causal discover": (
        lambda t: ALARMS,
        "a.csv",
        lambda f, t: [
            "causal",
            "discover",
            "--alarms",
            str(f),
            "--out",
            str(t / "e.csv"),
            "--method",
            "windows",
        ],
    ),
    "causal discover --topology": (
        lambda t: b"0,1\n1,0\n",
        "topo.csv",
        lambda f, t: [
            "causal",
            "discover",
            "--alarms",
            str(t / "alarms.csv"),
            "--topology",
            str(f),
            "--out",
            str(t / "e.csv"),
            "--method",
            "windows",
        ],
    ),
    "twin generate --inventory": (
        _topology_json,
        "inv.json",
        lambda f, t: ["twin", "generate", "--inventory", str(f), "--out", str(t / "g")],
    ),
    "twin calibrate (topology.json)": (
        _topology_json,
        "scn/topology.json",
        lambda f, t: ["twin", "calibrate", "--scenario", str(f.parent)],
    ),
    "twin calibrate (kpis.parquet)": (
        _kpis_parquet,
        "scn2/tables/kpis.parquet",
        lambda f, t: ["twin", "calibrate", "--scenario", str(f.parent.parent)],
    ),
    "kpis unmapped --kpi-mapping": (
        lambda t: MAPPING,
        "map.toml",
        lambda f, t: ["kpis", "unmapped", "--kpi-mapping", str(f)],
    ),
    "ingest files (csv)": (
        lambda t: PM_CSV,
        "in/x.csv",
        lambda f, t: [
            "ingest",
            "files",
            str(f.parent),
            "--no-log-templates",
            "--dead-letters",
            str(t / "dead.jsonl"),
        ],
    ),
    "ingest files (log.gz)": (
        lambda t: __import__("gzip").compress(SYSLOG),
        "in/x.log.gz",
        lambda f, t: [
            "ingest",
            "files",
            str(f.parent),
            "--no-log-templates",
            "--dead-letters",
            str(t / "dead.jsonl"),
        ],
    ),
    "ingest files --topology": (
        _topology_json,
        "t.json",
        lambda f, t: [
            "ingest",
            "files",
            str(t / "empty"),
            "--topology",
            str(f),
            "--no-log-templates",
        ],
    ),
    "logs parse": (
        lambda t: SYSLOG,
        "x.log",
        lambda f, t: ["logs", "parse", "-i", str(f), "-f", "<Content>", "-o", str(t / "p.csv")],
    ),
    "predict cv --labels": (
        lambda t: LABELS,
        "labels.csv",
        lambda f, t: [
            "predict",
            "cv",
            "--labels",
            str(f),
            "--id",
            "id",
            "--target",
            "t",
            "--folds",
            "2",
        ],
    ),
    "predict fit --table": (
        lambda t: TABLE,
        "events.csv",
        lambda f, t: [
            "predict",
            "fit",
            "--labels",
            str(t / "labels.csv"),
            "--id",
            "id",
            "--target",
            "t",
            "--table",
            str(f),
            "--out",
            str(t / "m.json"),
        ],
    ),
    "analyse --topology": (
        _topology_json,
        "t.json",
        lambda f, t: ["analyse", str(t / "empty"), "--topology", str(f), "--out", str(t / "r")],
    ),
}


@st.composite
def _content(draw: st.DrawFn, seed: bytes) -> bytes:
    how = draw(st.sampled_from(["random", "text", "mutated", "truncated"]))
    if how == "random":
        return draw(st.binary(max_size=400))
    if how == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    out = bytearray(seed)
    if how == "truncated":
        return bytes(out[: draw(st.integers(0, max(len(out) - 1, 0)))])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        junk = draw(
            st.sampled_from([b"\x00", b"\xff", b'"', b",", b"\n", b"\r", b"nan", b"inf", b"-1",
                             b"{", b"]", b"=", b"[", b"1e999", b""])
        )  # fmt: skip
        out[at : at + draw(st.integers(0, 3))] = junk
    return bytes(out)


_RUNS = itertools.count()


@pytest.fixture
def sandbox(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    base = tmp_path_factory.mktemp("sandbox")
    monkeypatch.setenv("TWINRCA_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("TWINRCA_STORE__BACKEND", "embedded")
    monkeypatch.setenv("TWINRCA_STORE__EMBEDDED_PATH", str(base / "data" / "s.duckdb"))
    monkeypatch.delenv("TWINRCA_CONFIG", raising=False)
    monkeypatch.chdir(base)

    def fake_generate(out: Path, **kw: object) -> generate_mod.ScenarioSummary:
        return generate_mod.ScenarioSummary(Path(out), 1, 1, 1, 0, 0, 0, 0)

    monkeypatch.setattr(generate_mod, "generate_scenario", fake_generate)
    seeds = {name: make(base) for name, (make, _f, _a) in COMMANDS.items()}
    return base, seeds


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(sorted(COMMANDS)), data=st.data())
def test_bad_input_files_exit_0_or_2_never_internal(
    name: str,
    data: st.DataObject,
    sandbox: tuple[Path, dict[str, bytes]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, seeds = sandbox
    _make, fname, argv = COMMANDS[name]
    tmp = base / f"run{next(_RUNS)}"
    (tmp / "empty").mkdir(parents=True, exist_ok=True)
    (tmp / "n.csv").write_bytes(METRICS)
    (tmp / "alarms.csv").write_bytes(ALARMS)
    (tmp / "labels.csv").write_bytes(LABELS)
    content = data.draw(_content(seeds[name]), label="content")
    path = tmp / fname
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if fname.startswith("scn/"):
        (path.parent / "tables").mkdir(exist_ok=True)
        (path.parent / "tables" / "kpis.parquet").write_bytes(
            seeds["twin calibrate (kpis.parquet)"]
        )
    if fname.startswith("scn2/"):
        (path.parent.parent / "topology.json").write_bytes(seeds["twin calibrate (topology.json)"])
    with pytest.raises(SystemExit) as exc:
        main(argv(path, tmp))
    code = int(exc.value.code or 0)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err + cap.out
    assert code in (0, 2), (name, content[:80], cap.err[-600:])
    if code == 2:
        last = cap.err.strip().splitlines()[-1]
        assert last.startswith("error: "), last


def test_the_seed_files_are_accepted(sandbox: tuple[Path, dict[str, bytes]], capsys) -> None:
    """Unmutated, the seeds of the commands that can succeed on them do: the property
    above sees the success path too, not only refusals."""
    base, seeds = sandbox
    ok = ["rca rank", "causal discover", "fmea table --ap-table", "ingest files (csv)",
          "ingest files (log.gz)", "logs parse", "twin generate --inventory",
          "predict cv --labels", "predict fit --table"]  # fmt: skip
    for name in ok:
        _make, fname, argv = COMMANDS[name]
        tmp = base / "seed" / name.replace(" ", "_")
        (tmp / "empty").mkdir(parents=True)
        (tmp / "labels.csv").write_bytes(LABELS)
        path = tmp / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(seeds[name])
        with pytest.raises(SystemExit) as exc:
            main(argv(path, tmp))
        err = capsys.readouterr().err
        assert int(exc.value.code or 0) == 0, (name, err[-400:])
