"""Malformed settings TOML and corrupt .xlsx files: exit 2 and one line naming the file
(and the line of the TOML), never an internal error (issue 16)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from twinrca.cli import main


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (b'tenant = "a"\nbad key = 1\n', "line 2"),
        (b'tenant = "unterminated\n', "line 1"),
        (b'[store]\nbackend = "embedded"\n[store]\n', "line 3"),  # a table defined twice
        (b'tenant = "\xff"\n', "UTF-8"),
    ],
)
@pytest.mark.parametrize("how", ["env", "cwd"])
def test_malformed_settings_toml_names_the_file_and_line(
    text: bytes,
    line: str,
    how: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / ("custom.toml" if how == "env" else "twinrca.toml")
    path.write_bytes(text)
    if how == "env":
        monkeypatch.setenv("TWINRCA_CONFIG", str(path))
    else:
        monkeypatch.delenv("TWINRCA_CONFIG", raising=False)
        monkeypatch.chdir(tmp_path)
    for argv in (["store", "info"], ["fmea", "history"]):  # both read the settings
        code, err = _run(argv, capsys)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and path.name in lines[0] and line in lines[0], lines
        assert "internal error" not in err


def _zip_with_garbage(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types")
        z.writestr("xl/workbook.xml", "not xml")


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(b"PK\x03\x04 truncated zip"),
        lambda p: p.write_bytes(bytes(range(256)) * 8),
        _zip_with_garbage,
    ],
    ids=["empty", "truncated", "binary", "zip-of-garbage"],
)
def test_corrupt_xlsx_in_fmea_import_exits_2_naming_the_file(
    make, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ratings.xlsx"
    make(path)
    code, err = _run(
        ["fmea", "import", str(path), "--state", str(tmp_path / "st"), "--dry-run"], capsys
    )
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "ratings.xlsx" in lines[0] and "internal error" not in err


def test_xlsx_without_the_fmea_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    path = tmp_path / "other.xlsx"
    pd.DataFrame({"a": [1]}).to_excel(path, sheet_name="Sheet1", index=False)
    code, err = _run(["fmea", "import", str(path), "--state", str(tmp_path), "--dry-run"], capsys)
    assert code == 2 and "other.xlsx" in err and "FMEA" in err


def _topology(tmp: Path) -> Path:
    from twinrca.twin_replay.network import generate_topology

    path = tmp / "topology.json"
    generate_topology(10, seed=0).to_json(path)
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["fmea", "table", "--ap-table", "{bin}.csv", "--state", "{tmp}"],
        ["fmea", "ap-table", "--load", "{bin}.csv", "--state", "{tmp}/st"],
        ["kpis", "unmapped", "--kpi-mapping", "{bin}.toml"],
        ["twin", "generate", "--inventory", "{bin}.json", "--out", "{tmp}/g"],
        ["twin", "calibrate", "--scenario", "{scn}"],  # corrupt tables/kpis.parquet
        ["twin", "calibrate", "--scenario", "{shape}"],  # topology.json of the wrong shape
        ["ingest", "files", "{tmp}", "--topology", "{shape}/topology.json"],
    ],
    ids=["ap-table", "ap-load", "kpi-mapping", "inventory", "parquet", "topo-key", "topo-ingest"],
)
def test_binary_or_misshapen_inputs_exit_2_naming_the_file(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TWINRCA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TWINRCA_STORE__EMBEDDED_PATH", str(tmp_path / "data" / "s.duckdb"))
    blob = bytes(range(128, 256)) * 20
    for suffix in (".csv", ".toml", ".json"):
        (tmp_path / f"bin{suffix}").write_bytes(blob)
    scn = tmp_path / "scn"
    (scn / "tables").mkdir(parents=True)
    _topology(scn)
    (scn / "tables" / "kpis.parquet").write_bytes(b"PAR1" + blob + b"PAR1")
    shape = tmp_path / "shape"
    shape.mkdir()
    text = _topology(shape).read_text().replace('"kind"', '"kindd"', 1)
    (shape / "topology.json").write_text(text)
    args = [a.format(bin=tmp_path / "bin", tmp=tmp_path, scn=scn, shape=shape) for a in argv]
    code, err = _run(args, capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    named = {"bin", "kpis.parquet", "topology.json"}
    assert any(n in lines[0] for n in named), lines[0]


def test_a_multi_line_library_message_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from twinrca.cli import _fail

    with pytest.raises(SystemExit):
        _fail("first\n  second\n\nthird", 2)
    assert capsys.readouterr().err == "error: first | second | third\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["causal", "discover", "--alarms", "{tmp}/a.csv", "--out", "{out}"],
        ["rca", "rank", "--normal", "{tmp}/a.csv", "--anomalous", "{tmp}/a.csv", "--out", "{out}"],
        [
            "predict",
            "fit",
            "--labels",
            "{tmp}/a.csv",
            "--id",
            "i",
            "--target",
            "t",
            "--out",
            "{out}",
        ],
        [
            "predict",
            "score",
            "--labels",
            "{tmp}/a.csv",
            "--id",
            "i",
            "--model",
            "{tmp}/a.csv",
            "--out",
            "{out}",
        ],
        ["fmea", "export", "--state", "{tmp}", "--out", "{out}"],
        ["store", "export", "--kind", "kpis", "--out", "{out}"],
        ["logs", "parse", "-i", "{tmp}/a.csv", "-f", "<Content>", "-o", "{out}"],
    ],
    ids=["causal", "rca", "predict-fit", "predict-score", "fmea-export", "store-export", "logs"],
)
@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_a_bad_out_is_refused_before_any_work(
    argv: list[str],
    where: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TWINRCA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TWINRCA_STORE__EMBEDDED_PATH", str(tmp_path / "data" / "s.duckdb"))
    (tmp_path / "a.csv").write_text("x\n1\n")  # would fail later: the --out check comes first
    (tmp_path / "file").write_text("x")
    out = tmp_path / "dir" if where == "folder" else tmp_path / "file" / "o.csv"
    if where == "folder":
        out.mkdir()
    code, err = _run([a.format(tmp=tmp_path, out=out) for a in argv], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert "--out" in lines[0] and out.name in lines[0], lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--out", "{out}"],
        ["analyse", "{tmp}", "--topology", "{tmp}/t.json", "--out", "{out}"],
        ["twin", "vendor-formats", "{tmp}", "--out", "{out}"],
    ],
    ids=["demo", "analyse", "vendor-formats"],
)
@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
def test_a_bad_out_folder_is_refused_before_any_work(
    argv: list[str], where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _topology(tmp_path)
    (tmp_path / "t.json").write_text((tmp_path / "topology.json").read_text())
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" if where == "a-file" else tmp_path / "file" / "sub"
    code, err = _run([a.format(tmp=tmp_path, out=out) for a in argv], capsys)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--out" in lines[0] and "not a folder" in lines[0], lines
