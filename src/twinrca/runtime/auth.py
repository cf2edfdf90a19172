"""API keys (stored hashed, mapped to a tenant) and a per-key rate limiter."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

from twinrca.core.timeutil import utcnow
from twinrca.store.base import Store

__all__ = ["RateLimiter", "create_api_key", "hash_key", "resolve_api_key", "revoke_api_key"]

KIND = "api_key"


def hash_key(key: str) -> str:
    """SHA-256 of the key: keys are 256-bit random tokens, so a plain digest is safe to
    store (no dictionary to attack) and lets us look a key up by its hash."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(system: Store, tenant: str, *, name: str = "") -> str:
    """Create a key for ``tenant``; the plaintext is returned once and never stored."""
    key = "trca_" + secrets.token_urlsafe(32)
    system.put_document(
        KIND,
        hash_key(key),
        {"tenant": tenant, "name": name, "created_at": utcnow().isoformat(), "revoked": False},
    )
    return key


def revoke_api_key(system: Store, key: str) -> None:
    doc = system.get_document(KIND, hash_key(key))
    if doc is not None:
        system.put_document(KIND, hash_key(key), {**doc, "revoked": True})


def resolve_api_key(system: Store, key: str) -> str | None:
    """The tenant of a valid key, else None."""
    if not key:
        return None
    doc = system.get_document(KIND, hash_key(key))
    if doc is None or doc.get("revoked"):
        return None
    return str(doc["tenant"])


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Token bucket per key: ``rate_per_s`` sustained, ``burst`` at once."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0.0 when allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            b = self._buckets.setdefault(key, _Bucket(float(self.burst), now))
            b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / self.rate
