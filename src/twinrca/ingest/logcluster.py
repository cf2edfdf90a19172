"""Online clustering of masked log messages (a Drain-style prefix tree, own code).

Messages (already masked, as token lists) are bucketed by their length and their
first token (a token holding a digit or a wildcard counts as ``<*>``); inside a
bucket a message joins the most similar cluster when at least ``sim_th`` of its
positions agree (a wildcard of the message agrees with a wildcard of the template,
``key=a`` agrees with ``key=b``), else it opens a new cluster. Joining widens the
template: disagreeing positions become ``<*>`` (``key=<*>`` for a pair).

Each cluster gets its id when it is created (``T`` + 12 hex digits of a hash of the
first message) and keeps it while its template widens: an id names a group of
messages, never a text. Every distinct token sequence is remembered with its
cluster, so a message seen before costs one dictionary look-up and always lands in
the same cluster.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from twinrca.ingest.masking import WILDCARD

__all__ = ["Cluster", "ClusterTree", "template_id"]

_DIGIT = re.compile(r"\d")


def template_id(text: str) -> str:
    """Stable id of a text: ``T`` + 12 hex digits of its BLAKE2b hash."""
    return "T" + hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


@dataclass(slots=True)
class Cluster:
    """One group of messages: its fixed id and its (widening) template tokens."""

    cid: int
    event_id: str
    tokens: list[str]
    size: int = 0


def _route(token: str) -> str:
    """The bucket a first token sends a message to (values share one bucket)."""
    return WILDCARD if WILDCARD in token or _DIGIT.search(token) else token


_SEP = ",;|"
_PUNCT = frozenset("()[]{}'\"`,;:|/#$@!?%&+~^")


def _shared_punct(a: str, b: str) -> str:
    """The longest common start of ``a`` and ``b`` made of brackets and punctuation."""
    k = 0
    while k < len(a) and k < len(b) and a[k] == b[k] and a[k] in _PUNCT:
        k += 1
    return a[:k]


def _key(token: str) -> str:
    """``key=`` of a ``key=value`` token ('' for other tokens)."""
    k = token.find("=")
    return token[: k + 1] if k > 0 and token[:k].replace("_", "").replace(".", "").isalnum() else ""


def _agree(t: str, w: str) -> bool:
    """A template token and a message token agree: equal, both values, or the same
    key of a ``key=value`` pair (the value of a pair is a value)."""
    if t == w or (t == WILDCARD and WILDCARD in w):
        return True
    key = _key(t)
    return bool(key) and w.startswith(key)


def _general(t: str, w: str) -> str:
    """What a template token becomes when a message disagrees with it."""
    key = _key(t)
    if key and w.startswith(key):
        end = t[-1] if t[-1] in _SEP and w[-1:] == t[-1] else ""
        return f"{key}{WILDCARD}{end}"
    head = _shared_punct(t, w)
    tail = _shared_punct(t[len(head) :][::-1], w[len(head) :][::-1])[::-1]
    if head or tail:
        return f"{head}{WILDCARD}{tail}"  # "(a)" and "()" -> "(<*>)"
    return WILDCARD


class ClusterTree:
    """The clusters and their index; ``sim_th`` is the share of agreeing positions."""

    def __init__(self, sim_th: float = 0.5, max_seen: int = 200_000) -> None:
        self.sim_th = sim_th
        self.max_seen = max_seen
        self.clusters: list[Cluster] = []
        self._buckets: dict[tuple[int, str], list[int]] = {}
        self._seen: dict[tuple[str, ...], int] = {}

    def _bucket(self, tokens: Sequence[str]) -> tuple[int, str]:
        return len(tokens), (_route(tokens[0]) if tokens else "")

    def add(self, tokens: tuple[str, ...]) -> tuple[int, bool]:
        """Place one message; returns (cluster index, whether anything changed)."""
        known = self._seen.get(tokens)
        if known is not None:
            self.clusters[known].size += 1
            return known, False
        bucket = self._bucket(tokens)
        members = self._buckets.setdefault(bucket, [])
        best = self._best(members, tokens)
        if best is None:
            best = len(self.clusters)
            self.clusters.append(Cluster(best, self._new_id(tokens), list(tokens)))
            members.append(best)
        else:
            self._widen(self.clusters[best], tokens)
        self.clusters[best].size += 1
        if len(self._seen) < self.max_seen:
            self._seen[tokens] = best
        return best, True

    def match(self, tokens: tuple[str, ...]) -> int | None:
        """The cluster a message would join, without learning; None if none fits."""
        known = self._seen.get(tokens)
        if known is not None:
            return known
        return self._best(self._buckets.get(self._bucket(tokens), []), tokens)

    def _new_id(self, tokens: Sequence[str]) -> str:
        base = " ".join(tokens) or WILDCARD
        event_id = template_id(base)
        taken = {c.event_id for c in self.clusters} if len(self.clusters) < 4096 else None
        salt = 0
        while taken is not None and event_id in taken:
            salt += 1
            event_id = template_id(f"{base}\x00{salt}")
        return event_id

    def _best(self, members: list[int], tokens: Sequence[str]) -> int | None:
        best, best_sim = None, -1.0
        n = len(tokens) or 1
        for cid in members:
            template = self.clusters[cid].tokens
            agree = 0
            for t, w in zip(template, tokens, strict=True):
                if t == w or _agree(t, w):
                    agree += 1
            sim = agree / n
            if sim > best_sim:
                best, best_sim = cid, sim
        return best if best is not None and best_sim >= self.sim_th else None

    @staticmethod
    def _widen(cluster: Cluster, tokens: Sequence[str]) -> None:
        template = cluster.tokens
        for p, (t, w) in enumerate(zip(template, tokens, strict=True)):
            if t != w and t != WILDCARD:
                template[p] = _general(t, w)

    # -- state ---------------------------------------------------------------------

    def to_json(self) -> dict[str, object]:
        return {
            "sim_th": self.sim_th,
            "clusters": [[c.event_id, c.tokens, c.size] for c in self.clusters],
            "seen": [[list(k), v] for k, v in self._seen.items()],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], max_seen: int = 200_000) -> ClusterTree:
        tree = cls(float(doc["sim_th"]), max_seen)
        for cid, (event_id, tokens, size) in enumerate(doc["clusters"]):
            cluster = Cluster(cid, str(event_id), list(tokens), int(size))
            tree.clusters.append(cluster)
            tree._buckets.setdefault(tree._bucket(tokens), []).append(cid)
        tree._seen = {tuple(k): int(v) for k, v in doc["seen"]}
        return tree
