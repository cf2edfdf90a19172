"""Log templates: general masking, drain3, a second pass, stable template ids.

:class:`LogTemplater` turns the message part of a log line into a template and a
template id. Three stages, all with one set of defaults for every log system:

1. :func:`twinrca.ingest.masking.mask` replaces values (numbers, addresses, paths,
   ids, times ...) by ``<*>``;
2. drain3's Drain tree groups the masked messages;
3. :class:`twinrca.ingest.logsplit.ClusterStats` restores constant words that Drain
   turned into ``<*>``, so the final template can be finer than Drain's cluster.

The template id is a hash of the final template text (``T`` + 12 hex digits): the
same template gets the same id in every run and in every process that shares the
state, and two Drain clusters that end with the same text share an id. While a
stream is young a template can still generalise (a position becomes ``<*>``), and
its id changes with it; :meth:`LogTemplater.parse` avoids this for a batch by
learning all lines first and naming them afterwards.

State (Drain tree, per-cluster statistics, the settings they were built with) is
saved through a :class:`~twinrca.ingest.logstate.StateStore` under one key.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import orjson
from drain3 import TemplateMiner
from drain3.drain import Drain
from drain3.memory_buffer_persistence import MemoryBufferPersistence
from drain3.template_miner_config import TemplateMinerConfig

from twinrca.core.errors import SchemaMismatch
from twinrca.ingest.logsplit import ClusterStats, SplitRules
from twinrca.ingest.logstate import StatePersistence, StateStore
from twinrca.ingest.masking import WILDCARD, mask

__all__ = ["LogTemplater", "TemplateMatch", "TemplaterConfig", "template_id"]

logger = logging.getLogger(__name__)

STATE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class TemplaterConfig:
    """Settings of the templater; the defaults serve every log system.

    ``sim_th`` and ``depth`` are Drain's similarity threshold and tree depth;
    ``split`` holds the limits of the second pass; ``save_every`` is how many
    learning changes may pass before the state is saved (0 = only on ``save()``).
    """

    sim_th: float = 0.6
    depth: int = 4
    max_children: int = 100
    split: SplitRules = field(default_factory=SplitRules)
    save_every: int = 200

    def fingerprint(self) -> dict[str, object]:
        """What the stored state depends on (checked when the state is loaded)."""
        doc = asdict(self)
        doc.pop("save_every")
        return doc


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """The template of one log message."""

    template_id: str
    template: str
    cluster_id: int


def template_id(template: str) -> str:
    """Stable id of a template text: ``T`` + 12 hex digits of its BLAKE2b hash."""
    return "T" + hashlib.blake2b(template.encode(), digest_size=6).hexdigest()


class MaskedDrain(Drain):
    """Drain whose similarity counts a wildcard against a wildcard as a match.

    Plain Drain counts every wildcard of the template as a mismatch, so a message
    with many masked values can fall below the threshold of its own template. Here
    a masked value in the message that meets a wildcard of the template counts as
    agreeing; a word meeting a wildcard still does not.
    """

    def get_seq_distance(
        self, seq1: Sequence[str], seq2: Sequence[str], include_params: bool
    ) -> tuple[float, int]:
        if len(seq1) == 0:
            return 1.0, 0
        similar = params = 0
        for template_token, token in zip(seq1, seq2, strict=True):
            if template_token == self.param_str:
                params += 1
                if include_params or token == self.param_str:
                    similar += 1
            elif template_token == token:
                similar += 1
        return similar / len(seq1), params


class LogTemplater:
    """drain3 with general masking, a second pass and persisted state.

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
        self._miner = TemplateMiner(config=self._drain_config(self.config))
        self._miner.drain = self._masked_drain(self._miner.drain)
        self._stats: dict[int, ClusterStats] = {}
        self._persistence = StatePersistence(store, key) if store is not None else None
        self._unsaved = 0
        if self._persistence is not None:
            self._load(self._persistence)

    @staticmethod
    def _drain_config(config: TemplaterConfig) -> TemplateMinerConfig:
        drain = TemplateMinerConfig()
        drain.drain_sim_th = config.sim_th
        drain.drain_depth = config.depth
        drain.drain_max_children = config.max_children
        drain.parametrize_numeric_tokens = True
        drain.snapshot_compress_state = True
        return drain

    @staticmethod
    def _masked_drain(drain: Drain) -> MaskedDrain:
        return MaskedDrain(
            depth=drain.log_cluster_depth,
            sim_th=drain.sim_th,
            max_children=drain.max_children,
            max_clusters=drain.max_clusters,
            extra_delimiters=drain.extra_delimiters,
            param_str=drain.param_str,
            parametrize_numeric_tokens=drain.parametrize_numeric_tokens,
        )

    @property
    def cluster_count(self) -> int:
        return len(self._miner.drain.id_to_cluster)

    def add(self, content: str) -> TemplateMatch:
        """Learn from one message and return its template (online use)."""
        tokens, cluster_id = self._learn(content)
        self._maybe_save()
        return self._render(cluster_id, tokens)

    def match(self, content: str) -> TemplateMatch | None:
        """The template of a message without learning; None when no cluster fits."""
        tokens = mask(content).split()
        cluster = self._miner.drain.match(" ".join(tokens), full_search_strategy="fallback")
        if cluster is None:
            return None
        return self._render(cluster.cluster_id, tokens)

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
        """Id -> text of the current Drain templates (before the second pass)."""
        out = {}
        for cluster in self._miner.drain.clusters:
            text = cluster.get_template()
            out[template_id(text)] = text
        return out

    def _learn(self, content: str) -> tuple[list[str], int]:
        tokens = mask(content).split()
        cluster, change = self._miner.drain.add_log_message(" ".join(tokens))
        stats = self._stats.get(cluster.cluster_id)
        if stats is None:
            stats = self._stats[cluster.cluster_id] = ClusterStats.new(len(tokens))
        changed = stats.observe(tokens, self.config.split)
        if changed or change != "none":
            self._unsaved += 1
        return tokens, cluster.cluster_id

    def _render(self, cluster_id: int, tokens: list[str]) -> TemplateMatch:
        cluster = self._miner.drain.id_to_cluster[cluster_id]
        stats = self._stats.get(cluster_id)
        template = cluster.log_template_tokens
        if stats is None:
            text = " ".join(template)
        else:
            text = stats.render(template, tokens, self.config.split)
        return TemplateMatch(template_id(text or WILDCARD), text, cluster_id)

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
        buffer = MemoryBufferPersistence()
        self._miner.persistence_handler = buffer
        try:
            self._miner.save_state("twinrca")
        finally:
            self._miner.persistence_handler = None
        drain_state = buffer.state
        doc = {
            "format": STATE_FORMAT,
            "config": self.config.fingerprint(),
            "drain": base64.b64encode(drain_state).decode() if drain_state else None,
            "stats": {str(k): v.to_json() for k, v in self._stats.items()},
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
        buffer = MemoryBufferPersistence()
        buffer.state = base64.b64decode(doc["drain"]) if doc["drain"] else None
        self._miner.persistence_handler = buffer
        try:
            self._miner.load_state()
        finally:
            self._miner.persistence_handler = None
        self._stats = {int(k): ClusterStats.from_json(v) for k, v in doc["stats"].items()}

    def _load(self, persistence: StatePersistence) -> None:
        data = persistence.load_state()
        if data is None:
            logger.info("no saved log template state under %s", persistence.key)
            return
        self.load_state(data)
        logger.info("loaded %s log template clusters", self.cluster_count)
