"""General masking of variable parts of log messages (no per-system settings).

Each rule is a regular expression whose matches are replaced by the wildcard ``<*>``.
The rules run in order, most specific first (a URL before a path, a MAC before a
time of day, an IP address with its port before a bare number), so that one
variable becomes one wildcard. The rules only look at the *shape* of a value:
digits, hex runs, separators; they know nothing about any particular system.

After the regular expressions, :func:`mask_tokens` turns every whitespace token
that still holds a digit into ``<*>`` when it looks like an identifier rather than
a word (``blk_-123``, ``R02-M1-N0``, ``0x1f``, ``core.3456``); tokens such as
``ssh2`` or ``jk2_init()`` are kept, a digit alone is not enough to call a word a
variable. See :func:`is_variable_token`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "WILDCARD",
    "MaskRule",
    "clear_cache",
    "default_rules",
    "is_variable_token",
    "mask",
    "mask_split",
    "mask_tokens",
]

WILDCARD = "<*>"


@dataclass(frozen=True, slots=True)
class MaskRule:
    """One masking rule: a name (for tests and debugging) and a compiled pattern."""

    name: str
    pattern: re.Pattern[str]


_B = r"(?<![\w.\-])"  # left boundary: not inside a word, number or dotted name
_E = r"(?![\w\-]|\.\w)"  # right boundary: a trailing full stop is allowed
_HEX4 = r"[0-9A-Fa-f]{1,4}"
_IPV4 = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}"
_IPV6 = (
    rf"(?:(?:{_HEX4}:){{7}}{_HEX4}"
    rf"|(?:{_HEX4}:){{1,7}}:(?:{_HEX4}(?::{_HEX4}){{0,6}})?"
    rf"|::(?:{_HEX4}(?::{_HEX4}){{0,6}})?)"
)

_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\.?,?"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_SCALED = r"(?:[KMGTPE]i?B|[kmgtp]B|[KMGT]iB)"  # a unit whose prefix scales with the value
_UNIT = r"(?:[mun]?s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?|days?|bytes?|[KMGTPE]i?B)"
_TLD = r"(?:com|net|org|edu|gov|mil|info|biz|local|lan|localdomain|arpa|[a-z]{2})"

_RULES: tuple[tuple[str, str], ...] = (
    ("url", r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+"),
    ("email", rf"{_B}[\w.+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+{_E}"),
    ("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"),
    ("hex_bytes", r"(?<![\w:\-])(?:[0-9A-Fa-f]{2}[:\-]){3,}[0-9A-Fa-f]{2}(?![\w:\-])"),
    (
        "datetime",
        r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[T\s\-_]\d{1,2}[:.]\d{2}[:.]\d{2}"
        r"(?:[.,]\d+)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b",
    ),
    (
        "calendar",
        rf"\b(?:{_DAY}\s+)?{_MONTH}\s+\d{{1,2}},?(?:\s+\d{{4}})?(?:\s+{_CLOCK})"
        rf"(?:\s+[A-Z]{{3,4}})??(?:\s+\d{{4}})?\b",
    ),
    ("time", r"(?<![\w:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?(?![\w:])"),
    ("ipv4_port", rf"(?<![\w.])/?{_IPV4}(?::\d{{1,5}})?(?![\w.]|\.\d)"),
    ("ipv6", rf"(?<![\w:]){_IPV6}(?:%\w+)?(?![\w:])"),
    ("host_port", r"(?<![\w.\-:])[A-Za-z][\w\-]*(?:\.[\w\-]+)+:\d{1,5}\b"),
    ("clock", r"(?<![\w:.])\d{1,3}:\d{2}(?![\w:]|\.\d)"),
    ("bound", rf"(?<![\w<>])[<>]=?\s?\d+(?:[.,]\d+)?(?:\s?{_UNIT}(?![\w]))?"),
    ("size", rf"(?<![\w.])\d+(?:[.,]\d+)?\s?{_SCALED}(?![\w])"),
    ("hostname", rf"(?<![\w.\-@/])(?:[A-Za-z0-9](?:[\w\-]*[A-Za-z0-9])?\.)+{_TLD}(?![\w\-]|\.\w)"),
    ("path", r"(?<![\w<>])(?:\.{0,2}/+[\w.\-+@%~#]+)+/?|(?<![\w])[A-Za-z]:\\[\w\\.\-]+"),
    ("hex", r"\b0[xX][0-9A-Fa-f]+\b"),
    ("number", r"(?<![A-Za-z\d])[-+]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?(?![A-Za-z\d])"),
)


def default_rules() -> tuple[MaskRule, ...]:
    """The built-in masking rules, in the order they are applied."""
    return tuple(MaskRule(name, re.compile(pattern)) for name, pattern in _RULES)


def _combined(rules: tuple[MaskRule, ...]) -> re.Pattern[str]:
    """One alternation of all rules: a single pass, the earlier rule winning where
    two could start at the same place (the order of :data:`_RULES`)."""
    return re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in rules))


_DEFAULT = default_rules()
# rules whose match can hold a blank run on the whole line, before it is split
_SPANNING = ("calendar", "bound", "size")
_LINE_PASS = _combined(tuple(r for r in _DEFAULT if r.name in _SPANNING))
_TOKEN_PASS = _combined(tuple(r for r in _DEFAULT if r.name not in _SPANNING))
_MONTHS = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)")
_HEXRUN = re.compile(r"^[0-9A-Fa-f]{6,}$")
_HAS_DIGIT = re.compile(r"\d")
_ALPHA_RUN = re.compile(r"[A-Za-z]{3,}")
_WILD_RUN = re.compile(r"<\*>(?:[,;|]?<\*>)+")  # adjacent values: one value
_SEP = ",;|"
_NO_VALUE = re.compile(r"[^\d/:@.\\\-]*")  # a token no token rule can match
_QUOTE_SPAN = 12  # at most this many tokens in one quoted string


def is_variable_token(token: str) -> bool:
    """True when a whitespace token that survived the rules still looks like a value.

    Wildcards already in the token are ignored. A token is a value when what is left
    has a digit and is either a long hex run, or has no run of three letters
    (``R02-M1-N0``, ``a1b2``), or is mostly digits (``core.3456``). Words
    with a version digit (``ssh2``, ``jk2_init()``, ``IPv6``) are not values.
    """
    if token == WILDCARD:
        return False
    core = token.replace(WILDCARD, "")
    if not _HAS_DIGIT.search(core):
        return False
    core = core.strip("()[]{}<>,;:'\"")
    if _HEXRUN.match(core) or not _ALPHA_RUN.search(core):
        return True
    digits = sum(ch.isdigit() for ch in core)
    return digits >= 4 and digits * 2 >= len(core) - 2


def _mask_token(token: str) -> str:
    if is_variable_token(token):
        return WILDCARD + token[-1] if token[-1] in _SEP else WILDCARD
    return _WILD_RUN.sub(WILDCARD, token) if WILDCARD in token else token


_TOKENS: dict[str, str] = {}


def _token(token: str) -> str:
    """One whitespace token through the token rules and the value check (memoised)."""
    done = _TOKENS.get(token)
    if done is None:
        ruled = token if _NO_VALUE.fullmatch(token) else _TOKEN_PASS.sub(WILDCARD, token)
        done = _mask_token(ruled)
        if len(_TOKENS) >= 200_000:
            _TOKENS.clear()
        _TOKENS[token] = done
    return done


def clear_cache() -> None:
    """Forget the memoised tokens (for cold-start timing; results do not change)."""
    _TOKENS.clear()


def _unit(token: str) -> str:
    """A token without its list separator (``<*>,`` and ``<*>`` are one list item)."""
    return token[:-1] if len(token) > 1 and token[-1] in _SEP else token


def _fold(words: list[str]) -> list[str]:
    """Collapse a variable-length list into its first item.

    A list is a run of tokens that are the same once values are masked and a trailing
    list separator (``,`` ``;`` ``|``) is ignored, and that hold a value:
    ``blk_<*> blk_<*> blk_<*>`` and ``<*>, <*>, <*>`` (a host:port chain) both
    become one item, so one event type does not split by the length of its list.
    """
    out: list[str] = []
    last = ""
    for word in words:
        unit = _unit(word)
        if out and unit == last and WILDCARD in unit:
            out[-1] = unit if word == unit else out[-1]
            continue
        out.append(word)
        last = unit
    return out


def _join_quoted(words: list[str]) -> list[str]:
    """A double-quoted string of a few tokens becomes one token."""
    out: list[str] = []
    k = 0
    while k < len(words):
        word = words[k]
        if word.count('"') % 2:  # opens a quoted string that a later token closes
            for end in range(k + 1, min(k + _QUOTE_SPAN, len(words))):
                if words[end].count('"') % 2:
                    word, k = " ".join(words[k : end + 1]), end
                    break
        out.append(word)
        k += 1
    return out


def mask_tokens(text: str) -> str:
    """Replace value-like whitespace tokens (see :func:`is_variable_token`) by ``<*>``
    and collapse a variable-length list into its first item (see :func:`mask_split`)."""
    return " ".join(_fold([_mask_token(t) for t in text.split()]))


def mask_split(text: str) -> list[str]:
    """The tokens of one masked message (what :func:`mask` joins with blanks).

    Rules that may span blanks (dates with a month name, ``<1 sec``, ``1.23 KB``) run
    on the line, the others on each whitespace token (memoised, so a token seen
    before costs a look-up); then value-like tokens become ``<*>``, a double-quoted
    string of a few tokens becomes one token, and variable-length lists fold.
    """
    if "B" in text or "<" in text or ">" in text or _MONTHS.search(text):
        text = _LINE_PASS.sub(WILDCARD, text)
    words = [_token(t) for t in text.split()]
    if '"' in text:
        words = _join_quoted(words)
    return _fold(words)


def mask(text: str, rules: tuple[MaskRule, ...] = _DEFAULT, *, tokens: bool = True) -> str:
    """Mask the variable parts of one log message with ``<*>``.

    With the built-in rules this is :func:`mask_split` joined by blanks. Other
    ``rules`` are applied in order on the line, then (when ``tokens``)
    :func:`mask_tokens`. The result has single spaces between tokens.
    """
    if rules is _DEFAULT and tokens:
        return " ".join(mask_split(text))
    for rule in rules:
        text = rule.pattern.sub(WILDCARD, text)
    return mask_tokens(text) if tokens else " ".join(text.split())
