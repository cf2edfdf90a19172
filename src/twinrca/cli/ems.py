"""``twinrca ems``: replay an EMS recording to Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from twinrca.cli.options import ranged

__all__ = ["app", "find_topology"]

app = typer.Typer(no_args_is_help=True)

TOPOLOGY_FILE = "topology.json"


def find_topology(paths: Iterable[Path]) -> Path | None:
    """The topology.json of the scenario folder a recording comes from: in a folder
    given, in the folder of a file given, or beside the ``streams`` folder that holds
    the recording (the layout of ``twinrca twin generate``). None when there is none."""
    for path in paths:
        folder = path if path.is_dir() else path.parent
        candidates = [folder / TOPOLOGY_FILE]
        if folder.name == "streams":
            candidates.append(folder.parent / TOPOLOGY_FILE)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
    return None


def _region_of(
    topology: Path | None, paths: list[Path], by_region: bool | None
) -> dict[str, str] | None:
    """element id -> region when replaying by region, else None (unkeyed replay)."""
    from twinrca.core.errors import ConfigError
    from twinrca.core.topology import Topology

    if by_region is False:
        return None
    found = topology or find_topology(paths)
    if found is None:
        if by_region:
            raise ConfigError(
                "--by-region needs a topology and none was found beside the recording",
                hint="pass --topology PATH (a topology.json) or --no-by-region",
            )
        return None
    region_of = {e.element_id: e.region for e in Topology.from_json(found)}
    typer.echo(
        f"keying messages by region ({len(set(region_of.values()))} regions of {found})",
        err=True,
    )
    return region_of


@app.command()
def replay(
    paths: Annotated[list[Path], typer.Argument(help="Recording files or folders.")],
    speed: float = ranged(
        60.0, 0.0, 1e6, "playback speed (60 = an hour per minute; 0 = as fast as possible)"
    ),
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Topic prefix (default twinrca.).")] = None,
    topology: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="topology.json giving each element's region. Default: the scenario"
            " folder's topology.json (in a folder given, or beside its streams/ folder).",
        ),
    ] = None,
    by_region: Annotated[
        bool | None,
        typer.Option(
            "--by-region/--no-by-region",
            help="Key each message by its element's region, so that every `twinrca serve`"
            " instance gets whole regions. Default: by region when a topology is found,"
            " unkeyed otherwise.",
        ),
    ] = None,
) -> None:
    """Publish a recording (JSON lines, syslog, PM XML) to the topics at SPEED,
    keyed by region when a topology is known."""
    from twinrca.core.settings import load_settings
    from twinrca.ingest.keyed import replay_by_region
    from twinrca.ingest.replay import open_producer
    from twinrca.ingest.replay import replay as run_replay
    from twinrca.ingest.topics import Topics
    from twinrca.runtime.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    region_of = _region_of(topology, paths, by_region)
    topics = Topics(prefix if prefix is not None else settings.kafka.topic_prefix)
    producer = open_producer(bootstrap or settings.kafka.bootstrap)
    try:
        if region_of is None:
            result = run_replay(paths, producer, topics, speed=speed)
        else:
            result = replay_by_region(paths, producer, topics, region_of, speed=speed)
    finally:
        producer.close()
    sent = " ".join(f"{k}={v}" for k, v in sorted(result.sent.items()))
    typer.echo(f"sent {sent} in {result.seconds:.1f} s (files skipped: {result.skipped})")
