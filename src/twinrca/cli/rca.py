"""``twinrca rca rank``: root-cause ranking of metrics and entities.

With ``--target`` (the symptom) and ``--graph`` the ranking follows the dependencies
upstream of the symptom (``--method traversal|gcm|robust|default``, see
:mod:`twinrca.causal.symptom`); without them it is the robust / gcm ranking of all
entities as before. Metrics CSVs are one column per metric (time first) or the PetShop
layout (three header rows), detected; ``--anomalous`` may be a PetShop issue folder,
whose ``target.json`` gives the symptom and its time when they are not given.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twinrca.cli.options import output_file, ranged
from twinrca.core.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["app"]

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True)

METHODS = ("default", "traversal", "gcm", "robust", "auto")
DIRECTIONS = ("auto", "cause-effect", "calls")


@app.callback()
def _group() -> None:
    """Root-cause ranking of metrics and entities."""


def _read_metrics(path: Path, statistic: str = "Average") -> tuple[pd.DataFrame, bool]:
    """A metrics CSV (flat, or PetShop layout flattened to ``node|metric``) and whether
    it was the PetShop layout."""
    import pandas as pd

    from twinrca.causal import petshop

    if petshop.is_petshop_metrics(path):
        return petshop.flatten(petshop.read_metrics(path), statistic), True
    try:
        frame = pd.read_csv(path, index_col=0)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("unreadable_csv", "cannot read metrics CSV", path=str(path)) from exc
    if frame.shape[1] == 0:
        raise ValidationError(
            "no_metrics", "CSV has no metric column after the time column", path=str(path)
        )
    return frame, False


def _issue_target(folder: Path) -> tuple[Path, str | None, float | None]:
    """``(metrics.csv, "node|metric" symptom, its time)`` of a PetShop issue folder."""
    from twinrca.causal.petshop import SEP

    metrics = folder / "metrics.csv"
    if not metrics.is_file():
        raise ValidationError("bad_issue", "folder has no metrics.csv", path=str(folder))
    doc_path = folder / "target.json"
    if not doc_path.is_file():
        return metrics, None, None
    try:
        target = json.loads(doc_path.read_text(encoding="utf-8"))["target"]
        return metrics, f"{target['node']}{SEP}{target['metric']}", float(target["timestamp"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError("bad_issue", "unreadable target.json", path=str(doc_path)) from exc


def _check(method: str, direction: str, target: str | None, graph: Path | None) -> None:
    if method not in METHODS:
        raise ValidationError(
            "bad_method", "method must be default, traversal, gcm or robust", method=method
        )
    if direction not in DIRECTIONS:
        raise ValidationError(
            "bad_direction", "graph direction must be auto, cause-effect or calls", value=direction
        )
    if method == "traversal" and (target is None or graph is None):
        raise ValidationError(
            "target_required", "method traversal needs --target and --graph",
            hint="name the symptom with --target ENTITY[SEP METRIC]",
        )  # fmt: skip


def _periods(
    normal: pd.DataFrame, anomalous: pd.DataFrame, start: float | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline (normal + clean rows of ``anomalous`` before ``start``) and window."""
    import pandas as pd

    from twinrca.causal.petshop import split_window

    if start is None:
        return normal, anomalous
    index = pd.to_numeric(anomalous.index, errors="coerce")
    if index.isna().any():
        raise ValidationError("bad_time", "--start needs a numeric time column (unix seconds)")
    frame = anomalous.set_axis(index, axis=0)
    pre, window = split_window(frame, start)
    if window.empty:
        raise ValidationError("empty_period", "no anomalous row at or after --start", start=start)
    return pd.concat([normal, pre.reindex(columns=normal.columns)]), window


