"""ONAP / O-RAN VES 7.x events (``{"event": ...}`` or ``{"eventList": [...]}``).

* ``fault``: an alarm. ``alarmCondition`` is the probable cause, ``specificProblem``
  the specific problem, ``sourceName`` the managed object, ``eventSeverity`` the
  severity (``NORMAL`` clears), ``eventId`` the alarm id, ``sequence`` the
  notification id, ``lastEpochMicrosec`` the time; ``eventSourceType`` and
  ``eventCategory`` go into the additional text (``eventCategory`` picks the X.733
  alarm type where it says so, else ``EQUIPMENT_ALARM``).
* ``measurement``: KPI values of ``sourceName`` for the period that ends at
  ``lastEpochMicrosec`` (``measurementInterval`` seconds, else the header's span):
  ``additionalMeasurements`` (their ``hashMap`` keys are counter names, mapped to KPIs
  like a PM file's), the CPU, memory and NIC arrays as ``cpuUsage.<id>.<field>`` ...,
  and ``cpu_load`` (mean CPU use, %) and ``memory_util`` (used / configured, %).
* ``stndDefined`` with a ``3GPP-FaultSupervision`` namespace: its ``data`` is a 3GPP
  notifyNewAlarm / notifyChangedAlarm / notifyClearedAlarm, read by the same decoder
  as the alarm topic (the object defaults to ``sourceName`` when the notification
  names none).

In an ``eventList`` each event is decoded alone: a bad event is a :class:`Rejected`
(dead-lettered by the caller) and costs that event only.
"""

from __future__ import annotations

import math

import orjson

from twinrca.core.errors import ValidationError
from twinrca.ingest.columns import AlarmColumns, Columns, KpiColumns
from twinrca.ingest.deadletter import Rejected
from twinrca.ingest.decode import MAX_NAME, MAX_TEXT, decode_alarm_doc, load_json

__all__ = ["DOMAINS", "decode_ves", "is_ves"]

DOMAINS = ("fault", "measurement", "stndDefined")
_FAULT_NS = "3GPP-FaultSupervision"
_SEVERITY = {"CRITICAL": "CRITICAL", "MAJOR": "MAJOR", "MINOR": "MINOR", "WARNING": "WARNING"}
_CATEGORY_TYPE = {
    "link": "COMMUNICATIONS_ALARM",
    "connectivity": "COMMUNICATIONS_ALARM",
    "signaling": "COMMUNICATIONS_ALARM",
    "license": "PROCESSING_ERROR_ALARM",
    "software": "PROCESSING_ERROR_ALARM",
    "processing": "PROCESSING_ERROR_ALARM",
    "quality": "QUALITY_OF_SERVICE_ALARM",
    "environmental": "ENVIRONMENTAL_ALARM",
    "power": "EQUIPMENT_ALARM",
    "hardware": "EQUIPMENT_ALARM",
}
_ARRAYS = (
    ("cpuUsageArray", "cpuIdentifier", "cpuUsage"),
    ("memoryUsageArray", "vmIdentifier", "memoryUsage"),
    ("nicPerformanceArray", "nicIdentifier", "nicPerformance"),
)


def is_ves(doc: dict[str, object]) -> bool:
    """A VES event or event batch (by its top-level keys)."""
    event = doc.get("event")
    return "eventList" in doc or (isinstance(event, dict) and "commonEventHeader" in event)


def _obj(doc: dict[str, object], key: str) -> dict[str, object]:
    value = doc.get(key)
    if value is None:
        raise ValidationError("missing_field", f"{key} is required", field=key)
    if not isinstance(value, dict):
        raise ValidationError("bad_type", f"{key} must be an object", field=key)
    return value


def _str(doc: dict[str, object], key: str, *, required: bool = True, limit: int = MAX_NAME) -> str:
    value = doc.get(key)
    if value is None or value == "":
        if required:
            raise ValidationError("missing_field", f"{key} is required", field=key)
        return ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise ValidationError("bad_value", f"{key} must be a string (<= {limit})", field=key)
    return value


def _micros_ns(header: dict[str, object], key: str) -> int:
    value = header.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError("bad_time", f"{key} must be epoch microseconds", field=key)
    if not 0 < value < 2**62 // 1000:
        raise ValidationError("bad_time", f"{key} out of range", field=key)
    return int(value) * 1000


def _event_ns(header: dict[str, object]) -> int:
    key = "lastEpochMicrosec" if header.get("lastEpochMicrosec") else "startEpochMicrosec"
    return _micros_ns(header, key)


def _fault(header: dict[str, object], event: dict[str, object], out: AlarmColumns) -> None:
    fields = _obj(event, "faultFields")
    mo = _str(header, "sourceName")
    severity = _str(fields, "eventSeverity").upper()
    cleared = severity == "NORMAL"
    if not cleared and severity not in _SEVERITY:
        raise ValidationError(
            "bad_value", f"eventSeverity {severity[:20]!r}", field="eventSeverity"
        )
    category = _str(fields, "eventCategory", required=False)
    seq = header.get("sequence", 0)
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise ValidationError("bad_type", "sequence must be a non-negative integer")
    extra = {
        k: fields.get(k) for k in ("eventSourceType", "eventCategory", "vfStatus") if fields.get(k)
    }
    if isinstance(fields.get("alarmAdditionalInformation"), dict):
        extra["alarmAdditionalInformation"] = fields["alarmAdditionalInformation"]
    out.rows.append(
        (
            _str(header, "eventId"),
            seq,
            mo,
            _event_ns(header),
            _CATEGORY_TYPE.get(category.lower(), "EQUIPMENT_ALARM"),
            _str(fields, "alarmCondition"),
            _str(fields, "specificProblem", required=False),
            "CLEARED" if cleared else _SEVERITY[severity],
            "cleared" if cleared else "raised",
            orjson.dumps(extra).decode()[:MAX_TEXT] if extra else "",
        )
    )


