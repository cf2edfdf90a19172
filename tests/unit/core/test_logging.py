from __future__ import annotations

import json
import logging

from twinrca.runtime.logs import JsonFormatter


def test_json_formatter_keeps_extra_fields() -> None:
    record = logging.LogRecord(
        "twinrca.ingest", logging.WARNING, __file__, 1, "lag %d", (42,), None
    )
    record.topic = "twinrca.kpi"
    doc = json.loads(JsonFormatter().format(record))
    assert doc["message"] == "lag 42"
    assert doc["level"] == "WARNING"
    assert doc["topic"] == "twinrca.kpi"
