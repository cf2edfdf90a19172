"""Bad configuration fails fast with one line that says what to fix, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

TWINRCA = (sys.executable, "-m", "twinrca")


def _run(env: dict[str, str], *args: str, timeout: float = 60) -> tuple[int, str, float]:
    full = {**os.environ, **env}
    full.pop("TWINRCA_CONFIG", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [*TWINRCA, *args], env=full, capture_output=True, text=True, timeout=timeout
    )
    return proc.returncode, proc.stderr, time.monotonic() - t0


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("postgresql://postgres@127.0.0.1:1/x", "Connection refused"),
        ("postgresql://nobody:secret@{pg}/postgres", 'role "nobody" does not exist'),
    ],
)
@pytest.mark.integration
def test_unreachable_or_wrong_credentials_database(pg_url, url, needle) -> None:
    pg = pg_url.split("@", 1)[1].split("/", 1)[0]
    code, err, took = _run(
        {"TWINRCA_STORE__BACKEND": "postgres", "TWINRCA_STORE__URL": url.format(pg=pg)},
        "store",
        "info",
    )
    assert code == 2
    assert needle in err and "TWINRCA_STORE__URL" in err
    assert "Traceback" not in err and "secret" not in err
    assert took < 15


@pytest.mark.integration
def test_unreachable_broker(tmp_path, kafka_bootstrap) -> None:
    code, err, took = _run(
        {
            "TWINRCA_KAFKA__BOOTSTRAP": "127.0.0.1:1",
            "TWINRCA_STORE__BACKEND": "embedded",
            "TWINRCA_STORE__EMBEDDED_PATH": str(tmp_path / "s.duckdb"),
        },
        "ingest",
        "run",
    )
    assert code == 2
    assert "cannot reach Kafka" in err and "TWINRCA_KAFKA__BOOTSTRAP" in err
    assert "Traceback" not in err
    assert took < 30


def test_bad_setting_value(tmp_path) -> None:
    code, err, _ = _run({"TWINRCA_STORE__BACKEND": "oracle"}, "store", "info")
    assert code == 2 and "store.backend" in err and "Traceback" not in err
