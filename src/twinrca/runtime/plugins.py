"""Users' own algorithms, registered as Python entry points.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."twinrca.diagnosers"]
    my-rca = "my_package.rca:MyDiagnoser"

    [project.entry-points."twinrca.predictors"]
    my-risk = "my_package.risk:MyPredictor"

A diagnoser is a class (or factory) called with ``topology=`` and ``catalogue=`` that
has ``rank(evidence: IncidentEvidence) -> list[RootCauseCandidate]``; its candidates
go through the same twin verification as the built-in ones (the service merges them,
tagged with the plugin name as ``source``). A predictor (called with
``topology=`` and ``catalogue=``) has ``predict(features: pandas.DataFrame) ->
pandas.DataFrame``: it gets the feature rows the built-in model scores (``time``,
``element`` and the columns of :func:`twinrca.predict.features.build_features`) and
returns ``element``, ``failure_mode``, ``probability``, ``horizon_min`` and ``time``
(or one row per input row, in order); rows at or above its ``threshold`` attribute
(default 0.5) become predictions with the plugin's name as ``source``, stored and
alerted like the built-in ones. ``twinrca serve`` and ``twinrca demo`` load every
installed plugin of both groups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from twinrca.causal.diagnosis import IncidentEvidence
from twinrca.core.errors import ConfigError
from twinrca.core.records import RootCauseCandidate

__all__ = ["Diagnoser", "LoadedPlugin", "Predictor", "load_plugins"]

log = logging.getLogger(__name__)

DIAGNOSERS = "twinrca.diagnosers"
PREDICTORS = "twinrca.predictors"


@runtime_checkable
class Diagnoser(Protocol):
    def rank(self, evidence: IncidentEvidence) -> Sequence[RootCauseCandidate]: ...


@runtime_checkable
class Predictor(Protocol):
    def predict(self, features: pd.DataFrame) -> pd.DataFrame: ...


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    name: str
    group: str
    instance: Any


def load_plugins(
    group: str, *, extra: dict[str, Callable[..., Any]] | None = None, **kwargs: Any
) -> list[LoadedPlugin]:
    """Instantiate every plugin of an entry-point group (and ``extra`` factories, used
    by tests and notebooks). A plugin that fails to load or lacks the protocol raises a
    :class:`ConfigError` naming it: a broken plugin must not be skipped silently."""
    protocol = {DIAGNOSERS: Diagnoser, PREDICTORS: Predictor}.get(group)
    if protocol is None:
        raise ConfigError(
            f"unknown plugin group {group!r}", hint=f"use {DIAGNOSERS} or {PREDICTORS}"
        )
    factories: dict[str, Callable[..., Any]] = {}
    for ep in entry_points(group=group):
        try:
            factories[ep.name] = ep.load()
        except Exception as exc:
            raise ConfigError(
                f"plugin {ep.name!r} ({ep.value}) failed to load: {exc}",
                hint="fix or uninstall the plugin package",
            ) from exc
    factories.update(extra or {})
    loaded = []
    for name, factory in sorted(factories.items()):
        instance = factory(**kwargs)
        if not isinstance(instance, protocol):
            raise ConfigError(
                f"plugin {name!r} does not implement {protocol.__name__}",
                hint=f"give it the method of {protocol.__name__}",
            )
        log.info("loaded %s plugin %s", group, name)
        loaded.append(LoadedPlugin(name, group, instance))
    return loaded
