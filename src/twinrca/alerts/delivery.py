"""Webhook delivery from a transactional outbox, with retries and backoff.

An alert is first written to the store's outbox in the same transaction as the
incident change that caused it; a :class:`Deliverer` then claims due rows and POSTs
them. Each target's documented answer decides what happens next:

- 2xx: delivered (done);
- 408, 429 and 5xx, timeouts and connection errors: retried with exponential backoff
  and full jitter (``Retry-After`` honoured), until ``max_attempts``;
- other 4xx: the target refuses the body for good (PagerDuty 400): marked failed, not
  retried, logged with the response text.

Every request carries ``Idempotency-Key`` (the outbox id) and, for the generic format,
an HMAC signature with a timestamp, so a retried delivery is recognisable.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from twinrca.alerts.formats import sign_generic
from twinrca.alerts.targets import TargetPolicy
from twinrca.store.base import OutboxMessage

__all__ = ["Deliverer", "DeliveryResult", "Outbox", "backoff_s", "classify", "outbox_payload"]

log = logging.getLogger(__name__)


class Outbox(Protocol):
    """The part of :class:`twinrca.store.Store` the deliverer uses.

    A message's ``destination`` is the target URL; its ``payload`` is
    ``{"format": ..., "body": {...}, "headers": {...}}``.
    """

    def outbox_claim(self, limit: int = 100, *, lease_s: float = 60.0) -> list[OutboxMessage]: ...
    def outbox_done(self, message_id: int) -> None: ...
    def outbox_retry(
        self, message_id: int, next_attempt_at: datetime | None, error: str
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def classify(status: int | None) -> str:
    """``done``, ``retry`` or ``fail`` for an HTTP status (None = no response)."""
    if status is None or status in (408, 425, 429) or status >= 500:
        return "retry"
    if 200 <= status < 300:
        return "done"
    return "fail"


def backoff_s(
    attempt: int, *, base: float = 1.0, cap: float = 300.0, rng: random.Random | None = None
) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    r = rng or random
    return r.uniform(0.0, min(cap, base * (2.0**attempt)))


class Deliverer:
    """Claims due outbox rows and delivers them; call :meth:`run_once` in a loop."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 12,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        secret_for: Callable[[str], str | None] = lambda destination: None,
        policy: TargetPolicy | None = None,
    ) -> None:
        self._secret_for = secret_for
        self._policy = policy
        self._outbox = outbox
        # a redirect is a failed delivery, never followed (it could lead anywhere)
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._max_attempts = max_attempts
        self._base = base_backoff_s
        self._cap = max_backoff_s
        self._clock = clock
        self._rng = rng or random.Random()

    def close(self) -> None:
        self._client.close()

    def run_once(self, limit: int = 100) -> DeliveryResult:
        delivered = retried = failed = 0
        for msg in self._outbox.outbox_claim(limit):
            outcome, detail, retry_after = self._send(msg)
            if outcome == "done":
                self._outbox.outbox_done(msg.id)
                delivered += 1
            elif outcome == "retry" and msg.attempts + 1 < self._max_attempts:
                wait = max(
                    retry_after or 0.0,
                    backoff_s(msg.attempts, base=self._base, cap=self._cap, rng=self._rng),
                )
                when = datetime.fromtimestamp(self._clock(), UTC) + timedelta(seconds=wait)
                self._outbox.outbox_retry(msg.id, when, detail)
                retried += 1
            else:
                log.warning("webhook %s to %s failed for good: %s", msg.id, msg.destination, detail)
                self._outbox.outbox_retry(msg.id, None, detail)
                failed += 1
        return DeliveryResult(delivered, retried, failed)

    def _send(self, msg: OutboxMessage) -> tuple[str, str, float | None]:
        refused = self._policy.refusal(msg.destination) if self._policy else None
        if refused is not None:
            return "fail", f"refused target: {refused}", None
        body = json.dumps(msg.payload.get("body", {}), separators=(",", ":"), default=str).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": msg.key or str(msg.id),
            "User-Agent": "TwinRCA-webhook/1",
            **msg.payload.get("headers", {}),
        }
        secret = self._secret_for(msg.destination)
        if secret and msg.payload.get("format") == "generic":
            headers["X-TwinRCA-Signature"] = sign_generic(body, secret, int(self._clock()))
        try:
            resp = self._client.post(msg.destination, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.debug("webhook %s attempt %s: %s", msg.id, msg.attempts + 1, exc)
            return "retry", f"{type(exc).__name__}: {exc}", None
        outcome = classify(resp.status_code)
        return outcome, f"HTTP {resp.status_code}: {resp.text[:300]}", _retry_after(resp)


def outbox_payload(
    fmt: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The payload an outbox message carries for :class:`Deliverer`."""
    return {"format": fmt, "body": body, "headers": headers or {}}


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(float(value), 3600.0)
    except ValueError:
        return None
