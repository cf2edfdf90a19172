"""``twinrca predict``: cross-validate, fit and score on a user's incident tables.

Every ``--table`` is a CSV in long format keyed by the ``--id`` column; the table's name
is its file name without extension.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from twinrca.cli.options import output_file, ranged
from twinrca.core.errors import ValidationError

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

_Labels = Annotated[Path, typer.Option("--labels", help="label table CSV (one row per id)")]
_Id = Annotated[str, typer.Option("--id", help="id column shared by all tables")]
_Tables = Annotated[
    list[Path], typer.Option("--table", help="long table CSV keyed by the id (repeat)")
]


def _read(path: Path) -> Any:
    import pandas as pd

    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ValidationError("bad_csv", f"cannot read {path}: {exc}") from exc


def _tables(paths: list[Path]) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in paths:
        if p.stem in out:
            raise ValidationError("duplicate_table", f"two tables are named {p.stem!r}")
        out[p.stem] = _read(p)
    return out


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    # no bar unless stderr is a terminal: an error then stays the one line on stderr
    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False, disable=None)


@app.command()
def cv(
    labels: _Labels,
    id_col: _Id,
    target: Annotated[str, typer.Option("--target", help="target column of the label table")],
    table: _Tables = [],  # noqa: B006 - typer reads the default
    folds: int = ranged(5, 2, 100, "cross-validation folds", "--folds"),
    seed: int = ranged(0, 0, 2**32 - 1, "random seed", "--seed"),
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON line")] = False,
) -> None:
    """Stratified K-fold cross-validation: out-of-fold log loss and accuracy."""
    from twinrca.predict.tabular import cross_validate

    label_frame, tables = _read(labels), _tables(table)
    with _progress(folds, "folds") as bar:
        res = cross_validate(
            label_frame,
            tables,
            id_col=id_col,
            target_col=target,
            folds=folds,
            seed=seed,
            progress=lambda _i: bar.update(1),
        )
    if as_json:
        typer.echo(json.dumps(res.to_json()))
    else:
        typer.echo(
            f"logloss {res.logloss:.4f} (prior {res.prior_logloss:.4f}), "
            f"accuracy {res.accuracy:.4f}, n {res.n}, classes {res.classes}, "
            f"features {res.n_features}"
        )


@app.command()
def fit(
    labels: _Labels,
    id_col: _Id,
    target: Annotated[str, typer.Option("--target")],
    table: _Tables = [],  # noqa: B006
    seed: int = ranged(0, 0, 2**32 - 1, "random seed", "--seed"),
    out: Annotated[Path | None, typer.Option("--out", help="model file (JSON)")] = None,
    registry: Annotated[Path | None, typer.Option("--registry", help="registry folder")] = None,
    name: Annotated[
        str, typer.Option("--name", help="model name in the registry")
    ] = "incident-table",
) -> None:
    """Fit on all labelled ids; save to a file and/or a registry folder."""
    from twinrca.predict.registry import DirModelStore, ModelRegistry
    from twinrca.predict.tabular import fit_table_model

    if out is None and registry is None:
        raise ValidationError("no_output", "give --out FILE and/or --registry DIR")
    if out is not None:
        output_file(out, "--out")
    frame = _read(labels)
    model = fit_table_model(frame, _tables(table), id_col=id_col, target_col=target, seed=seed)
    if out is not None:
        model.save(str(out))
        typer.echo(f"model written to {out} ({len(model.featurizer.feature_names)} features)")
    if registry is not None:
        meta, booster = model.to_artifact()
        blob = json.dumps({"meta": meta, "booster": booster.decode()}).encode()
        card = ModelRegistry(DirModelStore(registry)).register(
            name,
            blob,
            kind="table_model",
            feature_names=model.featurizer.feature_names,
            schema={
                f"{t}.{c}": d
                for t, s in model.featurizer.schemas.items()
                for c, d in zip(s.columns, s.dtypes, strict=True)
            },
            training_window=("", ""),
            metrics={"n": len(frame)},
        )
        typer.echo(f"registered {card.name} version {card.version} in {registry}")


@app.command()
def score(
    labels: _Labels,
    id_col: _Id,
    table: _Tables = [],  # noqa: B006
    model: Annotated[
        Path | None, typer.Option("--model", help="model file from `fit --out`")
    ] = None,
    registry: Annotated[Path | None, typer.Option("--registry")] = None,
    name: Annotated[str, typer.Option("--name")] = "incident-table",
    version: int | None = ranged(
        None, 1, 2**31 - 1, "registry version (default: the latest)", "--version"
    ),
    out: Annotated[Path, typer.Option("--out", help="probabilities CSV")] = Path("predictions.csv"),
) -> None:
    """Class probabilities for the ids of ``--labels`` (tables of the fitted shapes)."""
    from twinrca.predict.registry import DirModelStore, ModelRegistry
    from twinrca.predict.tabular import TableModel

    output_file(out, "--out")
    if model is not None:
        fitted = TableModel.load(str(model))
    elif registry is not None:
        _card, blob = ModelRegistry(DirModelStore(registry)).load(name, version)
        doc = json.loads(blob)
        fitted = TableModel.from_artifact(doc["meta"], doc["booster"].encode())
    else:
        raise ValidationError("no_model", "give --model FILE or --registry DIR")
    if fitted.featurizer.id_col != id_col:
        raise ValidationError(
            "id_mismatch", f"the model was fitted with --id {fitted.featurizer.id_col}"
        )
    proba = fitted.predict_proba(_read(labels), _tables(table))
    proba.to_csv(out, index=False)
    typer.echo(f"{len(proba)} rows written to {out}")
