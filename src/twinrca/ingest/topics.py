"""Topic names and the routing of a topic to its decoder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twinrca.core.errors import ConfigError
from twinrca.ingest.columns import Columns
from twinrca.ingest.decode import decode_alarm, decode_pm_json
from twinrca.ingest.pmxml import read_pm_xml
from twinrca.ingest.syslog import decode_log
from twinrca.ingest.vendor import Normaliser
from twinrca.ingest.ves import decode_ves

__all__ = ["ALL_KINDS", "KINDS", "Decoder", "Topics", "decoder_for"]

#: Data topics by kind (suffix after the prefix); ``dlq`` receives dead letters.
KINDS = ("kpi", "alarms", "logs", "pm-xml")
#: every kind a decoder exists for: ``ves`` (ONAP / O-RAN VES 7 events) is opt-in
ALL_KINDS = (*KINDS, "ves")

Decoder = Callable[[bytes, Columns], None]


def _kpi(data: bytes, cols: Columns) -> None:
    decode_pm_json(data, cols.kpis)


def _alarm(data: bytes, cols: Columns) -> None:
    decode_alarm(data, cols.alarms)


def _log(data: bytes, cols: Columns) -> None:
    decode_log(data, cols.logs)


def _pm_xml(norm: Normaliser) -> Decoder:
    def decode(data: bytes, cols: Columns) -> None:
        pm = read_pm_xml(data)
        norm.kpis(pm.kpis, cols.kpis)
        cols.rejected.extend(pm.rejected)

    return decode


def _ves(norm: Normaliser) -> Decoder:
    def decode(data: bytes, cols: Columns) -> None:
        staged = Columns()
        decode_ves(data, staged)
        norm.stage(staged, cols)  # KPIs derived in BatchBuilder.add, once per poll

    return decode


_DECODERS: dict[str, Decoder] = {"kpi": _kpi, "alarms": _alarm, "logs": _log}
_VENDOR = {"pm-xml": _pm_xml, "ves": _ves}


def decoder_for(kind: str, normaliser: Normaliser | None = None) -> Decoder:
    """The decoder of a topic kind; vendor formats derive KPIs with ``normaliser``
    (default: the shipped mapping, no topology)."""
    if kind in _VENDOR:
        return _VENDOR[kind](normaliser or Normaliser())
    try:
        return _DECODERS[kind]
    except KeyError:
        raise ConfigError(f"unknown topic kind {kind!r}", hint=f"use one of {ALL_KINDS}") from None


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names under one prefix (``twinrca.`` by default)."""

    prefix: str = "twinrca."

    def name(self, kind: str) -> str:
        return self.prefix + kind

    @property
    def dlq(self) -> str:
        return self.prefix + "dlq"

    def data_topics(self, kinds: tuple[str, ...] = KINDS) -> dict[str, str]:
        """topic name -> kind."""
        return {self.name(k): k for k in kinds}
