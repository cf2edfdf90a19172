"""What the dashboard process needs to know, read once from ``TWINRCA_DASHBOARD_*``.

:func:`twinrca.dashboards.launch.launch` sets these variables for the ``streamlit run``
subprocess; tests set them with ``monkeypatch.setenv``. Every name is declared here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from twinrca.core.errors import ConfigError

__all__ = ["ENV", "AuthMode", "DashboardConfig"]

ENV = {
    "backend": "TWINRCA_DASHBOARD_BACKEND",
    "location": "TWINRCA_DASHBOARD_STORE",
    "system_tenant": "TWINRCA_DASHBOARD_SYSTEM_TENANT",
    "auth": "TWINRCA_DASHBOARD_AUTH",
    "tenant": "TWINRCA_DASHBOARD_TENANT",
    "refresh_s": "TWINRCA_DASHBOARD_REFRESH_S",
    "cache_ttl_s": "TWINRCA_DASHBOARD_CACHE_TTL_S",
    "jobs_dir": "TWINRCA_DASHBOARD_JOBS_DIR",
    "max_points": "TWINRCA_DASHBOARD_MAX_POINTS",
}

AuthMode = str  # "key" (API key), "oidc" (st.login, when configured) or "none" (local demo)
_AUTH_MODES = ("key", "oidc", "none")
_BACKENDS = ("embedded", "timescaledb", "postgres")


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """Where the store is, how people sign in, how often panels refresh."""

    backend: str = "embedded"
    location: str = ":memory:"
    system_tenant: str = "system"
    auth: AuthMode = "key"
    tenant: str = "default"
    refresh_s: float = 15.0
    cache_ttl_s: float = 10.0
    jobs_dir: Path = Path("var/scenarios")
    max_points: int = 400

    def __post_init__(self) -> None:
        if self.backend not in _BACKENDS:
            raise ConfigError(
                f"unknown dashboard store backend {self.backend!r}",
                hint=f"set {ENV['backend']} to one of {', '.join(_BACKENDS)}",
            )
        if self.auth not in _AUTH_MODES:
            raise ConfigError(
                f"unknown dashboard auth mode {self.auth!r}",
                hint=f"set {ENV['auth']} to one of {', '.join(_AUTH_MODES)}",
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DashboardConfig:
        env = os.environ if environ is None else environ
        base = cls()
        try:
            return cls(
                backend=env.get(ENV["backend"], base.backend),
                location=env.get(ENV["location"], base.location),
                system_tenant=env.get(ENV["system_tenant"], base.system_tenant),
                auth=env.get(ENV["auth"], base.auth),
                tenant=env.get(ENV["tenant"], base.tenant),
                refresh_s=float(env.get(ENV["refresh_s"], base.refresh_s)),
                cache_ttl_s=float(env.get(ENV["cache_ttl_s"], base.cache_ttl_s)),
                jobs_dir=Path(env.get(ENV["jobs_dir"], str(base.jobs_dir))),
                max_points=int(env.get(ENV["max_points"], base.max_points)),
            )
        except ValueError as exc:
            raise ConfigError(
                f"bad dashboard setting: {exc}", hint="check the TWINRCA_DASHBOARD_* variables"
            ) from exc

    def to_env(self) -> dict[str, str]:
        """The variables that reproduce this configuration in a subprocess."""
        return {
            ENV["backend"]: self.backend,
            ENV["location"]: self.location,
            ENV["system_tenant"]: self.system_tenant,
            ENV["auth"]: self.auth,
            ENV["tenant"]: self.tenant,
            ENV["refresh_s"]: str(self.refresh_s),
            ENV["cache_ttl_s"]: str(self.cache_ttl_s),
            ENV["jobs_dir"]: str(self.jobs_dir),
            ENV["max_points"]: str(self.max_points),
        }
