"""A twin scenario written in the operators' formats, as a user's recording would be.

:func:`write_vendor_scenario` turns a scenario of
:func:`~twinrca.twin_replay.generate.generate_scenario` into::

    OUT/topology.json        the twin's elements, named by 3GPP DNs ("dns" map)
    OUT/pm/A<time>.xml[.gz]  one TS 32.435 file per period: the cells' KPIs as TS 28.552
                             counters (sub-counters per cause, a distribution counter,
                             a vendor counter for coverage), some gzip'd, some with the
                             stylesheet line before the XML declaration
    OUT/ves/measurements.jsonl  VES measurement events of sites, links and core nodes
    OUT/ves/faults.jsonl     VES fault events and VES stndDefined 3GPP notifications
    OUT/alarms/alarms.jsonl  the other alarms as 3GPP JSON notifications
    OUT/logs/logs.jsonl      the logs as they are
    OUT/vendor-mapping.toml  the user mapping naming the vendor counter

Counters are inverted from the KPIs so that the shipped mapping derives the KPIs back
(rates over 10,000 attempts: 0.01 % resolution). Used by tests, benches and the README.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd

from twinrca.core.topology import ElementKind, Topology
from twinrca.core.vendor_wire import (
    Value,
    pm_file_xml,
    ves_fault,
    ves_measurement,
    ves_stnd_defined,
)

__all__ = ["DN_PREFIX", "VENDOR_MAPPING", "element_dn", "write_vendor_scenario"]

DN_PREFIX = "SubNetwork=RAN"
VENDOR_MAPPING = '[kpis]\ncoverage = "VS.CellCoverageRatio / 100"\n'
_ATT = 10_000.0
_PRB = 273.0
_BINS = 6  # bins of the throughput distribution counter
_TYPE_CATEGORY = {
    "COMMUNICATIONS_ALARM": "link",
    "PROCESSING_ERROR_ALARM": "software",
    "QUALITY_OF_SERVICE_ALARM": "quality",
    "ENVIRONMENTAL_ALARM": "environmental",
    "EQUIPMENT_ALARM": "hardware",
}


def _safe(element_id: str) -> str:
    return element_id.replace(",", "_").replace("=", "_")


def element_dn(topology: Topology, element_id: str) -> str:
    """The local DN the vendor files name an element by."""
    el = topology.element(element_id)
    if el.kind is ElementKind.CELL:
        sites = [p for p in topology.parents(element_id) if topology.element(p).kind == "site"]
        me = _safe(sites[0]) if sites else "cells"
        return f"ManagedElement={me},GNBDUFunction=1,NRCellDU={_safe(element_id)}"
    return f"ManagedElement={_safe(element_id)}"


def _counters(row: pd.Series, rng: np.random.Generator) -> dict[str, Value]:
    def n(x: float) -> float:
        return float(np.round(x))

    def rate(att: str, succ: str, sr: float, split: bool = False) -> dict[str, Value]:
        if not np.isfinite(sr):
            return {}
        ok = n(_ATT * sr / 100.0)
        if not split:
            return {att: _ATT, succ: ok}
        first = n(ok * 0.7)  # per-cause sub-counters, as TS 28.552 writes them
        return {att: _ATT, f"{succ}.mo-Data": first, f"{succ}.mt-Access": ok - first}

    out: dict[str, Value] = {}
    out |= rate("RRC.ConnEstabAtt", "RRC.ConnEstabSucc", row["rrc_setup_sr"], split=True)
    out |= rate("DRB.EstabAtt", "DRB.EstabSucc", row["erab_setup_sr"])
    out |= rate("MM.HoExeIntraReq", "MM.HoExeIntraSucc", row["ho_sr"])
    if np.isfinite(row["drop_rate"]) and "DRB.EstabSucc" in out:
        out["DRB.RelActNbr"] = n(float(out["DRB.EstabSucc"]) * row["drop_rate"] / 100.0)  # type: ignore[arg-type]
    if np.isfinite(row["prb_utilisation"]):
        out["RRU.PrbAvailDl"] = _PRB
        out["RRU.PrbUsedDl"] = round(_PRB * row["prb_utilisation"] / 100.0, 3)
    for kpi, counter in (
        ("dl_throughput_mbps", "DRB.UEThpDl"),
        ("ul_throughput_mbps", "DRB.UEThpUl"),
    ):
        if np.isfinite(row[kpi]):
            out[counter] = round(row[kpi] * 1000.0, 1)
    if np.isfinite(row["availability"]):
        out["RRU.CellUnavailableTime"] = round(900.0 * (100.0 - row["availability"]) / 100.0, 1)
    if np.isfinite(row["coverage"]):
        out["VS.CellCoverageRatio"] = round(row["coverage"] * 100.0, 2)
    out["DRB.UEThpDl.Dist"] = [float(v) for v in rng.integers(0, 50, _BINS)]
    return out


def _pm_files(kpis: pd.DataFrame, topology: Topology, out: Path, seed: int) -> int:
    rng = np.random.default_rng(seed)
    cells = kpis[kpis["kind"] == "cell"]
    (out / "pm").mkdir(parents=True, exist_ok=True)
    for i, (end, group) in enumerate(cells.groupby("time", sort=True)):
        objects = {element_dn(topology, r.element_id): _counters(r, rng) for r in group.iloc}
        data = pm_file_xml(
            objects,
            end.to_pydatetime(),
            dn_prefix=DN_PREFIX,
            stylesheet_first=i % 3 == 1,
            element_dn="ManagedElement=ran",
        )
        name = out / "pm" / f"A{end:%Y%m%d.%H%M}.xml"
        if i % 2:
            Path(str(name) + ".gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            name.write_bytes(data)
    return int(cells["time"].nunique())


def _ves_measurements(kpis: pd.DataFrame, topology: Topology, out: Path) -> int:
    nodes = kpis[kpis["kind"] != "cell"]
    metrics = [c for c in kpis.columns if c not in ("time", "element_id", "kind")]
    lines = []
    for r in nodes.itertuples(index=False):
        values = {m: float(getattr(r, m)) for m in metrics if np.isfinite(getattr(r, m))}
        if values:
            dn = f"{DN_PREFIX},{element_dn(topology, r.element_id)}"
            lines.append(json.dumps(ves_measurement(dn, r.time.to_pydatetime(), values)))
    (out / "ves").mkdir(parents=True, exist_ok=True)
    (out / "ves" / "measurements.jsonl").write_text("\n".join(lines) + "\n")
    return len(lines)


def _alarm_lines(alarms: list[dict], topology: Topology) -> tuple[list[str], list[str]]:
    ves, gpp = [], []
    for a in alarms:
        mo = str(a.get("objectInstance", ""))
        dn = f"{DN_PREFIX},{element_dn(topology, mo)}" if mo in topology else mo
        when = pd.Timestamp(a["eventTime"]).to_pydatetime()
        way = int(str(a["alarmId"]).rsplit("-", 1)[-1]) % 3
        if way == 0:
            gpp.append(json.dumps({**a, "objectInstance": dn}))
        elif way == 1 and a["alarmType"] in _TYPE_CATEGORY:
            cleared = a["notificationType"] == "notifyClearedAlarm"
            event = ves_fault(
                dn,
                a["probableCause"],
                when,
                severity="NORMAL" if cleared else a["perceivedSeverity"],
                problem=a.get("specificProblem", ""),
                event_id=a["alarmId"],
                sequence=int(a["notificationId"]),
                category=_TYPE_CATEGORY[a["alarmType"]],
            )
            ves.append(json.dumps(event))
        else:
            ves.append(json.dumps(ves_stnd_defined({**a, "objectInstance": dn}, dn, when)))
    return ves, gpp


def write_vendor_scenario(
    scenario: str | Path, out: str | Path, *, seed: int = 0
) -> dict[str, int]:
    """Write ``scenario`` (a generated twin scenario folder) into ``out`` in vendor
    formats; returns how many files / events of each kind were written."""
    scenario, out = Path(scenario), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    topology = Topology.from_json(scenario / "topology.json")
    doc = json.loads((scenario / "topology.json").read_text())
    doc["dns"] = {f"{DN_PREFIX},{element_dn(topology, e)}": e for e in topology.ids()}
    (out / "topology.json").write_text(json.dumps(doc, indent=1))
    kpis = pd.read_parquet(scenario / "tables" / "kpis.parquet")
    counts = {"pm_files": _pm_files(kpis, topology, out, seed)}
    counts["ves_measurements"] = _ves_measurements(kpis, topology, out)
    alarms = [
        json.loads(x) for x in (scenario / "streams" / "alarms.jsonl").read_text().split("\n") if x
    ]
    ves, gpp = _alarm_lines(alarms, topology)
    (out / "ves" / "faults.jsonl").write_text("\n".join(ves) + "\n")
    (out / "alarms").mkdir(exist_ok=True)
    (out / "alarms" / "alarms.jsonl").write_text("\n".join(gpp) + "\n")
    counts |= {"ves_alarms": len(ves), "gpp_alarms": len(gpp)}
    (out / "logs").mkdir(exist_ok=True)
    (out / "logs" / "logs.jsonl").write_bytes((scenario / "streams" / "logs.jsonl").read_bytes())
    (out / "vendor-mapping.toml").write_text(VENDOR_MAPPING)
    return counts
