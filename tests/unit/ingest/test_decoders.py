"""Decoders read exactly what core.wire writes, and refuse everything else with a reason."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twinrca.core.errors import ValidationError
from twinrca.core.records import Alarm, AlarmState, AlarmType, KpiSample, LogEvent
from twinrca.core.wire import (
    alarm_message,
    dumps,
    log_message,
    meas_collec_xml,
    pm_batches,
    syslog_line,
)
from twinrca.ingest.columns import Columns, KpiColumns
from twinrca.ingest.decode import REASONS, decode_alarm, decode_pm_json
from twinrca.ingest.files import decode_json_line
from twinrca.ingest.pmcsv import decode_pm_csv
from twinrca.ingest.pmxml import decode_pm_xml, parse_duration_s
from twinrca.ingest.syslog import decode_log, parse_syslog

T0 = datetime(2024, 5, 1, 10, 15, tzinfo=UTC)


def _samples() -> list[KpiSample]:
    return [
        KpiSample(
            f"cell:{c}",
            f"m{m}",
            c * 10.0 + m + 0.25,
            T0 + timedelta(minutes=15 * p),
            suspect=(c == 1 and p == 0),
        )
        for c in range(3)
        for m in range(4)
        for p in range(2)
    ]


def _rows(cols: KpiColumns) -> set[tuple]:
    df = cols.to_frame()
    return {
        (r.managed_object, r.measurement, r.value, r.period_end.to_pydatetime(), r.suspect)
        for r in df.itertuples()
    }


def test_pm_json_round_trip() -> None:
    cols = KpiColumns()
    for msg in pm_batches(_samples()):
        decode_pm_json(dumps(msg), cols)
    assert _rows(cols) == {
        (s.managed_object, s.measurement, s.value, s.period_end, s.suspect) for s in _samples()
    }
    assert cols.to_frame()["granularity_s"].eq(900).all()


def test_pm_xml_round_trip() -> None:
    cols = KpiColumns()
    n = decode_pm_xml(meas_collec_xml(_samples()).encode(), cols)
    assert n == len(_samples())
    assert _rows(cols) == {
        (s.managed_object, s.measurement, s.value, s.period_end, s.suspect) for s in _samples()
    }


def test_pm_xml_nan_is_skipped_and_durations() -> None:
    s = [KpiSample("c", "a", 1.0, T0), KpiSample("c", "b", math.nan, T0)]
    cols = KpiColumns()
    assert decode_pm_xml(meas_collec_xml(s).encode(), cols) == 1
    assert parse_duration_s("PT15M") == 900 and parse_duration_s("PT1H") == 3600


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<measCollecFile>&lol3;</measCollecFile>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<measCollecFile><fileHeader>&xxe;</fileHeader></measCollecFile>"""


@pytest.mark.parametrize("doc", [BOMB, XXE])
def test_xml_bombs_and_external_entities_are_refused(doc: bytes) -> None:
    with pytest.raises(ValidationError) as err:
        decode_pm_xml(doc, KpiColumns())
    assert err.value.reason == "xml_forbidden"


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"<measCollecFile>", "xml_malformed"),
        (b"<other/>", "not_meas_collec"),
    ],
)
def test_bad_xml_reasons(doc: bytes, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        decode_pm_xml(doc, KpiColumns())
    assert err.value.reason == reason


def test_pm_xml_bad_value_costs_that_value_only() -> None:
    samples = [KpiSample("c", "a", 1.0, T0), KpiSample("c", "b", 2.0, T0)]
    doc = meas_collec_xml(samples).replace(">1.0<", ">abc<").encode()
    cols, rejected = KpiColumns(), []
    assert decode_pm_xml(doc, cols, rejected) == 1
    assert cols.measurement == ["b"] and cols.value == [2.0]
    assert [(r.managed_object, r.counter, r.error.reason) for r in rejected] == [
        ("c", "a", "bad_value")
    ]


def test_alarm_round_trip_all_notifications() -> None:
    cols = Columns()
    for i, state in enumerate(AlarmState):
        a = Alarm(
            f"a{i}",
            "SubNetwork=1,ManagedElement=7",
            T0,
            AlarmType.EQUIPMENT_ALARM,
            "powerProblem",
            "psu 2",
            state=state,
            notification_id=i,
            additional_text="x",
        )
        decode_alarm(dumps(alarm_message(a)), cols.alarms)
    df = cols.alarms.to_frame()
    assert list(df["state"]) == ["raised", "changed", "cleared"]
    assert list(df["perceived_severity"]) == ["MAJOR", "MAJOR", "CLEARED"]
    assert set(df["managed_object"]) == {"SubNetwork=1,ManagedElement=7"}
    assert df["event_time"].iloc[0].to_pydatetime() == T0


def test_alarm_object_from_href_when_no_object_instance() -> None:
    a = Alarm(
        "a", "SubNetwork=1,ManagedElement=7", T0, AlarmType.EQUIPMENT_ALARM, "x", notification_id=1
    )
    msg = alarm_message(a)
    del msg["objectInstance"]
    cols = Columns()
    decode_alarm(orjson.dumps(msg), cols.alarms)
    assert cols.alarms.rows[0][2] == "SubNetwork=1,ManagedElement=7"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"notificationType": "notifyFoo"}, "unknown_notification"),
        ({"alarmType": "NOPE"}, "bad_value"),
        ({"notificationId": "7"}, "bad_type"),
        ({"eventTime": "yesterday"}, "bad_time"),
        ({"alarmId": None}, "missing_field"),
    ],
)
def test_alarm_rejections(change: dict, reason: str) -> None:
    a = Alarm("a", "mo", T0, AlarmType.EQUIPMENT_ALARM, "x", notification_id=1)
    msg = {**alarm_message(a), **change}
    with pytest.raises(ValidationError) as err:
        decode_alarm(orjson.dumps(msg), Columns().alarms)
    assert err.value.reason == reason


