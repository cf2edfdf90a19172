"""What labelled past issues teach: how anomalous each metric is in *other* incidents.

For every past issue (PetShop layout), each metric's largest point score over the
issue's window is taken; a metric's **background** is the median of those scores over
the past issues whose root cause was a different entity. A metric that deviates in
every incident, whatever the cause (a baseline recorded at another time, collateral
noise), has a high background, and :func:`twinrca.causal._pointscores.point_scores`
divides its score by it (a background below 1 changes nothing). Only past issues are
read: never the issue being ranked. :func:`history_rows` gives their metrics to fit the
DoWhy model on (past anomalies show how a fault propagates; normal operation barely).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from twinrca.causal._pointscores import PointConfig, point_scores
from twinrca.causal.petshop import (
    SEP,
    PetShopIssue,
    flatten,
    issue_folders,
    issue_periods,
    read_issue,
)
from twinrca.core.errors import ValidationError

__all__ = ["background_from_history", "history_rows", "read_history"]

log = logging.getLogger(__name__)


def read_history(folder: Path) -> tuple[PetShopIssue, ...]:
    """The labelled ``issue_*`` folders under ``folder`` (or ``folder`` itself)."""
    if not folder.is_dir():
        raise ValidationError("bad_history", "history is not a directory", path=str(folder))
    found = issue_folders(folder) or ([folder] if (folder / "target.json").is_file() else [])
    if not found:
        raise ValidationError(
            "bad_history", "no issue_*/target.json under the history directory", path=str(folder)
        )
    return tuple(read_issue(f) for f in found)


def background_from_history(
    issues: tuple[PetShopIssue, ...], normal: pd.DataFrame, config: PointConfig | None = None
) -> pd.Series:
    """Per ``node|metric`` column: median window score in past issues caused elsewhere."""
    rows: list[pd.Series] = []
    for issue in issues:
        baseline, window = issue_periods(issue, normal)
        score = point_scores(baseline, window, config).score
        if issue.root_cause:
            own = [c for c in score.index if c.partition(SEP)[0] == issue.root_cause]
            score = score.drop(own)
        rows.append(score)
    if not rows:
        return pd.Series(dtype=float)
    return pd.concat(rows, axis=1).median(axis=1, skipna=True).fillna(0.0)


def history_rows(issues: tuple[PetShopIssue, ...], statistic: str = "Average") -> pd.DataFrame:
    """Every past issue's flat metrics, for fitting models that must see propagation."""
    if not issues:
        return pd.DataFrame()
    return pd.concat([flatten(i.metrics, statistic) for i in issues])
