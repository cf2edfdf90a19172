"""The pipeline on a user's own recording, offline (``twinrca analyse FOLDER``).

A folder of PM files (TS 32.435 / 28.532, gzip or not), alarms (3GPP JSON, VES) and
logs is read through the file source into an embedded store under ``out``, with the
user's topology (elements may be named by DN) and KPI mapping files. The diagnoser is
trained on twin runs of that topology (cached under ``out/cache``), baselines are fitted
on the first part of the recording (:data:`BASELINE_SHARE` of its time span), and the
incidents (ranked causes, twin verification, remediations) are written to
``out/incidents.json`` with ``out/summary.json``, as the demo does for the twin's data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.incident import IncidentDoc
from twinrca.core.topology import Topology
from twinrca.detect.baseline import SeasonalBaseline
from twinrca.fmea.catalogue import load_catalogue
from twinrca.ingest.files import FileIngestResult, dead_letter_file_sink, ingest_files
from twinrca.ingest.kpimap import load_mapping
from twinrca.runtime.flow import Pipeline, PipelineConfig
from twinrca.runtime.plugins import DIAGNOSERS, load_plugins
from twinrca.store import open_store
from twinrca.training.diagnoser import representative_or_load

__all__ = ["BASELINE_SHARE", "AnalyseResult", "analyse_folder"]

BASELINE_SHARE = 0.4


@dataclass(frozen=True, slots=True)
class AnalyseResult:
    out: Path
    ingested: FileIngestResult
    incidents: list[IncidentDoc]
    summary: dict[str, Any]


def _baseline(kpis: pd.DataFrame) -> SeasonalBaseline | None:
    if kpis.empty:
        return None
    lo, hi = kpis["period_end"].min(), kpis["period_end"].max()
    first = kpis[kpis["period_end"] <= lo + (hi - lo) * BASELINE_SHARE]
    return SeasonalBaseline.fit(first) if len(first) else None


def analyse_folder(
    folder: str | Path,
    topology_path: str | Path,
    out: str | Path,
    *,
    kpi_mappings: Sequence[str | Path] = (),
    seed: int = 0,
    say: Callable[[str], None] = print,
) -> AnalyseResult:
    """Ingest ``folder``, detect and diagnose; results under ``out``."""
    started = time.perf_counter()
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise ValidationError("missing_file", f"FOLDER {folder}: no such folder")
    topology = Topology.from_json(topology_path)
    out.mkdir(parents=True, exist_ok=True)
    store_path = out / "twinrca.duckdb"
    for p in (store_path, Path(f"{store_path}.wal")):
        p.unlink(missing_ok=True)
    store = open_store("embedded", path=store_path, tenant="analyse")
    store.migrate()
    store.save_topology(topology)
    sink, dead_path = dead_letter_file_sink(out / "dead-letters.jsonl")
    say(f"[1/3] ingest: {folder} with {len(topology)} topology elements")
    ingested = ingest_files(
        [folder], store, dead_letters=sink, kpi_mapping=load_mapping(kpi_mappings),
        topology=topology,
    )  # fmt: skip
    say(
        f"      kpis={ingested.kpis_written} alarms={ingested.alarms_written} "
        f"logs={ingested.logs_written} dead_letters={len(ingested.dead_letters)}; counters "
        f"mapped={ingested.kpis_mapped} derived={ingested.kpis_derived} "
        f"unmapped={ingested.kpis_unmapped}; objects not in the topology: "
        f"{len(ingested.unknown_objects)}"
    )
    catalogue = load_catalogue()
    say("[2/3] diagnosis: training the Bayesian diagnoser on twin runs of this topology")
    diagnoser = representative_or_load(out / "cache", topology, catalogue, first_seed=101)
    say(f"[3/3] incidents: baselines on the first {BASELINE_SHARE:.0%} of the recording")
    pipeline = Pipeline(
        store,
        topology,
        catalogue,
        diagnoser,
        config=PipelineConfig(seed=seed),
        plugins=load_plugins(DIAGNOSERS, topology=topology, catalogue=catalogue),
    )
    kpis, alarms = store.read_kpis(), store.read_alarms()
    incidents = pipeline.run_frames(alarms, kpis, baseline=_baseline(kpis))
    summary = {
        "folder": str(folder),
        "files": ingested.files,
        "kpis": ingested.kpis_written,
        "alarms": ingested.alarms_written,
        "logs": ingested.logs_written,
        "dead_letters": len(ingested.dead_letters),
        "dead_letter_file": str(dead_path) if ingested.dead_letters else None,
        "counters_mapped": ingested.kpis_mapped,
        "kpis_derived": ingested.kpis_derived,
        "counters_unmapped": ingested.kpis_unmapped,
        "objects_not_in_topology": sorted(ingested.unknown_objects),
        "incidents": len(incidents),
        "store": str(store_path),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    (out / "incidents.json").write_text(
        json.dumps([d.model_dump(mode="json") for d in incidents], indent=1)
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    store.close()
    return AnalyseResult(out, ingested, incidents, summary)
