"""Log templates: general masking, online clustering, a second pass, stable ids.

:class:`LogTemplater` turns the message part of a log line into a template and an
event id. Three stages, one set of defaults for every log system:

1. :func:`twinrca.ingest.masking.mask` replaces values (numbers, addresses, paths,
   sizes, durations, ids, times ...) by ``<*>`` and folds variable-length lists;
2. :class:`twinrca.ingest.logcluster.ClusterTree` groups the masked messages;
3. :class:`twinrca.ingest.logsplit.ClusterStats` restores constant words that the
   clustering turned into ``<*>``, so a cluster can hold finer templates.

Ids never change meaning. A cluster's id is fixed when it is created and stays while
its template widens. When the second pass finds that a cluster holds several
templates, each gets a new id (a hash of the cluster id and the constant words at
the split positions) whose parent is the cluster id: rows named before the split
keep an id that still means "this cluster". :meth:`LogTemplater.parent` tells it.

State (clusters, per-cluster statistics, the settings they were built with) is
saved through a :class:`~twinrca.ingest.logstate.StateStore` under one key.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import orjson

from twinrca.core.errors import SchemaMismatch
from twinrca.ingest.logcluster import ClusterTree, template_id
from twinrca.ingest.logsplit import ClusterStats, SplitRules
from twinrca.ingest.logstate import StatePersistence, StateStore
from twinrca.ingest.masking import mask_split

__all__ = ["LogTemplater", "TemplateMatch", "TemplaterConfig", "template_id"]

logger = logging.getLogger(__name__)

STATE_FORMAT = 2


@dataclass(frozen=True, slots=True)
class TemplaterConfig:
    """Settings of the templater; the defaults serve every log system.

    ``sim_th`` is the share of agreeing positions for a message to join a cluster;
    ``split`` holds the limits of the second pass; ``save_every`` is how many
    learning changes may pass before the state is saved (0 = only on ``save()``).
    """

    sim_th: float = 0.5
    split: SplitRules = field(default_factory=SplitRules)
    save_every: int = 200

    def fingerprint(self) -> dict[str, object]:
        """What the stored state depends on (checked when the state is loaded)."""
        doc = asdict(self)
        doc.pop("save_every")
        return doc


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """The template of one log message; ``parent_id`` is the id of the cluster
    this template was split from (None when the template is the whole cluster)."""

    template_id: str
    template: str
    cluster_id: int
    parent_id: str | None = None


class LogTemplater:
    """Masking, online clustering, a second pass and persisted state.

    ``store`` (optional) holds the state under ``key``; an existing state is loaded
    at construction and must have been built with the same settings.
    """

    def __init__(
        self,
        config: TemplaterConfig | None = None,
        *,
        store: StateStore | None = None,
        key: str = "logtemplates",
    ) -> None:
        self.config = config or TemplaterConfig()
        self._tree = ClusterTree(self.config.sim_th)
        self._stats: dict[int, ClusterStats] = {}
        self._parents: dict[str, str] = {}
        self._masked: dict[str, tuple[str, ...]] = {}
        self._persistence = StatePersistence(store, key) if store is not None else None
        self._unsaved = 0
        if self._persistence is not None:
            self._load(self._persistence)

    @property
    def cluster_count(self) -> int:
        return len(self._tree.clusters)

    def add(self, content: str) -> TemplateMatch:
        """Learn from one message and return its template (online use)."""
        tokens, cluster_id = self._learn(content)
        self._maybe_save()
        return self._render(cluster_id, tokens)

    def match(self, content: str) -> TemplateMatch | None:
        """The template of a message without learning; None when no cluster fits."""
        tokens = self._tokens(content)
        cluster_id = self._tree.match(tokens)
        if cluster_id is None:
            return None
        return self._render(cluster_id, tokens)

    def parse(
        self, contents: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> list[TemplateMatch]:
        """Template a batch: learn every message first, then name each one.

        All lines of one final template get one id, whatever their order.
        ``progress`` is called with the number of messages handled since its last call.
        """
        learned = []
        for k, content in enumerate(contents, 1):
            learned.append(self._learn(content))
            if progress is not None and k % 1000 == 0:
                progress(1000)
        if progress is not None:
            progress(len(contents) % 1000)
        self._maybe_save()
        return [self._render(cluster_id, tokens) for tokens, cluster_id in learned]

    def templates(self) -> dict[str, str]:
        """Cluster id -> current cluster template (before the second pass)."""
        return {c.event_id: " ".join(c.tokens) for c in self._tree.clusters}

    def parent(self, event_id: str) -> str | None:
        """The cluster id a split template came from (None for a cluster id)."""
        return self._parents.get(event_id)

    def _tokens(self, content: str) -> tuple[str, ...]:
        tokens = self._masked.get(content)
        if tokens is None:
            tokens = tuple(mask_split(content))
            if len(self._masked) < 100_000:
                self._masked[content] = tokens
        return tokens

    def _learn(self, content: str) -> tuple[tuple[str, ...], int]:
        tokens = self._tokens(content)
        cluster_id, change = self._tree.add(tokens)
        if not change:
            return tokens, cluster_id
        stats = self._stats.get(cluster_id)
        if stats is None:
            stats = self._stats[cluster_id] = ClusterStats.new(len(tokens))
        stats.observe(list(tokens), self.config.split)
        self._unsaved += 1
        return tokens, cluster_id

    def _render(self, cluster_id: int, tokens: tuple[str, ...]) -> TemplateMatch:
        cluster = self._tree.clusters[cluster_id]
        stats = self._stats.get(cluster_id)
        template = cluster.tokens
        if stats is None:
            return TemplateMatch(cluster.event_id, " ".join(template), cluster_id)
        text, split = stats.render_split(template, tokens, self.config.split)
        if not split:
            return TemplateMatch(cluster.event_id, text, cluster_id)
        child = template_id(cluster.event_id + "\x00" + "\x00".join(split))
        self._parents[child] = cluster.event_id
        return TemplateMatch(child, text, cluster_id, cluster.event_id)

    # -- state ---------------------------------------------------------------------

    def _maybe_save(self) -> None:
        every = self.config.save_every
        if self._persistence is not None and every and self._unsaved >= every:
            self.save()

    def save(self) -> None:
        """Write the state to the store (no-op without a store)."""
        if self._persistence is None:
            return
        self._persistence.save_state(self.dump_state())
        self._unsaved = 0

    def dump_state(self) -> bytes:
        """The whole state as bytes (compressed JSON envelope)."""
        doc = {
            "format": STATE_FORMAT,
            "config": self.config.fingerprint(),
            "tree": self._tree.to_json(),
            "stats": {str(k): v.to_json() for k, v in self._stats.items()},
            "parents": self._parents,
        }
        return zlib.compress(orjson.dumps(doc))

    def load_state(self, data: bytes) -> None:
        """Replace the state by one made by :meth:`dump_state` with the same settings."""
        try:
            doc = orjson.loads(zlib.decompress(data))
        except (zlib.error, orjson.JSONDecodeError) as exc:
            raise SchemaMismatch("log template state is not readable") from exc
        if doc.get("format") != STATE_FORMAT:
            raise SchemaMismatch("log template state has another format", found=doc.get("format"))
        if doc.get("config") != orjson.loads(orjson.dumps(self.config.fingerprint())):
            raise SchemaMismatch(
                "log template state was built with other settings",
                hint="use the settings it was built with, or another state key",
            )
        self._tree = ClusterTree.from_json(doc["tree"])
        self._stats = {int(k): ClusterStats.from_json(v) for k, v in doc["stats"].items()}
        self._parents = dict(doc.get("parents", {}))
        self._masked.clear()

    def _load(self, persistence: StatePersistence) -> None:
        data = persistence.load_state()
        if data is None:
            logger.info("no saved log template state under %s", persistence.key)
            return
        self.load_state(data)
        logger.info("loaded %s log template clusters", self.cluster_count)