@app.command()
def rank(
    normal: Annotated[Path, typer.Option(help="CSV of the normal period (time column first).")],
    anomalous: Annotated[
        Path, typer.Option(help="CSV of the anomalous period (same columns), or an issue folder.")
    ],
    out: Annotated[Path, typer.Option(help="Where to write the ranking JSON.")],
    graph: Annotated[
        Path | None,
        typer.Option(help="Edge list (cause,effect[,weight]) or adjacency-matrix CSV, detected."),
    ] = None,
    graph_direction: Annotated[
        str,
        typer.Option(
            help="cause-effect, calls (caller -> callee, reversed) or auto (calls when the "
            "symptom would have no upstream node)."
        ),
    ] = "auto",
    target: Annotated[
        str | None, typer.Option(help="The symptom: ENTITY or ENTITY<SEP>METRIC.")
    ] = None,
    start: float | None = ranged(
        None, 0, 4e9, "Symptom time (unix s): earlier rows are baseline.", "--start"
    ),
    history: Annotated[
        Path | None, typer.Option(help="Folder of labelled past issues (PetShop layout).")
    ] = None,
    entity_sep: Annotated[
        str, typer.Option(help="A metric's entity is its name up to the last SEP.")
    ] = "_",
    merge_nested: Annotated[
        bool,
        typer.Option(help="Fold an entity that extends another by SEP-parts (carts_lat) into it."),
    ] = True,
    method: Annotated[
        str, typer.Option(help="default (fusion), traversal, gcm or robust.")
    ] = "default",
) -> None:
    """Rank entities and metrics as root causes; writes {"entities": [...], "metrics": [...]}."""
    import orjson

    from twinrca.causal.attribution import rank_root_causes
    from twinrca.causal.from_symptom import parse_target, rank_from_symptom
    from twinrca.causal.graph_io import orient_for_target, read_graph_file

    if anomalous.is_dir():
        anomalous, issue_target, issue_start = _issue_target(anomalous)
        target = target or issue_target
        start = start if start is not None else issue_start
    _check(method, graph_direction, target, graph)
    output_file(out, "--out")
    normal_df, layout_n = _read_metrics(normal)
    anomalous_df, layout_a = _read_metrics(anomalous)
    if layout_n or layout_a:
        from twinrca.causal.petshop import SEP

        entity_sep = SEP
    if target is None:
        legacy = "auto" if method == "default" else method
        edges = None
        if graph is not None:
            edges = read_graph_file(graph).oriented(
                "cause-effect" if graph_direction == "auto" else graph_direction  # type: ignore[arg-type]
            )
        ranking = rank_root_causes(
            normal_df, anomalous_df, graph=edges, entity_sep=entity_sep,
            merge_nested=merge_nested, method=legacy,  # type: ignore[arg-type]
        )  # fmt: skip
        doc: dict[str, object] = ranking.to_dict()
        label = ranking.method
        top = ranking.entities[0].entity if ranking.entities else "-"
        skipped = ranking.skipped
    else:
        from twinrca.causal.from_symptom import entity_map

        baseline, window = _periods(normal_df, anomalous_df, start)
        entities = entity_map(window.columns.astype(str), sep=entity_sep, merge_nested=merge_nested)
        entity, metric = parse_target(target, window.columns, entities, entity_sep)
        edges = None
        if graph is not None:
            edges, _used = orient_for_target(read_graph_file(graph), graph_direction, entity)  # type: ignore[arg-type]
        background = fit_rows = None
        if history is not None:
            from twinrca.causal.history import (
                background_from_history,
                history_rows,
                read_history,
            )

            past = read_history(history)
            background = background_from_history(past, _raw_normal(normal))
            fit_rows = history_rows(past)
        result = rank_from_symptom(
            baseline, window, edges=edges, target=entity, metric=metric, entity_sep=entity_sep,
            merge_nested=merge_nested, method="default" if method == "auto" else method,  # type: ignore[arg-type]
            background=background, fit_rows=fit_rows,
        )  # fmt: skip
        doc = result.to_dict()
        label = result.ranking.method
        top = result.ranking.entities[0].entity if result.ranking.entities else "-"
        skipped = tuple(sorted(result.unscored.items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    for name, why in skipped:
        typer.echo(f"skipped metric {name}: {why}", err=True)
    typer.echo(f"{label}: top entity {top}; wrote {out}", err=True)


def _raw_normal(path: Path) -> pd.DataFrame:
    """The normal period in the PetShop layout (what the history is scored against)."""
    from twinrca.causal import petshop

    if not petshop.is_petshop_metrics(path):
        raise ValidationError(
            "bad_history", "--history needs --normal in the PetShop layout", path=str(path)
        )
    return petshop.read_metrics(path)
