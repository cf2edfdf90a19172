"""Tell stream files from the other files that live beside them.

A folder handed to the file source often holds more than streams: the twin writes
``labels.csv`` and ``topology.json`` next to ``streams/``, an export has a README.
Such files are skipped with a reason instead of being read line by line into
thousands of dead letters. The test looks at the head of a file only:

* JSON (``.jsonl`` ...): a stream when one of the first lines is a JSON object with
  ``measurements``, ``notificationType`` or ``message``, or a VES event (or the whole
  file is one VES event / ``eventList``, pretty-printed). Skipped when those lines are
  JSON of another kind, or when the whole file is one (pretty-printed) JSON document.
  Lines that are no JSON at all stay a stream: they are dead-lettered.
* syslog (``.log`` ...): a stream when one of the first lines starts with ``<PRI>``
  or ``{``.
* CSV: a stream when the header is a PM export layout (``managed_object`` and
  ``period_end`` or their aliases).
* XML: always decoded (a refused file is a dead letter with its reason, e.g.
  ``xml_forbidden`` for a DTD).

Binary data under a text suffix (an image or an archive named ``.csv``) is no file to
skip quietly: :func:`binary_reason` tells it, and the file source dead-letters it as one
``unreadable_file``. A file is binary when its first line has a NUL or another control
byte (tab, CR, form feed and vertical tab are text) or is not UTF-8, and nothing in its
head is a record of its kind (a PM CSV header, a syslog or JSON line): the bad bytes of
a text stream cost only their own lines.
"""

from __future__ import annotations

import csv
import io
import re

import orjson

from twinrca.ingest.pmcsv import is_pm_csv_header
from twinrca.ingest.ves import is_ves

__all__ = ["HEAD_LINES", "binary_reason", "not_stream_reason"]

HEAD_LINES = 20
_STREAM_KEYS = ("measurements", "notificationType", "message")
_SYSLOG_HEAD = re.compile(rb"\s*(<\d{1,3}>|\{)")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
_PROBE = 4096  # bytes of the first line looked at


def _head(data: bytes, n: int = HEAD_LINES) -> list[bytes]:
    out: list[bytes] = []
    start = 0
    while len(out) < n and start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end]
        if line.strip():
            out.append(line)
        start = end + 1
    return out


def _json_reason(data: bytes) -> str | None:
    other = 0
    for line in _head(data):
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(doc, dict) and (any(k in doc for k in _STREAM_KEYS) or is_ves(doc)):
            return None
        other += 1
    if other:
        return "JSON but no PM batch, alarm or log event in its first lines"
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            whole = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if isinstance(whole, dict) and is_ves(whole):
            return None  # one VES event or eventList, pretty-printed
        return "one JSON document, not JSON lines of PM batches, alarms or log events"
    return None


def _syslog_reason(data: bytes) -> str | None:
    head = _head(data)
    if not head or any(_SYSLOG_HEAD.match(line) for line in head):
        return None
    return "no syslog (<PRI>...) or JSON log line in its first lines"


def _csv_header(line: bytes) -> list[str]:
    """The cells of a CSV header line (up to a bare carriage return, which ends it)."""
    text = line.split(b"\r", 1)[0].decode("utf-8", "replace")
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error:  # e.g. an unterminated quote: no header the PM reader could use
        return [text]


def _csv_reason(data: bytes) -> str | None:
    head = _head(data, 1)
    if not head:
        return "empty CSV file"
    header = _csv_header(head[0])
    if is_pm_csv_header(header):
        return None
    shown = ",".join(header)[:80]
    return f"CSV header is no PM export (needs managed_object and period_end): {shown}"


def _binary_line(line: bytes) -> bool:
    probe = line[:_PROBE]
    if _CONTROL.search(probe):
        return True
    try:
        probe.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(probe) - 3  # not just a character cut by the probe
    return False


def _has_record(kind: str, data: bytes) -> bool:
    """Whether the head holds one record of the kind (so the file is a stream)."""
    if kind == ".csv":
        return is_pm_csv_header(_csv_header(_head(data, 1)[0]))
    if kind in (".log", ".syslog", ".txt"):
        return any(_SYSLOG_HEAD.match(line) for line in _head(data))
    for line in _head(data):
        try:
            if isinstance(orjson.loads(line), dict):
                return True
        except orjson.JSONDecodeError:
            continue
    return False


def binary_reason(kind: str, data: bytes) -> str | None:
    """Why a file of a text ``kind`` holds binary data rather than text; None if it is
    text (or XML, which its parser judges)."""
    if kind not in (".csv", ".jsonl", ".ndjson", ".json", ".log", ".syslog", ".txt"):
        return None
    head = _head(data, 1)
    if not head or not _binary_line(head[0]) or _has_record(kind, data):
        return None
    return f"binary data, not {kind} text: its first line has NUL or control bytes or is not UTF-8"


def not_stream_reason(kind: str, data: bytes) -> str | None:
    """Why a file of ``kind`` (its suffix, e.g. ``.jsonl``) is no stream; None if it is."""
    if kind in (".jsonl", ".ndjson", ".json"):
        return _json_reason(data)
    if kind in (".log", ".syslog", ".txt"):
        return _syslog_reason(data)
    if kind == ".csv":
        return _csv_reason(data)
    return None
