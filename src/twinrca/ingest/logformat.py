"""Header layouts of raw log lines (the loghub ``formats.json`` convention).

A layout such as ``<Date> <Time> <Pid> <Level> <Component>: <Content>`` names each
header field in angle brackets; the text between fields is a regular-expression
fragment (``\\[`` is a literal bracket, ``(...)?`` is optional) in which runs of
spaces match runs of whitespace. One field must be ``<Content>``, the message that
gets templated (usually the last); a layout without it is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twinrca.core.errors import ValidationError

__all__ = ["CONTENT", "LogFormat", "ParsedLine"]

CONTENT = "Content"
_FIELD = re.compile(r"(<[^<>]+>)")


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One raw line split by a :class:`LogFormat`; ``matched`` is False when the
    layout did not fit (then every header field is empty and ``content`` is the
    whole line)."""

    fields: dict[str, str]
    content: str
    matched: bool


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A compiled header layout; build it with :meth:`compile`."""

    layout: str
    fields: tuple[str, ...]
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, layout: str, *, require_content: bool = True) -> LogFormat:
        """Compile ``layout``; raises ValidationError when it names no field, repeats
        one, lacks ``<Content>`` (unless ``require_content`` is False: without it the
        message would silently end up in the last header field) or is not a valid
        regular expression."""
        parts = _FIELD.split(layout)
        fields: list[str] = []
        pattern = ""
        for k, part in enumerate(parts):
            if k % 2 == 0:
                pattern += re.sub(" +", r"\\s+", part)
            else:
                name = part[1:-1].strip()
                if not name.isidentifier() or name in fields:
                    raise ValidationError("bad_log_format", f"bad field {part!r}", layout=layout)
                fields.append(name)
                pattern += f"(?P<{name}>.*?)"
        if not fields:
            raise ValidationError("bad_log_format", "the layout names no <Field>", layout=layout)
        if require_content and CONTENT not in fields:
            raise ValidationError(
                "no_content_field",
                f"log format {layout!r} has no <{CONTENT}> field for the message",
                hint=f"end the format with <{CONTENT}>, e.g. '<Date> <Time> <Level>: <{CONTENT}>'",
            )
        try:
            regex = re.compile(f"^{pattern}$")
        except re.error as exc:
            raise ValidationError("bad_log_format", str(exc), layout=layout) from exc
        return cls(layout, tuple(fields), regex)

    @property
    def header_fields(self) -> tuple[str, ...]:
        """The fields other than ``Content``."""
        return tuple(f for f in self.fields if f != CONTENT)

    def parse(self, line: str) -> ParsedLine:
        """Split one raw line (trailing newline and surrounding blanks ignored)."""
        text = line.strip()
        found = self.regex.match(text)
        if found is None:
            return ParsedLine(dict.fromkeys(self.header_fields, ""), text, matched=False)
        groups = {k: (v or "") for k, v in found.groupdict().items()}
        content = groups.pop(CONTENT, text)
        return ParsedLine(groups, content, matched=True)
