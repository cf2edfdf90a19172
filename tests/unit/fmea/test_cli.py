"""Smoke tests of `twinrca fmea` through typer's CliRunner."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from twinrca.cli.fmea import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def test_table_formats_and_sort(tmp_path: Path) -> None:
    state = str(tmp_path)
    assert "FMEA" in _ok("table", "--state", state)
    rows = json.loads(_ok("table", "--state", state, "--format", "json", "--sort", "rpn"))
    rpns = [r["rpn"] for r in rows]
    assert rpns == sorted(rpns, reverse=True)
    text = _ok("table", "--state", state, "--format", "csv")
    assert text.splitlines()[0].startswith("mode_id,name,category")


def test_export_edit_import_history(tmp_path: Path) -> None:
    state, out = str(tmp_path / "state"), tmp_path / "f.csv"
    _ok("export", "--state", state, "--out", str(out))
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    first = rows[0]["mode_id"]
    rows[0]["occurrence"] = "10" if rows[0]["occurrence"] != "10" else "9"
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert "recorded 1 rating changes" in _ok("import", str(out), "--state", state, "--who", "ann")
    assert "recorded 0 rating changes" in _ok("import", str(out), "--state", state)
    history = _ok("history", "--state", state)
    assert f"ann {first} occurrence" in history and "import:f.csv" in history
    table = json.loads(_ok("table", "--state", state, "--format", "json"))
    assert {r["mode_id"]: r["occurrence"] for r in table}[first] == int(rows[0]["occurrence"])
    _ok("export", "--state", state, "--out", str(tmp_path / "f.xlsx"))
    assert "recorded 0" in _ok("import", str(tmp_path / "f.xlsx"), "--state", state)


def test_matrix_png_and_ap_table_load(tmp_path: Path) -> None:
    state, png = str(tmp_path / "s"), tmp_path / "m.png"
    assert "Criticality matrix" in _ok("matrix", "--state", state, "--png", str(png))
    assert png.read_bytes()[:4] == b"\x89PNG"
    mine = tmp_path / "ap.csv"
    mine.write_text("severity,occurrence,detection,ap,rationale\n1-10,1-10,1-10,H,all urgent\n")
    assert "all urgent" in _ok("ap-table", "--state", state, "--load", str(mine))
    rows = json.loads(_ok("table", "--state", state, "--format", "json"))
    assert {r["ap"] for r in rows} == {"H"}
    _ok("ap-table", "--state", state, "--reset")
    rows = json.loads(_ok("table", "--state", state, "--format", "json"))
    assert {r["ap"] for r in rows} != {"H"}
    bad = tmp_path / "bad.csv"
    bad.write_text("severity,occurrence,detection,ap\n1-10,1-10,1-9,H\n")
    result = runner.invoke(app, ["ap-table", "--state", state, "--load", str(bad)])
    assert result.exit_code != 0 and "no row covers" in str(result.exception)
