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


def test_log_lines_follow_stderr_after_it_is_replaced(monkeypatch) -> None:
    """set up on one stderr, which is then closed and replaced (as a caller's capture
    does): records go to the current stderr, no logging error on the closed one"""
    import io
    import sys

    from twinrca.runtime.logs import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    try:
        setup_logging("INFO", json_lines=False)
        first.close()
        second = io.StringIO()
        monkeypatch.setattr(sys, "stderr", second)
        # through the installed handler itself: other loggers' levels are not this test's
        (handler,) = root.handlers
        handler.handle(
            logging.LogRecord("twinrca.test", logging.INFO, __file__, 1, "after the swap", (), None)
        )
        assert "after the swap" in second.getvalue()
        assert "Logging error" not in second.getvalue()
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
