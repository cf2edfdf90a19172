"""Decoders of the JSON wire formats (orjson) into column accumulators.

Each decoder validates a whole message before appending anything, and raises
:class:`~twinrca.core.errors.ValidationError` whose ``reason`` is one of
:data:`REASONS` (machine readable) and whose message says what was wrong.
The shapes are the ones :mod:`twinrca.core.wire` writes (see docs/formats.md);
unknown fields are ignored.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from urllib.parse import unquote

import orjson

from twinrca.core.errors import ValidationError
from twinrca.core.records import AlarmState, AlarmType, PerceivedSeverity
from twinrca.core.timeutil import utc
from twinrca.core.wire import NOTIFY_CHANGED, NOTIFY_CLEARED, NOTIFY_NEW
from twinrca.ingest.columns import AlarmColumns, KpiColumns, LogColumns

__all__ = [
    "MAX_NAME",
    "REASONS",
    "decode_alarm",
    "decode_alarm_doc",
    "decode_log_json",
    "decode_pm_json",
    "load_json",
    "time_ns",
]

#: Every rejection reason a decoder can give (see docs/formats.md).
REASONS = (
    "not_json",
    "not_object",
    "missing_field",
    "bad_type",
    "bad_value",
    "bad_time",
    "empty",
    "too_large",
    "unknown_kind",
    "unknown_notification",
    "bad_syslog",
    "xml_forbidden",
    "xml_malformed",
    "not_meas_collec",
    "bad_csv",
    "bad_encoding",
    "unreadable_file",
    "store_rejected",
    "missing_file",
)
MAX_NAME = 1024
MAX_TEXT = 65536
_STATE = {
    NOTIFY_NEW: AlarmState.RAISED.value,
    NOTIFY_CHANGED: AlarmState.CHANGED.value,
    NOTIFY_CLEARED: AlarmState.CLEARED.value,
}
_ALARM_TYPES = frozenset(t.value for t in AlarmType)
_SEVERITIES = frozenset(s.value for s in PerceivedSeverity)
_EPOCH_MIN_NS = -(2**62)
_EPOCH_MAX_NS = 2**62


def load_json(data: bytes) -> dict[str, object]:
    """Parse bytes to a JSON object."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationError("not_json", f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ValidationError("not_object", f"JSON {type(doc).__name__}, expected an object")
    return doc


