"""Every numeric option of every command states one range in ``--help`` and refuses
values outside it (and NaN, infinities, non-numbers) with exit 2 and one line naming the
option, before any work and without a traceback.

The options are found by walking the click tree of ``twinrca.cli.app``, so a numeric
option added later without a range fails :func:`test_every_numeric_option_states_a_range`.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinrca.cli import app, main

_RANGE = re.compile(r"\((\S+) \.\. (\S+)\)\s*$")


@dataclass(frozen=True, slots=True)
class NumericOption:
    path: tuple[str, ...]  # the command words, e.g. ("serve",) or ("predict", "cv")
    flag: str  # e.g. --port
    is_int: bool
    help: str


def _walk(cmd: Any, path: tuple[str, ...]) -> list[NumericOption]:
    if hasattr(cmd, "commands"):  # a group
        out: list[NumericOption] = []
        for name, sub in sorted(cmd.commands.items()):
            out.extend(_walk(sub, (*path, name)))
        return out
    found = []
    for p in cmd.params:
        if p.param_type_name != "option" or p.is_flag:
            continue
        annotation = p.type_descriptor.annotation
        if annotation in (int, float):
            found.append(NumericOption(path, p.opts[0], annotation is int, p.help or ""))
    return found


OPTIONS = _walk(typer.main.get_command(app), ())


def _range(opt: NumericOption) -> tuple[float, float]:
    m = _RANGE.search(opt.help)
    assert m, f"{' '.join(opt.path)} {opt.flag}: help states no range: {opt.help!r}"
    lo, hi = float(m.group(1)), float(m.group(2))
    return (int(lo), int(hi)) if opt.is_int else (lo, hi)


def test_the_walk_finds_the_commands() -> None:
    paths = {o.path for o in OPTIONS}
    # a few known ones: the walk is not vacuous
    for path in [("serve",), ("twin", "generate"), ("predict", "cv"), ("ingest", "run")]:
        assert path in paths
    assert len(OPTIONS) >= 30


def test_every_numeric_option_states_a_range() -> None:
    missing = [f"{' '.join(o.path)} {o.flag}" for o in OPTIONS if not _RANGE.search(o.help)]
    assert missing == []


def _bad_values(opt: NumericOption) -> st.SearchStrategy[str]:
    lo, hi = _range(opt)
    junk = st.sampled_from(["nan", "inf", "-inf", "NaN", "abc", "", "1e999", "--", "0x1g"])
    if opt.is_int:
        below = st.integers(max_value=int(lo) - 1).map(str)
        above = st.integers(min_value=int(hi) + 1).map(str)
        frac = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())
        return st.one_of(below, above, junk, frac.map(repr))
    below = st.floats(max_value=lo, exclude_max=True, allow_nan=False).map(repr)
    above = st.floats(min_value=hi, exclude_min=True, allow_nan=False).map(repr)
    return st.one_of(below, above, junk)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[NumericOption, str]:
    opt = draw(st.sampled_from(OPTIONS))
    return opt, draw(_bad_values(opt))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    cap = capsys.readouterr()
    return int(exc.value.code or 0), cap.out, cap.err


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_cases())
def test_bad_numeric_values_exit_2_with_one_line_naming_the_option(
    case: tuple[NumericOption, str], capsys: pytest.CaptureFixture[str]
) -> None:
    opt, value = case
    code, out, err = _run([*opt.path, f"{opt.flag}={value}"], capsys)
    assert code == 2, (opt, value, out, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert opt.flag in lines[0]
    lo, hi = _range(opt)
    try:
        number = float(value)
    except ValueError:
        return  # not a number at all: click's own one-line message
    # a value click reads as the option's type: the error states the range of --help
    readable = not opt.is_int or (
        math.isfinite(number) and number.is_integer() and "." not in value
    )
    if readable:
        fmt = [f"{x:g}" if isinstance(x, float) else str(x) for x in (lo, hi)]
        assert f"{fmt[0]} .. {fmt[1]}" in lines[0], lines[0]


def test_through_the_console_entry() -> None:
    """The same path from a real process: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "twinrca", "serve", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: twinrca serve: Invalid value for '--port': 70000 is outside 1 .. 65535 (see --help)"
    ]


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["serve", "--port", "0"], "--port"),
        (["serve", "--predict-threshold", "1.5"], "--predict-threshold"),
        (["demo", "--days", "nan"], "--days"),
        (["analyse", "x", "--topology", "t.json", "--seed", "-1"], "--seed"),
        (
            ["predict", "cv", "--labels", "l.csv", "--id", "i", "--target", "t", "--folds", "1"],
            "--folds",
        ),
        (["ingest", "run", "--max-idle", "inf"], "--max-idle"),
    ],
)
def test_examples_from_the_issue(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = _run(argv, capsys)
    assert code == 2 and flag in err and len(err.strip().splitlines()) == 1
