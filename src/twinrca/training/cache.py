"""One content-keyed pickle cache for trained models.

A cache file holds ``(key, payload)``; the key is a digest of everything that shapes the
model, so a cache written for another set-up is retrained over, and an unreadable file
is ignored (with a warning) rather than failing. The parts every model key holds:

* :func:`code_version`: the package version and a digest of the source of the
  packages that shape a model (the twin, detection, diagnosis, prediction, the FMEA
  catalogue code, training itself), so a code change retrains;
* :func:`catalogue_digest`: the failure-mode catalogue's content (every field of
  every mode and action, not only its version number);
* :func:`kind_parameters`: per element kind, the values its attributes take
  (capacities, battery autonomy, media, protection...), not which element has them;

plus what the model is trained on (:func:`topology_digest` of the twin runs' network)
and its set-up."""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable, Iterable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from twinrca.core.topology import Topology
from twinrca.fmea.catalogue import Catalogue

__all__ = [
    "MODEL_PACKAGES",
    "cache_key",
    "cached",
    "catalogue_digest",
    "code_version",
    "kind_parameters",
    "source_digest",
    "topology_digest",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
_UNREADABLE = (OSError, pickle.UnpicklingError, ValueError, EOFError, TypeError)


def cache_key(parts: Iterable[object]) -> str:
    """SHA-256 over the ``repr`` of each part (strings as they are)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else repr(part).encode())
    return h.hexdigest()


#: packages whose source shapes a trained model (twinrca.<name>)
MODEL_PACKAGES = ("causal", "detect", "fmea", "predict", "training", "twin_replay")
#: attributes that name an element rather than parametrise its kind
_IDENTITY_ATTRS = frozenset({"pci"})


def source_digest(roots: Iterable[Path]) -> str:
    """SHA-256 over the relative path and bytes of every ``.py`` file under ``roots``."""
    h = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root.parent)).encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def code_version() -> str:
    """``<package version>+<digest of the model packages' source>``."""
    try:
        version = metadata.version("twinrca")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    here = Path(__file__).resolve().parent.parent  # src/twinrca
    return f"{version}+{source_digest(here / p for p in MODEL_PACKAGES)[:16]}"


def catalogue_digest(catalogue: Catalogue) -> str:
    """A digest of every field of every mode and action of the catalogue."""
    return cache_key(
        (
            str(catalogue.version),
            [repr(m) for m in sorted(catalogue.modes, key=lambda m: m.id)],
            [repr(a) for a in sorted(catalogue.actions, key=lambda a: a.id)],
        )
    )


def kind_parameters(topology: Topology) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Per element kind, its attributes and the distinct values each takes (sorted,
    as text), without identifiers (PCI): two networks built from the same kinds of
    elements have the same parameters whatever their size or wiring."""
    values: dict[str, dict[str, set[str]]] = {}
    for e in topology:
        attrs = values.setdefault(str(e.kind), {})
        for k, v in e.attrs.items():
            if k not in _IDENTITY_ATTRS:
                attrs.setdefault(k, set()).add(repr(v))
    return tuple(
        (kind, tuple((k, ",".join(sorted(vs))) for k, vs in sorted(attrs.items())))
        for kind, attrs in sorted(values.items())
    )


def topology_digest(topology: Topology) -> str:
    """A digest of the network's elements (kind, attributes), feeds and neighbours."""
    return cache_key(
        (
            sorted(
                (e.element_id, str(e.kind), sorted(map(repr, e.attrs.items()))) for e in topology
            ),
            sorted(topology.feeds),
            sorted(topology.neighbour_pairs),
        )
    )


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
