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
"""

from __future__ import annotations

import csv
import io
import re

import orjson

from twinrca.ingest.pmcsv import is_pm_csv_header
from twinrca.ingest.ves import is_ves

__all__ = ["HEAD_LINES", "not_stream_reason"]

HEAD_LINES = 20
_STREAM_KEYS = ("measurements", "notificationType", "message")
_SYSLOG_HEAD = re.compile(rb"\s*(<\d{1,3}>|\{)")


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


def _csv_reason(data: bytes) -> str | None:
    head = _head(data, 1)
    if not head:
        return "empty CSV file"
    header = next(csv.reader(io.StringIO(head[0].decode("utf-8", "replace"))), [])
    if is_pm_csv_header(header):
        return None
    shown = ",".join(header)[:80]
    return f"CSV header is no PM export (needs managed_object and period_end): {shown}"


def not_stream_reason(kind: str, data: bytes) -> str | None:
    """Why a file of ``kind`` (its suffix, e.g. ``.jsonl``) is no stream; None if it is."""
    if kind in (".jsonl", ".ndjson", ".json"):
        return _json_reason(data)
    if kind in (".log", ".syslog", ".txt"):
        return _syslog_reason(data)
    if kind == ".csv":
        return _csv_reason(data)
    return None
