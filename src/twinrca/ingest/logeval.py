"""Grouping accuracy of a log parser (the loghub "GA" definition).

A predicted group is correct when its set of lines equals the set of lines of one
ground-truth group; GA is the share of lines that sit in a correct group.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

from twinrca.core.errors import ValidationError

__all__ = ["grouping_accuracy"]


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """Share of lines whose predicted group has exactly the lines of a true group."""
    if len(predicted) != len(truth):
        raise ValidationError(
            "length_mismatch",
            "predicted and true labels differ in length",
            predicted=len(predicted),
            truth=len(truth),
        )
    if not truth:
        return 0.0
    true_size: dict[Hashable, int] = defaultdict(int)
    for label in truth:
        true_size[label] += 1
    members: dict[Hashable, set[Hashable]] = defaultdict(set)
    size: dict[Hashable, int] = defaultdict(int)
    for group, label in zip(predicted, truth, strict=True):
        members[group].add(label)
        size[group] += 1
    correct = 0
    for group, labels in members.items():
        if len(labels) == 1 and true_size[next(iter(labels))] == size[group]:
            correct += size[group]
    return correct / len(truth)
