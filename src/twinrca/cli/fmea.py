"""``twinrca fmea``: FMEA tables with RPN, Action Priority and criticality side by side.

State (rating history, the user's AP table and matrix) lives in ``--state DIR``
(default ``<data_dir>/fmea``) as JSON documents and CSV files.
"""

from __future__ import annotations

import getpass
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from twinrca.core.errors import ValidationError

if TYPE_CHECKING:
    from twinrca.fmea import (
        ActionPriorityTable,
        AssessedRow,
        CriticalityMatrix,
        FmeaRow,
        JsonDirDocumentStore,
        RatingHistory,
    )

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

_AP_FILE = "action_priority.csv"
_MATRIX_FILE = "criticality.csv"
_ZONE_STYLE = {"H": "bold white on red", "M": "black on yellow", "L": "black on green"}

StateOpt = Annotated[
    Path | None, typer.Option("--state", help="Folder of the FMEA state (default <data_dir>/fmea).")
]
ApOpt = Annotated[
    Path | None, typer.Option("--ap-table", help="Action Priority table CSV to use this time.")
]
CatalogueOpt = Annotated[
    Path | None,
    typer.Option("--catalogue", help="Failure-mode catalogue JSON (default: packaged)."),
]


def _state(state: Path | None) -> Path:
    if state is not None:
        return state
    from twinrca.core.settings import load_settings

    return load_settings().data_dir / "fmea"


def _store(state: Path) -> JsonDirDocumentStore:
    from twinrca.fmea import JsonDirDocumentStore

    return JsonDirDocumentStore(state)


def _ap_table(state: Path, override: Path | None) -> ActionPriorityTable:
    from twinrca.fmea import ActionPriorityTable

    if override is not None:
        if not override.is_file():
            what = "a folder" if override.is_dir() else "not found"
            raise ValidationError(
                f"--ap-table {override}: {what}",
                hint="give an Action Priority CSV (see `twinrca fmea ap-table --help`) or omit it",
            )
        return ActionPriorityTable.from_csv(override)
    path = state / _AP_FILE
    return ActionPriorityTable.from_csv(path) if path.is_file() else ActionPriorityTable.default()


def _matrix(state: Path) -> CriticalityMatrix:
    from twinrca.fmea import CriticalityMatrix

    path = state / _MATRIX_FILE
    return CriticalityMatrix.from_csv(path) if path.is_file() else CriticalityMatrix.default()


def _history(state: Path) -> RatingHistory:
    from twinrca.fmea import RatingHistory

    return RatingHistory.load(_store(state))


def _rows(state: Path, catalogue: Path | None) -> list[FmeaRow]:
    from twinrca.fmea import current_rows, load_catalogue

    return current_rows(load_catalogue(catalogue), _history(state))


def _assessed(
    state: Path, catalogue: Path | None, ap: Path | None, sort: str = "ap"
) -> list[AssessedRow]:
    from twinrca.fmea import assess, sort_assessed

    items = assess(_rows(state, catalogue), _ap_table(state, ap), _matrix(state))
    return sort_assessed(items, sort)  # type: ignore[arg-type]


