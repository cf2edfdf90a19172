"""Counters to KPIs: the shipped TS 28.552 mapping, sub-counters, users' TOML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from twinrca.core.errors import ConfigError
from twinrca.ingest.columns import KpiColumns
from twinrca.ingest.formula import Formula
from twinrca.ingest.kpimap import load_mapping

END_NS = 1_717_416_900 * 10**9


def _derive(counters: dict[str, float], gran: int = 900, paths=(), suspect=False):
    raw = KpiColumns()
    raw.add_batch("c1", list(counters), list(counters.values()), END_NS, gran, suspect)
    out, stats = load_mapping(paths).derive(raw)
    return dict(zip(out.measurement, out.value, strict=True)), stats, out


def test_shipped_mapping_derives_the_analyses_kpis() -> None:
    counters = {
        "RRC.ConnEstabAtt": 400,
        "RRC.ConnEstabSucc.mo-Data": 300,  # sub-counters add up when the total is absent
        "RRC.ConnEstabSucc.mt-Access": 80,
        "DRB.EstabAtt.5QI1": 100,
        "DRB.EstabAtt.5QI9": 100,
        "DRB.EstabSucc.5QI1": 99,
        "DRB.EstabSucc.5QI9": 91,
        "DRB.RelActNbr": 19,
        "MM.HoExeIntraReq": 50,
        "MM.HoExeIntraSucc": 45,
        "MM.HoExeInterReq": 50,
        "MM.HoExeInterSucc": 35,
        "RRU.PrbUsedDl": 68.25,
        "RRU.PrbAvailDl": 273,
        "DRB.UEThpDl": 25_000,
        "DRB.UEThpVolUl": 6_000,
        "DRB.UEThpTimeUl": 1_000,
        "RRU.CellUnavailableTime": 90,
        "pmVendorOnly": 1,
    }
    kpis, stats, out = _derive(counters)
    assert kpis == pytest.approx(
        {
            "rrc_setup_sr": 95.0,
            "erab_setup_sr": 95.0,
            "drop_rate": 10.0,
            "ho_sr": 80.0,
            "prb_utilisation": 25.0,
            "dl_throughput_mbps": 25.0,
            "ul_throughput_mbps": 6.0,
            "availability": 90.0,
        }
    )
    assert stats.derived == 8 and stats.unmapped == 1 and stats.mapped == len(counters) - 1
    assert stats.unmapped_names == {"pmVendorOnly": 1}
    assert set(out.granularity_s) == {900} and set(out.period_end_ns) == {END_NS}


def test_no_kpi_from_missing_counters_or_zero_attempts() -> None:
    kpis, _, _ = _derive({"RRC.ConnEstabAtt": 0, "RRC.ConnEstabSucc": 0, "RRU.PrbUsedDl": 3})
    assert kpis == {}


def test_availability_uses_each_values_own_period() -> None:
    kpis, _, _ = _derive({"RRU.CellUnavailableTime": 30}, gran=60)
    assert kpis == {"availability": pytest.approx(50.0)}


def test_user_mapping_names_vendor_counters_without_code(tmp_path: Path) -> None:
    user = tmp_path / "vendor.toml"
    user.write_text(
        '[aliases]\npmRrcConnEstabAtt = "RRC.ConnEstabAtt"\n'
        'pmRrcConnEstabSucc = "RRC.ConnEstabSucc"\n'
        '[kpis]\ncoverage = "`pm-cov ratio` / 2"\n'
        '[distributions."pmUeThpDist"]\nvalues = [1, 10, 100]\n'
    )
    counters = {
        "pmRrcConnEstabAtt": 50,
        "pmRrcConnEstabSucc.emergency": 40,  # an alias covers its sub-counters
        "pm-cov ratio": 180,
        "pmUeThpDist.bin0": 2,
        "pmUeThpDist.bin1": 1,
        "pmUeThpDist.bin2": 1,
    }
    kpis, stats, _ = _derive(counters, paths=[user])
    assert kpis == pytest.approx(
        {
            "rrc_setup_sr": 80.0,
            "coverage": 90.0,
            "pmUeThpDist.count": 4.0,
            "pmUeThpDist.mean": (2 + 10 + 100) / 4,
        }
    )
    assert stats.unmapped == 0


def test_suspect_inputs_make_suspect_kpis() -> None:
    _, _, out = _derive({"RRC.ConnEstabAtt": 10, "RRC.ConnEstabSucc": 9}, suspect=True)
    assert out.suspect == [True]


@pytest.mark.parametrize(
    "text",
    ["__import__('os').system('x')", "a.b(1)", "a if b else c", "[a]", "a ** 2", "lambda: 1"],
)
def test_formulas_accept_arithmetic_only(text: str) -> None:
    with pytest.raises(ConfigError):
        Formula(text)


def test_bad_mapping_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[kpis\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        load_mapping([bad])
    bad.write_text("[kpis]\nx = 3\n")
    with pytest.raises(ConfigError, match=r"kpis\.x"):
        load_mapping([bad])
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_mapping([tmp_path / "missing.toml"])
