"""TwinRCA causal package."""

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
    "AttributionConfig",
    "EntityScore",
    "GcmConfig",
    "MetricScore",
    "RankingResult",
    "RobustScorerConfig",
    "rank_root_causes",
]
