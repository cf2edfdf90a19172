"""Delivery against a real HTTP receiver on loopback (the outbox is in memory here;
the store-backed outbox has its own integration test)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from tests.receiver import Receiver

from twinrca.alerts.delivery import Deliverer, backoff_s, classify, outbox_payload
from twinrca.store.base import OutboxMessage


class MemoryOutbox:
    """Unit-test stand-in for the store's outbox (the store-backed one has its own test)."""

    def __init__(self, items: list[OutboxMessage]) -> None:
        self.pending = {i.id: i for i in items}
        self.status: dict[int, str] = {}

    def outbox_claim(self, limit: int = 100, *, lease_s: float = 60.0) -> list[OutboxMessage]:
        # ignores next_attempt_at on purpose: the test drives attempts itself
        return list(self.pending.values())[:limit]

    def outbox_done(self, message_id: int) -> None:
        self.status[message_id] = "delivered"
        del self.pending[message_id]

    def outbox_retry(self, message_id: int, next_attempt_at: datetime | None, error: str) -> None:
        if next_attempt_at is None:
            self.status[message_id] = "failed"
            del self.pending[message_id]
            return
        self.pending[message_id] = replace(
            self.pending[message_id], attempts=self.pending[message_id].attempts + 1
        )


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def _items(url: str, n: int) -> list[OutboxMessage]:
    now = datetime.now(UTC)
    return [
        OutboxMessage(i, url, outbox_payload("generic", {"n": i}), 0, now, now) for i in range(n)
    ]


def test_receiver_down_then_up_delivers_everything_once(receiver: Receiver) -> None:
    box = MemoryOutbox(_items(receiver.url, 5))
    d = Deliverer(
        box, base_backoff_s=0.01, max_backoff_s=0.02, timeout_s=2, secret_for=lambda d: "k"
    )
    first = d.run_once()  # nobody listens yet: connection refused
    assert first.retried == 5 and first.delivered == 0
    receiver.start()
    second = d.run_once()
    assert second.delivered == 5
    assert sorted(r["json"]["n"] for r in receiver.received) == [0, 1, 2, 3, 4]
    assert all(r["headers"]["X-TwinRCA-Signature"].startswith("t=") for r in receiver.received)
    assert d.run_once().delivered == 0  # nothing left, nothing doubled
    d.close()


def test_5xx_and_429_retry_400_fails(receiver: Receiver) -> None:
    receiver.start()
    receiver.statuses = [503, 429, 400]
    box = MemoryOutbox(_items(receiver.url, 3))
    d = Deliverer(box, base_backoff_s=0.01, timeout_s=2)
    res = d.run_once()
    assert (res.delivered, res.retried, res.failed) == (0, 2, 1)
    assert box.status[2] == "failed"
    res = d.run_once()
    assert res.delivered == 2
    assert len(receiver.received) == 2
    d.close()


def test_gives_up_after_max_attempts(receiver: Receiver) -> None:
    receiver.start()
    receiver.statuses = [500] * 10
    box = MemoryOutbox(_items(receiver.url, 1))
    d = Deliverer(box, base_backoff_s=0.0, max_attempts=3, timeout_s=2)
    outcomes = [d.run_once() for _ in range(3)]
    assert [o.retried for o in outcomes] == [1, 1, 0] and outcomes[-1].failed == 1
    d.close()


def test_classify_and_backoff() -> None:
    assert classify(202) == "done" and classify(None) == "retry" and classify(502) == "retry"
    assert classify(429) == "retry" and classify(404) == "fail"
    rng = random.Random(0)
    waits = [backoff_s(a, base=1.0, cap=30.0, rng=rng) for a in range(10)]
    assert all(0 <= w <= min(30.0, 2.0**a) for a, w in enumerate(waits))
