"""``twinrca rca``: root-cause ranking of metrics and entities."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twinrca.cli.options import output_file
from twinrca.core.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["app"]

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True)


@app.callback()
def _group() -> None:
    """Root-cause ranking of metrics and entities."""


def _read_metrics(path: Path) -> pd.DataFrame:
    """A metrics CSV: the first column is time (used as the index), then one column per metric."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, index_col=0)
    except (OSError, ValueError) as exc:
        raise ValidationError("unreadable_csv", "cannot read metrics CSV", path=str(path)) from exc
    if frame.shape[1] == 0:
        raise ValidationError(
            "no_metrics", "CSV has no metric column after the time column", path=str(path)
        )
    return frame


def _read_graph(path: Path) -> list[tuple[str, str]]:
    """``cause,effect`` rows (a header row with those names is optional)."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, header=None, dtype=str, skip_blank_lines=True)
    except (OSError, ValueError) as exc:
        raise ValidationError("unreadable_csv", "cannot read graph CSV", path=str(path)) from exc
    if frame.shape[1] < 2:
        raise ValidationError("bad_graph", "graph CSV needs cause,effect columns", path=str(path))
    pairs = [(str(c).strip(), str(e).strip()) for c, e in frame.iloc[:, :2].itertuples(index=False)]
    if pairs and pairs[0] == ("cause", "effect"):
        pairs = pairs[1:]
    return pairs


@app.command()
def rank(
    normal: Annotated[Path, typer.Option(help="CSV of the normal period (time column first).")],
    anomalous: Annotated[Path, typer.Option(help="CSV of the anomalous period (same columns).")],
    out: Annotated[Path, typer.Option(help="Where to write the ranking JSON.")],
    graph: Annotated[
        Path | None, typer.Option(help="CSV of cause,effect edges between metrics or entities.")
    ] = None,
    entity_sep: Annotated[
        str, typer.Option(help="A metric's entity is its name up to the last SEP.")
    ] = "_",
    merge_nested: Annotated[
        bool,
        typer.Option(help="Fold an entity that extends another by SEP-parts (carts_lat) into it."),
    ] = True,
    method: Annotated[str, typer.Option(help="auto (gcm if --graph), robust or gcm.")] = "auto",
) -> None:
    """Rank entities and metrics as root causes; writes {"entities": [...], "metrics": [...]}."""
    import orjson

    from twinrca.causal.attribution import rank_root_causes

    if method not in ("auto", "robust", "gcm"):
        raise ValidationError("bad_method", "method must be auto, robust or gcm", method=method)
    output_file(out, "--out")
    edges = _read_graph(graph) if graph is not None else None
    result = rank_root_causes(
        _read_metrics(normal),
        _read_metrics(anomalous),
        graph=edges,
        entity_sep=entity_sep,
        merge_nested=merge_nested,
        method=method,  # type: ignore[arg-type]
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2))
    for metric, why in result.skipped:
        typer.echo(f"skipped metric {metric}: {why}", err=True)
    top = result.entities[0]  # at least one metric is scored (else no_data was raised)
    typer.echo(f"{result.method}: top entity {top.entity}; wrote {out}", err=True)
