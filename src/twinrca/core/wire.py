"""Wire formats: encoders from core records to the messages TwinRCA exchanges.

Pure functions, no I/O. The ingest decoders (``twinrca.ingest.decode``) read exactly
what these functions write, and the twin uses them to emit EMS-like streams.
``docs/formats.md`` documents every shape; the key names below are the contract.

* PM/KPI batch (topic ``kpi``): one managed object x one reporting period with many
  measurement values::

      {"kind": "pm", "v": 1, "managedObject": "cell:1-1-L18",
       "periodEnd": "2024-05-01T10:15:00Z", "granularityS": 900,
       "suspect": false, "measurements": {"rrc.conn.att": 812.0, ...}}

* Alarms (topic ``alarms``): 3GPP TS 28.532 / 28.111 ``notifyNewAlarm``,
  ``notifyChangedAlarm``, ``notifyClearedAlarm`` with the notification header
  (``href``, ``notificationId``, ``notificationType``, ``eventTime``, ``systemDN``).
* Logs (topic ``logs``): ``{"time", "source", "severity", "message"}`` JSON, or an
  RFC 5424 syslog line (:func:`syslog_line`).
* PM XML (topic ``pm-xml``): a 3GPP TS 32.435 ``measCollecFile`` (:func:`meas_collec_xml`).

orjson is used when installed (it is a dependency of the ingest side); core itself only
needs the standard library.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from twinrca.core.records import Alarm, AlarmState, KpiSample, LogEvent, PerceivedSeverity
from twinrca.core.timeutil import utc

_orjson: Any
try:  # optional accelerator
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency of the package
    _orjson = None

__all__ = [
    "MEAS_COLLEC_NS",
    "NOTIFY_CHANGED",
    "NOTIFY_CLEARED",
    "NOTIFY_NEW",
    "PM_KIND",
    "SYSLOG_SEVERITY",
    "alarm_message",
    "dumps",
    "format_time",
    "log_message",
    "meas_collec_xml",
    "pm_batch",
    "pm_batches",
    "syslog_line",
]

PM_KIND = "pm"
NOTIFY_NEW = "notifyNewAlarm"
NOTIFY_CHANGED = "notifyChangedAlarm"
NOTIFY_CLEARED = "notifyClearedAlarm"
MEAS_COLLEC_NS = "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec"

#: RFC 5424 severity codes (section 6.2.1) for the severity words TwinRCA uses.
SYSLOG_SEVERITY: dict[str, int] = {
    "EMERGENCY": 0,
    "ALERT": 1,
    "CRITICAL": 2,
    "ERROR": 3,
    "WARNING": 4,
    "NOTICE": 5,
    "INFO": 6,
    "DEBUG": 7,
}

_NOTIFICATION_FOR_STATE = {
    AlarmState.RAISED: NOTIFY_NEW,
    AlarmState.CHANGED: NOTIFY_CHANGED,
    AlarmState.CLEARED: NOTIFY_CLEARED,
}


def format_time(dt: datetime) -> str:
    """RFC 3339 UTC text with a ``Z`` suffix (microseconds only when non-zero)."""
    text = utc(dt).replace(tzinfo=None).isoformat()
    return text + "Z"


def dumps(message: Mapping[str, object]) -> bytes:
    """Serialise a JSON-ready dict to UTF-8 bytes (orjson when available)."""
    if _orjson is not None:
        return _orjson.dumps(message)
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode()


# --------------------------------------------------------------------------- PM / KPI


def pm_batch(
    managed_object: str,
    period_end: datetime,
    measurements: Mapping[str, float],
    *,
    granularity_s: int = 900,
    suspect: bool = False,
) -> dict[str, object]:
    """One PM batch message; NaN values are sent as ``null`` (not available)."""
    values = {
        name: (None if value is None or math.isnan(value) else float(value))
        for name, value in measurements.items()
    }
    return {
        "kind": PM_KIND,
        "v": 1,
        "managedObject": managed_object,
        "periodEnd": format_time(period_end),
        "granularityS": int(granularity_s),
        "suspect": bool(suspect),
        "measurements": values,
    }


def pm_batches(samples: Iterable[KpiSample]) -> Iterator[dict[str, object]]:
    """Group samples by (object, period, granularity) into PM batch messages.

    A batch is suspect when any of its samples is.
    """
    groups: dict[tuple[str, datetime, int], dict[str, float]] = defaultdict(dict)
    suspect: dict[tuple[str, datetime, int], bool] = defaultdict(bool)
    for s in samples:
        key = (s.managed_object, s.period_end, s.granularity_s)
        groups[key][s.measurement] = s.value
        suspect[key] = suspect[key] or s.suspect
    for (mo, end, gran), values in groups.items():
        yield pm_batch(mo, end, values, granularity_s=gran, suspect=suspect[(mo, end, gran)])


# --------------------------------------------------------------------------- alarms


def _href(system_dn: str, managed_object: str) -> str:
    return f"https://{quote(system_dn or 'ems')}/ProvMnS/v1/{quote(managed_object, safe='=,:-')}"


def alarm_message(
    alarm: Alarm,
    *,
    system_dn: str = "DC=twinrca.example,SubNetwork=1",
    notification_id: int | None = None,
) -> dict[str, object]:
    """A 3GPP alarm notification; the notification type follows ``alarm.state``.

    ``objectInstance`` carries the managed object's DN; ``href`` is its resource URI.
    """
    nid = alarm.notification_id if notification_id is None else notification_id
    if nid is None:
        raise ValueError("an alarm notification needs a notificationId")
    severity = (
        PerceivedSeverity.CLEARED if alarm.state is AlarmState.CLEARED else alarm.perceived_severity
    )
    message: dict[str, object] = {
        "href": _href(system_dn, alarm.managed_object),
        "notificationId": int(nid),
        "notificationType": _NOTIFICATION_FOR_STATE[AlarmState(alarm.state)],
        "eventTime": format_time(alarm.event_time),
        "systemDN": system_dn,
        "objectInstance": alarm.managed_object,
        "alarmId": alarm.alarm_id,
        "alarmType": str(alarm.alarm_type),
        "probableCause": alarm.probable_cause,
        "perceivedSeverity": str(severity),
    }
    if alarm.specific_problem:
        message["specificProblem"] = alarm.specific_problem
    if alarm.additional_text:
        message["additionalText"] = alarm.additional_text
    return message


# --------------------------------------------------------------------------- logs


def log_message(event: LogEvent) -> dict[str, object]:
    """A log event as JSON (``templateId`` only when known)."""
    message: dict[str, object] = {
        "time": format_time(event.time),
        "source": event.source,
        "severity": event.severity,
        "message": event.message,
    }
    if event.template_id is not None:
        message["templateId"] = event.template_id
    return message


def _sd_name(text: str, limit: int) -> str:
    cleaned = "".join(ch for ch in text if 33 <= ord(ch) <= 126)
    return cleaned[:limit] or "-"


def syslog_line(
    event: LogEvent,
    *,
    app_name: str = "twinrca",
    facility: int = 16,
    procid: str = "-",
    msgid: str = "-",
) -> str:
    """An RFC 5424 line ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`` (no newline).

    ``facility`` 16 is local0; the severity word maps through :data:`SYSLOG_SEVERITY`
    (unknown words become NOTICE). The host field carries ``event.source``.
    """
    severity = SYSLOG_SEVERITY.get(event.severity.upper(), SYSLOG_SEVERITY["NOTICE"])
    pri = facility * 8 + severity
    message = event.message.replace("\r", " ").replace("\n", " ")
    return (
        f"<{pri}>1 {format_time(event.time)} {_sd_name(event.source, 255)} "
        f"{_sd_name(app_name, 48)} {_sd_name(procid, 128)} {_sd_name(msgid, 32)} - {message}"
    )


# --------------------------------------------------------------------------- PM XML


def _xml_value(value: float) -> str:
    if value is None or math.isnan(value):
        return ""
    return repr(float(value))


def _meas_info(samples: list[KpiSample], end: datetime, gran: int, info_id: str) -> list[str]:
    types = sorted({s.measurement for s in samples})
    index = {name: i + 1 for i, name in enumerate(types)}
    by_object: dict[str, list[KpiSample]] = defaultdict(list)
    for s in samples:
        by_object[s.managed_object].append(s)
    lines = [
        f"    <measInfo measInfoId={quoteattr(info_id)}>",
        f'      <granPeriod duration="PT{gran}S" endTime="{format_time(end)}"/>',
        f'      <repPeriod duration="PT{gran}S"/>',
    ]
    lines += [f'      <measType p="{index[t]}">{escape(t)}</measType>' for t in types]
    for mo, rows in by_object.items():
        lines.append(f"      <measValue measObjLdn={quoteattr(mo)}>")
        lines += [f'        <r p="{index[s.measurement]}">{_xml_value(s.value)}</r>' for s in rows]
        suspect = "true" if any(s.suspect for s in rows) else "false"
        lines += [f"        <suspect>{suspect}</suspect>", "      </measValue>"]
    lines.append("    </measInfo>")
    return lines


def meas_collec_xml(
    samples: Iterable[KpiSample],
    *,
    vendor: str = "TwinRCA",
    sender: str = "twinrca-twin",
    element_dn: str = "",
) -> str:
    """A TS 32.435 ``measCollecFile`` for the given samples (usually one period).

    One ``measInfo`` per (period end, granularity). ``measObjLdn`` holds the full
    managed object name; ``element_dn`` (optional) becomes ``managedElement/@localDn``.
    """
    groups: dict[tuple[datetime, int], list[KpiSample]] = defaultdict(list)
    for s in samples:
        groups[(utc(s.period_end), s.granularity_s)].append(s)
    if not groups:
        raise ValueError("a measCollecFile needs at least one sample")
    begin = min(end.timestamp() - gran for end, gran in groups)
    last = max(end for end, _ in groups)
    begin_dt = datetime.fromtimestamp(begin, tz=last.tzinfo)
    element = f" localDn={quoteattr(element_dn)}" if element_dn else ""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<measCollecFile xmlns="{MEAS_COLLEC_NS}">',
        f'  <fileHeader fileFormatVersion="32.435 V10.0" vendorName={quoteattr(vendor)}>',
        f"    <fileSender senderName={quoteattr(sender)}/>",
        f'    <measCollec beginTime="{format_time(begin_dt)}"/>',
        "  </fileHeader>",
        "  <measData>",
        f"    <managedElement{element}/>",
    ]
    for i, ((end, gran), rows) in enumerate(sorted(groups.items(), key=lambda kv: kv[0])):
        lines += _meas_info(rows, end, gran, f"twinrca-{i + 1}")
    lines += [
        "  </measData>",
        "  <fileFooter>",
        f'    <measCollec endTime="{format_time(last)}"/>',
        "  </fileFooter>",
        "</measCollecFile>",
    ]
    return "\n".join(lines) + "\n"
