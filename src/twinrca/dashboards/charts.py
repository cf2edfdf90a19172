"""Vega-Lite specifications (plain dicts) of the dashboard's charts.

Plain dicts rather than Altair objects: building and validating Altair charts costs
tens of milliseconds per chart per rerun, a dict costs nothing. No map tiles: the
network map is a scatter of longitude and latitude (works offline).
"""

from __future__ import annotations

from typing import Any

from twinrca.dashboards.data import ELEMENT_STATES

__all__ = [
    "STATE_COLOURS",
    "bars",
    "kpi_band",
    "lines",
    "network_map",
    "remediation_intervals",
    "replay",
    "risk_heatmap",
    "severity_bars",
    "timeline",
]

Spec = dict[str, Any]
STATE_COLOURS = {
    "incident root": "#d62728",
    "in incident": "#ff9f1c",
    "at risk": "#9467bd",
    "ok": "#2ca02c",
}
_SEVERITY_COLOURS = {
    "CRITICAL": "#d62728",
    "MAJOR": "#ff7f0e",
    "MINOR": "#f2c14e",
    "WARNING": "#4c78a8",
}


def network_map(height: int = 420) -> Spec:
    """Sites (hollow squares) and their cells (dots) by coordinates, coloured by state."""
    colour = {
        "field": "state",
        "type": "nominal",
        "scale": {
            "domain": list(ELEMENT_STATES),
            "range": [STATE_COLOURS[s] for s in ELEMENT_STATES],
        },
    }
    pos = {
        "x": {
            "field": "lon",
            "type": "quantitative",
            "scale": {"zero": False},
            "title": "longitude",
        },
        "y": {
            "field": "lat",
            "type": "quantitative",
            "scale": {"zero": False},
            "title": "latitude",
        },
        "color": colour,
        "tooltip": [{"field": f} for f in ("element_id", "kind", "region", "state")],
    }
    return {
        "height": height,
        "layer": [
            {"transform": [{"filter": "datum.kind == 'site'"}],
             "mark": {"type": "square", "filled": False, "size": 420, "strokeWidth": 2},
             "encoding": pos},
            {"transform": [{"filter": "datum.kind == 'cell'"}],
             "mark": {"type": "circle", "size": 28, "opacity": 0.9},
             "encoding": {**pos, "order": {"field": "rank", "type": "quantitative"}}},
        ],
    }  # fmt: skip


def bars(x: str, y: str, *, colour: dict[str, str] | None = None, height: int = 180) -> Spec:
    enc: Spec = {
        "x": {"field": x, "type": "nominal", "sort": None, "title": None},
        "y": {"field": y, "type": "quantitative", "axis": {"tickMinStep": 1, "format": "d"}},
        "tooltip": [{"field": x}, {"field": y}],
    }
    if colour:
        enc["color"] = {
            "field": x,
            "type": "nominal",
            "scale": {"domain": list(colour), "range": list(colour.values())},
            "legend": None,
        }
    return {"height": height, "mark": {"type": "bar"}, "encoding": enc}


def severity_bars() -> Spec:
    return bars("severity", "incidents", colour=_SEVERITY_COLOURS)


def lines(x: str, y: str, *, title: str, height: int = 120) -> Spec:
    return {
        "height": height,
        "title": title,
        "mark": {"type": "line", "interpolate": "step-after"},
        "encoding": {
            "x": {"field": x, "type": "temporal", "title": None},
            "y": {"field": y, "type": "quantitative", "title": None},
        },
    }


def timeline(height: int = 220) -> Spec:
    """Alarms by time and element; root alarms red, children grey."""
    return {
        "height": height,
        "mark": {"type": "point", "filled": True, "size": 90},
        "encoding": {
            "x": {"field": "event_time", "type": "temporal", "title": None},
            "y": {"field": "managed_object", "type": "nominal", "title": None, "sort": None},
            "color": {
                "field": "role",
                "type": "nominal",
                "scale": {"domain": ["root", "child"], "range": ["#d62728", "#7f7f7f"]},
            },
            "shape": {"field": "severity", "type": "nominal"},
            "tooltip": [
                {"field": f}
                for f in ("event_time", "managed_object", "specific_problem", "severity", "role")
            ],
        },
    }


def kpi_band(title: str, height: int = 200) -> Spec:
    """Normal band (area), the KPI (line) and the anomalous points (red)."""
    x = {"field": "period_end", "type": "temporal", "title": None}
    return {
        "height": height,
        "title": title,
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.18, "color": "#4c78a8"},
                "encoding": {
                    "x": x,
                    "y": {"field": "lo", "type": "quantitative", "title": None},
                    "y2": {"field": "hi"},
                },
            },
            {
                "mark": {"type": "line", "color": "#4c78a8"},
                "encoding": {"x": x, "y": {"field": "value", "type": "quantitative"}},
            },
            {
                "transform": [{"filter": "datum.anomalous"}],
                "mark": {"type": "point", "color": "#d62728", "filled": True},
                "encoding": {
                    "x": x,
                    "y": {"field": "value", "type": "quantitative"},
                    "tooltip": [{"field": "period_end", "type": "temporal"}, {"field": "value"}],
                },
            },
        ],
    }


def replay(title: str, height: int = 170) -> Spec:
    """Observed (solid) against simulated (dashed) series of one KPI."""
    return {
        "height": height,
        "title": title,
        "mark": {"type": "line"},
        "encoding": {
            "x": {"field": "time", "type": "temporal", "title": None},
            "y": {
                "field": "value",
                "type": "quantitative",
                "title": None,
                "scale": {"zero": False},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "scale": {"domain": ["observed", "simulated"], "range": ["#1f77b4", "#ff7f0e"]},
            },
            "strokeDash": {"field": "series", "type": "nominal", "legend": None},
        },
    }


def remediation_intervals(height: int = 160) -> Spec:
    """Expected recovery probability (point) with its interval (rule) per action."""
    y = {"field": "action", "type": "nominal", "title": None, "sort": None}
    return {
        "height": height,
        "layer": [
            {
                "mark": {"type": "rule", "strokeWidth": 3, "color": "#9ecae1"},
                "encoding": {
                    "y": y,
                    "x": {
                        "field": "low",
                        "type": "quantitative",
                        "scale": {"domain": [0, 1]},
                        "title": "P(service recovers)",
                    },
                    "x2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 90, "color": "#08519c"},
                "encoding": {
                    "y": y,
                    "x": {"field": "expected_recovery", "type": "quantitative"},
                    "tooltip": [
                        {"field": f}
                        for f in (
                            "action",
                            "expected_recovery",
                            "low",
                            "high",
                            "time_to_recover_min",
                            "risk",
                            "cost",
                        )
                    ],
                },
            },
        ],
    }


def risk_heatmap(height: int = 360) -> Spec:
    """Highest predicted probability per element (rows) and horizon (columns)."""
    return {
        "height": height,
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "horizon", "type": "nominal", "sort": None, "title": "horizon"},
            "y": {"field": "element", "type": "nominal", "title": None},
            "color": {
                "field": "probability",
                "type": "quantitative",
                "scale": {"scheme": "orangered", "domain": [0, 1]},
            },
            "tooltip": [
                {"field": f}
                for f in ("element", "failure_mode", "horizon", "probability", "explanation")
            ],
        },
    }
