"""``twinrca twin calibrate --csv F --map ...``: a CSV export of cell KPIs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twinrca.cli import app, main


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from twinrca.twin_replay.demand import generate_demand
    from twinrca.twin_replay.generate import kpi_rows
    from twinrca.twin_replay.network import generate_topology
    from twinrca.twin_replay.simulate import simulate

    topo = generate_topology(12, seed=1)
    dem = generate_demand(topo, days=9, seed=1)
    rows = kpi_rows(simulate(topo, dem, [], seed=1, threshold_alarms=False), topo)
    keep = rows["measurement"].isin(["prb_utilisation", "dl_throughput_mbps"])
    wide = rows[keep].pivot_table(
        index=["period_end", "managed_object"], columns="measurement", values="value"
    )
    wide = wide.reset_index().rename(
        columns={
            "period_end": "Timestamp",
            "managed_object": "CellName",
            "prb_utilisation": "PRBUsageDL",
            "dl_throughput_mbps": "ThrDL",
        }
    )
    path = tmp_path_factory.mktemp("csv") / "kpis.csv"
    wide.to_csv(path, index=False)
    return path


def test_csv_with_a_column_map(export: Path) -> None:
    res = CliRunner().invoke(
        app,
        [
            "twin",
            "calibrate",
            "--csv",
            str(export),
            "--map",
            "cell=CellName,time=Timestamp,prb_dl=PRBUsageDL,thr_dl=ThrDL",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert out["cells"] == 12
    assert out["mape_thr"] < out["naive_mape_thr"]


def test_bad_map_is_a_user_error(export: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["twin", "calibrate", "--csv", str(export), "--map", "cell=NoSuchColumn"])
    assert exc.value.code == 2
