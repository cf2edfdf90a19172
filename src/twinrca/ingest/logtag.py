"""Template ids on stored log rows: :class:`~twinrca.ingest.logtemplates.LogTemplater`
wired to the ingest path, its state kept in the store (per tenant, one key).

Two ways to name the rows of a :class:`~twinrca.ingest.columns.LogColumns`:

* :meth:`LogTagger.tag` (the Kafka worker): each poll result is templated with
  ``parse`` (learn the chunk, then name it), so all lines of a chunk that end in one
  template share its id. Learning goes on across chunks. An id never changes
  meaning: a cluster keeps its id while its template widens, and when a cluster
  later turns out to hold two templates each gets a new id whose parent
  (``LogTemplater.parent``) is the cluster id that rows stored before still carry.
* :meth:`LogTagger.tag_file` (file ingest): all log lines of one file are learned
  before any is named, so ids are stable within the file.

The state is loaded lazily at first use and saved at most every ``save_interval_s``
seconds and on :meth:`LogTagger.save`. A store that cannot be reached never stops
ingest: loading falls back to an empty templater, saving is retried later (both are
logged). Several workers of one tenant share the key: the last save wins. A cluster id is
a hash of the first message of the cluster, so workers agree on it only when they
started that cluster from the same message; run one templating worker per tenant
when ids must agree across workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from twinrca.core.errors import SchemaMismatch, ServiceUnavailable, StoreError
from twinrca.ingest.columns import LogColumns
from twinrca.ingest.logstate import StateStore
from twinrca.ingest.logtemplates import LogTemplater, TemplaterConfig

__all__ = ["STATE_KEY", "LogTagger"]

log = logging.getLogger(__name__)

STATE_KEY = "ingest.logtemplates"
_MESSAGE = 3  # index of the message in a log row (LOG_COLUMNS order)


class LogTagger:
    """Fills ``template_id`` of log rows; state in ``store`` under ``key``."""

    def __init__(
        self,
        store: StateStore | None,
        *,
        key: str = STATE_KEY,
        config: TemplaterConfig | None = None,
        save_interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.key = key
        self.save_interval_s = save_interval_s
        self._clock = clock
        # state saving is ours (so a store error cannot lose a parse result)
        self._templater = LogTemplater((config or TemplaterConfig()), store=None)
        self._loaded = store is None
        self._dirty = False
        self._last_save = clock()
        self.tagged = 0

    @property
    def templater(self) -> LogTemplater:
        self._load()
        return self._templater

    # ------------------------------------------------------------------ naming
    def tag(self, logs: LogColumns, start: int = 0) -> None:
        """Name the rows ``logs.rows[start:]`` (online: learning continues)."""
        if start >= len(logs.rows):
            return
        self._name(logs.rows, start)
        self.maybe_save()

    def tag_file(self, logs: LogColumns) -> None:
        """Name every row of one file's logs, learning them all first (batch mode)."""
        if logs.rows:
            self._name(logs.rows, 0)

    def _name(self, rows: list[tuple[object, ...]], start: int) -> None:
        messages: Sequence[str] = [str(r[_MESSAGE]) for r in rows[start:]]
        matches = self.templater.parse(messages)
        for i, m in enumerate(matches, start):
            row = rows[i]
            rows[i] = (*row[:4], m.template_id)
        self.tagged += len(matches)
        self._dirty = True

    # ------------------------------------------------------------------ state
    def _load(self) -> None:
        if self._loaded or self.store is None:
            return
        self._loaded = True
        try:
            data = self.store.get_state(self.key)
        except (ServiceUnavailable, StoreError) as exc:
            log.warning("log template state not loaded (%s); learning from scratch", exc)
            return
        if data is None:
            log.info("no log template state under %s yet", self.key)
            return
        try:
            self._templater.load_state(data)
        except SchemaMismatch as exc:
            log.warning("log template state under %s ignored: %s", self.key, exc)
            return
        log.info("loaded %d log template clusters", self._templater.cluster_count)

    def maybe_save(self) -> None:
        """Save if something was learned and ``save_interval_s`` has passed."""
        if self._dirty and self._clock() - self._last_save >= self.save_interval_s:
            self.save()

    def save(self) -> bool:
        """Save the state now (if anything changed); False when the store refused."""
        if self.store is None or not self._dirty:
            return True
        self._last_save = self._clock()
        try:
            self.store.put_state(self.key, self._templater.dump_state())
        except (ServiceUnavailable, StoreError, OSError) as exc:
            log.warning("log template state not saved (will retry): %s", exc)
            return False
        self._dirty = False
        log.debug("saved %d log template clusters", self._templater.cluster_count)
        return True
