"""DN resolution that follows the stored topology while a consumer runs."""

from __future__ import annotations

import logging
import time

from twinrca.ingest.vendor import Normaliser
from twinrca.store.base import Store

__all__ = ["TopologyWatch"]

log = logging.getLogger(__name__)


class TopologyWatch:
    """Keeps the normaliser's DN index equal to the stored topology: read at start and
    re-read every ``every_s`` (writer thread), so a topology saved or changed while the
    worker runs resolves the DN-named objects that arrive after it."""

    def __init__(self, store: Store, normaliser: Normaliser, every_s: float) -> None:
        self.store = store
        self.normaliser = normaliser
        self.every_s = every_s
        self._key: tuple[object, ...] | None = None
        self._next = 0.0

    def check(self, now: float | None = None) -> bool:
        """Re-read the topology when due; True when the index changed."""
        now = time.monotonic() if now is None else now
        if now < self._next:
            return False
        self._next = now + self.every_s
        from twinrca.core.dn import DnIndex, element_dns

        topology = self.store.load_topology()
        key: tuple[object, ...] = (
            ()
            if topology is None
            else tuple((e.element_id, *element_dns(e.element_id, e.attrs)) for e in topology)
        )
        if key == self._key:
            return False
        self._key = key
        self.normaliser.use_topology(DnIndex.of(topology) if topology is not None else None)
        if topology is not None:
            log.info("DN index of %d topology elements in use", len(key))
        return True
