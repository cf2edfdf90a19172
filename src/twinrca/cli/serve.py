"""``twinrca serve``: ingest, detection, diagnosis, twin verification, webhooks and the
API in one long-running process (see :mod:`twinrca.runtime.runner`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        topology: Annotated[
            Path | None,
            typer.Option(help="topology.json to save in the store first (else the stored one)."),
        ] = None,
        api: Annotated[bool, typer.Option(help="Serve the HTTP API (uvicorn).")] = True,
        health_port: Annotated[
            int, typer.Option(help="Port of /healthz, /readyz and /metrics (0: any free one).")
        ] = 8751,
        by_region: Annotated[
            bool,
            typer.Option(
                help="Diagnose only the regions of the owned alarm partitions (scale-out)."
            ),
        ] = True,
        instance_id: Annotated[
            str | None, typer.Option(help="Static group membership id (KIP-345).")
        ] = None,
        interval: Annotated[float, typer.Option(help="Seconds between detection ticks.")] = 1.0,
        predict: Annotated[
            bool, typer.Option(help="Score fault risk each reporting period (LightGBM).")
        ] = True,
        predict_interval: Annotated[
            float,
            typer.Option(
                help="Seconds between prediction ticks (a tick scores every period "
                "completed since the last one)."
            ),
        ] = 30.0,
        predict_threshold: Annotated[
            float | None,
            typer.Option(help="Warn at this calibrated risk (default: the model's threshold)."),
        ] = None,
        lookback_hours: Annotated[
            float, typer.Option(help="Sliding detection window (data time).")
        ] = 6.0,
        history_days: Annotated[
            float, typer.Option(help="KPI history kept for baselines and the twin demand.")
        ] = 2.0,
        verify_scenarios: Annotated[int, typer.Option(help="Monte Carlo runs per check.")] = 16,
        whatif_scenarios: Annotated[int, typer.Option(help="Monte Carlo runs per action.")] = 64,
        webhook_max_backoff: Annotated[
            float, typer.Option(help="Cap of the webhook retry backoff in seconds.")
        ] = 300.0,
        webhook_max_attempts: Annotated[
            int, typer.Option(help="Deliveries tried before an alert is dead-lettered.")
        ] = 12,
        kinds: Annotated[str, typer.Option(help="Topic kinds to consume.")] = (
            "kpi,alarms,logs,pm-xml"
        ),
        tenant: Annotated[str | None, typer.Option(help="Tenant (default from settings).")] = None,
        group: Annotated[str | None, typer.Option(help="Consumer group.")] = None,
        prefix: Annotated[str | None, typer.Option(help="Topic prefix.")] = None,
        bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
        backend: Annotated[str | None, typer.Option(help="Store backend.")] = None,
        url: Annotated[str | None, typer.Option(help="Database URL.")] = None,
        port: Annotated[int | None, typer.Option(help="API port (default from settings).")] = None,
    ) -> None:
        """Run the service until SIGTERM / Ctrl-C (settings: TWINRCA_* and twinrca.toml)."""
        from datetime import timedelta

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
