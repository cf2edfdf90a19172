"""Numeric CLI options with one range, stated in ``--help`` and in the error.

``ranged(default, lo, hi, "what it is")`` is a ``typer.Option`` whose help ends with the
range and whose callback refuses values outside it, NaN and infinities with the same
range in the message (click's own ranges let ``nan`` through and word the range
differently from the help). ``output_file(path, "--out")`` checks an output file before
any long work: not a folder, and its folder exists or can be created;
``output_folder`` the same for an output folder.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import typer

__all__ = ["check_range", "output_file", "output_folder", "ranged"]


def _fmt(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def check_range(value: float, lo: float, hi: float, option: str) -> float:
    """``value`` if it is finite and in ``lo .. hi``, else a :class:`typer.BadParameter`."""
    if isinstance(value, float) and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a number in {_fmt(lo)} .. {_fmt(hi)}")
    if not lo <= value <= hi:
        raise typer.BadParameter(f"{_fmt(value)} is outside {_fmt(lo)} .. {_fmt(hi)}")
    return value


def ranged(default: Any, lo: float, hi: float, help: str, *names: str) -> Any:
    """A typer option whose value must lie in ``lo .. hi`` (inclusive)."""

    def _callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or ctx.resilient_parsing:
            return value
        return check_range(value, lo, hi, param.name or "")

    return typer.Option(
        default, *names, help=f"{help} ({_fmt(lo)} .. {_fmt(hi)})", callback=_callback
    )


def output_file(path: Path, option: str) -> Path:
    """``path`` when a file can be written there (its missing folders are created), else
    a :class:`~twinrca.core.errors.ValidationError` naming ``option``. Called before the
    work, so that a bad ``--out`` does not fail after a long run."""
    from twinrca.core.errors import ValidationError

    if path.is_dir():
        raise ValidationError(
            "bad_option", f"{option} {path}: is a folder", hint="name a file in it"
        )
    _creatable(path.parent, path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise ValidationError("bad_option", f"{option} {path}: not writable")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def output_folder(path: Path, option: str) -> Path:
    """``path`` when it is a folder or can be created as one (it is not created), else a
    :class:`~twinrca.core.errors.ValidationError` naming ``option``."""
    from twinrca.core.errors import ValidationError

    if path.exists() and not path.is_dir():
        raise ValidationError(
            "bad_option", f"{option} {path}: is a file, not a folder", hint="name a folder"
        )
    _creatable(path, path, option)
    return path


def _creatable(folder: Path, path: Path, option: str) -> None:
    """The nearest existing ancestor of ``folder`` is a writable folder."""
    from twinrca.core.errors import ValidationError

    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValidationError("bad_option", f"{option} {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValidationError("bad_option", f"{option} {path}: {folder} is not writable")
