"""Bad input in ``ingest files`` never aborts the run and never loses a good record: CSVs
the csv module rejects, non-UTF-8 bytes, oversized cells, unusable dead-letter paths;
a property test over mutated CSV exports (stored + dead-lettered = rows read)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinrca.core.errors import ValidationError
from twinrca.ingest.files import dead_letter_file_sink, ingest_files
from twinrca.ingest.pmcsv import FIELD_LIMIT
from twinrca.store.base import open_store

HEADER = b"managed_object,period_end,prb_utilisation\n"


def _row(i: int, value: bytes | None = None) -> bytes:
    v = value if value is not None else str(40 + i).encode()
    return b"cell:%d,2024-06-01T%02d:15:00Z," % (i, i % 24) + v + b"\n"


def _ingest(folder: Path, tmp: Path) -> tuple[int, list[dict[str, str]]]:
    store = open_store("embedded", path=tmp / "s.duckdb", tenant="t")
    store.migrate()
    sink, path = dead_letter_file_sink(tmp / "dead.jsonl")
    result = ingest_files([folder], store, dead_letters=sink, log_templates=False)
    kpis = len(store.read_kpis())
    store.close()
    dead = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    assert len(dead) == len(result.dead_letters)
    return kpis, dead


def test_rejected_rows_cost_only_themselves_and_other_files_are_stored(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a_good.csv").write_bytes(HEADER + _row(1) + _row(2))
    (src / "b_mixed.csv").write_bytes(
        HEADER.replace(b"\n", b"\r\n")  # a bare carriage return ends the header line
        + _row(3)
        + b"cell:\xff4,2024-06-01T04:15:00Z,44\n"  # not UTF-8
        + _row(5, b"4\x005")  # a NUL byte
        + _row(6, b"9" * (FIELD_LIMIT + 10))  # a cell over the field limit
        + _row(7)
    )
    (src / "c_after.csv").write_bytes(HEADER + _row(8))
    kpis, dead = _ingest(src, tmp_path)
    assert kpis == 5  # rows 1, 2, 3, 7, 8
    reasons = sorted(d["reason"] for d in dead)
    assert reasons == ["bad_csv", "bad_encoding", "bad_value"]
    assert all("b_mixed.csv" in d["source"]["topic"] for d in dead)


def test_non_utf8_header_refuses_the_file_as_one_dead_letter(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.csv").write_bytes(b"managed_object,period_end,pr\xffb\n" + _row(1))
    (src / "y.csv").write_bytes(HEADER + _row(2))
    kpis, dead = _ingest(src, tmp_path)
    assert kpis == 1 and [d["reason"] for d in dead] == ["bad_encoding"]


@pytest.mark.parametrize("bad", ["file", "file/sub"])
def test_dead_letter_path_under_a_file_is_refused_before_any_work(tmp_path: Path, bad: str) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValidationError, match="not a folder"):
        dead_letter_file_sink(tmp_path / bad / "dead.jsonl")


# junk that keeps one line one row (quotes and line breaks change what a row is)
_MUTATIONS = st.sampled_from([b"\x00", b"\xff", b"\xc3", b",", b"x", b"-", b"inf", b" "])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.integers(1, 12),
    mutations=st.lists(st.tuples(st.integers(0, 11), _MUTATIONS, st.integers(0, 40)), max_size=6),
)
def test_every_row_read_is_stored_or_dead_lettered(
    rows: int, mutations: list[tuple[int, bytes, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    lines = [_row(i) for i in range(rows)]
    touched = set()
    for row, junk, at in mutations:
        if row < rows:
            body = lines[row][:-1]
            lines[row] = body[: at % (len(body) + 1)] + junk + body[at % (len(body) + 1) :] + b"\n"
            touched.add(row)
    tmp = tmp_path_factory.mktemp("prop")
    src = tmp / "in"
    src.mkdir()
    (src / "p.csv").write_bytes(HEADER + b"".join(lines))
    kpis, dead = _ingest(src, tmp)
    assert kpis + len(dead) == rows  # each row stored or dead-lettered, exactly once
    assert kpis >= rows - len(touched)  # every untouched row is stored
