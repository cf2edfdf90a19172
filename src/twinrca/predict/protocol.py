"""The predictor protocol: what a user's prediction plugin (entry point group
``twinrca.predictors``) implements (see :mod:`twinrca.runtime.plugins`)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pandas as pd

__all__ = ["Predictor"]


@runtime_checkable
class Predictor(Protocol):
    """Scores the feature rows the built-in model scores."""

    def predict(self, features: pd.DataFrame) -> pd.DataFrame: ...
