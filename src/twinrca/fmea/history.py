"""The history of every rating change, and its persistence through a document store.

A :class:`RatingChange` records old and new value, why, from which source (import,
incident statistics, prediction, a person), when and who. :class:`RatingHistory`
keeps them in order, applies the latest value per (mode, rating) on top of the
catalogue's defaults and persists through any object with
``put_document(kind, doc_id, doc)`` and ``list_documents(kind, where=...)``
(:class:`DocumentStore`; the store package implements it for its databases;
:class:`InMemoryDocumentStore` and :class:`JsonDirDocumentStore` are here for tests,
notebooks and the CLI without a database).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from twinrca.core.errors import StoreError, ValidationError
from twinrca.core.timeutil import parse_time, utcnow
from twinrca.fmea.ratings import RATING_FIELDS, check_rating
from twinrca.fmea.table import FmeaRow, rows_from_catalogue

__all__ = [
    "DOCUMENT_KIND",
    "DocumentStore",
    "InMemoryDocumentStore",
    "JsonDirDocumentStore",
    "RatingChange",
    "RatingHistory",
    "current_rows",
]

log = logging.getLogger(__name__)

DOCUMENT_KIND = "fmea_rating_change"


class DocumentStore(Protocol):
    """The two calls the history needs from a store (``twinrca.store`` backends have them)."""

    def put_document(self, kind: str, doc_id: str, doc: Mapping[str, Any]) -> object: ...

    def list_documents(
        self, kind: str, *, where: Mapping[str, Any] | None = None, limit: int = ...
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class RatingChange:
    """One change of one rating of one failure mode."""

    mode_id: str
    field: str
    old: int
    new: int
    reason: str
    source: str
    at: datetime
    who: str
    seq: int = 0

    def __post_init__(self) -> None:
        if self.field not in RATING_FIELDS:
            raise ValidationError("bad_field", f"{self.field!r} is not one of {RATING_FIELDS}")
        object.__setattr__(self, "old", check_rating(self.old, "old"))
        object.__setattr__(self, "new", check_rating(self.new, "new"))

    @property
    def doc_id(self) -> str:
        return f"{self.mode_id}/{self.field}/{self.at.strftime('%Y%m%dT%H%M%S%f')}/{self.seq}"

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["at"] = self.at.isoformat()
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> RatingChange:
        try:
            return cls(
                mode_id=str(doc["mode_id"]),
                field=str(doc["field"]),
                old=doc["old"],
                new=doc["new"],
                reason=str(doc.get("reason", "")),
                source=str(doc.get("source", "")),
                at=parse_time(doc["at"]),
                who=str(doc.get("who", "")),
                seq=int(doc.get("seq", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                "bad_history_document", f"cannot read rating change: {exc}"
            ) from exc


class RatingHistory:
    """Ordered rating changes; the latest per (mode, rating) is the current value."""

    def __init__(self, changes: Iterable[RatingChange] = ()) -> None:
        self._changes: list[RatingChange] = sorted(changes, key=lambda c: (c.at, c.seq))
        self._saved: set[str] = set()

    def __len__(self) -> int:
        return len(self._changes)

    def __iter__(self) -> Iterator[RatingChange]:
        return iter(self._changes)

    def record(
        self,
        mode_id: str,
        field: str,
        old: int,
        new: int,
        *,
        reason: str,
        source: str,
        who: str,
        at: datetime | None = None,
    ) -> RatingChange | None:
        """Append a change; returns ``None`` (and records nothing) when ``old == new``."""
        if int(old) == int(new):
            return None
        change = RatingChange(
            mode_id, field, old, new, reason, source, at or utcnow(), who, seq=len(self._changes)
        )
        self._changes.append(change)
        log.info("rating %s.%s %s -> %s (%s)", mode_id, field, old, new, source)
        return change

    def for_mode(self, mode_id: str) -> list[RatingChange]:
        return [c for c in self._changes if c.mode_id == mode_id]

    def current(self) -> dict[str, dict[str, int]]:
        """mode id -> {rating field -> latest value}."""
        out: dict[str, dict[str, int]] = {}
        for c in self._changes:
            out.setdefault(c.mode_id, {})[c.field] = c.new
        return out

    def apply(self, rows: Iterable[FmeaRow]) -> list[FmeaRow]:
        """The rows with the latest recorded ratings in place of their defaults."""
        current = self.current()
        return [r.with_ratings(**current[r.mode_id]) if r.mode_id in current else r for r in rows]

    def update_rows(
        self,
        rows: Iterable[FmeaRow],
        new_rows: Iterable[FmeaRow],
        *,
        reason: str,
        source: str,
        who: str,
    ) -> list[RatingChange]:
        """Record every rating that differs between ``rows`` and ``new_rows`` (same ids)."""
        old = {r.mode_id: r for r in rows}
        made = []
        for new in new_rows:
            before = old.get(new.mode_id)
            if before is None:
                continue
            for name in RATING_FIELDS:
                change = self.record(
                    new.mode_id,
                    name,
                    getattr(before, name),
                    getattr(new, name),
                    reason=reason,
                    source=source,
                    who=who,
                )
                if change is not None:
                    made.append(change)
        return made

    def save(self, store: DocumentStore) -> int:
        """Put the changes not yet saved to or loaded from a store; returns how many.
        Document ids are stable, so saving to a second store repeats nothing twice."""
        todo = [c for c in self._changes if c.doc_id not in self._saved]
        for c in todo:
            store.put_document(DOCUMENT_KIND, c.doc_id, c.to_doc())
            self._saved.add(c.doc_id)
        return len(todo)

    @classmethod
    def load(
        cls, store: DocumentStore, mode_id: str | None = None, *, limit: int = 1_000_000
    ) -> RatingHistory:
        """Every stored change (of one mode when ``mode_id``), oldest first."""
        where = {"mode_id": mode_id} if mode_id else None
        docs = store.list_documents(DOCUMENT_KIND, where=where, limit=limit)
        history = cls(RatingChange.from_doc(d) for d in docs)
        history._saved = {c.doc_id for c in history}
        return history


def _matches(doc: Mapping[str, Any], where: Mapping[str, Any] | None) -> bool:
    return all(doc.get(k) == v for k, v in (where or {}).items())


class InMemoryDocumentStore:
    """A dict-backed :class:`DocumentStore` (tests, notebooks)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, dict[str, Any]]] = {}

    def put_document(self, kind: str, doc_id: str, doc: Mapping[str, Any]) -> None:
        self.docs.setdefault(kind, {})[doc_id] = json.loads(json.dumps(dict(doc)))

    def list_documents(
        self, kind: str, *, where: Mapping[str, Any] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        return [d for d in self.docs.get(kind, {}).values() if _matches(d, where)][:limit]


class JsonDirDocumentStore:
    """A :class:`DocumentStore` of JSON files, ``ROOT/KIND/DOC_ID.json`` (CLI default)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, kind: str, doc_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", doc_id)
        return self.root / kind / f"{safe}.json"

    def put_document(self, kind: str, doc_id: str, doc: Mapping[str, Any]) -> None:
        path = self._path(kind, doc_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(dict(doc), sort_keys=True), encoding="utf-8")
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc}") from exc

    def list_documents(
        self, kind: str, *, where: Mapping[str, Any] | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        folder = self.root / kind
        if not folder.is_dir():
            return []
        try:
            docs = [
                json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
            ]
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read documents in {folder}: {exc}") from exc
        return [d for d in docs if _matches(d, where)][:limit]


def current_rows(
    catalogue: Iterable[Any] | None = None, history: RatingHistory | None = None
) -> list[FmeaRow]:
    """FMEA rows of the catalogue (packaged one by default) with the history applied."""
    if catalogue is None:
        from twinrca.fmea.catalogue import load_catalogue

        catalogue = load_catalogue()
    rows = rows_from_catalogue(catalogue)
    return history.apply(rows) if history is not None else rows
