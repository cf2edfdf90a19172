"""The fitted tables of the diagnoser's ``Mode -> symptom_j`` network."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["dirichlet_tables"]


def dirichlet_tables(
    x: np.ndarray,
    labels: Sequence[str],
    classes: Sequence[str],
    cardinality: Sequence[int],
    smoothing: float,
) -> np.ndarray:
    """log P(symptom state | class) as ``[class, feature, state]``: the posterior mean of
    the ``Mode -> symptom_j`` network's tables under a Dirichlet prior whose
    pseudo-counts follow each symptom's pooled frequency (the m-estimate: a rare class is
    not credited for symptoms it was never seen without, as a uniform K2 prior would
    make any unseen alarm look like evidence for it). The same tables as pgmpy's
    ``DiscreteBayesianEstimator(prior_type="dirichlet")`` gives, counted with NumPy."""
    index = {c: i for i, c in enumerate(classes)}
    y = np.zeros((len(labels), len(classes)), dtype=np.float32)
    y[np.arange(len(labels)), [index[lab] for lab in labels]] = 1.0
    card = np.asarray(cardinality)
    width = int(card.max())
    valid = np.arange(width)[None, :] < card[:, None]  # [feature, state]
    counts = np.zeros((len(classes), len(card), width))
    pooled = np.zeros((len(card), width))
    for state in range(width):
        hit = (x == state).astype(np.float32)  # [row, feature]
        counts[:, :, state] = y.T @ hit
        pooled[:, state] = hit.sum(0)
    pooled = np.where(valid, pooled + 0.5, 0.0)
    pooled /= pooled.sum(1, keepdims=True)
    values = counts + smoothing * pooled[None, :, :]
    values /= values.sum(2, keepdims=True)
    out = np.zeros_like(values)
    np.log(values, out=out, where=np.broadcast_to(valid[None], values.shape))
    return out