def _number(value: object) -> float | None:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _list(fields: dict[str, object], key: str) -> list[object]:
    value = fields.get(key)
    return value if isinstance(value, list) else []


def _measured(fields: dict[str, object]) -> dict[str, float]:
    values: dict[str, float] = {}
    for array, ident, prefix in _ARRAYS:
        for item in _list(fields, array):
            if not isinstance(item, dict):
                continue
            who = str(item.get(ident, "")).split()[0] if item.get(ident) else "0"
            for key, raw in item.items():
                number = _number(raw) if key != ident else None
                if number is not None:
                    values[f"{prefix}.{who}.{key}"[:MAX_NAME]] = number
    for group in _list(fields, "additionalMeasurements"):
        if isinstance(group, dict) and isinstance(group.get("hashMap"), dict):
            for key, raw in group["hashMap"].items():
                number = _number(raw)
                if number is not None and key:
                    values[str(key)[:MAX_NAME]] = number
    return values


def _node_kpis(values: dict[str, float]) -> dict[str, float]:
    cpu = [
        v for k, v in values.items() if k.startswith("cpuUsage.") and k.endswith(".percentUsage")
    ]
    total = values.get("cpuUsage.all.percentUsage")
    out: dict[str, float] = {}
    if total is not None or cpu:
        out["cpu_load"] = total if total is not None else sum(cpu) / len(cpu)
    used = [v for k, v in values.items() if k.endswith(".memoryUsed")]
    conf = [v for k, v in values.items() if k.endswith(".memoryConfigured")]
    if used and conf and sum(conf) > 0:
        out["memory_util"] = 100.0 * sum(used) / sum(conf)
    return out


def _measurement(header: dict[str, object], event: dict[str, object], out: KpiColumns) -> None:
    fields = _obj(event, "measurementFields")
    mo = _str(header, "sourceName")
    end_ns = _event_ns(header)
    interval = _number(fields.get("measurementInterval"))
    if interval is None and header.get("startEpochMicrosec"):
        interval = (end_ns - _micros_ns(header, "startEpochMicrosec")) / 1e9
    gran = round(interval) if interval and interval > 0 else 900
    values = _measured(fields)
    values.update(_node_kpis(values))
    if not values:
        raise ValidationError("empty", "measurement event carries no numeric value")
    suspect = any(
        str(i.get("valuesAreSuspect", "")).lower() == "true"
        for i in _list(fields, "nicPerformanceArray")
        if isinstance(i, dict)
    )
    out.add_batch(mo, list(values), list(values.values()), end_ns, min(gran, 31 * 86400), suspect)


def _stnd_defined(header: dict[str, object], event: dict[str, object], out: AlarmColumns) -> None:
    namespace = _str(header, "stndDefinedNamespace", required=False)
    if namespace != _FAULT_NS:
        raise ValidationError("unknown_kind", f"stndDefinedNamespace {namespace[:40]!r}")
    data = _obj(_obj(event, "stndDefinedFields"), "data")
    href = data.get("href")
    if not data.get("objectInstance") and not (isinstance(href, str) and "=" in href):
        data = {**data, "objectInstance": _str(header, "sourceName")}
    decode_alarm_doc(data, out)


def _event(event: object, cols: Columns) -> None:
    if not isinstance(event, dict):
        raise ValidationError("not_object", "a VES event must be an object")
    header = _obj(event, "commonEventHeader")
    domain = header.get("domain")
    if domain == "fault":
        _fault(header, event, cols.alarms)
    elif domain == "measurement":
        _measurement(header, event, cols.kpis)
    elif domain == "stndDefined":
        _stnd_defined(header, event, cols.alarms)
    else:
        raise ValidationError("unknown_kind", f"VES domain {str(domain)[:32]!r} is not read")


def decode_ves(data: bytes, cols: Columns) -> int:
    """A VES event or ``eventList`` into ``cols``; returns the events stored. A single
    event that is refused raises; a refused event of a batch goes to ``cols.rejected``."""
    doc = load_json(data)
    if "eventList" not in doc:
        _event(doc.get("event"), cols)
        return 1
    events = doc["eventList"]
    if not isinstance(events, list) or not events:
        raise ValidationError("empty", "eventList must be a non-empty list", field="eventList")
    stored = 0
    for event in events:
        staged = Columns()
        try:
            _event(event, staged)
        except ValidationError as exc:
            header = event.get("commonEventHeader") if isinstance(event, dict) else None
            mo = str(header.get("sourceName", ""))[:MAX_NAME] if isinstance(header, dict) else ""
            cols.rejected.append(Rejected(exc, orjson.dumps(event)[:65536], mo))
            continue
        cols.kpis.extend(staged.kpis)
        cols.alarms.rows.extend(staged.alarms.rows)
        stored += 1
    return stored
