"""Which webhook targets TwinRCA may call: no loopback, link-local or private address
unless a setting allows it (server-side request forgery guard).

A subscription names a URL; an API user could otherwise make the service call its own
admin ports, a cloud metadata address (169.254.169.254) or hosts of the operator's
private network. :class:`TargetPolicy` refuses every address that is not globally
routable unless it matches an entry of ``TWINRCA_WEBHOOKS__ALLOW`` (comma-separated IP
addresses, CIDR networks or host names; ``*`` allows everything). The check runs when a
subscription is made and again before each delivery (a host name may resolve elsewhere
later).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from twinrca.core.errors import ConfigError, ValidationError

__all__ = ["TargetPolicy"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


def _internal(ip: Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _internal(ip.ipv4_mapped)
    return not ip.is_global or ip.is_multicast


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Allowed exceptions to "globally routable addresses only"."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    allow_all: bool = False
    resolver: Resolver = field(default=_resolve, compare=False)

    @classmethod
    def from_setting(cls, allow: str, *, resolver: Resolver = _resolve) -> TargetPolicy:
        """Parse ``TWINRCA_WEBHOOKS__ALLOW`` (e.g. ``127.0.0.1,10.0.0.0/8,noc.local``)."""
        nets: list[Network] = []
        hosts: set[str] = set()
        everything = False
        for raw in (part.strip() for part in allow.split(",")):
            if not raw:
                continue
            if raw == "*":
                everything = True
                continue
            try:
                nets.append(ipaddress.ip_network(raw, strict=False))
            except ValueError:
                if "/" in raw or " " in raw:
                    raise ConfigError(
                        f"webhooks.allow: {raw!r} is neither an address, a network nor a host",
                        hint="set TWINRCA_WEBHOOKS__ALLOW to e.g. 127.0.0.1,10.0.0.0/8,noc.local",
                    ) from None
                hosts.add(raw.lower().rstrip("."))
        return cls(tuple(nets), frozenset(hosts), everything, resolver)

    def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be called, or None when it may."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"{url!r} is not an http(s) URL with a host"
        if self.allow_all:
            return None
        host = parts.hostname.lower().rstrip(".")
        if host in self.hosts:
            return None
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in self.resolver(host)]
        for ip in addresses:
            if _internal(ip) and not any(ip in net for net in self.networks):
                return (
                    f"{host} ({ip}) is a loopback, link-local or private address; "
                    "allow it with TWINRCA_WEBHOOKS__ALLOW"
                )
        return None

    def check(self, url: str) -> None:
        """Raise :class:`ValidationError` when ``url`` may not be called."""
        reason = self.refusal(url)
        if reason is not None:
            raise ValidationError("refused_target", f"webhook target refused: {reason}")
