"""3GPP distinguished names (DNs) of measured objects to topology element ids.

PM files and VES events name objects by DN (``dnPrefix`` + ``measObjLdn``, e.g.
``SubNetwork=1,ManagedElement=gnb7,GNBDUFunction=1,NRCellDU=32``); the topology names
elements by id. An element is found by its id, or by a DN it carries (``attrs["dn"]``,
a string or a list, or an element id that is a DN itself; a topology file may also map
DNs to ids in a top-level ``"dns"`` object, folded into the elements on reading). A
DN matches when one of the two is the other with leading RDNs removed (the file's
``ManagedElement=gnb7,...`` against the topology's ``SubNetwork=1,ManagedElement=gnb7,...``
and the other way round), as long as the shorter keeps at least two RDNs (or is one
``ManagedElement`` / ``MeContext`` RDN); a suffix that two elements share names
neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DnIndex", "element_dns", "normalise_dn", "rdns"]

_AMBIGUOUS = "\x00ambiguous"
#: RDN types that name a network element alone (a suffix of one RDN of these matches)
_ELEMENT_RDNS = frozenset({"ManagedElement", "MeContext"})


def _matchable(parts: list[str], i: int) -> bool:
    """May the suffix ``parts[i:]`` stand for the whole DN?"""
    return i == 0 or len(parts) - i >= 2 or parts[i].split("=", 1)[0] in _ELEMENT_RDNS


def rdns(dn: str) -> list[str]:
    """The RDNs of a DN (``A=1, B = 2`` -> ``["A=1", "B=2"]``), spaces trimmed."""
    out = []
    for part in dn.split(","):
        key, eq, value = part.partition("=")
        if eq:
            out.append(f"{key.strip()}={value.strip()}")
        elif part.strip():
            out.append(part.strip())
    return out


def normalise_dn(dn: str) -> str:
    return ",".join(rdns(dn))


def element_dns(element_id: str, attrs: Mapping[str, Any]) -> list[str]:
    """The DNs an element is known by."""
    raw = attrs.get("dn")
    names = [raw] if isinstance(raw, str) else list(raw or [])
    if "=" in element_id:
        names.append(element_id)
    return [normalise_dn(str(n)) for n in names if str(n).strip()]


class DnIndex:
    """Resolves object names (ids or DNs) to element ids of one topology."""

    def __init__(self, elements: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        self.ids: set[str] = set()
        self._suffix: dict[str, str] = {}
        for element_id, attrs in elements:
            self.ids.add(element_id)
            for dn in element_dns(element_id, attrs):
                parts = rdns(dn)
                for i in range(len(parts)):
                    if _matchable(parts, i):
                        self._put(",".join(parts[i:]), element_id, exact=i == 0)
        self._cache: dict[str, str | None] = {}

    @classmethod
    def of(cls, topology: Any) -> DnIndex:
        """The index of a :class:`~twinrca.core.topology.Topology`."""
        return cls((e.element_id, e.attrs) for e in topology)

    def _put(self, key: str, element_id: str, *, exact: bool) -> None:
        held = self._suffix.get(key)
        if held is None or exact:
            self._suffix[key] = element_id
        elif held != element_id:
            self._suffix[key] = _AMBIGUOUS

    def resolve(self, name: str) -> str | None:
        """The element id ``name`` stands for, None when the topology has none."""
        if name in self.ids:
            return name
        if name not in self._cache:
            self._cache[name] = self._lookup(name)
        return self._cache[name]

    def _lookup(self, name: str) -> str | None:
        parts = rdns(name)
        for i in range(len(parts)):
            if not _matchable(parts, i):
                continue
            hit = self._suffix.get(",".join(parts[i:]))
            if hit is not None:
                return None if hit == _AMBIGUOUS else hit
        return None
