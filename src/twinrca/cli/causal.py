"""``twinrca causal``: causal graphs of alarm types."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from twinrca.cli.options import output_file
from twinrca.core.errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from twinrca.causal.alarm_events import PriorEncoding
    from twinrca.causal.alarm_graph import Method

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


def _load_matrix(path: Path, what: str) -> np.ndarray:
    import numpy as np

    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        return np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as exc:
        raise ValidationError(
            "unreadable_matrix", f"cannot read the {what}", path=str(path)
        ) from exc


def _load_alarms(path: Path) -> pd.DataFrame:
    """The usable rows of the alarm CSV; rows without an alarm id, a device id or a finite
    numeric start time (blank lines too) are counted and reported with the first line."""
    import pandas as pd

    from twinrca.causal.alarm_events import usable_alarms

    try:
        raw = pd.read_csv(path, skip_blank_lines=False)
    except (OSError, ValueError) as exc:
        raise ValidationError(
            "unreadable_alarms", f"cannot read the alarm CSV: {exc}", path=str(path)
        ) from exc
    frame, bad = usable_alarms(raw)
    if len(bad):
        first = int(bad[0]) + 2  # the header is line 1
        typer.echo(
            f"{path}: skipped {len(bad)} of {len(raw)} rows without an alarm_id, a device_id "
            f"or a finite numeric start_timestamp (first at line {first})",
            err=True,
        )
    if len(frame) < 2:
        raise ValidationError(
            "too_few_alarms",
            f"{path}: {len(frame)} usable alarm rows of {len(raw)}; the graph needs at least two",
        )
    return frame


@app.callback()
def _group() -> None:
    """Causal graphs of alarm types."""


@app.command()
def discover(
    alarms: Annotated[
        Path, typer.Option(help="CSV with alarm_id, device_id, start_timestamp, end_timestamp.")
    ],
    out: Annotated[Path, typer.Option(help="Output CSV of cause,effect,weight rows.")],
    topology: Annotated[
        Path | None, typer.Option(help="0/1 device adjacency (.npy or CSV), row r = device id r.")
    ] = None,
    prior: Annotated[
        Path | None,
        typer.Option(help="Prior matrix (.npy or CSV), [i, j] about alarm id i -> alarm id j."),
    ] = None,
    prior_encoding: Annotated[
        str,
        typer.Option(
            help="signed: 1 required, -1 forbidden, 0 unknown; gcastle: 1 required, "
            "0 forbidden, -1 unknown; auto: the most frequent value means unknown."
        ),
    ] = "auto",
    method: Annotated[
        str, typer.Option(help="hawkes (temporal) or windows (pgmpy PC).")
    ] = "hawkes",
    save: Annotated[
        str | None,
        typer.Option(
            help="Also store the graph as the next version of this name (TWINRCA_STORE__*)."
        ),
    ] = None,
) -> None:
    """Learn a causal graph between alarm types and write its weighted edges."""
    from rich.console import Console

    from twinrca.causal import learn_alarm_graph

    if prior_encoding not in ("auto", "signed", "gcastle"):
        raise ValidationError("bad_prior_encoding", "use auto, signed or gcastle")
    if method not in ("hawkes", "windows"):
        raise ValidationError("bad_method", "use hawkes or windows", method=method)
    output_file(out, "--out")
    frame = _load_alarms(alarms)
    topo = _load_matrix(topology, "topology") if topology else None
    pri = _load_matrix(prior, "prior") if prior else None
    console = Console(stderr=True)
    with console.status(f"learning the alarm graph ({method}) from {len(frame)} alarms"):
        graph = learn_alarm_graph(
            frame,
            topo,
            pri,
            method=cast("Method", method),
            prior_encoding=cast("PriorEncoding", prior_encoding),
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    graph.edges[["cause", "effect", "weight"]].to_csv(out, index=False)
    console.print(f"{len(graph.edges)} edges written to {out}")
    if save:
        from twinrca.cli.graphs import save_graph
        from twinrca.cli.stores import settings_store

        with settings_store() as store:
            version = save_graph(
                store,
                save,
                graph.edges,
                method=method,
                source={
                    "alarms": str(alarms),
                    "topology": str(topology or ""),
                    "prior": str(prior or ""),
                    "rows": len(frame),
                },
            )
        console.print(f"stored as causal graph {save!r} version {version}")


@app.command()
def history(name: str) -> None:
    """Versions of a stored causal graph."""
    import json

    from twinrca.cli.graphs import graph_history
    from twinrca.cli.stores import settings_store

    with settings_store() as store:
        typer.echo(json.dumps(graph_history(store, name), indent=1))
