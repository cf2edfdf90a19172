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

__all__ = [
    "AlarmGraph",
    "AttributionConfig",
    "EntityScore",
    "GcmConfig",
    "MetricScore",
    "RankingResult",
    "RobustScorerConfig",
    "learn_alarm_graph",
    "rank_root_causes",
]
