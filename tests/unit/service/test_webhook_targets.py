"""Webhook targets: loopback, link-local and private addresses refused unless allowed,
redirects never followed, the HMAC secret never returned by the API."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from tests.receiver import Receiver, free_port
from tests.unit.service.test_webhook_delivery import MemoryOutbox

from twinrca.alerts.delivery import Deliverer, outbox_payload
from twinrca.alerts.targets import TargetPolicy
from twinrca.core.errors import ConfigError, ValidationError
from twinrca.core.settings import Settings
from twinrca.store.base import OutboxMessage

INTERNAL = [
    "http://127.0.0.1:9/x",
    "http://[::1]/x",
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "http://10.1.2.3/x",
    "http://192.168.0.10:8080/x",
    "http://172.16.5.5/x",
    "http://0.0.0.0/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[fe80::1]/x",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_by_default(url: str) -> None:
    with pytest.raises(ValidationError, match="TWINRCA_WEBHOOKS__ALLOW"):
        TargetPolicy().check(url)


def test_public_addresses_and_allowed_exceptions_pass() -> None:
    TargetPolicy().check("https://93.184.216.34/hook")
    allow = TargetPolicy.from_setting("127.0.0.1, 10.0.0.0/8,noc.internal")
    allow.check("http://127.0.0.1:9/x")
    allow.check("http://10.200.0.1/x")
    allow.check("http://noc.internal/x")
    with pytest.raises(ValidationError):
        allow.check("http://192.168.0.10/x")
    TargetPolicy.from_setting("*").check("http://192.168.0.10/x")


def test_host_names_are_judged_by_what_they_resolve_to() -> None:
    policy = TargetPolicy.from_setting("", resolver=lambda host: ["10.0.0.7"])
    with pytest.raises(ValidationError, match=r"10\.0\.0\.7"):
        policy.check("http://pagerduty.example/x")
    TargetPolicy(resolver=lambda host: ["93.184.216.34"]).check("http://pd.example/x")


def test_non_http_urls_and_bad_allow_entries() -> None:
    for url in ("file:///etc/passwd", "gopher://x/", "http:///nohost"):
        with pytest.raises(ValidationError):
            TargetPolicy.from_setting("*").check(url)
    with pytest.raises(ConfigError, match=r"webhooks\.allow"):
        TargetPolicy.from_setting("10.0.0.0/99")


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWINRCA_WEBHOOKS__ALLOW", "127.0.0.1,10.0.0.0/8")
    policy = TargetPolicy.from_setting(Settings().webhooks.allow)
    policy.check("http://127.0.0.1/x")


def _message(url: str) -> OutboxMessage:
    now = datetime.now(UTC)
    return OutboxMessage(1, url, outbox_payload("generic", {"n": 1}), 0, now, now)


def test_delivery_refuses_a_target_the_policy_forbids() -> None:
    receiver = Receiver().start()
    try:
        box = MemoryOutbox([_message(receiver.url)])
        d = Deliverer(box, timeout_s=2, policy=TargetPolicy())
        assert d.run_once().failed == 1
        assert box.status == {1: "failed"} and receiver.received == []
        box = MemoryOutbox([_message(receiver.url)])
        d = Deliverer(box, timeout_s=2, policy=TargetPolicy.from_setting("127.0.0.1"))
        assert d.run_once().delivered == 1 and len(receiver.received) == 1
    finally:
        receiver.stop()


def test_a_redirect_to_another_host_is_not_followed() -> None:
    receiver = Receiver().start()
    target = receiver.url.replace("127.0.0.1", "127.0.0.2")

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        box = MemoryOutbox([_message(url)])
        d = Deliverer(box, timeout_s=2, policy=TargetPolicy.from_setting("*"))
        result = d.run_once()
        assert result.failed == 1 and result.delivered == 0
        assert receiver.received == []
    finally:
        server.shutdown()
        server.server_close()
        receiver.stop()
