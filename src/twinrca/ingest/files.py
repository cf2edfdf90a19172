"""File sources for the embedded mode: the same decoders over files and folders.

Formats by extension: ``.jsonl`` / ``.ndjson`` / ``.json`` (JSON lines; each line is a
PM batch, an alarm notification, a log event or a VES event, told apart by its keys;
or one VES document, pretty-printed), ``.xml`` (a TS 32.435 measCollecFile or TS 28.532
measDataFile: each value is stored or dead-lettered on its own), ``.csv`` (PM export),
``.log`` / ``.syslog`` / ``.txt`` (syslog lines). Vendor formats (PM XML, VES) get their
KPIs derived from their counters and their DN-named objects resolved to the topology's
elements (:mod:`twinrca.ingest.vendor`; the topology given, else the store's).
Gzip-compressed files (``.gz``) are read too. Files that are not streams
(``labels.csv``, ``topology.json``, a README: see :mod:`twinrca.ingest.sniff`) are
skipped with a reason; binary data under a text suffix, a corrupt ``.gz`` and a file
that cannot be read become one ``unreadable_file`` dead letter each. Rows go to the
store in batches (duplicates skipped, so re-reading a file is harmless); refused lines
become dead letters whose source topic is ``file:<path>`` and offset the line number;
:func:`dead_letter_file_sink` writes them as JSON lines (reason, detail, source, time,
original bytes in base64).

Log rows get template ids in batch mode: all log lines of a file are learned before
any is named (:meth:`~twinrca.ingest.logtag.LogTagger.tag_file`), so ids are stable
within a file; the templater state is loaded from and saved to the store.
Rates and dead-letter counts are recorded in the store
(:class:`~twinrca.ingest.storemetrics.StoreMetricsReporter`, label ``source=files``).
"""

from __future__ import annotations

import csv
import gzip
import logging
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from twinrca.core.dn import DnIndex
from twinrca.core.errors import ValidationError
from twinrca.core.topology import Topology
from twinrca.ingest.columns import AlarmColumns, Columns, LogColumns
from twinrca.ingest.deadletter import DeadLetter, DeadLetterSink, dead_letter_file_sink
from twinrca.ingest.decode import decode_alarm, decode_pm_json, load_json
from twinrca.ingest.kpimap import KpiMapping
from twinrca.ingest.logtag import LogTagger
from twinrca.ingest.metrics import IngestMetrics
from twinrca.ingest.pipeline import BatchWriter, Decoded
from twinrca.ingest.pmcsv import decode_pm_csv
from twinrca.ingest.pmxml import read_pm_xml
from twinrca.ingest.sniff import binary_reason, not_stream_reason
from twinrca.ingest.storemetrics import StoreMetricsReporter
from twinrca.ingest.syslog import decode_log
from twinrca.ingest.vendor import Normaliser
from twinrca.ingest.ves import decode_ves, is_ves
from twinrca.store.base import Store

__all__ = [
    "FileIngestResult",
    "dead_letter_file_sink",
    "decode_json_line",
    "ingest_files",
    "iter_files",
]

log = logging.getLogger(__name__)

_JSON = {".jsonl", ".ndjson", ".json"}
_SYSLOG = {".log", ".syslog", ".txt"}
SUFFIXES = _JSON | _SYSLOG | {".xml", ".csv"}
LOG_CHUNK = 500_000  # log rows of one file templated together (bounds memory)


@dataclass(slots=True)
class FileIngestResult:
    files: int = 0
    messages: int = 0
    kpis_written: int = 0
    alarms_written: int = 0
    logs_written: int = 0
    duplicates_skipped: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[Path, str]] = field(default_factory=list)
    #: counter values read by a KPI, KPI values derived, counter values left unmapped
    kpis_mapped: int = 0
    kpis_derived: int = 0
    kpis_unmapped: int = 0
    unmapped_counters: Counter[str] = field(default_factory=Counter)
    #: objects (DNs) of vendor files the topology does not hold -> values stored
    unknown_objects: dict[str, int] = field(default_factory=dict)

    @property
    def rows_written(self) -> int:
        return self.kpis_written + self.alarms_written + self.logs_written

    def dead_letters_by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(d.reason for d in self.dead_letters).items()))


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


def _readable(path: Path, kind: str, run: _Run) -> bytes | None:
    """The file's (decompressed) bytes, or None after one ``unreadable_file`` dead letter
    for a file that cannot be read or decompressed, or that holds binary data."""
    try:
        data = _read(path)
        why = binary_reason(kind, data)
    except (OSError, EOFError, zlib.error) as exc:
        data = b""
        why = f"{type(exc).__name__}: {exc.strerror if isinstance(exc, OSError) else exc}"
    if why is None:
        return data
    log.warning("unreadable file %s: %s", path, why)
    err = ValidationError("unreadable_file", f"{path}: {why}")
    run.dead(DeadLetter.of(data, err, f"file:{path}", 0, 0))
    return None


