"""``twinrca ems``: replay an EMS recording to Kafka."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help="Recording files or folders.")],
    speed: Annotated[
        float,
        typer.Option(help="Playback speed (60 = an hour per minute; 0 = as fast as possible)."),
    ] = 60.0,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Topic prefix (default twinrca.).")] = None,
) -> None:
    """Publish a recording (JSON lines, syslog, PM XML) to the topics at SPEED."""
    from twinrca.core.settings import load_settings
    from twinrca.ingest.replay import open_producer
    from twinrca.ingest.replay import replay as run_replay
    from twinrca.ingest.topics import Topics
    from twinrca.service.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    producer = open_producer(bootstrap or settings.kafka.bootstrap)
    try:
        result = run_replay(
            paths,
            producer,
            Topics(prefix if prefix is not None else settings.kafka.topic_prefix),
            speed=speed,
        )
    finally:
        producer.close()
    sent = " ".join(f"{k}={v}" for k, v in sorted(result.sent.items()))
    typer.echo(f"sent {sent} in {result.seconds:.1f} s (files skipped: {result.skipped})")
