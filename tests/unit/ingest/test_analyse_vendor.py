"""The twin writes its scenario in the operators' formats (TS 28.552-named PM XML,
VES, 3GPP alarms, a DN-named topology); ``analyse`` finds the planted faults."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from twinrca.ingest.vendorscenario import write_vendor_scenario
from twinrca.runtime.analyse import analyse_folder
from twinrca.twin_replay.generate import generate_scenario

pytestmark = pytest.mark.slow


def _found(incidents, labels: pd.DataFrame) -> int:
    top3 = {(c.element, c.failure_mode) for d in incidents for c in d.candidates[:3]}
    return sum((r.root_element, r.mode_id) in top3 for r in labels.itertuples())


def test_analyse_finds_the_planted_faults_in_vendor_formats(tmp_path: Path) -> None:
    generate_scenario(tmp_path / "twin", cells=20, days=2, faults=3, seed=3)
    folder = tmp_path / "recording"
    counts = write_vendor_scenario(tmp_path / "twin", folder)
    assert counts["pm_files"] > 0 and counts["ves_alarms"] > 0 and counts["gpp_alarms"] > 0
    result = analyse_folder(
        folder,
        folder / "topology.json",
        tmp_path / "out",
        kpi_mappings=[folder / "vendor-mapping.toml"],
        say=lambda _: None,
    )
    s = result.summary
    assert s["dead_letters"] == 0 and s["objects_not_in_topology"] == []
    assert s["kpis_derived"] > 0 and s["alarms"] == counts["ves_alarms"] + counts["gpp_alarms"]
    labels = pd.read_csv(tmp_path / "twin" / "labels.csv")
    assert _found(result.incidents, labels) >= 2  # of 3 planted
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["incidents"] >= 1
