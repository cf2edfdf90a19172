"""TwinRCA causal package."""

from twinrca.causal.alarm_graph import AlarmGraph, learn_alarm_graph
from twinrca.causal.attribution import (
    AttributionConfig,
    EntityScore,
    GcmConfig,
    MetricScore,
    RankingResult,
    RobustScorerConfig,
    rank_root_causes,
)
from twinrca.causal.from_symptom import SymptomResult, rank_from_symptom

__all__ = [
    "AlarmGraph",
    "AttributionConfig",
    "EntityScore",
    "GcmConfig",
    "MetricScore",
    "RankingResult",
    "RobustScorerConfig",
    "SymptomResult",
    "learn_alarm_graph",
    "rank_from_symptom",
    "rank_root_causes",
]
