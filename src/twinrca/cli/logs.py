"""``twinrca logs``: log templates (drain3 with general masking)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from twinrca.core.errors import ValidationError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)


@app.command()
def parse(
    input: Annotated[
        Path,
        typer.Option("--input", "-i", exists=True, dir_okay=False, help="Raw log file."),
    ],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="Header layout, e.g. '<Date> <Time> <Pid> <Level> <Component>: <Content>'.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", dir_okay=False, help="CSV file to write.")],
    encoding: Annotated[
        str, typer.Option(help="Encoding of the input (bad bytes replaced).")
    ] = "utf-8",
) -> None:
    """Template every line of a log file and write LineId, header fields, Content,
    EventId and EventTemplate as CSV (one row per input line)."""
    from tqdm import tqdm

    from twinrca.cli.options import output_file
    from twinrca.ingest.logformat import LogFormat
    from twinrca.ingest.logtemplates import LogTemplater

    output_file(out, "--out")
    layout = LogFormat.compile(format)
    try:
        with input.open(encoding=encoding, errors="replace") as handle:
            lines = handle.read().splitlines()
    except (OSError, LookupError) as exc:
        raise ValidationError("unreadable_input", str(exc), path=str(input)) from exc
    parsed = [layout.parse(line) for line in lines]
    with tqdm(total=len(parsed), unit="line", desc="templating", disable=None) as bar:
        matches = LogTemplater().parse([p.content for p in parsed], progress=bar.update)
    _write_csv(out, layout.header_fields, parsed, matches)
    unmatched = sum(not p.matched for p in parsed)
    typer.echo(
        f"{len(parsed)} lines, {len({m.template_id for m in matches})} templates, "
        f"{unmatched} lines did not fit the format -> {out}",
        err=True,
    )


def _write_csv(out: Path, fields: tuple[str, ...], parsed: list, matches: list) -> None:
    import csv

    try:
        with out.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["LineId", *fields, "Content", "EventId", "EventTemplate"])
            for k, (line, match) in enumerate(zip(parsed, matches, strict=True), 1):
                row = [line.fields.get(f, "") for f in fields]
                writer.writerow([k, *row, line.content, match.template_id, match.template])
    except OSError as exc:
        raise ValidationError("unwritable_output", str(exc), path=str(out)) from exc