def _print_rich(items: list[AssessedRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="FMEA: RPN, Action Priority and criticality side by side", show_lines=True)
    for col in (
        "mode",
        "kind",
        "effects",
        "causes",
        "controls (P / D)",
        "S",
        "O",
        "D",
        "RPN",
        "AP",
        "crit.",
        "why",
    ):
        table.add_column(col, overflow="fold")
    for a in items:
        r = a.row
        controls = (
            "P: "
            + ("; ".join(r.prevention_controls) or "-")
            + "\nD: "
            + ("; ".join(r.detection_controls) or "-")
        )
        table.add_row(
            f"{r.mode_id}\n{r.name}",
            r.element_kind,
            r.effects,
            "\n".join(r.causes),
            controls,
            str(r.severity),
            str(r.occurrence),
            str(r.detection),
            str(a.rpn),
            f"[{_ZONE_STYLE[a.ap.value]}]{a.ap.value}[/]",
            f"[{_ZONE_STYLE[a.criticality.value]}]{a.criticality.value}[/]",
            a.ap_reason,
        )
    Console(width=220).print(table)


@app.command("table")
def table_cmd(
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    sort: Annotated[str, typer.Option("--sort", help="rpn or ap (most urgent first)")] = "ap",
    state: StateOpt = None,
    ap_table: ApOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Print the FMEA table: S, O, D, RPN, AP with its reason, criticality zone."""
    from twinrca.fmea import assessed_frame

    if fmt not in ("table", "csv", "json") or sort not in ("rpn", "ap"):
        raise ValidationError("bad_option", "--format table|csv|json and --sort rpn|ap")
    items = _assessed(_state(state), catalogue, ap_table, sort)
    if fmt == "table":
        _print_rich(items)
        return
    frame = assessed_frame(items)
    if fmt == "json":
        typer.echo(json.dumps(frame.to_dict("records"), indent=2))
    else:
        for col in ("causes", "prevention_controls", "detection_controls", "remediations"):
            frame[col] = frame[col].map("; ".join)
        typer.echo(frame.to_csv(index=False), nl=False)


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="F.csv or F.xlsx")],
    state: StateOpt = None,
    ap_table: ApOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Write the assessed FMEA table to CSV or Excel (with AP table and matrix sheets)."""
    from twinrca.cli.options import output_file
    from twinrca.fmea import export_table

    output_file(out, "--out")
    folder = _state(state)
    items = _assessed(folder, catalogue, ap_table)
    export_table(items, out, ap_table=_ap_table(folder, ap_table), matrix=_matrix(folder))
    typer.echo(f"wrote {len(items)} failure modes to {out}")


@app.command("import")
def import_cmd(
    path: Annotated[Path, typer.Argument(help="F.csv or F.xlsx (as written by export)")],
    who: Annotated[str | None, typer.Option(help="Who made the change.")] = None,
    reason: Annotated[str, typer.Option(help="Why the ratings change.")] = "edited in spreadsheet",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show changes, record none.")] = False,
    state: StateOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Take the S/O/D ratings of a spreadsheet; every change goes into the history."""
    from twinrca.fmea import RatingHistory, import_table

    folder = _state(state)
    current = _rows(folder, catalogue)
    imported = import_table(path)
    unknown = sorted({r.mode_id for r in imported} - {r.mode_id for r in current})
    if unknown:
        raise ValidationError(
            "unknown_mode", f"{path} names failure modes not in the catalogue: {unknown}"
        )
    history = RatingHistory.load(_store(folder)) if not dry_run else RatingHistory()
    changes = history.update_rows(
        current, imported, reason=reason, source=f"import:{path.name}", who=who or getpass.getuser()
    )
    for c in changes:
        typer.echo(f"{c.mode_id} {c.field}: {c.old} -> {c.new}")
    if not dry_run:
        history.save(_store(folder))
    verb = "would record" if dry_run else "recorded"
    typer.echo(f"{verb} {len(changes)} rating changes from {len(imported)} rows")


@app.command("matrix")
def matrix_cmd(
    png: Annotated[Path | None, typer.Option("--png", help="Also render a heatmap PNG.")] = None,
    state: StateOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Print the severity x occurrence criticality matrix with the modes in each cell."""
    from rich.console import Console
    from rich.table import Table

    folder = _state(state)
    matrix = _matrix(folder)
    items = _assessed(folder, catalogue, None)
    counts = matrix.counts((a.row.severity, a.row.occurrence) for a in items)
    table = Table(title="Criticality matrix (IEC 60812): severity x occurrence; cells count modes")
    table.add_column("S \\ O")
    for o in range(1, 11):
        table.add_column(str(o), justify="center")
    for s in range(10, 0, -1):
        cells = []
        for o in range(1, 11):
            zone = matrix.zones[(s, o)].value
            n = counts.get((s, o), 0)
            cells.append(f"[{_ZONE_STYLE[zone]}] {zone}{':' + str(n) if n else '  '} [/]")
        table.add_row(str(s), *cells)
    Console().print(table)
    for a in items:
        if a.criticality.value == "H":
            typer.echo(f"H {a.row.mode_id}: {a.criticality_reason}")
    if png is not None:
        from twinrca.fmea import plot_criticality

        plot_criticality(items, matrix, png)
        typer.echo(f"wrote {png}")


@app.command("ap-table")
def ap_table_cmd(
    load: Annotated[
        Path | None, typer.Option("--load", help="Validate and make this CSV the active AP table.")
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Go back to the default table.")] = False,
    state: StateOpt = None,
) -> None:
    """Print the active Action Priority table (S band x O band x D band -> H/M/L)."""
    from rich.console import Console
    from rich.table import Table

    from twinrca.fmea import ActionPriorityTable

    folder = _state(state)
    if reset:
        (folder / _AP_FILE).unlink(missing_ok=True)
    if load is not None:
        ActionPriorityTable.from_csv(load)  # validates coverage before it becomes active
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(load, folder / _AP_FILE)
    table = _ap_table(folder, None)
    out = Table(title=f"Action Priority table ({table.source})")
    for col in ("S", "O", "D", "AP", "rationale"):
        out.add_column(col)
    for r in table.rules:
        out.add_row(
            *(
                f"{b[0]}-{b[1]}" if b[0] != b[1] else str(b[0])
                for b in (r.severity, r.occurrence, r.detection)
            ),
            f"[{_ZONE_STYLE[r.ap.value]}]{r.ap.value}[/]",
            r.rationale,
        )
    Console(width=160).print(out)


@app.command("history")
def history_cmd(
    mode: Annotated[str | None, typer.Option(help="Only this failure mode.")] = None,
    state: StateOpt = None,
) -> None:
    """Print every recorded rating change (old, new, reason, source, time, who)."""
    from twinrca.fmea import RatingHistory

    history = RatingHistory.load(_store(_state(state)), mode)
    for c in history:
        typer.echo(
            f"{c.at.isoformat()} {c.who} {c.mode_id} {c.field} {c.old}->{c.new} "
            f"[{c.source}] {c.reason}"
        )
    typer.echo(f"{len(history)} changes")
