"""Second pass over Drain clusters: keep constant words that Drain turned into ``<*>``.

Drain merges two messages when enough of their tokens agree, so ``cupsd startup
succeeded`` and ``cupsd shutdown succeeded`` end in one cluster ``cupsd <*>
succeeded``. This module records, for each cluster, which distinct (masked) token
sequences it holds and decides per wildcard position whether it is a variable or a
small set of constant words:

* **few classes** — every value at the position is a word (no digit outside a
  wildcard, not a bare ``<*>``) and the values fall into at most ``max_classes``
  classes (:func:`value_classes`: ``user=root`` and ``user=guest`` are one class,
  ``chdir(<*>)`` and ``chdir(pwd)`` are one class);
* **co-variation** — two such word positions whose values determine each other
  one-to-one (``Bye Bye [preauth]`` vs ``disconnected by user``) are constant
  text, since independent variables rarely move in lock-step.

The idea is the position-variability heuristic of Brain (Yu et al., 2023) in a
form that needs no per-system threshold. Everything here is pure data: the
template miner owns the Drain tree and calls :meth:`ClusterStats.observe` and
:meth:`ClusterStats.render`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations

from twinrca.ingest.masking import WILDCARD, is_variable_token

__all__ = ["ClusterStats", "SplitRules", "value_classes"]

_KEY = re.compile(r"[A-Za-z_][\w.\-]*")
# a name with inner dots, slashes or an @ (com.example.app, pkg/.Activity, obj@1f):
# an identifier, i.e. a value, never the constant text that tells two events apart
# literals that are always values of a setting, whatever the event
_LITERALS = frozenset({"true", "false", "null", "nil", "undefined"})
_STRIP = "()[]{}<>,;:.'\"=|"
_IDENTIFIER = re.compile(r"\w[.@/]+\w|^\w+@")


@dataclass(frozen=True, slots=True)
class SplitRules:
    """Limits of the second pass (one set of defaults for every log system)."""

    max_classes: int = 3
    covary_max_values: int = 8
    max_values: int = 16
    max_variants: int = 512


def _generalisations(token: str) -> set[str]:
    out = {token} if WILDCARD in token else set()
    key, sep, _ = token.partition("=")
    if sep and _KEY.fullmatch(key):
        out.add(f"{key}={WILDCARD}")
    return out


@lru_cache(maxsize=4096)
def _pattern(general: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in general.split(WILDCARD)), re.S)


def _static_len(general: str) -> int:
    return len(general) - len(WILDCARD) * general.count(WILDCARD)


def value_classes(values: set[str]) -> dict[str, str]:
    """Map each word value at one position to the text of its class.

    A value joins the class of the most general pattern that covers it: a partly
    masked value covers the words it could have been (``chdir(<*>)`` covers
    ``chdir(pwd)``, ``(<*>)`` covers ``()``) and ``key=value`` is covered by
    ``key=<*>``. A word that no pattern covers is its own class.
    """
    patterns = sorted({g for v in values for g in _generalisations(v)})
    out = {}
    for value in values:
        covering = [g for g in patterns if _pattern(g).fullmatch(value)]
        out[value] = min(covering, key=lambda g: (_static_len(g), g)) if covering else value
    return out


def _is_word(token: str) -> bool:
    """A token that may be constant text: not a bare wildcard, not value-shaped
    (:func:`~twinrca.ingest.masking.is_variable_token`), not an identifier."""
    if token == WILDCARD or is_variable_token(token):
        return False
    core = token.replace(WILDCARD, "")
    return not _IDENTIFIER.search(core) and core.strip(_STRIP).lower() not in _LITERALS


@dataclass(slots=True)
class ClusterStats:
    """Distinct values per token position of one Drain cluster, bounded in size.

    ``values[p]`` is the set of tokens seen at position ``p``, or ``None`` once it
    exceeded ``rules.max_values`` or held a non-word (the position is a variable).
    ``variants`` keeps the distinct token tuples projected on the word positions
    (others replaced by ``<*>``), which the co-variation rule needs.
    """

    values: list[set[str] | None]
    variants: set[tuple[str, ...]] = field(default_factory=set)
    _split: tuple[dict[int, dict[str, str]], frozenset[int]] | None = None

    @classmethod
    def new(cls, length: int) -> ClusterStats:
        return cls(values=[set() for _ in range(length)])

    def observe(self, tokens: list[str], rules: SplitRules) -> bool:
        """Record one message; True when the statistics changed."""
        changed = False
        for p, token in enumerate(tokens):
            seen = self.values[p]
            if seen is None or token in seen:
                continue
            changed = True
            # the value of "key= value" / "key = value" (not the next "key=value")
            after_equals = p > 0 and tokens[p - 1].endswith("=") and "=" not in token
            if len(seen) >= rules.max_values or after_equals or not _is_word(token):
                self.values[p] = None
                self.variants = {self._project(v) for v in self.variants}
            else:
                seen.add(token)
        variant = self._project(tuple(tokens))
        if variant not in self.variants and len(self.variants) < rules.max_variants:
            self.variants.add(variant)
            changed = True
        if changed:
            self._split = None
        return changed

    def _project(self, tokens: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(WILDCARD if self.values[p] is None else t for p, t in enumerate(tokens))

    def split_positions(
        self, rules: SplitRules
    ) -> tuple[dict[int, dict[str, str]], frozenset[int]]:
        """({position: {value: class text}} of class splits, positions split by value)."""
        if self._split is None:
            self._split = (self._by_class(rules), self._by_covariation(rules))
        return self._split

    def _word_positions(self, limit: int) -> list[int]:
        return [p for p, v in enumerate(self.values) if v is not None and 2 <= len(v) <= limit]

    def _by_class(self, rules: SplitRules) -> dict[int, dict[str, str]]:
        found = {}
        for p in self._word_positions(rules.max_values):
            classes = value_classes(self.values[p] or set())
            if 2 <= len(set(classes.values())) <= rules.max_classes:
                found[p] = classes
        return found

    def _by_covariation(self, rules: SplitRules) -> frozenset[int]:
        found: set[int] = set()
        for a, b in combinations(self._word_positions(rules.covary_max_values), 2):
            pairs = {(v[a], v[b]) for v in self.variants}
            if len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs}):
                found.update((a, b))
        return frozenset(found)

    def render(self, template: Sequence[str], tokens: Sequence[str], rules: SplitRules) -> str:
        """The final template of one message of this cluster."""
        return self.render_split(template, tokens, rules)[0]

    def render_split(
        self, template: Sequence[str], tokens: Sequence[str], rules: SplitRules
    ) -> tuple[str, list[str]]:
        """(final template, ``position=word`` of each wildcard restored to a word)."""
        by_class, by_value = self.split_positions(rules)
        out = []
        split = []
        for p, word in enumerate(template):
            if WILDCARD not in word or p >= len(tokens):
                out.append(word)
                continue
            if p in by_value:
                word = tokens[p]
            elif p in by_class:
                word = by_class[p].get(tokens[p], word)
            if word != template[p]:
                split.append(f"{p}={word}")
            out.append(word)
        return " ".join(out), split

    def to_json(self) -> dict[str, object]:
        return {
            "values": [None if v is None else sorted(v) for v in self.values],
            "variants": sorted(list(v) for v in self.variants),
        }

    @classmethod
    def from_json(cls, doc: dict[str, list]) -> ClusterStats:
        values = [None if v is None else set(v) for v in doc["values"]]
        return cls(values=values, variants={tuple(v) for v in doc["variants"]})