def decode_json_line(line: bytes, cols: Columns, normaliser: Normaliser | None = None) -> None:
    """A JSON line of any kind (PM batch, alarm notification, log event, VES event).

    With a ``normaliser``, alarms' objects are resolved to topology elements and VES
    KPIs are staged in it (the caller flushes it); without one, VES KPIs are derived
    at once."""
    doc = load_json(line)
    if is_ves(doc):
        staged = Columns()
        decode_ves(line, staged)
        norm = normaliser or Normaliser()
        norm.stage(staged, cols)
        if normaliser is None:
            norm.flush(cols.kpis)
    elif "measurements" in doc:
        decode_pm_json(line, cols.kpis)
    elif "notificationType" in doc:
        if normaliser is None:
            decode_alarm(line, cols.alarms)
        else:
            staged_alarms = AlarmColumns()
            decode_alarm(line, staged_alarms)
            normaliser.alarms(staged_alarms.rows, cols)
    elif "message" in doc:
        decode_log(line, cols.logs)
    else:
        raise ValidationError(
            "unknown_kind", "JSON line is no PM batch, alarm, log event or VES event"
        )


class _Run:
    """One ingest run: the current batch, the per-file log rows, flushing and counting."""

    def __init__(
        self,
        writer: BatchWriter,
        tagger: LogTagger | None,
        batch_rows: int,
        result: FileIngestResult,
        normaliser: Normaliser,
    ) -> None:
        self.writer, self.tagger, self.batch_rows, self.result = writer, tagger, batch_rows, result
        self.normaliser = normaliser
        self.batch = Decoded()
        self.file_logs = LogColumns()
        self.cols = self._columns()

    def _columns(self) -> Columns:
        # KPIs and alarms go straight to the batch; logs wait for their file's templates
        return Columns(
            kpis=self.batch.columns.kpis, alarms=self.batch.columns.alarms, logs=self.file_logs
        )

    def json_line(self, line: bytes, cols: Columns) -> None:
        decode_json_line(line, cols, self.normaliser)

    def good(self) -> None:
        self.batch.good += 1

    def dead(self, letter: DeadLetter) -> None:
        self.batch.dead.append(letter)

    def dead_parts(self, source: str, offset: int) -> None:
        """The parts of the last message refused alone, as dead letters."""
        for part in self.cols.rejected:
            self.dead(DeadLetter.of_rejected(part, source, 0, offset))
        self.cols.rejected.clear()

    def end_file(self) -> None:
        """The file's log rows into the batch (vendor KPIs wait in the normaliser, to be
        derived many files at once)."""
        self.end_logs()

    def end_logs(self) -> None:
        """Template the pending log rows and move them into the batch."""
        if self.file_logs.rows:
            if self.tagger is not None:
                self.tagger.tag_file(self.file_logs)
            self.batch.columns.logs.rows.extend(self.file_logs.rows)
            self.file_logs.rows.clear()

    def maybe_flush(self) -> None:
        if len(self.file_logs) >= LOG_CHUNK:
            self.end_logs()
        if self.batch.size + len(self.normaliser.pending) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        self.normaliser.flush(self.batch.columns.kpis)
        batch = self.batch
        if batch.size:
            r = self.writer.write(batch)
            res = self.result
            res.kpis_written += r.kpis_written
            res.alarms_written += r.alarms_written
            res.logs_written += r.logs_written
            res.duplicates_skipped += r.duplicates_skipped
            res.dead_letters.extend(batch.dead)
        self.batch = Decoded()
        self.cols = self._columns()


def _lines(path: Path, data: bytes, run: _Run, decode: Callable[[bytes, Columns], None]) -> int:
    n = 0
    source = f"file:{path}"
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        n += 1
        try:
            decode(line, run.cols)
            run.good()
        except ValidationError as exc:
            run.dead(DeadLetter.of(line, exc, source, 0, number))
        run.dead_parts(source, number)
        run.maybe_flush()
    return n


def _csv(path: Path, data: bytes, run: _Run) -> None:
    try:
        for line, raw, exc in decode_pm_csv(data.decode("utf-8", "surrogateescape"), run.cols.kpis):
            run.dead(
                DeadLetter.of(raw.encode("utf-8", "surrogateescape"), exc, f"file:{path}", 0, line)
            )
    except ValidationError as exc:  # the header: the whole file is refused
        run.dead(DeadLetter.of(data, exc, f"file:{path}", 0, 0))


