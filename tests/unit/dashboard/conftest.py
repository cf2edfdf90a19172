"""A seeded embedded store shared by the dashboard tests (copied when a test writes)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.dashboard_sample import SampleSummary, seed_file


@dataclass(frozen=True)
class Seeded:
    path: Path
    summary: SampleSummary


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    path = tmp_path_factory.mktemp("dashboard") / "sample.duckdb"
    return Seeded(path, seed_file(path, tenant="acme", cells=48, seed=3))


@pytest.fixture
def writable(seeded: Seeded, tmp_path: Path) -> Seeded:
    """A private copy of the seeded store (for tests that write)."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(seeded.path, path)
    return Seeded(path, seeded.summary)


@pytest.fixture
def app_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point the dashboard (read from the environment) at a store file."""

    def use(path: Path, *, auth: str = "none") -> None:
        _set(monkeypatch, path, auth)

    return use


def _set(monkeypatch: pytest.MonkeyPatch, path: Path, auth: str) -> None:
    monkeypatch.setenv("TWINRCA_DASHBOARD_STORE", str(path))
    monkeypatch.setenv("TWINRCA_DASHBOARD_BACKEND", "embedded")
    monkeypatch.setenv("TWINRCA_DASHBOARD_AUTH", auth)
    monkeypatch.setenv("TWINRCA_DASHBOARD_TENANT", "acme")
    monkeypatch.setenv("TWINRCA_DASHBOARD_JOBS_DIR", str(path.parent / "jobs"))
