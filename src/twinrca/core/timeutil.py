"""Time helpers: everything is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_time", "to_epoch_s", "utc", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc(dt: datetime) -> datetime:
    """Attach UTC to a naive datetime, convert an aware one to UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def parse_time(value: str | int | float | datetime) -> datetime:
    """ISO 8601 / RFC 3339 text, epoch seconds (or milliseconds if > 1e11), or datetime."""
    from twinrca.core.errors import ValidationError

    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, bool):
        raise ValidationError("bad_time", f"not a time: {value!r}")
    if isinstance(value, int | float):
        seconds = value / 1000.0 if abs(value) > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValidationError("bad_time", f"epoch out of range: {value!r}") from exc
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            return utc(datetime.fromisoformat(text))
        except ValueError as exc:
            raise ValidationError("bad_time", f"not an ISO 8601 time: {value!r}") from exc
    raise ValidationError("bad_time", f"not a time: {value!r}")


def to_epoch_s(dt: datetime) -> float:
    return utc(dt).timestamp()
