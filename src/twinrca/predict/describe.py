"""Readable names of feature columns (``prb_util__slope_12`` -> "PRB utilisation trend
over 60 min"), for explanations shown to NOC engineers."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["KPI_NAMES", "describe_feature"]

KPI_NAMES: dict[str, str] = {
    "prb_util": "PRB utilisation",
    "prbusagedl": "downlink PRB utilisation",
    "prbusageul": "uplink PRB utilisation",
    "cpu_load": "CPU load",
    "mem_util": "memory utilisation",
    "battery_v": "battery voltage",
    "rsl_margin": "receive-level fade margin",
    "drop_rate": "call drop rate",
    "thr_dl": "downlink throughput",
    "thr_ul": "uplink throughput",
    "temperature": "temperature",
    "battery_soc": "battery charge",
    "memory_util": "memory utilisation",
    "cabinet_temp": "cabinet temperature",
    "rsl_dbm": "received signal level",
    "link_util": "link utilisation",
}

_STATS = {
    "last": "current {k}",
    "resid": "{k} vs its usual level at this time of day",
    "mean": "{k} mean over {w}",
    "std": "{k} variability over {w}",
    "slope": "{k} trend over {w}",
    "delta": "{k} change over {w}",
    "resid_mean": "{k} above/below its usual time-of-day level over {w}",
}
_PHYSICS = {
    "margin": "{k} distance left to its failure level",
    "curv": "{k} acceleration over {w}",
    "ttt_min": "minutes until {k} reaches its failure level (nearest estimate)",
    "ttt_lo": "minutes until {k} reaches its failure level at the {w} trend (early bound)",
    "ttt_hi": "minutes until {k} reaches its failure level at the {w} trend (late bound)",
    "tttq": "minutes until {k} reaches its failure level on the {w} curve",
    "ttt": "minutes until {k} reaches its failure level at the {w} trend",
    "approach": "minutes {k} has been moving towards its failure level",
    "over_day": "{k} beyond its extreme of the previous day",
}
_SCOPES = {
    "up": "upstream elements' ",
    "nbr": "neighbour cells' ",
    "sib": "co-sited elements' ",
    "parent": "parent element's ",
}
_KPI_RE = re.compile(
    r"^(?P<k>.+?)__(?P<stat>last|resid_mean|resid|mean|std|slope|delta)(?:_(?P<w>\d+))?$"
)
_PHYSICS_RE = re.compile(
    r"^(?P<k>.+?)__(?P<stat>margin|curv|ttt_min|ttt_lo|ttt_hi|tttq|ttt|approach|over_day)"
    r"(?:_(?P<w>\d+))?$"
)
_EVENT_RE = re.compile(r"^(?P<kind>alarm|log)__(?P<what>.+)__sum_(?P<w>\d+)$")
_ACTIVE_RE = re.compile(r"^alarm__(?P<what>.+)__(?P<stat>active|age)$")


def _kpi_text(k: str, names: Mapping[str, str]) -> str:
    return names.get(k, names.get(k.lower(), k.replace("_", " ")))


def _window(w: str | None, period_min: int) -> str:
    if w is None:
        return ""
    minutes = int(w) * period_min
    return f"{minutes // 60} h" if minutes % 60 == 0 and minutes >= 120 else f"{minutes} min"


def describe_feature(name: str, period_min: int, names: Mapping[str, str] | None = None) -> str:
    """A sentence fragment naming what the feature measures."""
    names = {**KPI_NAMES, **(names or {})}
    scope = ""
    head, sep, rest = name.partition("__")
    if sep and head in _SCOPES:
        scope, name = _SCOPES[head], rest
    if name == "precursor__ttt_min":
        return f"{scope}minutes until the nearest failure level of any precursor KPI"
    if head == "down" and sep:
        return _imminent_text(rest, names)
    m = _EVENT_RE.match(name)
    if m:
        what = "all alarms" if m["what"] == "all" and m["kind"] == "alarm" else m["what"]
        noun = "alarms" if m["kind"] == "alarm" else "log lines"
        label = what if what == "all alarms" else f"{m['what']} {noun}"
        return f"{scope}count of {label} over {_window(m['w'], period_min)}"
    if name.startswith("attr__"):
        return f"{scope}{name[6:].replace('_', ' ')} (element attribute)"
    m = _ACTIVE_RE.match(name)
    if m:
        what = "alarms" if m["what"] == "all" else f"{m['what']} alarms"
        if m["stat"] == "active":
            return f"{scope}number of active {what}"
        return f"{scope}minutes since the oldest active {what} was raised"
    m = _KPI_RE.match(name)
    if m:
        text = _STATS[m["stat"]].format(k=_kpi_text(m["k"], names), w=_window(m["w"], period_min))
        return scope + text
    m = _PHYSICS_RE.match(name)
    if m:
        text = _PHYSICS[m["stat"]].format(k=_kpi_text(m["k"], names), w=_window(m["w"], period_min))
        return scope + text
    return scope + name.replace("_", " ")


def _imminent_text(name: str, names: Mapping[str, str]) -> str:
    """``down__`` features (:func:`twinrca.predict.physics.imminent_block`) in words."""
    if name == "ttt_min":
        return "minutes until the nearest failure level, on a steady approach (here or upstream)"
    if name == "imminent":
        return "number of precursors steadily approaching their failure level"
    k, _, stat = name.rpartition("__")
    what = _kpi_text(k, names)
    if stat == "ttt":
        return f"minutes until {what} reaches its failure level on a steady approach"
    if stat == "margin":
        return f"{what} distance left to its failure level (here or upstream)"
    return name.replace("_", " ")
