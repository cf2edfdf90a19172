"""Model registry: versions, feature list, data schema, training window and metrics.

The registry keeps a *card* per model version as a document and the model bytes as
state, through four calls of the store (:class:`ModelStore`). :class:`MemoryModelStore`
and :class:`DirModelStore` (JSON files + bytes in a folder) implement them for tests,
notebooks and the CLI; the service passes the product's store.

Loading checks that the live data schema matches the one the model was fitted on and
raises :class:`~twinrca.core.errors.SchemaMismatch` otherwise.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from twinrca.core.errors import NotFound, SchemaMismatch, ValidationError

__all__ = [
    "DirModelStore",
    "MemoryModelStore",
    "ModelCard",
    "ModelRegistry",
    "ModelStore",
    "check_schema",
    "frame_schema",
]

log = logging.getLogger(__name__)

_CARD = "model_card"
_INDEX = "model_index"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class ModelStore(Protocol):
    """The four calls the registry needs (the store package provides them)."""

    def put_document(self, kind: str, doc_id: str, doc: Mapping[str, Any]) -> None: ...

    def get_document(self, kind: str, doc_id: str) -> dict[str, Any] | None: ...

    def put_state(self, key: str, value: bytes) -> None: ...

    def get_state(self, key: str) -> bytes | None: ...


class MemoryModelStore:
    """In-memory :class:`ModelStore` (tests, notebooks)."""

    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], dict[str, Any]] = {}
        self._state: dict[str, bytes] = {}

    def put_document(self, kind: str, doc_id: str, doc: Mapping[str, Any]) -> None:
        self._docs[(kind, doc_id)] = json.loads(json.dumps(doc))

    def get_document(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        doc = self._docs.get((kind, doc_id))
        return None if doc is None else json.loads(json.dumps(doc))

    def put_state(self, key: str, value: bytes) -> None:
        self._state[key] = bytes(value)

    def get_state(self, key: str) -> bytes | None:
        return self._state.get(key)


class DirModelStore:
    """:class:`ModelStore` in a folder: ``docs/<kind>/<id>.json`` and ``state/<key>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, *parts: str) -> Path:
        safe = [re.sub(r"[^A-Za-z0-9_.=-]", "_", p) for p in parts]
        return self.root.joinpath(*safe)

    def put_document(self, kind: str, doc_id: str, doc: Mapping[str, Any]) -> None:
        path = self._path("docs", kind, f"{doc_id}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1))

    def get_document(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        path = self._path("docs", kind, f"{doc_id}.json")
        return json.loads(path.read_text()) if path.exists() else None

    def put_state(self, key: str, value: bytes) -> None:
        path = self._path("state", key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value)

    def get_state(self, key: str) -> bytes | None:
        path = self._path("state", key)
        return path.read_bytes() if path.exists() else None


def frame_schema(frame: pd.DataFrame) -> dict[str, str]:
    """Column name -> dtype name, the schema a model records and checks."""
    return {str(c): str(t) for c, t in frame.dtypes.items()}


def check_schema(expected: Mapping[str, str], live: Mapping[str, str]) -> None:
    """Raise :class:`SchemaMismatch` naming missing, extra and retyped columns."""
    missing = sorted(set(expected) - set(live))
    extra = sorted(set(live) - set(expected))
    retyped = sorted(
        f"{c}: {expected[c]} -> {live[c]}"
        for c in set(expected) & set(live)
        if not _compatible(expected[c], live[c])
    )
    if missing or extra or retyped:
        raise SchemaMismatch(
            "live data does not match the model's schema",
            hint="retrain the model on data of the new shape, or map the columns back",
            missing=missing,
            extra=extra,
            retyped=retyped,
        )


def _compatible(want: str, got: str) -> bool:
    if want == got:
        return True
    numeric = ("int", "float", "uint")
    return want.startswith(numeric) and got.startswith(numeric)


@dataclass(frozen=True, slots=True)
class ModelCard:
    """What a model assumed when it was fitted."""

    name: str
    version: int
    kind: str
    feature_names: tuple[str, ...]
    schema: Mapping[str, str]
    training_window: tuple[str, str]
    metrics: Mapping[str, float]
    created_at: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def doc_id(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def state_key(self) -> str:
        return f"model/{self.name}/{self.version}"

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["feature_names"] = list(self.feature_names)
        doc["training_window"] = list(self.training_window)
        doc["schema"] = dict(self.schema)
        doc["metrics"] = dict(self.metrics)
        doc["params"] = dict(self.params)
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> ModelCard:
        return cls(
            name=str(doc["name"]),
            version=int(doc["version"]),
            kind=str(doc["kind"]),
            feature_names=tuple(doc["feature_names"]),
            schema=dict(doc["schema"]),
            training_window=(str(doc["training_window"][0]), str(doc["training_window"][1])),
            metrics=dict(doc["metrics"]),
            created_at=str(doc["created_at"]),
            params=dict(doc.get("params", {})),
        )


class ModelRegistry:
    """Versioned models in a :class:`ModelStore`."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store

    def versions(self, name: str) -> list[int]:
        index = self.store.get_document(_INDEX, name) or {}
        return [int(v) for v in index.get("versions", [])]

    def register(
        self,
        name: str,
        model: bytes,
        *,
        kind: str,
        feature_names: Sequence[str],
        schema: Mapping[str, str],
        training_window: tuple[datetime | str, datetime | str],
        metrics: Mapping[str, float],
        params: Mapping[str, Any] | None = None,
    ) -> ModelCard:
        """Store ``model`` as the next version of ``name``; returns its card."""
        if not _NAME_RE.match(name):
            raise ValidationError(
                "bad_model_name", f"model name {name!r} must match {_NAME_RE.pattern}"
            )
        versions = self.versions(name)
        card = ModelCard(
            name=name,
            version=(max(versions) + 1) if versions else 1,
            kind=kind,
            feature_names=tuple(feature_names),
            schema=dict(schema),
            training_window=(_iso(training_window[0]), _iso(training_window[1])),
            metrics={k: float(v) for k, v in metrics.items()},
            created_at=datetime.now(UTC).isoformat(),
            params=dict(params or {}),
        )
        self.store.put_state(card.state_key, model)
        self.store.put_document(_CARD, card.doc_id, card.to_doc())
        self.store.put_document(_INDEX, name, {"name": name, "versions": [*versions, card.version]})
        log.info("registered model %s version %s", name, card.version)
        return card

    def card(self, name: str, version: int | None = None) -> ModelCard:
        versions = self.versions(name)
        if not versions:
            raise NotFound(f"no model named {name!r} in the registry")
        v = max(versions) if version is None else version
        doc = self.store.get_document(_CARD, f"{name}/{v}")
        if doc is None:
            raise NotFound(f"model {name!r} has no version {v}", versions=versions)
        return ModelCard.from_doc(doc)

    def load(
        self, name: str, version: int | None = None, *, live_schema: Mapping[str, str] | None = None
    ) -> tuple[ModelCard, bytes]:
        """The card and bytes of a version (latest by default), schema-checked when
        ``live_schema`` is given."""
        card = self.card(name, version)
        if live_schema is not None:
            check_schema(card.schema, live_schema)
        model = self.store.get_state(card.state_key)
        if model is None:
            raise NotFound(f"model bytes of {card.doc_id} are missing from the store")
        return card, model


def _iso(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
