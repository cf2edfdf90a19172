"""Maintenance windows and silences, as NOC tools have them (Alertmanager silences).

A silence names what it covers by up to three matchers, ``elements``, ``regions`` and
``failure_modes``; every matcher it gives must hold (Alertmanager's AND across matchers),
any value of one matcher may (OR within it). An element covers itself and everything it
feeds (a site's maintenance window silences its cells). It is active from ``starts_at``
up to ``ends_at`` (exclusive); expiring it sets ``ends_at`` to now.

An incident is silenced when a silence that was active when its first alarm (or anomaly)
was seen, and has not ended by the newest data, covers its root-cause candidate element
(or, undiagnosed, every element it holds), its region and its top failure mode. A
silenced incident is kept and shown (state ``silenced``), not paged, not verified, and
gets no recommendation. When the silence ends (or is expired) while the incident is
still open, it is diagnosed as usual and pages if it is a fault (a maintenance window
that leaves a fault behind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

from twinrca.core.topology import Topology

__all__ = ["Silence", "active_silences", "covering"]


class Silence(BaseModel):
    """One silence (a stored ``silence`` document)."""

    silence_id: str
    elements: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    failure_modes: list[str] = Field(default_factory=list)
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""
    created_at: datetime | None = None

    @field_validator("starts_at", "ends_at", "created_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return None if v is None else _utc(v).to_pydatetime()

    @model_validator(mode="after")
    def _sane(self) -> Silence:
        if not (self.elements or self.regions or self.failure_modes):
            raise ValueError("a silence needs at least one of elements, regions, failure_modes")
        if pd.Timestamp(self.ends_at) <= pd.Timestamp(self.starts_at):
            raise ValueError("ends_at must be after starts_at")
        return self

    def active_at(self, at: datetime | pd.Timestamp) -> bool:
        t = _utc(at)
        return _utc(self.starts_at) <= t < _utc(self.ends_at)

    def covers(
        self,
        elements: Sequence[str],
        *,
        region: str | None,
        failure_mode: str | None,
        topology: Topology | None,
    ) -> bool:
        """Whether every matcher holds for an incident whose root-cause candidate is
        ``elements`` (or, undiagnosed, that holds them), in ``region``, of ``failure_mode``."""
        if self.regions and region not in self.regions:
            return False
        if self.failure_modes and failure_mode not in self.failure_modes:
            return False
        if self.elements:
            scope = set(self.elements)
            if topology is not None:
                for e in self.elements:
                    if e in topology:
                        scope |= topology.descendants(e)
            if not elements or not set(elements) <= scope:
                return False
        return True


def active_silences(docs: Iterable[Mapping[str, Any]]) -> list[Silence]:
    """The stored silence documents as :class:`Silence` (malformed ones skipped)."""
    out = []
    for d in docs:
        try:
            out.append(Silence.model_validate(d))
        except ValueError:
            continue
    return out


def covering(
    silences: Sequence[Silence],
    *,
    at: datetime | pd.Timestamp,
    elements: Sequence[str],
    region: str | None,
    failure_mode: str | None,
    topology: Topology | None = None,
    still: datetime | pd.Timestamp | None = None,
) -> Silence | None:
    """The first silence active ``at`` (the incident's start) and, when given, not
    ended by ``still`` (the newest data seen) that covers the incident, or None."""
    for s in silences:
        if still is not None and _utc(s.ends_at) <= _utc(still):
            continue
        if s.active_at(at) and s.covers(
            elements, region=region, failure_mode=failure_mode, topology=topology
        ):
            return s
    return None


def _utc(t: datetime | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
