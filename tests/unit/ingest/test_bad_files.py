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


def _binary(seed: int, n: int = 3000) -> bytes:
    import random

    rnd = random.Random(seed)
    return b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(rnd.randrange(256) for _ in range(n))


def _good_folder(src: Path) -> None:
    import gzip

    src.mkdir()
    (src / "a_good.csv").write_bytes(HEADER + _row(1) + _row(2))
    (src / "b_image.csv").write_bytes(_binary(1))  # binary data named .csv
    (src / "c_image.log").write_bytes(_binary(2))  # and named .log
    (src / "d_image.jsonl").write_bytes(_binary(3))  # and named .jsonl
    (src / "e_broken.csv.gz").write_bytes(gzip.compress(HEADER + _row(5))[:-9])  # truncated
    (src / "f_good.csv.gz").write_bytes(gzip.compress(HEADER + _row(3) + _row(4)))
    (src / "g_labels.csv").write_bytes(b"root_element,mode_id\nc1,m1\n")  # no stream: skipped


def test_binary_and_corrupt_files_are_dead_letters_and_a_rerun_adds_nothing(
    tmp_path: Path,
) -> None:
    src = tmp_path / "in"
    _good_folder(src)
    store = open_store("embedded", path=tmp_path / "s.duckdb", tenant="t")
    store.migrate()
    runs = []
    for k in range(2):
        sink, path = dead_letter_file_sink(tmp_path / f"dead{k}.jsonl")
        result = ingest_files([src], store, dead_letters=sink, log_templates=False)
        dead = [json.loads(x) for x in path.read_text().splitlines()]
        runs.append((len(store.read_kpis()), result, dead))
    store.close()
    (kpis1, r1, dead1), (kpis2, r2, dead2) = runs
    assert kpis1 == 4  # rows 1, 2, 3, 4: nothing valid dropped
    assert kpis2 == kpis1  # nothing written twice
    assert r1.duplicates_skipped == 0 and r2.duplicates_skipped == 4
    for dead in (dead1, dead2):
        by_file = {d["source"]["topic"].rsplit("/", 1)[-1]: d for d in dead}
        assert sorted(by_file) == ["b_image.csv", "c_image.log", "d_image.jsonl", "e_broken.csv.gz"]
        assert {d["reason"] for d in dead} == {"unreadable_file"}
        assert "binary data" in by_file["b_image.csv"]["detail"]
    assert [p.name for p, _ in r1.skipped] == ["g_labels.csv"]


def test_text_with_a_bad_byte_stays_a_stream() -> None:
    from twinrca.ingest.sniff import binary_reason

    assert binary_reason(".csv", HEADER + _row(1, b"4\x005")) is None  # PM header first
    assert binary_reason(".log", b"<13>Jun  1 host app: ok\n\x00\x01\x02\n") is None
    assert binary_reason(".csv", b"a,b\n1,2\n") is None  # text: skipped, not dead
    assert binary_reason(".csv", _binary(4)) is not None
    assert binary_reason(".xml", _binary(4)) is None  # the XML parser judges XML


def test_replay_leaves_out_binary_and_corrupt_files_with_a_reason(tmp_path: Path) -> None:
    import gzip
    from datetime import UTC, datetime

    from twinrca.core.records import LogEvent
    from twinrca.core.wire import dumps, log_message
    from twinrca.ingest.replay import recording_messages

    (tmp_path / "a.log").write_bytes(_binary(5))
    (tmp_path / "b.jsonl.gz").write_bytes(gzip.compress(b"{}\n")[:-6])
    event = LogEvent(datetime(2024, 6, 1, tzinfo=UTC), "s", "INFO", "ok")
    (tmp_path / "c.jsonl").write_bytes(dumps(log_message(event)) + b"\n")
    skipped: list[tuple[Path, str]] = []
    messages = list(recording_messages([tmp_path], skipped))
    assert [k for k, _t, _b in messages] == ["logs"]
    reasons = {p.name: r for p, r in skipped}
    assert set(reasons) == {"a.log", "b.jsonl.gz"}
    assert "binary" in reasons["a.log"] and "cannot be read" in reasons["b.jsonl.gz"]
