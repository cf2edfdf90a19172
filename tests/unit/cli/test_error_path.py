"""The CLI's one error path: user mistakes exit 2 with one line, internal errors exit 1."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinrca.cli import main
from twinrca.twin_replay import generate as generate_mod

RANGES = {  # option -> (lo, hi) as `twin generate --help` states them
    "--cells": (10, 20000),
    "--days": (0.25, 366.0),
    "--faults": (0, 10000),
    "--seed": (0, 2**32 - 1),
    "--step-minutes": (1, 60),
}


def fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    return int(exc.value.code or 0), err


def test_help_states_the_same_ranges_as_the_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    with pytest.raises(SystemExit) as exc:
        main(["twin", "generate", "--help"])
    assert exc.value.code in (0, None)
    text = " ".join(capsys.readouterr().out.replace("\u2502", " ").split())
    for lo, hi in RANGES.values():
        assert f"{fmt(lo)} .. {fmt(hi)}" in text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    option=st.sampled_from(sorted(RANGES)),
    value=st.one_of(
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
    ),
)
def test_numeric_options_exit_0_or_2_with_the_range(
    option: str,
    value: float,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[object] = []

    def fake(out: Path, **kw: object) -> generate_mod.ScenarioSummary:
        calls.append(kw)
        return generate_mod.ScenarioSummary(Path(out), 1, 1, 1, 0, 0, 0, 0)

    is_int_opt = isinstance(RANGES[option][0], int) and option != "--days"
    if is_int_opt and isinstance(value, float):
        if not math.isfinite(value):
            return
        value = math.floor(value)
    out = tmp_path_factory.mktemp("gen")
    text = repr(float(value)) if option == "--days" else str(int(value))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(generate_mod, "generate_scenario", fake)
        code, err = run(["twin", "generate", option, text, "--out", str(out / "o")], capsys)
    lo, hi = RANGES[option]
    valid = math.isfinite(float(value)) and lo <= float(value) <= hi
    assert code == (0 if valid else 2), err
    assert "Traceback" not in err
    if not valid:
        assert option in err and f"{fmt(lo)} .. {fmt(hi)}" in err
        assert len(err.strip().splitlines()) == 1
        assert calls == []  # refused before any work


def test_too_many_faults_for_the_network_is_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scn"
    code, err = run(
        [
            "twin",
            "generate",
            "--cells",
            "10",
            "--days",
            "0.25",
            "--faults",
            "400",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2
    assert "--faults 400" in err and "fit" in err
    assert not out.exists()


def test_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    code, err = run(["twin", "generate", "--out", str(f)], capsys)
    assert code == 2 and "--out" in err


def test_unknown_command_and_missing_ap_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["nosuch"], capsys)
    assert code == 2 and "nosuch" in err
    for bad in (tmp_path / "missing.csv", tmp_path):
        code, err = run(["fmea", "table", "--ap-table", str(bad)], capsys)
        assert code == 2 and "--ap-table" in err and "Traceback" not in err


def test_internal_error_exits_1_short_and_debug_shows_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def boom(out: Path, **kw: object) -> None:
        raise RuntimeError("kernel exploded")

    monkeypatch.setattr(generate_mod, "generate_scenario", boom)
    argv = ["twin", "generate", "--out", str(tmp_path / "o")]
    code, err = run(argv, capsys)
    assert code == 1
    assert "kernel exploded" in err and "--debug" in err and "Traceback" not in err
    with pytest.raises(RuntimeError):
        main([*argv, "--debug"])


def test_negative_fault_count_in_the_library() -> None:
    from twinrca.core.errors import ValidationError
    from twinrca.fmea.catalogue import load_catalogue
    from twinrca.twin_replay.network import generate_topology

    with pytest.raises(ValidationError):
        generate_mod.plant_faults(
            generate_topology(10, seed=0),
            load_catalogue(),
            count=-1,
            steps=96,
            step_minutes=15,
            seed=0,
        )
