"""File sources for the embedded mode: the same decoders over files and folders.

Formats by extension: ``.jsonl`` / ``.ndjson`` / ``.json`` (JSON lines; each line is a
PM batch, an alarm notification or a log event, told apart by its keys), ``.xml``
(one measCollecFile), ``.csv`` (PM export), ``.log`` / ``.syslog`` / ``.txt`` (syslog
lines). Gzip-compressed files (``.gz``) are read too. Rows go to the store in batches
(duplicates skipped, so re-reading a file is harmless); refused lines become dead
letters whose source topic is ``file:<path>`` and offset the line number.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from twinrca.core.errors import ValidationError
from twinrca.ingest.columns import Columns
from twinrca.ingest.deadletter import DeadLetter
from twinrca.ingest.decode import decode_alarm, decode_pm_json, load_json
from twinrca.ingest.pipeline import BatchWriter, Decoded
from twinrca.ingest.pmcsv import decode_pm_csv
from twinrca.ingest.pmxml import decode_pm_xml
from twinrca.ingest.syslog import decode_log
from twinrca.store.base import Store

__all__ = ["FileIngestResult", "decode_json_line", "ingest_files", "iter_files"]

log = logging.getLogger(__name__)

_JSON = {".jsonl", ".ndjson", ".json"}
_SYSLOG = {".log", ".syslog", ".txt"}
SUFFIXES = _JSON | _SYSLOG | {".xml", ".csv"}


@dataclass(slots=True)
class FileIngestResult:
    files: int = 0
    messages: int = 0
    kpis_written: int = 0
    alarms_written: int = 0
    logs_written: int = 0
    duplicates_skipped: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)


def _kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and supported files inside named folders (sorted)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and _kind(p) in SUFFIXES)
        elif path.is_file():
            yield path
        else:
            raise ValidationError("missing_file", f"no such file or folder: {path}")


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix.lower() == ".gz" else data


def decode_json_line(line: bytes, cols: Columns) -> None:
    """A JSON line of any kind (PM batch, alarm notification, log event)."""
    doc = load_json(line)
    if "measurements" in doc:
        decode_pm_json(line, cols.kpis)
    elif "notificationType" in doc:
        decode_alarm(line, cols.alarms)
    elif "message" in doc:
        decode_log(line, cols.logs)
    else:
        raise ValidationError("unknown_kind", "JSON line is no PM batch, alarm or log event")


def _lines(
    path: Path, data: bytes, batch: Decoded, decode: Callable[[bytes, Columns], None]
) -> Iterator[int]:
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            decode(line, batch.columns)
            batch.good += 1
        except ValidationError as exc:
            batch.dead.append(DeadLetter.of(line, exc, f"file:{path}", 0, number))
        yield 1


def _file(path: Path, batch: Decoded) -> Iterator[int]:
    kind = _kind(path)
    data = _read(path)
    if kind in _JSON:
        yield from _lines(path, data, batch, decode_json_line)
    elif kind in _SYSLOG:
        yield from _lines(path, data, batch, lambda b, c: decode_log(b, c.logs))
    elif kind == ".xml":
        try:
            decode_pm_xml(data, batch.columns.kpis)
            batch.good += 1
        except ValidationError as exc:
            batch.dead.append(DeadLetter.of(data, exc, f"file:{path}", 0, 0))
        yield 1
    elif kind == ".csv":
        for line, raw, exc in decode_pm_csv(data.decode("utf-8", "replace"), batch.columns.kpis):
            batch.dead.append(DeadLetter.of(raw.encode(), exc, f"file:{path}", 0, line))
        yield 1
    else:
        raise ValidationError("unknown_kind", f"unsupported file type: {path.name}")


def ingest_files(
    paths: Iterable[str | Path],
    store: Store,
    *,
    dead_letters: Callable[[list[DeadLetter]], None] | None = None,
    batch_rows: int = 100_000,
    progress: Callable[[Path], None] | None = None,
) -> FileIngestResult:
    """Decode every file and write its rows; dead letters go to ``dead_letters``
    (and are returned)."""
    result = FileIngestResult()
    writer = BatchWriter(store, group=None, dead_letters=dead_letters or (lambda d: None))

    def flush(batch: Decoded) -> None:
        """Write the batch and empty it IN PLACE: the file decoder still holds it."""
        if batch.size:
            r = writer.write(batch)
            result.kpis_written += r.kpis_written
            result.alarms_written += r.alarms_written
            result.logs_written += r.logs_written
            result.duplicates_skipped += r.duplicates_skipped
            result.dead_letters.extend(batch.dead)
        fresh = Decoded()
        batch.columns, batch.dead, batch.offsets = fresh.columns, fresh.dead, fresh.offsets
        batch.messages, batch.good = fresh.messages, fresh.good

    batch = Decoded()
    for path in iter_files(paths):
        result.files += 1
        for n in _file(path, batch):
            result.messages += n
            if batch.size >= batch_rows:
                flush(batch)
        if progress is not None:
            progress(path)
    flush(batch)
    return result
