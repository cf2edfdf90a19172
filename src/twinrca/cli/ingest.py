"""``twinrca ingest``: Kafka or files into the store."""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twinrca.cli.options import ranged

if TYPE_CHECKING:
    from twinrca.core.settings import Settings
    from twinrca.store.base import Store

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="Store backend: embedded, timescaledb or postgres (default from settings).",
    ),
]
UrlOpt = Annotated[str | None, typer.Option("--url", help="Database URL (server backends).")]
TenantOpt = Annotated[str | None, typer.Option("--tenant", help="Tenant (default from settings).")]


def _settings() -> Settings:
    from twinrca.core.settings import load_settings
    from twinrca.runtime.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, json_lines=settings.log_json)
    return settings


def _store(settings: Settings, backend: str | None, url: str | None, tenant: str | None) -> Store:
    from twinrca.store.base import open_store

    s = settings.store
    store = open_store(
        backend or s.backend,
        url=url or s.url.get_secret_value(),
        path=s.embedded_path,
        tenant=tenant or settings.tenant,
        connect_timeout_s=s.connect_timeout_s,
    )
    store.migrate()
    return store


@app.command()
def run(
    backend: BackendOpt = None,
    url: UrlOpt = None,
    tenant: TenantOpt = None,
    bootstrap: Annotated[str | None, typer.Option(help="Kafka bootstrap servers.")] = None,
    group: Annotated[str | None, typer.Option(help="Consumer group.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Topic prefix (default twinrca.).")] = None,
    kinds: Annotated[str, typer.Option(help="Comma-separated topic kinds to consume.")] = (
        "kpi,alarms,logs,pm-xml"
    ),
    instance_id: Annotated[
        str | None,
        typer.Option("--instance-id", help="Static group membership id (KIP-345); default: none."),
    ] = None,
    static: Annotated[
        bool, typer.Option(help="Use the host name as the static membership id.")
    ] = False,
    metrics_port: int = ranged(0, 0, 65535, "serve Prometheus metrics on this port (0: off)"),
    batch_rows: int = ranged(100_000, 1, 10_000_000, "rows per store transaction"),
    max_idle: float | None = ranged(
        None, 0.0, 31_536_000.0, "exit after this many seconds without a message (default: never)"
    ),
    log_templates: Annotated[
        bool,
        typer.Option(
            help="Give every log row a template id (learned online, state saved in the store)."
        ),
    ] = True,
) -> None:
    """Consume the Kafka topics into the store as a long-running worker (stop with Ctrl-C)."""
    from twinrca.ingest.metrics import IngestMetrics
    from twinrca.ingest.topics import Topics
    from twinrca.ingest.worker import IngestWorker, WorkerConfig

    settings = _settings()
    k = settings.kafka
    topics = Topics(prefix if prefix is not None else k.topic_prefix)
    config = WorkerConfig(
        bootstrap=bootstrap or k.bootstrap,
        group=group or k.group_id,
        topics=topics.data_topics(tuple(x.strip() for x in kinds.split(",") if x.strip())),
        dlq_topic=topics.dlq,
        batch_rows=batch_rows,
        instance_id=instance_id or (socket.gethostname() if static else None),
        log_templates=log_templates,
    )
    metrics = IngestMetrics()
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, registry=metrics.registry)
    with _store(settings, backend, url, tenant) as store:
        worker = IngestWorker(config, store, metrics=metrics)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        signal.signal(signal.SIGINT, lambda *_: worker.stop())
        worker.run(max_idle_s=max_idle)


@app.command()
def files(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (jsonl, xml, csv, log).")],
    backend: BackendOpt = None,
    url: UrlOpt = None,
    tenant: TenantOpt = None,
    dead_letters: Annotated[
        Path | None,
        typer.Option(
            "--dead-letters",
            help="File (or folder) receiving refused lines as JSON lines with their reason "
            "(default: a new file in DATA_DIR/dead-letters/).",
        ),
    ] = None,
    log_templates: Annotated[
        bool, typer.Option(help="Give every log row a template id (drain3, state in the store).")
    ] = True,
    kpi_mapping: Annotated[
        list[Path] | None,
        typer.Option(
            "--kpi-mapping",
            help="TOML file naming your vendor's counters (extends the shipped TS 28.552 "
            "mapping; repeatable).",
        ),
    ] = None,
    topology: Annotated[
        Path | None,
        typer.Option(
            "--topology",
            help="Topology JSON resolving DN-named objects (default: the store's topology).",
        ),
    ] = None,
) -> None:
    """Read files and folders with the same decoders into the store (no Kafka).

    Files that are no streams (the twin's labels.csv and topology.json, a README) are
    skipped with a message.
    """
    from tqdm import tqdm

    from twinrca.core.topology import Topology
    from twinrca.ingest.files import dead_letter_file_sink, ingest_files, iter_files
    from twinrca.ingest.kpimap import load_mapping

    settings = _settings()
    mapping = load_mapping(kpi_mapping or [])
    topo = Topology.from_json(topology) if topology is not None else None
    names = list(iter_files(paths))
    sink, dead_path = dead_letter_file_sink(
        dead_letters if dead_letters is not None else settings.data_dir / "dead-letters"
    )
    with (
        _store(settings, backend, url, tenant) as store,
        tqdm(total=len(names), unit="file", file=None, disable=None) as bar,
    ):
        result = ingest_files(
            names,
            store,
            dead_letters=sink,
            progress=lambda _: bar.update(),
            log_templates=log_templates,
            kpi_mapping=mapping,
            topology=topo,
        )
        if topo is not None:
            store.save_topology(topo)
    for path, reason in result.skipped:
        typer.echo(f"skipped {path}: {reason}", err=True)
    typer.echo(
        f"files={result.files} skipped={len(result.skipped)} messages={result.messages} "
        f"kpis={result.kpis_written} alarms={result.alarms_written} logs={result.logs_written} "
        f"duplicates={result.duplicates_skipped} dead_letters={len(result.dead_letters)}"
    )
    typer.echo(
        f"counters: mapped={result.kpis_mapped} derived_kpis={result.kpis_derived} "
        f"unmapped={result.kpis_unmapped} (see `twinrca kpis unmapped`)"
    )
    for path, warning in result.warnings[:20]:
        typer.echo(f"warning {path}: {warning}", err=True)
    if len(result.warnings) > 20:
        typer.echo(f"... {len(result.warnings) - 20} more warnings", err=True)
    if result.unknown_objects:
        shown = ", ".join(list(result.unknown_objects)[:10])
        typer.echo(
            f"{len(result.unknown_objects)} objects not in the topology, stored under their "
            f"own names: {shown}",
            err=True,
        )
    if result.dead_letters:
        reasons = " ".join(f"{k}={v}" for k, v in result.dead_letters_by_reason().items())
        typer.echo(f"dead letters ({reasons}) written to {dead_path}", err=True)
