"""Shared fixtures.

Integration tests talk to real servers started by ``make test`` (deploy/services.sh),
which exports ``TWINRCA_TEST_KAFKA``, ``TWINRCA_TEST_TSDB_URL`` and ``TWINRCA_TEST_PG_URL``
and sets ``TWINRCA_REQUIRE_SERVICES=1``: then a missing service fails the run instead
of skipping. Run alone (``pytest``), integration tests skip when no server is set.
Factory fixtures give every test its own topic / schema names.

Markers follow the folder (:func:`pytest_collection_modifyitems`): ``tests/unit`` →
``unit``, ``tests/integration`` → ``integration``, ``tests/browser`` → ``browser``,
``tests/slow`` → ``slow``. ``tests/contract`` holds the store contract: its embedded case
needs no server, its server cases carry ``integration`` themselves.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REQUIRE = os.environ.get("TWINRCA_REQUIRE_SERVICES") == "1"
#: the marker each top-level test folder sets on its tests
FOLDER_MARKERS = {
    "unit": "unit",
    "integration": "integration",
    "browser": "browser",
    "slow": "slow",
}
_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = Path(item.path).relative_to(_TESTS).parts[0]
        except ValueError:
            continue
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None:
            item.add_marker(marker)


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """A CLI command run in-process sets up logging on the root logger
    (runtime.logs.setup_logging), as its own process would; undo that after the test so
    the next test's command does not log through it (pytest's own capture handlers are
    left to pytest)."""
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before and not type(handler).__module__.startswith("_pytest"):
            root.removeHandler(handler)
    root.setLevel(level)


def _service(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        if REQUIRE:
            pytest.fail(f"{var} is not set but TWINRCA_REQUIRE_SERVICES=1")
        pytest.skip(f"{var} not set (run `make test` to start the services)")
    return value


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _service("TWINRCA_TEST_KAFKA")


@pytest.fixture(scope="session")
def tsdb_url() -> str:
    return _service("TWINRCA_TEST_TSDB_URL")


@pytest.fixture(scope="session")
def pg_url() -> str:
    return _service("TWINRCA_TEST_PG_URL")


@pytest.fixture
def unique_name() -> Iterator[str]:
    """A fresh name for a topic, consumer group or schema."""
    yield "t_" + uuid.uuid4().hex[:12]


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Print the versions of the servers the integration tests will use."""
    lines = []
    kafka = os.environ.get("TWINRCA_TEST_KAFKA")
    if kafka:
        try:
            from kafka import KafkaAdminClient

            admin = KafkaAdminClient(bootstrap_servers=kafka, request_timeout_ms=10000)
            version = admin._client.check_version()
            admin.close()
            lines.append(f"kafka: {kafka} broker API version {'.'.join(map(str, version))}")
        except Exception as exc:  # header only: the tests themselves will fail loudly
            lines.append(f"kafka: {kafka} UNREACHABLE ({exc})")
    for var, label in (
        ("TWINRCA_TEST_TSDB_URL", "timescaledb"),
        ("TWINRCA_TEST_PG_URL", "postgresql"),
    ):
        url = os.environ.get(var)
        if not url:
            continue
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=5) as conn:
                server = conn.execute("show server_version").fetchone()[0]
                ext = conn.execute(
                    "select default_version from pg_available_extensions where name = 'timescaledb'"
                ).fetchone()
            extra = f", timescaledb {ext[0]} available" if ext else ", no timescaledb"
            lines.append(f"{label}: {url} PostgreSQL {server}{extra}")
        except Exception as exc:
            lines.append(f"{label}: {url} UNREACHABLE ({exc})")
    return lines
