"""The tenant's current FMEA table (catalogue + stored rating history), assessed."""

from __future__ import annotations

from typing import Any

from twinrca.fmea import RatingHistory, assess, assessed_frame, current_rows, sort_assessed
from twinrca.store.base import Store

__all__ = ["fmea_rows"]


def fmea_rows(store: Store, *, sort: str = "ap") -> list[dict[str, Any]]:
    history = RatingHistory.load(store)
    items = sort_assessed(assess(current_rows(history=history)), by=sort)  # type: ignore[arg-type]
    frame = assessed_frame(items)
    return frame.to_dict(orient="records")
