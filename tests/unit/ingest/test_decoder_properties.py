"""Property tests over every decoder of ``twinrca.ingest`` (issue 16): for arbitrary
bytes and for mutated valid records (PM JSON, 3GPP alarm notifications, JSON logs,
RFC 5424 / 3164 syslog, VES fault / measurement / stndDefined / eventList, TS 32.435
measCollecFile and TS 28.532 measDataFile XML, PM CSV), a decoder returns or raises
:class:`ValidationError` with a documented reason, and never leaves half a record
behind; through ``ingest_files`` every line read is stored, a duplicate or a dead
letter with a documented reason, and a file with a good record in its head is never
skipped or refused whole."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.ingest.memstore import MemStore

from twinrca.core.errors import ValidationError
from twinrca.core.records import Alarm, AlarmState, AlarmType, KpiSample, LogEvent
from twinrca.core.vendor_wire import (
    pm_file_xml,
    ves_batch,
    ves_fault,
    ves_measurement,
    ves_stnd_defined,
)
from twinrca.core.wire import (
    alarm_message,
    dumps,
    log_message,
    meas_collec_xml,
    pm_batch,
    syslog_line,
)
from twinrca.ingest.columns import Columns
from twinrca.ingest.deadletter import DeadLetter
from twinrca.ingest.decode import REASONS, decode_alarm, decode_pm_json
from twinrca.ingest.files import decode_json_line, ingest_files
from twinrca.ingest.pmcsv import decode_pm_csv
from twinrca.ingest.pmxml import read_pm_xml
from twinrca.ingest.sniff import binary_reason, not_stream_reason
from twinrca.ingest.syslog import decode_log
from twinrca.ingest.ves import decode_ves

T0 = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
GPP = {
    "notificationType": "notifyNewAlarm",
    "notificationId": 7,
    "alarmId": "a7",
    "eventTime": "2024-06-03T12:00:00Z",
    "alarmType": "EQUIPMENT_ALARM",
    "probableCause": 1,
    "perceivedSeverity": "MAJOR",
    "specificProblem": "power lost",
}


# ------------------------------------------------------------------ valid records


def _alarm(i: int) -> bytes:
    a = Alarm(
        f"a{i}",
        f"SubNetwork=1,ManagedElement={i % 5}",
        T0 + timedelta(seconds=i),
        AlarmType.EQUIPMENT_ALARM,
        "powerProblem",
        f"psu {i}",
        state=list(AlarmState)[i % 3],
        notification_id=i,
    )
    return dumps(alarm_message(a))


def _log(i: int) -> bytes:
    return dumps(log_message(LogEvent(T0 + timedelta(seconds=i), f"site-{i}", "ERROR", f"e {i}")))


def _syslog(i: int) -> bytes:
    ev = LogEvent(T0 + timedelta(seconds=i), f"host-{i}", "WARNING", f"link {i} down")
    return syslog_line(ev).encode()


def _pm(i: int) -> bytes:
    return dumps(pm_batch(f"cell:{i}", T0, {f"m{k}": 1.5 * k for k in range(3)}))


def _ves(i: int) -> bytes:
    kinds = [
        lambda: ves_fault(f"gnb-{i}", "linkDown", T0, sequence=i),
        lambda: ves_measurement(f"gnb-{i}", T0, {"cpu": 0.5, "mem": 0.25}),
        lambda: ves_stnd_defined({**GPP, "notificationId": i}, f"gnb-{i}", T0),
        lambda: ves_batch(
            [ves_fault(f"gnb-{i}", "x", T0), ves_measurement(f"gnb-{i}", T0, {"cpu": 1.0})]
        ),
    ]
    return orjson.dumps(kinds[i % len(kinds)]())


def _xml(i: int) -> bytes:
    if i % 2:
        return meas_collec_xml(
            [KpiSample(f"cell:{c}", f"m{k}", c + k / 4, T0) for c in range(2) for k in range(2)]
        ).encode()
    root = "measCollecFile" if i % 4 else "measDataFile"
    return pm_file_xml({"NRCellDU=1": {"c1": 3, "c2": 4.5}, "NRCellDU=2": {"c1": 1}}, T0, root=root)


def _csv(i: int) -> bytes:
    rows = "".join(f"cell:{r},2024-06-01T{r:02d}:15:00Z,{40 + r}\n" for r in range(i % 4 + 1))
    return b"managed_object,period_end,prb_utilisation\n" + rows.encode()


def _decode_csv(data: bytes, cols: Columns) -> None:
    for _line, _raw, _exc in decode_pm_csv(data.decode("utf-8", "surrogateescape"), cols.kpis):
        pass  # refused rows are reported, the rest appended


def _decode_xml(data: bytes, cols: Columns) -> None:
    pm = read_pm_xml(data)
    cols.kpis.extend(pm.kpis)


# (name, valid record maker, decoder)
DECODERS: list[tuple[str, Callable[[int], bytes], Callable[[bytes, Columns], object]]] = [
    ("pm_json", _pm, lambda b, c: decode_pm_json(b, c.kpis)),
    ("alarm", _alarm, lambda b, c: decode_alarm(b, c.alarms)),
    ("json_log", _log, lambda b, c: decode_log(b, c.logs)),
    ("syslog", _syslog, lambda b, c: decode_log(b, c.logs)),
    ("ves", _ves, decode_ves),
    ("json_line", _ves, decode_json_line),
    ("json_line_alarm", _alarm, decode_json_line),
    ("pm_xml", _xml, _decode_xml),
    ("pm_csv", _csv, _decode_csv),
]

# ------------------------------------------------------------------ mutations

JUNK = st.sampled_from(
    [b"\x00", b"\xff", b"\xc3", b'"', b"{", b"}", b"[", b"]", b",", b":", b"null", b"NaN",
     b"-1e999", b"1e308", b"\n", b"\r", b"<", b">", b"&", b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
     b"\\u0000", b"\\ud800", b"  ", b"-", b"0", b"99999999999999999999"]
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(out)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "random"]))
        if op == "insert":
            out[at:at] = draw(JUNK)
        elif op == "delete":
            del out[at : at + draw(st.integers(1, 16))]
        elif op == "replace":
            out[at : at + 1] = draw(JUNK)
        elif op == "truncate":
            del out[at:]
        else:
            out[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(out)


@st.composite
def json_mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """A valid JSON document with one value replaced by arbitrary JSON, or a key gone."""
    doc = json.loads(data)
    path: list[object] = []
    node = doc
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        path.append(key)
        node = node[key]
    if not path:
        return data
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    value = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=6,
    )
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(value)  # type: ignore[index]
    return json.dumps(doc, allow_nan=True).encode()


def _records(draw: st.DrawFn, make: Callable[[int], bytes]) -> bytes:
    valid = make(draw(st.integers(0, 50)))
    kind = draw(st.sampled_from(["bytes", "mutated", "json"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "json" and valid.lstrip()[:1] == b"{":
        return draw(json_mutated(valid))
    return draw(mutated(valid))


@st.composite
def decoder_cases(draw: st.DrawFn) -> tuple[str, Callable[[bytes, Columns], object], bytes]:
    name, make, decode = draw(st.sampled_from(DECODERS))
    return name, decode, _records(draw, make)


FAST = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FAST
@given(case=decoder_cases())
def test_decoders_raise_only_documented_validation_errors_all_or_nothing(
    case: tuple[str, Callable[[bytes, Columns], object], bytes],
) -> None:
    name, decode, data = case
    cols = Columns()
    try:
        decode(data, cols)
    except ValidationError as exc:
        assert exc.reason in REASONS, (name, exc.reason, exc)
        assert cols.rows == 0, name  # a refused record leaves nothing behind
    for part in cols.rejected:  # parts refused alone carry a documented reason too
        assert part.error.reason in REASONS
    for d in (DeadLetter.of_rejected(p, "t", 0, 0) for p in cols.rejected):
        assert d.reason and d.detail


@FAST
@given(kind=st.sampled_from([".csv", ".jsonl", ".json", ".log", ".txt", ".xml"]), data=st.binary())
def test_sniffing_never_raises(kind: str, data: bytes) -> None:
    reason = binary_reason(kind, data)
    assert reason is None or "binary" in reason
    if reason is None:
        skip = not_stream_reason(kind, data)
        assert skip is None or isinstance(skip, str)


# ------------------------------------------------------------------ through ingest_files


class _Store(MemStore):
    def load_topology(self) -> None:
        return None


def _lines_ok(decode: Callable[[bytes, Columns], object], lines: list[bytes]) -> bool:
    """Whether any of ``lines`` (a file's head) decodes on its own."""
    for line in lines:
        try:
            decode(line, Columns())
        except ValidationError:
            continue
        return True
    return False


@st.composite
def folders(draw: st.DrawFn) -> dict[str, list[bytes]]:
    """A JSON-lines file of alarm notifications and a syslog file, some lines mutated."""
    out: dict[str, list[bytes]] = {}
    for name, make in (("alarms.jsonl", _alarm), ("logs.log", _syslog)):
        n = draw(st.integers(1, 8))
        bad = draw(st.sets(st.integers(0, n - 1), max_size=n))
        lines = []
        for i in range(n):
            line = make(i)
            if i in bad:
                line = (
                    draw(json_mutated(line))
                    if name.endswith("l") and draw(st.booleans())
                    else draw(mutated(line))
                )
            lines.append(line)
        out[name] = lines
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=folders())
def test_every_line_read_is_stored_a_duplicate_or_a_dead_letter(
    files: dict[str, list[bytes]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("in")
    for name, lines in files.items():
        (folder / name).write_bytes(b"\n".join(lines) + b"\n")
    store = _Store()
    letters: list[DeadLetter] = []
    result = ingest_files([folder], store, dead_letters=letters.extend, log_templates=False)
    assert len(letters) == len(result.dead_letters)
    skipped = {p.name for p, _ in result.skipped}
    read = 0
    for name, lines in files.items():
        data = (folder / name).read_bytes()
        mine = [d for d in letters if d.source_topic.endswith(f"/{name}")]
        whole = [d for d in mine if d.reason == "unreadable_file"]
        head = [x for x in data.splitlines() if x.strip()][:20]
        decode = decode_json_line if name.endswith(".jsonl") else _syslog_decode
        if name in skipped or whole:
            assert not _lines_ok(decode, head), f"{name}: good records were skipped or refused"
            assert len(whole) <= 1
            continue
        read += len([x for x in data.splitlines() if x.strip()])
        for d in mine:
            assert d.reason in REASONS and d.detail
    stored = result.alarms_written + result.logs_written + result.duplicates_skipped
    counted = [d for d in letters if d.reason != "unreadable_file" and not _in(d, skipped)]
    assert stored + len(counted) == read


def _syslog_decode(line: bytes, cols: Columns) -> None:
    decode_log(line, cols.logs)


def _in(letter: DeadLetter, names: set[str]) -> bool:
    return any(letter.source_topic.endswith(f"/{n}") for n in names)


def test_the_mutations_do_break_records() -> None:
    """The strategies are not vacuous: a NUL in a record is refused with a reason."""
    for _name, make, decode in DECODERS[:4]:
        data = make(3)
        broken = data[:5] + b"\x00" + data[5:]
        with pytest.raises(ValidationError) as exc:
            decode(broken, Columns())
        assert exc.value.reason in REASONS


def test_whole_xml_refusal_is_one_dead_letter(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(_xml(1)[:-40])  # truncated: not well formed
    (tmp_path / "b.xml").write_bytes(_xml(2))
    letters: list[DeadLetter] = []
    result = ingest_files([tmp_path], _Store(), dead_letters=letters.extend, log_templates=False)
    assert [d.reason for d in letters] == ["xml_malformed"]
    assert result.kpis_written > 0
