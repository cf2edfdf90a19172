"""The diagnoser protocol: what a user's diagnosis plugin (entry point group
``twinrca.diagnosers``) implements; the built-in
:class:`~twinrca.causal.diagnosis.BayesianDiagnoser` is ranked through the same path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from twinrca.core.records import RootCauseCandidate
from twinrca.detect.detector import IncidentEvidence

__all__ = ["Diagnoser"]


@runtime_checkable
class Diagnoser(Protocol):
    """Ranks (element, failure mode) candidates for one incident's evidence."""

    def rank(self, evidence: IncidentEvidence) -> Sequence[RootCauseCandidate]: ...