@lru_cache(maxsize=65536)
def _text_time_ns(text: str) -> int:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError("bad_time", f"not an RFC 3339 time: {text[:64]!r}") from exc
    if dt.tzinfo is None:
        raise ValidationError("bad_time", f"time without a UTC offset: {text[:64]!r}")
    dt = utc(dt)
    return (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000


def time_ns(value: object, name: str) -> int:
    """RFC 3339 text (with offset) or epoch seconds / milliseconds to int64 ns."""
    if isinstance(value, str):
        if len(value) > 64:
            raise ValidationError("bad_time", f"{name}: time text too long")
        return _text_time_ns(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValidationError("bad_time", f"{name}: not a finite epoch")
        seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        ns = int(seconds * 1e9)
        if not _EPOCH_MIN_NS < ns < _EPOCH_MAX_NS:
            raise ValidationError("bad_time", f"{name}: epoch out of range")
        return ns
    if value is None:
        raise ValidationError("missing_field", f"{name} is required", field=name)
    raise ValidationError("bad_time", f"{name}: not a time: {type(value).__name__}")


def _text(
    doc: dict[str, object],
    key: str,
    *,
    required: bool = True,
    limit: int = MAX_NAME,
    default: str = "",
) -> str:
    value = doc.get(key)
    if value is None:
        if required:
            raise ValidationError("missing_field", f"{key} is required", field=key)
        return default
    if not isinstance(value, str):
        raise ValidationError("bad_type", f"{key} must be a string", field=key)
    if required and not value:
        raise ValidationError("bad_value", f"{key} is empty", field=key)
    if len(value) > limit or "\x00" in value:
        raise ValidationError("bad_value", f"{key} too long or contains NUL", field=key)
    return value


def _measurements(raw: object) -> tuple[list[str], list[float]]:
    if raw is None:
        raise ValidationError("missing_field", "measurements is required", field="measurements")
    if not isinstance(raw, dict):
        raise ValidationError("bad_type", "measurements must be an object", field="measurements")
    if not raw:
        raise ValidationError("empty", "measurements is empty", field="measurements")
    names: list[str] = []
    values: list[float] = []
    for name, value in raw.items():
        if value is None:
            continue  # not available in this period
        if type(value) is not float:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError("bad_type", f"measurement {name[:64]!r} is not a number")
            value = float(value)
        elif not math.isfinite(value):
            raise ValidationError("bad_value", f"measurement {name[:64]!r} is not finite")
        if not name or len(name) > MAX_NAME or "\x00" in name:
            raise ValidationError("bad_value", "bad measurement name")
        names.append(name)
        values.append(value)
    return names, values


def decode_pm_json(data: bytes, out: KpiColumns) -> int:
    """One PM batch message into ``out``; returns the number of values appended."""
    doc = load_json(data)
    kind = doc.get("kind", "pm")
    if kind != "pm":
        raise ValidationError("unknown_kind", f"kind {str(kind)[:32]!r} on the PM topic")
    mo = _text(doc, "managedObject")
    end_ns = time_ns(doc.get("periodEnd"), "periodEnd")
    gran = doc.get("granularityS", 900)
    if isinstance(gran, bool) or not isinstance(gran, int):
        raise ValidationError("bad_type", "granularityS must be an integer", field="granularityS")
    if not 0 < gran <= 31 * 86400:
        raise ValidationError("bad_value", "granularityS out of range", field="granularityS")
    suspect = doc.get("suspect", False)
    if not isinstance(suspect, bool):
        raise ValidationError("bad_type", "suspect must be a boolean", field="suspect")
    names, values = _measurements(doc.get("measurements"))
    out.add_batch(mo, names, values, end_ns, gran, suspect)
    return len(names)


def _object_from_href(href: str) -> str:
    path = href.split("://", 1)[-1].split("/", 1)[-1]
    parts = [p for p in path.split("/") if "=" in p]
    return unquote(",".join(parts)) if parts else ""


def _alarm_identity(doc: dict[str, object]) -> tuple[str, int, str]:
    alarm_id = _text(doc, "alarmId")
    nid = doc.get("notificationId")
    if nid is None:
        raise ValidationError("missing_field", "notificationId is required", field="notificationId")
    if isinstance(nid, bool) or not isinstance(nid, int) or not 0 <= nid < 2**63:
        raise ValidationError(
            "bad_type", "notificationId must be a non-negative integer", field="notificationId"
        )
    mo = _text(doc, "objectInstance", required=False)
    if not mo:
        mo = _object_from_href(_text(doc, "href"))
        if not mo:
            raise ValidationError("bad_value", "href names no managed object", field="href")
    return alarm_id, nid, mo


def decode_alarm(data: bytes, out: AlarmColumns) -> None:
    """A 3GPP notifyNewAlarm / notifyChangedAlarm / notifyClearedAlarm into ``out``."""
    decode_alarm_doc(load_json(data), out)


def decode_alarm_doc(doc: dict[str, object], out: AlarmColumns) -> None:
    """:func:`decode_alarm` of a parsed notification (e.g. a VES stndDefined ``data``)."""
    ntype = doc.get("notificationType")
    state = _STATE.get(ntype) if isinstance(ntype, str) else None
    if state is None:
        if ntype is None:
            raise ValidationError(
                "missing_field", "notificationType is required", field="notificationType"
            )
        raise ValidationError("unknown_notification", f"notificationType {str(ntype)[:40]!r}")
    alarm_id, nid, mo = _alarm_identity(doc)
    event_ns = time_ns(doc.get("eventTime"), "eventTime")
    alarm_type = _text(doc, "alarmType")
    if alarm_type not in _ALARM_TYPES:
        raise ValidationError("bad_value", f"alarmType {alarm_type[:40]!r}", field="alarmType")
    raw_cause = doc.get("probableCause")
    if isinstance(raw_cause, int) and not isinstance(raw_cause, bool):
        doc = {**doc, "probableCause": str(raw_cause)}  # TS 32.111 allows a numeric cause
    cause = _text(doc, "probableCause")
    cleared = state == AlarmState.CLEARED.value
    severity = _text(doc, "perceivedSeverity", required=not cleared, default="CLEARED")
    if severity not in _SEVERITIES:
        raise ValidationError(
            "bad_value", f"perceivedSeverity {severity[:40]!r}", field="perceivedSeverity"
        )
    problem = _text(doc, "specificProblem", required=False)
    text = _text(doc, "additionalText", required=False, limit=MAX_TEXT)
    out.rows.append(
        (
            alarm_id,
            nid,
            mo,
            event_ns,
            alarm_type,
            cause,
            problem,
            "CLEARED" if cleared else severity,
            state,
            text,
        )
    )


def decode_log_json(data: bytes, out: LogColumns, template_id: str | None = None) -> None:
    """A JSON log event into ``out``."""
    doc = load_json(data)
    when = time_ns(doc.get("time"), "time")
    source = _text(doc, "source")
    severity = _text(doc, "severity", required=False, default="INFO", limit=32).upper()
    message = _text(doc, "message", limit=MAX_TEXT)
    out.rows.append((when, source, severity, message, template_id))