def _ves_document(data: bytes) -> bool:
    """One (pretty-printed) VES document rather than JSON lines."""
    if data.count(b"\n") < 2 or data.lstrip()[:1] != b"{":
        return False
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and is_ves(doc)


def _xml(path: Path, data: bytes, run: _Run) -> None:
    source = f"file:{path}"
    try:
        pm = read_pm_xml(data)
    except ValidationError as exc:  # no XML, or no PM file: refused whole
        run.dead(DeadLetter.of(data, exc, source, 0, 0))
        return
    run.good()
    run.normaliser.pending.extend(pm.kpis)
    run.cols.rejected.extend(pm.rejected)
    run.dead_parts(source, 0)
    run.result.warnings.extend((path, w) for w in pm.warnings)


def _file(path: Path, kind: str, data: bytes, run: _Run) -> int:
    """Decode one file; the number of messages (lines, or 1 for a whole file)."""
    if kind in _JSON:
        if _ves_document(data):
            return _lines(path, orjson.dumps(orjson.loads(data)), run, run.json_line)
        return _lines(path, data, run, run.json_line)
    if kind in _SYSLOG:
        return _lines(path, data, run, lambda b, c: decode_log(b, c.logs))
    if kind == ".xml":
        _xml(path, data, run)
        return 1
    if kind == ".csv":
        _csv(path, data, run)
        return 1
    raise ValidationError("unknown_kind", f"unsupported file type: {path.name}")


def _file_or_dead_letter(path: Path, kind: str, data: bytes, run: _Run) -> int:
    """:func:`_file`, except that a file its parser cannot read as a whole becomes one
    dead letter (``unreadable_file``, the path and the parser's message) and the run goes
    on; rows decoded before the failure are valid and kept."""
    try:
        return _file(path, kind, data, run)
    except (ValidationError, csv.Error, UnicodeError, ValueError, OverflowError) as exc:
        log.warning("unreadable file %s: %s", path, exc)
        err = ValidationError("unreadable_file", f"{path}: {type(exc).__name__}: {exc}")
        run.dead(DeadLetter.of(data, err, f"file:{path}", 0, 0))
        return 1


def ingest_files(
    paths: Iterable[str | Path],
    store: Store,
    *,
    dead_letters: DeadLetterSink | None = None,
    batch_rows: int = 100_000,
    progress: Callable[[Path], None] | None = None,
    log_templates: bool = True,
    metrics: IngestMetrics | None = None,
    metrics_interval_s: float = 10.0,
    kpi_mapping: KpiMapping | None = None,
    topology: Topology | None = None,
) -> FileIngestResult:
    """Decode every stream file and write its rows; dead letters go to ``dead_letters``
    (and are returned); files that are not streams are skipped (``result.skipped``).
    ``kpi_mapping`` (default: the shipped one) derives KPIs from vendor counters;
    ``topology`` (default: the store's) resolves DN-named objects to elements."""
    result = FileIngestResult()
    metrics = metrics or IngestMetrics()
    writer = BatchWriter(
        store, group=None, dead_letters=dead_letters or (lambda d: None), metrics=metrics
    )
    reporter = StoreMetricsReporter(
        store, metrics, interval_s=metrics_interval_s, labels={"source": "files"}
    )
    tagger = LogTagger(store) if log_templates else None
    topology = topology if topology is not None else store.load_topology()
    normaliser = Normaliser(kpi_mapping, DnIndex.of(topology) if topology is not None else None)
    run = _Run(writer, tagger, batch_rows, result, normaliser)
    for path in iter_files(paths):
        kind = _kind(path)
        data = _readable(path, kind, run)
        reason = not_stream_reason(kind, data) if data is not None else None
        if data is None:
            result.files += 1
            result.messages += 1
            run.maybe_flush()
        elif reason is not None:
            log.warning("skipped %s: %s", path, reason)
            result.skipped.append((path, reason))
        else:
            result.files += 1
            result.messages += _file_or_dead_letter(path, kind, data, run)
            run.end_file()
            run.maybe_flush()
            reporter.maybe_report()
        if progress is not None:
            progress(path)
    run.flush()
    _counts(result, normaliser)
    if tagger is not None:
        tagger.save()
    reporter.report()
    return result


def _counts(result: FileIngestResult, normaliser: Normaliser) -> None:
    stats = normaliser.stats
    result.kpis_mapped, result.kpis_derived = stats.mapped, stats.derived
    result.kpis_unmapped, result.unmapped_counters = stats.unmapped, stats.unmapped_names
    result.unknown_objects = dict(normaliser.unknown_objects)
