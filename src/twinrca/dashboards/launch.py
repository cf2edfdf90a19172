"""Start the dashboard: ``streamlit run app.py`` in a subprocess with the right settings.

The CLI (``twinrca dashboard``) and ``make dashboard`` call :func:`launch`; tests and the
benchmark use :func:`command` and :func:`environment` to start it themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from twinrca.core.errors import ConfigError
from twinrca.dashboards.config import DashboardConfig

__all__ = ["APP", "command", "config_for", "environment", "launch"]

APP = Path(__file__).with_name("app.py")


def config_for(
    store: str | Path,
    *,
    backend: str | None = None,
    auth: str = "key",
    tenant: str = "default",
    system_tenant: str = "system",
    refresh_s: float = 15.0,
    jobs_dir: str | Path = "var/scenarios",
) -> DashboardConfig:
    """A configuration for ``store``: a PostgreSQL URL (TimescaleDB unless ``backend``
    says ``postgres``) or the path of an embedded DuckDB file."""
    text = str(store)
    is_url = text.startswith(("postgresql://", "postgres://"))
    chosen = backend or ("timescaledb" if is_url else "embedded")
    if chosen == "embedded" and is_url:
        raise ConfigError(
            "the embedded store takes a file path, not a URL", hint="pass a .duckdb path"
        )
    location = text if is_url else str(Path(text).resolve())
    return DashboardConfig(
        backend=chosen,
        location=location,
        auth=auth,
        tenant=tenant,
        system_tenant=system_tenant,
        refresh_s=refresh_s,
        jobs_dir=Path(jobs_dir).resolve(),
    )


def command(port: int, *, address: str = "127.0.0.1", headless: bool = True) -> list[str]:
    """The ``streamlit run`` command line (no telemetry, no browser opened when headless)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
        "--theme.base",
        "light",
    ]


def environment(cfg: DashboardConfig, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(cfg.to_env())
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    return env


def launch(
    store: str | Path,
    port: int = 8501,
    *,
    address: str = "127.0.0.1",
    backend: str | None = None,
    auth: str = "key",
    tenant: str = "default",
    system_tenant: str = "system",
    refresh_s: float = 15.0,
    jobs_dir: str | Path = "var/scenarios",
    wait: bool = True,
) -> subprocess.Popen[bytes] | int:
    """Run the dashboard on ``http://address:port``. With ``wait`` (the CLI) block until
    it stops and return its exit code; else return the running process."""
    cfg = config_for(
        store,
        backend=backend,
        auth=auth,
        tenant=tenant,
        system_tenant=system_tenant,
        refresh_s=refresh_s,
        jobs_dir=jobs_dir,
    )
    if cfg.backend == "embedded" and not Path(cfg.location).is_file():
        raise ConfigError(
            f"no store at {cfg.location}", hint="run `make demo` first, or pass --store"
        )
    proc = subprocess.Popen(command(port, address=address), env=environment(cfg))
    if not wait:
        return proc
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()
