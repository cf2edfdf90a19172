"""Criticality matrix heatmap (matplotlib, Agg backend): zones coloured, items counted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from twinrca.fmea.action_priority import Priority
from twinrca.fmea.criticality import CriticalityMatrix
from twinrca.fmea.table import AssessedRow

__all__ = ["plot_criticality"]

_COLOURS = {Priority.LOW: "#b7e1a1", Priority.MEDIUM: "#ffd966", Priority.HIGH: "#f4a09c"}


def _labels(items: Sequence[AssessedRow]) -> dict[tuple[int, int], list[str]]:
    cells: dict[tuple[int, int], list[str]] = {}
    for a in items:
        short = a.row.mode_id.removeprefix("FM-")
        cells.setdefault((a.row.severity, a.row.occurrence), []).append(short)
    return cells


def plot_criticality(
    items: Sequence[AssessedRow],
    matrix: CriticalityMatrix,
    path: str | Path,
    *,
    title: str = "FMEA criticality matrix (severity x occurrence)",
) -> Path:
    """Write a PNG: the 10 x 10 zones, each cell with its failure-mode ids (or a count)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    order = [Priority.LOW, Priority.MEDIUM, Priority.HIGH]
    grid = [[order.index(matrix.zones[(s, o)]) for o in range(1, 11)] for s in range(1, 11)]
    fig, ax = plt.subplots(figsize=(13, 9))
    ax.imshow(
        grid,
        origin="lower",
        cmap=ListedColormap([_COLOURS[p] for p in order]),
        vmin=0,
        vmax=2,
        extent=(0.5, 10.5, 0.5, 10.5),
    )
    for (s, o), ids in _labels(items).items():
        text = "\n".join(ids) if len(ids) <= 4 else f"{len(ids)} modes"
        ax.text(o, s, text, ha="center", va="center", fontsize=6)
    ax.set_xticks(range(1, 11))
    ax.set_yticks(range(1, 11))
    ax.set_xlabel("Occurrence (1 = rare ... 10 = frequent)")
    ax.set_ylabel("Severity (1 = no effect ... 10 = emergency service / regional outage)")
    ax.set_title(f"{title}\ncells: failure-mode ids without the FM- prefix")
    for k in range(1, 11):
        ax.axhline(k + 0.5, color="white", lw=0.8)
        ax.axvline(k + 0.5, color="white", lw=0.8)
    ax.legend(
        handles=[Patch(color=_COLOURS[p], label=f"{p.value} zone") for p in reversed(order)],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
