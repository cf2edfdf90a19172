"""--format: a new system needs nothing but its header layout; no <Content>, no run."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinrca.core.errors import ValidationError
from twinrca.ingest.logeval import grouping_accuracy
from twinrca.ingest.logformat import LogFormat
from twinrca.ingest.logsynth import generate

_CLI = "twinrca.cli" if importlib.util.find_spec("twinrca.cli") else "twinrca.service.cli"


def test_layout_without_content_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        LogFormat.compile("<Date> <Time> <Level> <Message>")
    assert caught.value.reason == "no_content_field"
    assert "<Content>" in str(caught.value) and "\n" not in str(caught.value)
    assert LogFormat.compile("<Date> <Rest>", require_content=False).fields == ("Date", "Rest")


def test_cli_refuses_a_format_without_content_with_one_line_and_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "x.log"
    source.write_text("2024-01-01 10:00:00 INFO hello\n", encoding="utf-8")
    args = ["logs", "parse", "--input", str(source), "--out", str(tmp_path / "o.csv")]
    done = subprocess.run(
        [sys.executable, "-m", "twinrca", *args, "--format", "<Date> <Time> <Level> <Msg>"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "<Content>" in lines[0], done.stderr
    assert not (tmp_path / "o.csv").exists()


def test_a_new_system_needs_only_its_format(tmp_path: Path) -> None:
    """A header layout no built-in knows (pipe-separated) and messages of an unseen
    shape: the CSV splits the header and groups the events."""
    from importlib import import_module

    app = import_module(_CLI).app
    pairs = generate("app", 400, seed=2)
    source = tmp_path / "health.log"
    source.write_text(
        "".join(
            f"20240101-10:00:{k % 60:02d}|Step_{k % 3}|{1000 + k}|{t}\n"
            for k, (_, t) in enumerate(pairs)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "o.csv"
    fmt = r"<Time>\|<Component>\|<Pid>\|<Content>"
    result = CliRunner().invoke(
        app, ["logs", "parse", "--input", str(source), "--format", fmt, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["Content"] for r in rows] == [t for _, t in pairs]
    assert rows[5]["Pid"] == "1005" and rows[5]["Component"] == "Step_2"
    assert grouping_accuracy([r["EventId"] for r in rows], [label for label, _ in pairs]) >= 0.9
