"""What vendor-format sources (PM XML, VES) share after decoding: KPIs derived from
the counters (:mod:`twinrca.ingest.kpimap`), measured objects named by DN resolved to
topology elements (:mod:`twinrca.core.dn`), and the counts a run reports.

Every counter is stored under its own name; the derived KPIs beside it. Objects the
topology does not hold are stored under their own name too, and listed once per run
(:attr:`Normaliser.unknown_objects`), never dropped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from twinrca.ingest.columns import Columns, KpiColumns
from twinrca.ingest.kpimap import KpiMapping, MappingStats, load_mapping

if TYPE_CHECKING:
    from twinrca.core.dn import DnIndex

__all__ = ["Normaliser"]

log = logging.getLogger(__name__)


class Normaliser:
    """Derives KPIs and resolves object names for one run."""

    def __init__(self, mapping: KpiMapping | None = None, dns: DnIndex | None = None) -> None:
        self.mapping = mapping if mapping is not None else load_mapping()
        self.dns = dns
        self.stats = MappingStats()
        self.unknown_objects: dict[str, int] = {}
        self._names: dict[str, str] = {}
        self.pending = KpiColumns()

    def use_topology(self, dns: DnIndex | None) -> None:
        """Resolve names against ``dns`` from now on (the stored topology changed);
        names seen before are resolved anew."""
        self.dns = dns
        self._names.clear()

    def kpis(self, raw: KpiColumns, into: KpiColumns) -> None:
        """``raw`` counters and the KPIs derived from them into ``into``."""
        derived, stats = self.mapping.derive(raw)
        self.stats.add(stats)
        for cols in (raw, derived):
            cols.managed_object[:] = [self._element(mo) for mo in cols.managed_object]
            into.extend(cols)

    def stage(self, staged: Columns, into: Columns) -> None:
        """A decoded vendor message: alarms' objects resolved into ``into`` now, KPIs
        kept until :meth:`flush` (deriving many messages at once is much faster)."""
        self.pending.extend(staged.kpis)
        self.alarms(staged.alarms.rows, into)
        into.rejected.extend(staged.rejected)

    def alarms(self, rows: list[tuple[object, ...]], into: Columns) -> None:
        """Alarm rows with their objects resolved."""
        into.alarms.rows.extend((*r[:2], self._element(str(r[2])), *r[3:]) for r in rows)

    def flush(self, into: KpiColumns) -> None:
        """The staged KPIs, and the KPIs derived from them, into ``into``."""
        if len(self.pending):
            pending, self.pending = self.pending, KpiColumns()
            self.kpis(pending, into)

    def _element(self, name: str) -> str:
        if self.dns is None:
            return name
        hit = self._names.get(name)
        if hit is None:
            resolved = self.dns.resolve(name)
            if resolved is None:
                self.unknown_objects[name] = 0
                log.info("object %s is not in the topology: stored under its own name", name)
            hit = self._names[name] = resolved or name
        if hit == name and name in self.unknown_objects:
            self.unknown_objects[name] += 1
        return hit
