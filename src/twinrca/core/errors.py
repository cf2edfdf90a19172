"""One exception hierarchy for TwinRCA.

::

    TwinRCAError
    ├── ConfigError            bad or missing settings (says which setting to fix)
    ├── ValidationError        an input record or file is malformed (carries the reason)
    ├── ServiceUnavailable     a broker, database or HTTP target cannot be reached
    │   ├── BrokerUnavailable
    │   └── StoreUnavailable
    ├── StoreError             a database operation failed for another reason
    │   └── SchemaMismatch     stored schema or model schema differs from what code expects
    ├── ModelError             a model cannot be fitted, loaded or applied
    └── NotFound               a requested object does not exist (or belongs to another tenant)

Adapters map third-party exceptions at the one place that calls the library
(``raise StoreUnavailable(...) from exc``).
"""

from __future__ import annotations

__all__ = [
    "BrokerUnavailable",
    "ConfigError",
    "ModelError",
    "NotFound",
    "SchemaMismatch",
    "ServiceUnavailable",
    "StoreError",
    "StoreUnavailable",
    "TwinRCAError",
    "ValidationError",
]


class TwinRCAError(Exception):
    """Base of every error TwinRCA raises on purpose.

    ``hint`` tells a person what to do about it; ``context`` carries the details
    (topic, offset, table, element id ...) that locate the problem.
    """

    def __init__(self, message: str, *, hint: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context = context

    def __str__(self) -> str:
        text = self.message
        if self.context:
            details = ", ".join(f"{k}={v!r}" for k, v in self.context.items())
            text = f"{text} ({details})"
        if self.hint:
            text = f"{text}. Fix: {self.hint}"
        return text


class ConfigError(TwinRCAError):
    """A setting is missing, malformed or inconsistent."""


class ValidationError(TwinRCAError):
    """An input record or file is malformed; ``reason`` is machine readable."""

    def __init__(
        self, reason: str, message: str | None = None, *, hint: str | None = None, **context: object
    ) -> None:
        super().__init__(message or reason, hint=hint, **context)
        self.reason = reason


class ServiceUnavailable(TwinRCAError):
    """A server the code needs cannot be reached."""


class BrokerUnavailable(ServiceUnavailable):
    """The Kafka broker cannot be reached."""


class StoreUnavailable(ServiceUnavailable):
    """The database cannot be reached or refused the credentials."""


class StoreError(TwinRCAError):
    """A database operation failed."""


class SchemaMismatch(StoreError):
    """Stored data or a stored model does not have the schema the code expects."""


class ModelError(TwinRCAError):
    """A model cannot be fitted, loaded or applied."""


class NotFound(TwinRCAError):
    """The object does not exist (or is not visible to the caller's tenant)."""
