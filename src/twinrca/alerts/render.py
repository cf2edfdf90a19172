"""One renderer per subscription format: an :class:`AlertEvent` (an incident's
lifecycle step or a fault prediction) as the body and headers the NOC tool accepts.

A prediction (``details["event"] == "prediction"``) is a warning-level alert named
``TwinRCAFaultPrediction`` for Alertmanager, tagged ``prediction`` for Opsgenie, its
TS 28.104 MDA report for ``3gpp`` and the generic JSON with ``event: prediction``.
An unknown format gets the generic JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twinrca.alerts.formats import (
    AlertEvent,
    alertmanager_v4,
    generic_json,
    opsgenie,
    pagerduty_v2,
    threegpp_notification,
)

__all__ = ["RENDERERS", "Renderer", "render"]

#: (event, secret of the subscription) -> (body, extra headers)
Renderer = Callable[[AlertEvent, str], tuple[dict[str, Any], dict[str, str]]]
PREDICTION_ALERTNAME = "TwinRCAFaultPrediction"


def _is_prediction(ev: AlertEvent) -> bool:
    return ev.details.get("event") == "prediction"


def _alertmanager(ev: AlertEvent, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = alertmanager_v4(ev)
    if _is_prediction(ev):
        for alert in body["alerts"]:
            alert["labels"]["alertname"] = PREDICTION_ALERTNAME
        body["commonLabels"]["alertname"] = PREDICTION_ALERTNAME
    return body, {}


def _pagerduty(ev: AlertEvent, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    return pagerduty_v2(ev, routing_key=secret), {}


def _opsgenie(ev: AlertEvent, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = opsgenie(ev)
    if _is_prediction(ev):
        body["tags"].append("prediction")
    return body, {"Authorization": f"GenieKey {secret}"}


def _threegpp(ev: AlertEvent, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    if _is_prediction(ev):
        return dict(ev.details["mda_report"]), {}
    return threegpp_notification(ev), {}


def _generic(ev: AlertEvent, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = generic_json(ev)
    return ({**body, "event": "prediction"} if _is_prediction(ev) else body), {}


RENDERERS: dict[str, Renderer] = {
    "alertmanager": _alertmanager,
    "pagerduty": _pagerduty,
    "opsgenie": _opsgenie,
    "3gpp": _threegpp,
    "generic": _generic,
}


def render(fmt: str, ev: AlertEvent, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of ``ev`` for a subscription of format ``fmt``."""
    return RENDERERS.get(fmt, _generic)(ev, secret)
