"""Syslog lines: RFC 5424 and RFC 3164 (BSD) into log columns.

RFC 5424: ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]``.
RFC 3164: ``<PRI>Mmm dd hh:mm:ss HOSTNAME TAG: MSG`` (no year and no zone: the year is
taken from ``year`` and the time is read as UTC). The severity is the low three bits
of PRI, stored as its RFC 5424 word (``ERROR``, ``WARNING`` ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from twinrca.core.errors import ValidationError
from twinrca.core.timeutil import utcnow
from twinrca.core.wire import SYSLOG_SEVERITY
from twinrca.ingest.columns import LogColumns
from twinrca.ingest.decode import MAX_TEXT, decode_log_json, time_ns

__all__ = ["decode_log", "parse_syslog"]

_WORD = {code: word for word, code in SYSLOG_SEVERITY.items()}
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<ver>[1-9]\d?) (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<proc>\S+) "
    r"(?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<msg>.*))?$",
    re.DOTALL,
)
_RFC3164 = re.compile(
    r"<(?P<pri>\d{1,3})>(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) "
    r"(?P<time>\d{2}:\d{2}:\d{2}) (?P<host>\S+) (?P<msg>.*)$",
    re.DOTALL,
)
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    )
}


def _severity(pri: str) -> str:
    value = int(pri)
    if value > 191:
        raise ValidationError("bad_syslog", f"PRI {value} out of range")
    return _WORD[value & 7]


def _rfc3164_time(m: re.Match[str], year: int) -> int:
    month = _MONTHS.get(m["mon"])
    if month is None:
        raise ValidationError("bad_syslog", f"month {m['mon']!r}")
    hh, mm, ss = (int(x) for x in m["time"].split(":"))
    try:
        dt = datetime(year, month, int(m["day"]), hh, mm, ss, tzinfo=UTC)
    except ValueError as exc:
        raise ValidationError("bad_time", f"bad RFC 3164 time: {exc}") from exc
    return int(dt.timestamp()) * 1_000_000_000


def parse_syslog(line: str, *, year: int | None = None) -> tuple[int, str, str, str]:
    """``(time_ns, source, severity, message)`` of one syslog line."""
    line = line.rstrip("\r\n")
    if len(line) > MAX_TEXT:
        raise ValidationError("too_large", "syslog line longer than 64 KiB")
    m = _RFC5424.match(line)
    if m is not None:
        ts = m["ts"]
        if ts == "-":
            raise ValidationError("bad_time", "RFC 5424 line without a timestamp")
        when = time_ns(ts, "timestamp")
        source = m["host"] if m["host"] != "-" else m["app"]
        message = m["msg"] or ""
        if message.startswith("\ufeff"):
            message = message[1:]
        return when, source, _severity(m["pri"]), message
    m = _RFC3164.match(line)
    if m is not None:
        when = _rfc3164_time(m, year if year is not None else utcnow().year)
        return when, m["host"], _severity(m["pri"]), m["msg"]
    raise ValidationError("bad_syslog", "neither an RFC 5424 nor an RFC 3164 line")


def decode_log(
    data: bytes, out: LogColumns, *, year: int | None = None, template_id: str | None = None
) -> None:
    """A log message: JSON object (starts with ``{``) or a syslog line (``<``)."""
    head = data.lstrip()[:1]
    if head == b"{":
        decode_log_json(data, out, template_id)
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("bad_syslog", "syslog line is not UTF-8") from exc
    if "\x00" in text:
        raise ValidationError("bad_syslog", "syslog line contains NUL")
    when, source, severity, message = parse_syslog(text, year=year)
    out.rows.append((when, source, severity, message, template_id))
