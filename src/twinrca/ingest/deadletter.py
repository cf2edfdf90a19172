"""Dead-letter records: the original bytes, why they were refused, and where from.

On Kafka a dead letter is a message on the ``dlq`` topic whose value is the original
bytes unchanged, whose key is ``topic:partition:offset`` of the source (a consumer of
the DLQ can drop the rare duplicate a crash between the DLQ flush and the database
commit may create), and whose headers carry the reason and the source. For file
sources the same record is a JSON line with the bytes in base64.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import orjson

from twinrca.core.errors import ValidationError
from twinrca.core.timeutil import utcnow
from twinrca.core.wire import format_time

__all__ = ["DeadLetter", "DeadLetterSink", "Rejected", "dead_letter_file_sink", "from_headers"]

_H = "twinrca."


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A refused input with a machine-readable ``reason`` and a human ``detail``."""

    original: bytes
    reason: str
    detail: str
    source_topic: str
    source_partition: int
    source_offset: int
    time: datetime
    #: the measured object and counter of a value refused alone (PM files), else ""
    managed_object: str = ""
    counter: str = ""

    @classmethod
    def of(
        cls,
        original: bytes,
        error: ValidationError,
        topic: str,
        partition: int = -1,
        offset: int = -1,
        *,
        managed_object: str = "",
        counter: str = "",
    ) -> DeadLetter:
        return cls(
            original,
            error.reason,
            str(error.message)[:1000],
            topic,
            partition,
            offset,
            utcnow(),
            managed_object,
            counter,
        )

    @classmethod
    def of_rejected(
        cls, rejected: Rejected, topic: str, partition: int = -1, offset: int = -1
    ) -> DeadLetter:
        """A value (or event) refused inside a message that was otherwise stored."""
        return cls.of(
            rejected.original,
            rejected.error,
            topic,
            partition,
            offset,
            managed_object=rejected.managed_object,
            counter=rejected.counter,
        )

    @property
    def key(self) -> bytes:
        return f"{self.source_topic}:{self.source_partition}:{self.source_offset}".encode()

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers describing the rejection."""
        return [
            (_H + "reason", self.reason.encode()),
            (_H + "detail", self.detail.encode()),
            (_H + "source.topic", self.source_topic.encode()),
            (_H + "source.partition", str(self.source_partition).encode()),
            (_H + "source.offset", str(self.source_offset).encode()),
            (_H + "time", format_time(self.time).encode()),
        ] + [
            (_H + name, value.encode())
            for name, value in (("object", self.managed_object), ("counter", self.counter))
            if value
        ]

    def to_json(self) -> bytes:
        """One JSON line (original bytes in base64) for file sources."""
        where = {"object": self.managed_object, "counter": self.counter}
        return orjson.dumps(
            {
                **{k: v for k, v in where.items() if v},
                "reason": self.reason,
                "detail": self.detail,
                "source": {
                    "topic": self.source_topic,
                    "partition": self.source_partition,
                    "offset": self.source_offset,
                },
                "time": format_time(self.time),
                "original_b64": base64.b64encode(self.original).decode(),
            }
        )


def from_headers(value: bytes, headers: list[tuple[str, bytes]]) -> DeadLetter:
    """Rebuild a dead letter read back from the DLQ topic."""
    from twinrca.core.timeutil import parse_time

    h = {k.removeprefix(_H): v.decode() for k, v in headers if k.startswith(_H)}
    return DeadLetter(
        value,
        h.get("reason", ""),
        h.get("detail", ""),
        h.get("source.topic", ""),
        int(h.get("source.partition", -1)),
        int(h.get("source.offset", -1)),
        parse_time(h["time"]) if "time" in h else utcnow(),
        h.get("object", ""),
        h.get("counter", ""),
    )


@dataclass(frozen=True, slots=True)
class Rejected:
    """One value or event refused inside a message whose other parts were stored."""

    error: ValidationError
    original: bytes
    managed_object: str = ""
    counter: str = ""


DeadLetterSink = Callable[[list[DeadLetter]], None]


def dead_letter_file_sink(target: Path) -> tuple[DeadLetterSink, Path]:
    """A sink appending dead letters as JSON lines to ``target``, and the file it writes.

    ``target`` is a file (a name with a suffix, e.g. ``dead.jsonl``), or a folder (an
    existing one, or a name without suffix) in which a new
    ``dead-letters-<UTC time>.jsonl`` is used. Nothing is created until the first
    dead letter arrives.
    """
    if target.is_dir() or not target.suffix:
        target = target / f"dead-letters-{utcnow():%Y%m%dT%H%M%SZ}.jsonl"
    _check_writable(target)

    def sink(dead: list[DeadLetter]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("ab") as fh:
            fh.writelines(d.to_json() + b"\n" for d in dead)

    return sink, target


def _check_writable(target: Path) -> None:
    """Refuse, before any work, a dead-letter file that could never be written."""
    if target.exists() and not target.is_file():
        raise ValidationError("bad_option", f"dead-letter file {target} is not a regular file")
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValidationError(
            "bad_option",
            f"dead-letter path {target}: {folder} is a file, not a folder",
            hint="give --dead-letters a folder or a .jsonl file that can be created",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValidationError(
            "bad_option",
            f"dead-letter path {target}: {folder} is not writable",
            hint="give --dead-letters a writable place",
        )
