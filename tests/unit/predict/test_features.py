"""Feature building internals: the vectorised rolling statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.mark.parametrize("w", [1, 2, 3, 8, 16])
def test_vectorised_rolling_matches_pandas(w: int) -> None:
    """The NumPy rolling statistics equal pandas' (the reference semantics) with NaNs."""
    from twinrca.predict.features import _rolling

    rng = np.random.default_rng(w)
    a = rng.normal(1000.0, 3.0, (240, 30))  # large mean, small spread: cancellation-prone
    a[rng.random(a.shape) < 0.25] = np.nan
    a[:20, 4] = np.nan
    a[:, 7] = np.nan
    for how in ("mean", "std"):
        ref = getattr(pd.DataFrame(a).rolling(w, min_periods=max(w // 2, 1)), how)().to_numpy()
        np.testing.assert_allclose(_rolling(a, w, how), ref, rtol=1e-9, atol=1e-9, equal_nan=True)
    counts = rng.poisson(0.4, (240, 30)).astype(float)
    ref = pd.DataFrame(counts).rolling(w, min_periods=1).sum().to_numpy()
    np.testing.assert_array_equal(_rolling(counts, w, "sum"), ref)
