from __future__ import annotations

import pytest

from twinrca.ingest.logformat import LogFormat
from twinrca.ingest.masking import WILDCARD, is_variable_token, mask

W = WILDCARD


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Connected to 10.0.0.1", f"Connected to {W}"),
        ("Connected to 10.0.0.1:8080 now", f"Connected to {W} now"),
        ("peer fe80::1ff:fe23:4567:890a down", f"peer {W} down"),
        ("peer 2001:db8::2:1 down", f"peer {W} down"),
        ("link aa:bb:cc:dd:ee:ff up", f"link {W} up"),
        ("link AA-BB-CC-DD-EE-FF up", f"link {W} up"),
        ("GET https://example.org/a/b?x=1 done", f"GET {W} done"),
        ("open /var/log/messages failed", f"open {W} failed"),
        ("open C:\\Temp\\x.log failed", f"open {W} failed"),
        ("addr 0x7ffe12ab", f"addr {W}"),
        ("id 123e4567-e89b-12d3-a456-426614174000 ok", f"id {W} ok"),
        ("at 2024-03-05T10:11:12.123Z ok", f"at {W} ok"),
        ("at 2024-03-05 10:11:12,123 ok", f"at {W} ok"),
        ("at Sat Jun 18 02:08:10 2005 ok", f"at {W} ok"),
        ("took 10:11:12 ok", f"took {W} ok"),
        ("delete blk_-1608999687919862906 now", f"delete blk_{W} now"),
        ("mail from alice@example.com", f"mail from {W}"),
        ("server db1.example.com:5432 up", f"server {W} up"),
        ("host ns.example.com [1.2.3.4] failed", f"host {W} [{W}] failed"),
        ("uid=0 euid=500", f"uid={W} euid={W}"),
        ("size 67108864 bytes, ratio -0.5", f"size {W} bytes, ratio {W}"),
        ("node R02-M1-N0-C:J12-U11 down", f"node {W} down"),
        ("chip FF:F2:9F:16:E5:13:00:0D:60:E9:3B:3D ok", f"chip {W} ok"),
    ],
)
def test_mask_replaces_values(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Failed password for root from x port y ssh2",
        "jk2_init() Found child",
        "java.io.IOException: stream closed",
        "IPv6 disabled on eth",
        "rpc.statd startup succeeded",
    ],
)
def test_mask_keeps_words(text: str) -> None:
    assert mask(text) == text


def test_repeated_value_list_collapses_to_one_wildcard() -> None:
    one = mask("ask 10.0.0.1:50010 to delete blk_1")
    many = mask("ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_-3 blk_4")
    assert one == many == f"ask {W} to delete blk_{W}"


def test_variable_token_rule() -> None:
    assert is_variable_token("core.34567")
    assert is_variable_token("a1b2c3")
    assert not is_variable_token("ssh2")
    assert not is_variable_token("rhost=" + W)
    assert not is_variable_token(W)


def test_log_format_splits_header_and_content() -> None:
    fmt = LogFormat.compile(r"<Date> <Time> - <Level>  \[<Node>\] - <Content>")
    parsed = fmt.parse("2015-07-29 17:41:44,747 - INFO  [main] - Notification time out: 3200\n")
    assert parsed.matched
    assert parsed.fields == {
        "Date": "2015-07-29",
        "Time": "17:41:44,747",
        "Level": "INFO",
        "Node": "main",
    }
    assert parsed.content == "Notification time out: 3200"
    missed = fmt.parse("garbage")
    assert not missed.matched
    assert missed.content == "garbage"
    assert missed.fields["Level"] == ""


def test_log_format_rejects_bad_layout() -> None:
    from twinrca.core.errors import ValidationError

    with pytest.raises(ValidationError):
        LogFormat.compile("no fields here")
    with pytest.raises(ValidationError):
        LogFormat.compile("<A> (<Content>")
