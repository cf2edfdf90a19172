"""``twinrca serve``: ingest, detection, diagnosis, twin verification, webhooks and the
API in one long-running process (see :mod:`twinrca.runtime.runner`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from twinrca.cli.options import ranged
from twinrca.runtime import defaults

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        topology: Annotated[
            Path | None,
            typer.Option(help="topology.json to save in the store first (else the stored one)."),
        ] = None,
        api: Annotated[bool, typer.Option(help="Serve the HTTP API (uvicorn).")] = True,
        health_port: int = ranged(
            defaults.HEALTH_PORT, 0, 65535, "port of /healthz, /readyz and /metrics (0: any free)"
        ),
        by_region: Annotated[
            bool,
            typer.Option(
                help="Diagnose only the regions of the owned alarm partitions (scale-out)."
            ),
        ] = True,
        instance_id: Annotated[
            str | None, typer.Option(help="Static group membership id (KIP-345).")
        ] = None,
        interval: float = ranged(
            defaults.INTERVAL_S, 0.01, 86400.0, "seconds between detection ticks"
        ),
        predict: Annotated[
            bool, typer.Option(help="Score fault risk each reporting period (LightGBM).")
        ] = True,
        predict_interval: float = ranged(
            defaults.PREDICT_INTERVAL_S,
            0.01,
            86400.0,
            "seconds between prediction ticks (a tick scores every period completed since "
            "the last one)",
        ),
        predict_threshold: float | None = ranged(
            None, 0.0, 1.0, "warn at this calibrated risk (default: the model's threshold)"
        ),
        lookback_hours: float = ranged(
            defaults.LOOKBACK / timedelta(hours=1), 0.01, 8784.0, "sliding detection window"
        ),
        history_days: float = ranged(
            defaults.HISTORY / timedelta(days=1),
            0.01,
            366.0,
            "KPI history kept for baselines and the twin demand",
        ),
        verify_scenarios: int = ranged(
            defaults.VERIFY_SCENARIOS, 1, 10_000, "Monte Carlo runs per check"
        ),
        whatif_scenarios: int = ranged(
            defaults.WHATIF_SCENARIOS, 1, 10_000, "Monte Carlo runs per action"
        ),
        webhook_max_backoff: float = ranged(
            defaults.WEBHOOK_MAX_BACKOFF_S, 0.0, 86400.0, "cap of the webhook retry backoff, s"
        ),
        webhook_max_attempts: int = ranged(
            defaults.WEBHOOK_MAX_ATTEMPTS, 1, 1000, "deliveries tried before dead-lettering"
        ),
        kinds: Annotated[str, typer.Option(help="Topic kinds to consume.")] = ",".join(
            defaults.KINDS
        ),
        tenant: Annotated[str | None, typer.Option(help="Tenant (default from settings).")] = None,
        group: Annotated[str | None, typer.Option(help="Consumer group.")] = None,
        prefix: Annotated[str | None, typer.Option(help="Topic prefix.")] = None,
        bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
        backend: Annotated[str | None, typer.Option(help="Store backend.")] = None,
        url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
        port: int | None = ranged(None, 1, 65535, "API port (default from settings)"),
    ) -> None:
        """Run the service until SIGTERM / Ctrl-C (settings: TWINRCA_* and twinrca.toml)."""
        from pydantic import SecretStr

        from twinrca.api.app import app_for
        from twinrca.core.settings import load_settings
        from twinrca.runtime.detect_loop import WindowConfig
        from twinrca.runtime.flow import PipelineConfig
        from twinrca.runtime.logs import setup_logging
        from twinrca.runtime.runner import ServeOptions, Service

        settings = load_settings()
        kafka = {
            k: v
            for k, v in (("bootstrap", bootstrap), ("group_id", group), ("topic_prefix", prefix))
            if v is not None
        }
        store = {k: v for k, v in (("backend", backend), ("url", url and SecretStr(url))) if v}
        top = {k: v for k, v in (("tenant", tenant), ("api_port", port)) if v is not None}
        settings = settings.model_copy(
            update={
                **top,
                "kafka": settings.kafka.model_copy(update=kafka),
                "store": settings.store.model_copy(update=store),
            }
        )
        setup_logging(settings.log_level, json_lines=settings.log_json)
        options = ServeOptions(
            kinds=tuple(x.strip() for x in kinds.split(",") if x.strip()),
            instance_id=instance_id,
            by_region=by_region,
            interval_s=interval,
            window=WindowConfig(
                lookback=timedelta(hours=lookback_hours), history=timedelta(days=history_days)
            ),
            pipeline=PipelineConfig(
                verify_scenarios=verify_scenarios,
                whatif_scenarios=whatif_scenarios,
                engine=settings.twin.engine,
                checkpoint=True,
                skip_unchanged=True,
            ),
            api=api,
            health_port=health_port,
            webhook_max_backoff_s=webhook_max_backoff,
            webhook_max_attempts=webhook_max_attempts,
            webhook_base_backoff_s=min(1.0, webhook_max_backoff),
            topology=topology,
            predict=predict,
            predict_interval_s=predict_interval,
            predict_threshold=predict_threshold,
        )
        raise typer.Exit(Service(settings, options, make_api=app_for).run())
