"""Writers of the operators' formats as vendors emit them (tests, benches, the twin).

* :func:`pm_file_xml`: a TS 32.435 ``measCollecFile`` (``measType p=`` / ``r p=``) or a
  TS 28.532 ``measDataFile`` (``measTypes`` / ``measResults`` lists), objects named by
  ``dnPrefix`` + local DN, multi-valued counters as comma lists with the trailing comma
  vendors write, ``suspect`` flags, and optionally an ``<?xml-stylesheet?>`` line
  before the XML declaration;
* :func:`ves_fault`, :func:`ves_measurement`, :func:`ves_stnd_defined`,
  :func:`ves_batch`: ONAP / O-RAN VES 7.x events as dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from twinrca.core.wire import format_time

__all__ = [
    "STYLESHEET",
    "Value",
    "pm_file_xml",
    "ves_batch",
    "ves_fault",
    "ves_measurement",
    "ves_stnd_defined",
]

STYLESHEET = '<?xml-stylesheet type="text/xsl" href="MeasDataCollection.xsl"?>'
_NS = {
    "measCollecFile": "http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec",
    "measDataFile": "http://www.3gpp.org/ftp/specs/archive/28_series/28.532#measData",
}
Value = float | Sequence[float] | str | None


def _text(value: Value) -> str:
    if value is None:
        return "NIL"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "".join(f"{float(v):.10g}," for v in value)  # trailing comma, as vendors write
    number = float(value)  # type: ignore[arg-type]  # a number (sequences handled above)
    return f"{number:.10g}" if number == number else "NIL"  # NaN: not available


def _info_p(counters: list[str], objects: Mapping[str, Mapping[str, Value]], suspect) -> list[str]:
    lines = [f'      <measType p="{i + 1}">{escape(c)}</measType>' for i, c in enumerate(counters)]
    for ldn, values in objects.items():
        lines.append(f"      <measValue measObjLdn={quoteattr(ldn)}>")
        lines += [
            f'        <r p="{i + 1}">{escape(_text(values.get(c)))}</r>'
            for i, c in enumerate(counters)
            if c in values
        ]
        if ldn in suspect:
            lines.append("        <suspect>true</suspect>")
        lines.append("      </measValue>")
    return lines


def _info_list(
    counters: list[str], objects: Mapping[str, Mapping[str, Value]], suspect
) -> list[str]:
    lines = [f"      <measTypes>{escape(' '.join(counters))}</measTypes>"]
    for ldn, values in objects.items():
        results = " ".join(escape(_text(values.get(c))) for c in counters)
        flag = "true" if ldn in suspect else "false"
        lines += [
            f"      <measValue measObjLdn={quoteattr(ldn)}>",
            f"        <measResults>{results}</measResults>",
            f"        <suspect>{flag}</suspect>",
            "      </measValue>",
        ]
    return lines


def pm_file_xml(
    objects: Mapping[str, Mapping[str, Value]],
    end: datetime,
    granularity_s: int = 900,
    *,
    dn_prefix: str = "",
    root: str = "measCollecFile",
    stylesheet_first: bool = False,
    suspect: Sequence[str] = (),
    element_dn: str = "",
    vendor: str = "TwinRCA",
) -> bytes:
    """One PM file of one period: ``objects`` maps local DNs to counter values."""
    counters = sorted({c for values in objects.values() for c in values})
    begin = end - timedelta(seconds=granularity_s)
    collec = "measCollec" if root == "measCollecFile" else "measData"
    entity = "managedElement" if root == "measCollecFile" else "measEntity"
    head = [STYLESHEET] if stylesheet_first else []
    lines = [
        *head,
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<{root} xmlns="{_NS[root]}">',
        f"  <fileHeader dnPrefix={quoteattr(dn_prefix)} vendorName={quoteattr(vendor)}"
        ' fileFormatVersion="32.435 V10.0">',
        '    <fileSender senderName="twinrca"/>',
        f'    <{collec} beginTime="{format_time(begin)}"/>',
        "  </fileHeader>",
        "  <measData>",
        f"    <{entity} localDn={quoteattr(element_dn)}/>",
        '    <measInfo measInfoId="twinrca">',
        f'      <granPeriod duration="PT{granularity_s}S" endTime="{format_time(end)}"/>',
        *(_info_p if root == "measCollecFile" else _info_list)(counters, objects, set(suspect)),
        "    </measInfo>",
        "  </measData>",
        f'  <fileFooter><{collec} endTime="{format_time(end)}"/></fileFooter>',
        f"</{root}>",
    ]
    return ("\n".join(lines) + "\n").encode()


def _header(domain: str, source: str, when: datetime, event_id: str, seq: int, **extra) -> dict:
    micros = int(when.timestamp() * 1_000_000)
    return {
        "domain": domain,
        "eventId": event_id,
        "eventName": f"{domain}_twinrca",
        "sequence": seq,
        "priority": "High",
        "reportingEntityName": "twinrca",
        "sourceName": source,
        "startEpochMicrosec": micros,
        "lastEpochMicrosec": micros,
        "version": "4.1",
        "vesEventListenerVersion": "7.2",
        **extra,
    }


def ves_fault(
    source: str,
    condition: str,
    when: datetime,
    *,
    severity: str = "MAJOR",
    problem: str = "",
    event_id: str = "",
    sequence: int = 0,
    category: str = "",
    source_type: str = "gNB",
) -> dict:
    """A VES ``fault`` event (``severity`` ``NORMAL`` clears)."""
    fields: dict[str, object] = {
        "faultFieldsVersion": "4.0",
        "alarmCondition": condition,
        "eventSourceType": source_type,
        "specificProblem": problem,
        "eventSeverity": severity,
        "vfStatus": "Active",
    }
    if category:
        fields["eventCategory"] = category
    eid = event_id or f"fault-{source}-{condition}"
    header = _header("fault", source, when, eid, sequence)
    return {"event": {"commonEventHeader": header, "faultFields": fields}}


def ves_measurement(
    source: str, when: datetime, values: Mapping[str, float], *, interval_s: int = 900
) -> dict:
    """A VES ``measurement`` event carrying ``values`` in ``additionalMeasurements``."""
    header = _header("measurement", source, when, f"meas-{source}-{when:%Y%m%d%H%M}", 0)
    header["startEpochMicrosec"] = int((when.timestamp() - interval_s) * 1_000_000)
    fields = {
        "measurementFieldsVersion": "4.0",
        "measurementInterval": interval_s,
        "additionalMeasurements": [
            {"name": "kpis", "hashMap": {k: f"{v:.10g}" for k, v in values.items() if v == v}}
        ],
    }
    return {"event": {"commonEventHeader": header, "measurementFields": fields}}


def ves_stnd_defined(notification: Mapping[str, object], source: str, when: datetime) -> dict:
    """A VES ``stndDefined`` event carrying a 3GPP fault supervision notification."""
    header = _header(
        "stndDefined",
        source,
        when,
        f"stnd-{notification.get('alarmId', '')}-{notification.get('notificationId', 0)}",
        0,
        stndDefinedNamespace="3GPP-FaultSupervision",
    )
    fields = {
        "schemaReference": "https://forge.3gpp.org/rep/sa5/MnS/blob/SA88-Rel16/OpenAPI/"
        "faultMnS.yaml#components/schemas/NotifyNewAlarm",
        "data": dict(notification),
        "stndDefinedFieldsVersion": "1.0",
    }
    return {"event": {"commonEventHeader": header, "stndDefinedFields": fields}}


def ves_batch(events: Sequence[Mapping[str, object]]) -> dict:
    """An ``eventList`` of events made by the functions above."""
    return {"eventList": [e["event"] for e in events]}
