"""Delivery against a real HTTP receiver on loopback (the outbox is in memory here;
the store-backed outbox has its own integration test)."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from tests.receiver import Receiver
from twinrca.service.webhooks.delivery import Deliverer, OutboxItem, backoff_s, classify


class MemoryOutbox:
    def __init__(self, items: list[OutboxItem]) -> None:
        self.pending = {i.item_id: i for i in items}
        self.due: dict[int, datetime | None] = {i.item_id: None for i in items}
        self.status: dict[int, str] = {}

    def outbox_claim(self, limit: int) -> list[OutboxItem]:
        # ignores next_attempt_at on purpose: the test drives attempts itself
        return list(self.pending.values())[:limit]

    def outbox_done(self, item_id: int, *, status: str, detail: str = "") -> None:
        self.status[item_id] = status
        del self.pending[item_id]

    def outbox_retry(self, item_id: int, next_attempt_at: datetime, error: str) -> None:
        item = self.pending[item_id]
        self.pending[item_id] = OutboxItem(item.item_id, item.url, item.body, item.fmt, item.attempts + 1,
                                           item.secret, item.headers, item.dedup_key)
        self.due[item_id] = next_attempt_at


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def _items(url: str, n: int) -> list[OutboxItem]:
    return [OutboxItem(i, url, {"n": i}, "generic", secret="k") for i in range(n)]


def test_receiver_down_then_up_delivers_everything_once(receiver: Receiver) -> None:
    box = MemoryOutbox(_items(receiver.url, 5))
    d = Deliverer(box, base_backoff_s=0.01, max_backoff_s=0.02, timeout_s=2)
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
