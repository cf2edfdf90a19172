from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twinrca.core import (
    Alarm,
    AlarmType,
    ConfigError,
    PerceivedSeverity,
    ValidationError,
    dedup_key,
    load_settings,
    parse_time,
)


def test_settings_from_env_and_toml(tmp_path, monkeypatch) -> None:
    toml = tmp_path / "twinrca.toml"
    toml.write_text(
        'tenant = "acme"\n[kafka]\nbootstrap = "kafka.example:9092"\n'
        '[store]\nbackend = "postgres"\n'
    )
    monkeypatch.setenv("TWINRCA_CONFIG", str(toml))
    monkeypatch.setenv("TWINRCA_STORE__URL", "postgresql://u:secret@db/x")
    s = load_settings()
    assert s.tenant == "acme"
    assert s.kafka.bootstrap == "kafka.example:9092"
    assert s.store.backend == "postgres"
    # environment wins over the file; the secret is not printed
    assert s.store.url.get_secret_value() == "postgresql://u:secret@db/x"
    assert "secret" not in repr(s.store)


def test_bad_settings_raise_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TWINRCA_STORE__BACKEND", "oracle")
    with pytest.raises(ConfigError, match=r"store\.backend"):
        load_settings()
    monkeypatch.delenv("TWINRCA_STORE__BACKEND")
    monkeypatch.setenv("TWINRCA_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="TWINRCA_CONFIG"):
        load_settings()


def test_parse_time_forms() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_time("2026-01-02T03:04:05Z") == expected
    assert parse_time("2026-01-02T04:04:05+01:00") == expected
    assert parse_time(expected.timestamp()) == expected
    assert parse_time(int(expected.timestamp() * 1000)) == expected
    with pytest.raises(ValidationError):
        parse_time("yesterday")
    with pytest.raises(ValidationError):
        parse_time(True)


def test_alarm_identity_follows_x733() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    a = Alarm("1", "site:1", t, AlarmType.EQUIPMENT_ALARM, "powerProblem", "mains failure")
    b = Alarm(
        "2",
        "site:1",
        t,
        AlarmType.EQUIPMENT_ALARM,
        "powerProblem",
        "mains failure",
        perceived_severity=PerceivedSeverity.CLEARED,
    )
    c = Alarm("3", "site:2", t, AlarmType.EQUIPMENT_ALARM, "powerProblem", "mains failure")
    assert a.identity == b.identity != c.identity
    assert a.identity == dedup_key("site:1", "EQUIPMENT_ALARM", "powerProblem", "mains failure")
    assert PerceivedSeverity.CRITICAL.rank < PerceivedSeverity.WARNING.rank
