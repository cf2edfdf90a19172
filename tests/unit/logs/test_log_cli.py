from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from twinrca.cli import app
from twinrca.core.errors import ValidationError

FORMAT = "<Date> <Time> <Pid> <Level> <Component>: <Content>"


def test_logs_parse_writes_one_row_per_line(tmp_path: Path) -> None:
    lines = []
    for k in range(30):
        lines.append(
            f"081109 2036{k:02d} {100 + k} INFO dfs.DataNode: "
            f"Receiving block blk_{k * 7919} src: /10.0.0.{k}:50010"
        )
        lines.append(
            f"081109 2037{k:02d} {200 + k} WARN dfs.FSNamesystem: Disk {k % 3} of node{k} is full"
        )
    lines.append("not a header at all")
    source = tmp_path / "x.log"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "x.csv"

    result = CliRunner().invoke(
        app, ["logs", "parse", "--input", str(source), "--format", FORMAT, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(lines)
    assert list(rows[0]) == [
        "LineId",
        "Date",
        "Time",
        "Pid",
        "Level",
        "Component",
        "Content",
        "EventId",
        "EventTemplate",
    ]
    assert [r["LineId"] for r in rows] == [str(k) for k in range(1, len(lines) + 1)]
    assert rows[0]["Level"] == "INFO" and rows[1]["Component"] == "dfs.FSNamesystem"
    assert len({r["EventId"] for r in rows[0:60:2]}) == 1
    assert len({r["EventId"] for r in rows[1:60:2]}) == 1
    assert rows[0]["EventId"] != rows[1]["EventId"]
    assert rows[0]["EventTemplate"] == "Receiving block blk_<*> src: <*>"
    assert rows[-1]["Content"] == "not a header at all" and rows[-1]["Date"] == ""


def test_logs_parse_rejects_bad_format(tmp_path: Path) -> None:
    source = tmp_path / "x.log"
    source.write_text("a\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "logs",
            "parse",
            "--input",
            str(source),
            "--format",
            "nofields",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert isinstance(result.exception, ValidationError)
    assert result.exception.reason == "bad_log_format"
