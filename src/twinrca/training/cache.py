"""One content-keyed pickle cache for trained models.

A cache file holds ``(key, payload)``; the key is a digest of what the model was trained
on (topology, catalogue, set-up), so a cache written for another set-up is retrained
over, and an unreadable file is ignored (with a warning) rather than failing."""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["cache_key", "cached"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_UNREADABLE = (OSError, pickle.UnpicklingError, ValueError, EOFError, TypeError)


def cache_key(parts: Iterable[object]) -> str:
    """SHA-256 over the ``repr`` of each part (strings as they are)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else repr(part).encode())
    return h.hexdigest()


def cached(
    path: Path,
    key: str,
    build: Callable[[], T],
    *,
    what: str,
    dump: Callable[[T], Any] | None = None,
    load: Callable[[Any], T] | None = None,
) -> T:
    """The model stored at ``path`` under ``key``, else ``build()`` stored there.
    ``dump`` / ``load`` turn the model into the pickled payload and back (default: the
    model itself)."""
    if path.is_file():
        try:
            with path.open("rb") as fh:
                stored_key, payload = pickle.load(fh)  # noqa: S301 - our own cache file
            if stored_key == key:
                return load(payload) if load is not None else payload
        except _UNREADABLE:
            log.warning("ignoring unreadable %s cache %s", what, path)
    model = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump((key, dump(model) if dump is not None else model), fh)
    return model
