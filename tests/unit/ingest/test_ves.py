"""VES 7.x events: fault, measurement, stndDefined (3GPP notifications), eventList."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from twinrca.core.errors import ValidationError
from twinrca.core.vendor_wire import ves_batch, ves_fault, ves_measurement, ves_stnd_defined
from twinrca.ingest.columns import Columns
from twinrca.ingest.files import decode_json_line
from twinrca.ingest.ves import decode_ves

T = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
NS = int(T.timestamp()) * 10**9
GPP = {
    "notificationType": "notifyNewAlarm",
    "notificationId": 7,
    "alarmId": "a7",
    "eventTime": "2024-06-03T12:00:00Z",
    "alarmType": "EQUIPMENT_ALARM",
    "probableCause": 1,  # TS 32.111 allows a numeric cause
    "perceivedSeverity": "MAJOR",
    "specificProblem": "power lost",
}


def _decode(doc: dict) -> Columns:
    cols = Columns()
    decode_ves(orjson.dumps(doc), cols)
    return cols


def test_fault_raises_and_normal_clears() -> None:
    raised = _decode(ves_fault("gnb7", "LinkDown", T, severity="CRITICAL", event_id="e1",
                               sequence=3, category="link", problem="S1 down"))  # fmt: skip
    cleared = _decode(ves_fault("gnb7", "LinkDown", T, severity="NORMAL", event_id="e1"))
    (row,) = raised.alarms.rows
    assert row[:9] == ("e1", 3, "gnb7", NS, "COMMUNICATIONS_ALARM", "LinkDown", "S1 down",
                       "CRITICAL", "raised")  # fmt: skip
    assert cleared.alarms.rows[0][7:9] == ("CLEARED", "cleared")


def test_measurement_becomes_kpis() -> None:
    cols = _decode(ves_measurement("gnb7", T, {"RRU.PrbUsedDl": 10.5, "cpu_load": 40.0}))
    got = dict(zip(cols.kpis.measurement, cols.kpis.value, strict=True))
    assert got == {"RRU.PrbUsedDl": 10.5, "cpu_load": 40.0}
    assert set(cols.kpis.granularity_s) == {900} and set(cols.kpis.period_end_ns) == {NS}


def test_measurement_arrays_give_cpu_and_memory_kpis() -> None:
    doc = ves_measurement("vm1", T, {})
    fields = doc["event"]["measurementFields"]
    fields["cpuUsageArray"] = [{"cpuIdentifier": "cpu0", "percentUsage": 30},
                               {"cpuIdentifier": "cpu1", "percentUsage": 50}]  # fmt: skip
    fields["memoryUsageArray"] = [
        {"vmIdentifier": "RAM", "memoryUsed": 25, "memoryConfigured": 100}
    ]
    got = dict(zip(_decode(doc).kpis.measurement, _decode(doc).kpis.value, strict=True))
    assert got["cpu_load"] == 40.0 and got["memory_util"] == 25.0
    assert got["cpuUsage.cpu1.percentUsage"] == 50.0


def test_stnd_defined_uses_the_3gpp_decoder_and_falls_back_to_source_name() -> None:
    (row,) = _decode(ves_stnd_defined(GPP, "ManagedElement=gnb7", T)).alarms.rows
    assert row[:3] == ("a7", 7, "ManagedElement=gnb7") and row[5] == "1" and row[8] == "raised"
    bad = ves_stnd_defined({**GPP, "eventTime": "xyz"}, "x", T)
    with pytest.raises(ValidationError) as err:
        _decode(bad)
    assert err.value.reason == "bad_time"


def test_event_list_refuses_each_bad_event_alone() -> None:
    bad_time = ves_stnd_defined({**GPP, "eventTime": "xyz"}, "gnb9", T)
    other = ves_fault("gnb7", "X", T)
    other["event"]["commonEventHeader"]["domain"] = "heartbeat"
    batch = ves_batch([ves_fault("gnb7", "LinkDown", T), bad_time, other,
                       ves_measurement("gnb7", T, {"a": 1.0})])  # fmt: skip
    cols = Columns()
    assert decode_ves(orjson.dumps(batch), cols) == 2
    assert len(cols.alarms) == 1 and cols.kpis.measurement == ["a"]
    assert [(r.error.reason, r.managed_object) for r in cols.rejected] == [
        ("bad_time", "gnb9"),
        ("unknown_kind", "gnb7"),
    ]


def test_ves_lines_are_told_apart_from_the_twins_json() -> None:
    cols = Columns()
    decode_json_line(orjson.dumps(ves_fault("gnb7", "LinkDown", T)), cols)
    assert len(cols.alarms) == 1