def test_logs_json_and_syslog() -> None:
    ev = LogEvent(T0, "site-1", "ERROR", "link eth0 down after 3 retries")
    cols = Columns()
    decode_log(dumps(log_message(ev)), cols.logs)
    decode_log(syslog_line(ev).encode(), cols.logs)
    decode_log(b"<11>May  1 10:15:00 site-2 sshd[42]: failed password", cols.logs, year=2024)
    df = cols.logs.to_frame()
    assert list(df["message"][:2]) == [ev.message, ev.message]
    assert list(df["severity"]) == ["ERROR", "ERROR", "ERROR"]
    assert df["time"].iloc[2].to_pydatetime() == T0
    assert df["source"].iloc[2] == "site-2"


def test_syslog_structured_data_and_rejection() -> None:
    line = '<165>1 2024-05-01T10:15:00.5Z host app 1 ID47 [ex@32473 a="x\\]y"] hello'
    _when, source, severity, message = parse_syslog(line)
    assert (source, severity, message) == ("host", "NOTICE", "hello")
    with pytest.raises(ValidationError) as err:
        parse_syslog("just text")
    assert err.value.reason == "bad_syslog"


def test_csv_long_and_wide_keep_good_rows() -> None:
    long = (
        "managed_object,measurement,value,period_end\n"
        "c1,a,1.5,2024-05-01T10:15:00Z\nc1,b,oops,2024-05-01T10:15:00Z\n"
    )
    wide = "measObjLdn,endTime,a,b\nc2,2024-05-01T10:15:00Z,1,2\n,2024-05-01T10:15:00Z,1,2\n"
    cols = KpiColumns()
    bad = list(decode_pm_csv(long, cols)) + list(decode_pm_csv(wide, cols))
    assert [(line, e.reason) for line, _, e in bad] == [(3, "bad_value"), (3, "missing_field")]
    assert len(cols) == 3


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"not json", "not_json"),
        (b"[1,2]", "not_object"),
        (b'{"managedObject":"c","periodEnd":"2024-05-01T10:15:00Z","measurements":{}}', "empty"),
        (
            b'{"managedObject":"c","periodEnd":"2024-05-01T10:15:00","measurements":{"a":1}}',
            "bad_time",
        ),
        (
            b'{"managedObject":"c","periodEnd":"2024-05-01T10:15:00Z","measurements":{"a":"1"}}',
            "bad_type",
        ),
        (b'{"periodEnd":"2024-05-01T10:15:00Z","measurements":{"a":1}}', "missing_field"),
        (b'{"kind":"x","managedObject":"c"}', "unknown_kind"),
    ],
)
def test_pm_rejections(doc: bytes, reason: str) -> None:
    with pytest.raises(ValidationError) as err:
        decode_pm_json(doc, KpiColumns())
    assert err.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(
                [
                    "managedObject",
                    "periodEnd",
                    "measurements",
                    "notificationType",
                    "alarmId",
                    "message",
                    "time",
                    "source",
                    "granularityS",
                ]
            ),
            st.recursive(
                st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                lambda c: (
                    st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3)
                ),
                max_leaves=8,
            ),
        ).map(lambda d: json.dumps(d).encode()),
    )
)
def test_fuzz_only_validation_errors_all_or_nothing(data: bytes) -> None:
    cols = Columns()
    for decode in (
        decode_json_line,
        lambda b, c: decode_pm_xml(b, c.kpis),
        lambda b, c: decode_log(b, c.logs),
    ):
        before = cols.rows
        try:
            decode(data, cols)
        except ValidationError as exc:
            assert exc.reason in REASONS
            assert cols.rows == before
