"""Feature names in the words a NOC engineer reads in a warning's reasons."""

from __future__ import annotations

import pytest

from twinrca.predict.describe import describe_feature


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("precursor__ttt_min", "minutes until the nearest failure level of any precursor KPI"),
        ("memory_util__ttt_min", "minutes until memory utilisation reaches its failure level"),
        ("battery_soc__ttt_4", "battery charge reaches its failure level at the 60 min trend"),
        ("cabinet_temp__tttq_8", "cabinet temperature reaches its failure level on the 2 h"),
        ("up__rsl_dbm__margin", "upstream elements' received signal level distance left"),
        ("memory_util__over_day", "memory utilisation beyond its extreme of the previous day"),
        ("battery_soc__approach", "minutes battery charge has been moving towards"),
        ("parent__cpu_load__slope_2", "parent element's CPU load trend over 30 min"),
    ],
)
def test_physics_and_kpi_features_read_as_words(name: str, words: str) -> None:
    text = describe_feature(name, period_min=15)
    assert words in text
    assert "__" not in text and "ttt" not in text
