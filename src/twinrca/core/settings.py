"""Settings: ``TWINRCA_*`` environment variables over an optional TOML file.

Precedence: keyword arguments > environment (``TWINRCA_DATABASE_URL``...) > the TOML file
named by ``TWINRCA_CONFIG`` (default ``./twinrca.toml`` when present) > defaults.
Nested groups use ``__`` in environment names (``TWINRCA_KAFKA__BOOTSTRAP=...``).
Library code never reads settings; the composition root (CLI, service) builds one
:class:`Settings` and passes explicit arguments down.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "DaskSettings",
    "KafkaSettings",
    "Settings",
    "StoreSettings",
    "TwinSettings",
    "WebhookSettings",
    "load_settings",
]


class KafkaSettings(BaseModel):
    model_config = {"frozen": True}
    bootstrap: str = "127.0.0.1:19092"
    group_id: str = "twinrca-ingest"
    topic_prefix: str = "twinrca."
    security_protocol: str = "PLAINTEXT"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    client_timeout_s: float = 10.0


class StoreSettings(BaseModel):
    model_config = {"frozen": True}
    backend: Literal["embedded", "timescaledb", "postgres"] = "embedded"
    url: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:15433/postgres")
    embedded_path: Path = Path("var/twinrca.duckdb")
    pool_min: int = 1
    pool_max: int = 8
    connect_timeout_s: float = 5.0


class TwinSettings(BaseModel):
    model_config = {"frozen": True}
    engine: Literal["numba", "numpy"] = "numba"


class DaskSettings(BaseModel):
    """Where batch work (scenario generation, training runs, what-if batches) goes.

    ``scheduler``: the address of an existing cluster (``tcp://host:8786``); empty = an
    in-process ``LocalCluster`` of ``workers`` processes started for the job (0 = one per
    core), or no cluster at all for a job too small to pay for one (``min_pieces``);
    ``"sync"`` = always in this process, one piece after the other."""

    model_config = {"frozen": True}
    scheduler: str = ""
    workers: int = Field(default=0, ge=0, le=256)
    min_pieces: int = Field(default=10, ge=1)


class WebhookSettings(BaseModel):
    model_config = {"frozen": True}
    #: comma-separated addresses, CIDR networks or host names that webhooks may reach
    #: although they are loopback, link-local or private ("*" = any); empty = public only
    allow: str = ""


class Settings(BaseSettings):
    """The one settings object of a process (frozen)."""

    model_config = SettingsConfigDict(
        env_prefix="TWINRCA_",
        env_nested_delimiter="__",
        frozen=True,
        extra="ignore",
    )

    tenant: str = "default"
    data_dir: Path = Path("var")
    log_level: str = "INFO"
    log_json: bool = True
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    twin: TwinSettings = Field(default_factory=TwinSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    dask: DaskSettings = Field(default_factory=DaskSettings)
    api_host: str = "127.0.0.1"
    api_port: int = 8750

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("TWINRCA_CONFIG", "twinrca.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's errors into a :class:`ConfigError`."""
    from pydantic import ValidationError as PydanticValidationError

    from twinrca.core.errors import ConfigError

    config = os.environ.get("TWINRCA_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError(
            f"TWINRCA_CONFIG names {config!r}, which does not exist",
            hint="point TWINRCA_CONFIG at a TOML file or unset it",
        )
    toml_path = Path(config or "twinrca.toml")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except tomllib.TOMLDecodeError as exc:  # its message ends "(at line L, column C)"
        raise ConfigError(
            f"settings file {toml_path}: not valid TOML: {exc}",
            hint=f"fix {toml_path} at that line (or point TWINRCA_CONFIG elsewhere)",
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"settings file {toml_path}: not UTF-8 text (byte {exc.start})",
            hint=f"save {toml_path} as UTF-8",
        ) from None
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            hint="check the TWINRCA_* environment variables and the TOML file",
        ) from exc
