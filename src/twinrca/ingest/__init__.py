"""Ingest: decoders (JSON, 3GPP PM XML, CSV, syslog), validation, dead letters, the Kafka
worker, file sources and the EMS replayer. See docs/formats.md."""

from twinrca.ingest.columns import Columns
from twinrca.ingest.deadletter import DeadLetter
from twinrca.ingest.decode import REASONS, decode_alarm, decode_log_json, decode_pm_json
from twinrca.ingest.files import FileIngestResult, dead_letter_file_sink, ingest_files
from twinrca.ingest.logtag import LogTagger
from twinrca.ingest.metrics import IngestMetrics
from twinrca.ingest.pipeline import BatchBuilder, BatchWriter, Message
from twinrca.ingest.pmcsv import decode_pm_csv
from twinrca.ingest.pmxml import decode_pm_xml
from twinrca.ingest.replay import replay
from twinrca.ingest.sniff import not_stream_reason
from twinrca.ingest.storemetrics import StoreMetricsReporter
from twinrca.ingest.syslog import decode_log, parse_syslog
from twinrca.ingest.topics import Topics
from twinrca.ingest.worker import IngestWorker, WorkerConfig

__all__ = [
    "REASONS",
    "BatchBuilder",
    "BatchWriter",
    "Columns",
    "DeadLetter",
    "FileIngestResult",
    "IngestMetrics",
    "IngestWorker",
    "LogTagger",
    "Message",
    "StoreMetricsReporter",
    "Topics",
    "WorkerConfig",
    "dead_letter_file_sink",
    "decode_alarm",
    "decode_log",
    "decode_log_json",
    "decode_pm_csv",
    "decode_pm_json",
    "decode_pm_xml",
    "ingest_files",
    "not_stream_reason",
    "parse_syslog",
    "replay",
]
