"""The text of PM file values, and the XML prolog vendors write.

A value (``<r>`` or one token of ``<measResults>``) is one of:

* empty or ``NIL`` (and the other spellings in :data:`NIL`): *not available*, skipped;
* a number: stored under its counter name;
* a comma-separated list (``0,0,3,12,0,``, a trailing comma allowed): a multi-valued
  counter (a distribution / PDF, or per-bin values), stored as one value per bin under
  ``<counter>.bin<i>``;
* anything else: refused alone (the caller dead-letters that value only).

:func:`fix_prolog` moves an XML declaration written after a processing instruction
(``<?xml-stylesheet ...?>`` first, as some vendors do) back to the start, where XML
requires it, so such a file parses; the caller counts it as a warning.
"""

from __future__ import annotations

import math
import re

from twinrca.core.errors import ValidationError

__all__ = ["BIN", "NIL", "fix_prolog", "number", "parse_value"]

NIL = frozenset({"", "NIL", "nil", "Nil", "NULL", "null", "-", "N/A", "n/a"})
#: the name of bin ``i`` of multi-valued counter ``c`` is ``c + BIN + str(i)``
BIN = ".bin"
_DECL = re.compile(rb"<\?xml\s[^?]*\?>")
_MAX_BINS = 4096


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValidationError("bad_value", f"non-numeric value {text[:40]!r}") from None
    if not math.isfinite(value):
        raise ValidationError("bad_value", f"non-finite value {text[:40]!r}")
    return value


def number(text: str | None, where: str) -> float | None:
    """One number, or None for *not available*; ``bad_value`` naming ``where`` else."""
    text = (text or "").strip()
    if text in NIL:
        return None
    try:
        return _float(text)
    except ValidationError as exc:
        raise ValidationError("bad_value", f"{exc.message} in {where}") from None


def parse_value(text: str | None) -> list[float] | None:
    """None (not available), one number, or the bins of a multi-valued counter.

    Raises :class:`ValidationError` (``bad_value``) for a value that is none of these.
    """
    text = (text or "").strip()
    if text in NIL:
        return None
    if "," not in text:
        return [_float(text)]
    parts = text.split(",")
    if parts[-1].strip() == "":
        parts.pop()  # the trailing comma vendors write
    if not parts or len(parts) > _MAX_BINS:
        raise ValidationError("bad_value", f"multi-valued counter with {len(parts)} bins")
    return [_float(p.strip()) for p in parts]


def fix_prolog(data: bytes) -> tuple[bytes, list[str]]:
    """The document with its XML declaration first; warnings for what was moved."""
    body = data.removeprefix(b"\xef\xbb\xbf")
    stripped = body.lstrip()
    warnings: list[str] = []
    if len(stripped) != len(body):
        warnings.append("whitespace before the XML declaration or root element removed")
    m = _DECL.search(stripped, 0, 4096)
    if m is None or m.start() == 0:
        return (stripped if warnings else data), warnings
    head = stripped[: m.start()]
    if not head.lstrip().startswith(b"<?"):
        return (stripped if warnings else data), warnings  # parse error reported as usual
    warnings.append(f"processing instruction before the XML declaration: {head[:60]!r}")
    return m.group(0) + b"\n" + head + stripped[m.end() :], warnings
