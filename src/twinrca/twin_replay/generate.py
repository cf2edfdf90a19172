"""Labelled scenario generator (data augmentation): EMS-like streams, tables and labels.

``generate_scenario(out, cells=..., days=..., faults=..., seed=...)`` writes::

    OUT/streams/kpi.jsonl       PM batches (one per element and period), core.wire.pm_batch
    OUT/streams/alarms.jsonl    3GPP notifyNewAlarm / notifyClearedAlarm, core.wire.alarm_message
    OUT/streams/logs.jsonl      log events, core.wire.log_message
    OUT/streams/pm-xml/*.xml    TS 32.435 measCollecFile per period (with pm_xml=True)
    OUT/tables/kpis.parquet     wide: time, element_id, kind, one column per KPI
    OUT/tables/alarms.parquet   one row per alarm occurrence (raise / clear times)
    OUT/tables/elements|feeds|neighbours.parquet, OUT/topology.json
    OUT/labels.parquet, OUT/labels.csv   one row per planted fault
    OUT/conditions.csv          one row per labelled non-fault condition (twin_replay.conditions)

``twinrca ingest files OUT/streams`` reads the streams. Same seed, same bytes.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from twinrca.core import wire
from twinrca.core.errors import ValidationError
from twinrca.core.mapper import Mapper, serial_map
from twinrca.core.records import LogEvent
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, FailureMode, load_catalogue
from twinrca.twin_replay.conditions import condition_labels
from twinrca.twin_replay.demand import Demand, generate_demand
from twinrca.twin_replay.effects import Intervention, spread_of
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.simulate import SimResult, simulate

__all__ = [
    "ScenarioSummary",
    "fault_labels",
    "generate_scenario",
    "kpi_pieces",
    "kpi_rows",
    "plant_faults",
]

log = logging.getLogger(__name__)
_APPLIES = {
    ElementKind.CELL: (0, 1, 2, 3, 4, 5, 6, 7, 8),
    ElementKind.SITE: (0, 13, 14, 15),
    ElementKind.TRANSPORT: (0, 9, 10, 11, 16, 17),
    ElementKind.CORE: (0, 10, 12),
}


@dataclass(frozen=True, slots=True)
class ScenarioSummary:
    out: Path
    cells: int
    elements: int
    steps: int
    faults: int
    kpi_messages: int
    alarm_messages: int
    log_messages: int


def _candidates(topology: Topology, mode: FailureMode) -> list[str]:
    return [
        e.element_id
        for e in topology
        if e.kind == mode.element_kind
        and all(e.attrs.get(k) == v for k, v in mode.requires.items())
    ]


def plant_faults(
    topology: Topology,
    catalogue: Catalogue,
    *,
    count: int,
    steps: int,
    step_minutes: int,
    seed: int,
) -> list[Intervention]:
    """``count`` faults cycling over the primary modes, on random roots, with windows that
    do not overlap on shared elements (so every fault stays diagnosable). A fault whose
    mode may end in a follower (a leak in a crash) reserves room for it."""
    if count < 0:
        raise ValidationError("bad_option", f"fault count must be >= 0, got {count}")
    rng = np.random.default_rng([seed, 4])
    modes = [m for m in catalogue if m.primary and _candidates(topology, m)]
    busy: dict[str, list[tuple[int, int]]] = {}
    out: list[Intervention] = []
    order = [modes[i % len(modes)] for i in rng.permutation(max(count, len(modes)))][:count]
    for mode in order:
        pool = _candidates(topology, mode)
        after_end = [f for f in catalogue.followers(mode.id) if f.follows_after_attr is None]
        tail = max((int(np.ceil(f.duration.max_min / step_minutes)) for f in after_end), default=0)
        for _ in range(50):
            root = pool[int(rng.integers(len(pool)))]
            dur = int(
                np.ceil(rng.uniform(mode.duration.min_min, mode.duration.max_min) / step_minutes)
            )
            dur = max(2, min(dur, steps // 3))
            start = int(rng.integers(1, max(2, steps - dur - 1)))
            spread = spread_of(topology, mode, root)
            touched = set(spread.affected) | set(spread.neighbours)
            for f in after_end:  # a follower starting when the precursor ends
                more = spread_of(topology, f, root)
                touched |= set(more.affected) | set(more.neighbours)
            if mode.element_kind == ElementKind.CORE:
                touched = {root}
            hi = start + dur + tail
            if all(b + 2 <= start or hi + 2 <= a for e in touched for a, b in busy.get(e, ())):
                for e in touched:
                    busy.setdefault(e, []).append((start, hi))
                out.append(Intervention("fault", mode.id, root, start, start + dur))
                break
    out.sort(key=lambda iv: (iv.start_step, iv.element))
    return out


def fault_labels(
    result: SimResult, topology: Topology, catalogue: Catalogue, faults: list[Intervention]
) -> pd.DataFrame:
    """One row per planted fault of ``result`` (the ``labels`` of a generated scenario)."""
    rows = []
    for k, iv in enumerate(faults):
        inst = [f for f in result.faults if f.source == k and f.scenario == 0]
        affected = sorted({e for f in inst for e in f.spread.affected})
        end = max(f.end for f in inst) if inst else (iv.end_step or iv.start_step)
        mode = catalogue.mode(iv.mode_or_action_id)
        rows.append(
            {
                "fault_id": f"F{k:04d}",
                "mode_id": mode.id,
                "mode_name": mode.name,
                "category": mode.category,
                "root_element": iv.element,
                "root_kind": str(mode.element_kind),
                "start": result.start + timedelta(minutes=result.step_minutes * iv.start_step),
                "end": result.start + timedelta(minutes=result.step_minutes * end),
                "start_step": iv.start_step,
                "end_step": end,
                "affected_elements": json.dumps(affected),
                "n_affected": len(affected),
                "followers": json.dumps(sorted({f.mode.id for f in inst} - {mode.id})),
                "correct_remediation": catalogue.correct_remediation(
                    mode.id, topology.element(iv.element).attrs
                ),
            }
        )
    return pd.DataFrame(rows)


def _write_lines(path: Path, messages: list[dict[str, object]]) -> int:
    with path.open("wb") as fh:
        for m in messages:
            fh.write(wire.dumps(m) + b"\n")
    return len(messages)


@dataclass(frozen=True, slots=True)
class _KpiPiece:
    """Periods ``first..`` of the KPI stream: what one piece of the writing needs."""

    element_ids: tuple[str, ...]
    applies: tuple[tuple[int, ...], ...]  # KPI columns per element (its kind's)
    kpi_names: tuple[str, ...]
    ends: tuple[datetime, ...]  # period end per step of the block
    granularity_s: int
    block: np.ndarray  # float32 [E, steps of the piece, K]
    pm_xml: bool


def _kpi_chunk(piece: _KpiPiece) -> tuple[bytes, list[tuple[str, str]], int]:
    """The piece's PM lines, its TS 32.435 files (name, text) and its message count."""
    lines: list[bytes] = []
    files: list[tuple[str, str]] = []
    for t, end in enumerate(piece.ends):
        block = piece.block[:, t, :]
        samples = []
        for i, el in enumerate(piece.element_ids):
            meas = {
                piece.kpi_names[k]: round(float(block[i, k]), 4)
                for k in piece.applies[i]
                if not np.isnan(block[i, k])  # fibre links have no radio level
            }
            lines.append(
                wire.dumps(wire.pm_batch(el, end, meas, granularity_s=piece.granularity_s))
            )
            if piece.pm_xml:
                samples += [_sample(el, k, v, end, piece.granularity_s) for k, v in meas.items()]
        if piece.pm_xml:
            files.append((f"A{end:%Y%m%d.%H%M}.xml", wire.meas_collec_xml(samples)))
    body = b"\n".join(lines) + b"\n" if lines else b""
    return body, files, len(lines)


#: PM messages per piece of the KPI stream: a few seconds of work, a few MiB of lines
KPI_PIECE_MESSAGES = 50_000


def kpi_pieces(result: SimResult, topology: Topology) -> int:
    """How many pieces :func:`generate_scenario` splits the KPI stream into."""
    per_step = max(len(result.element_ids), 1)
    steps = max(1, KPI_PIECE_MESSAGES // per_step)
    return -(-result.steps // steps)


def _write_kpis(
    out: Path, result: SimResult, topology: Topology, pm_xml: bool, mapper: Mapper
) -> int:
    assert result.kpis is not None
    applies = tuple(_APPLIES[topology.element(e).kind] for e in result.element_ids)
    n_pieces = kpi_pieces(result, topology)
    steps = -(-result.steps // n_pieces)
    pieces = (
        _KpiPiece(
            result.element_ids,
            applies,
            result.kpi_names,
            tuple(result.time(t) for t in range(a, min(a + steps, result.steps))),
            result.step_minutes * 60,
            np.ascontiguousarray(result.kpis[0, :, a : a + steps, :]),
            pm_xml,
        )
        for a in range(0, result.steps, steps)
    )
    xml_dir = out / "pm-xml"
    if pm_xml:
        xml_dir.mkdir(exist_ok=True)
    n = 0
    with (out / "kpi.jsonl").open("wb") as fh:
        done = mapper(_kpi_chunk, pieces)
        for body, files, count in tqdm(done, total=n_pieces, desc="kpi", leave=False):
            fh.write(body)
            for name, text in files:
                (xml_dir / name).write_text(text)
            n += count
    return n


def kpi_rows(result: SimResult, topology: Topology, *, scenario: int = 0) -> pd.DataFrame:
    """The run's KPIs as the store holds them after ingesting the PM stream that
    :func:`generate_scenario` writes: ``managed_object``, ``measurement``, ``value``
    (rounded to 4 decimals), ``period_end``; only the KPIs that apply to each element's
    kind, no NaN. Training on this frame and serving from the store see the same data."""
    assert result.kpis is not None
    n_t = result.steps
    times = pd.DatetimeIndex([result.time(t) for t in range(n_t)]).tz_convert("UTC")
    parts = []
    for kind, cols in _APPLIES.items():
        rows = [i for i, e in enumerate(result.element_ids) if topology.element(e).kind == kind]
        if not rows:
            continue
        for k in cols:
            block = result.kpis[scenario][rows][:, :, k]  # (elements, steps)
            ok = ~np.isnan(block)
            ei, ti = np.nonzero(ok)
            parts.append(
                pd.DataFrame(
                    {
                        "managed_object": np.asarray(result.element_ids, dtype=object)[
                            np.asarray(rows)[ei]
                        ],
                        "measurement": result.kpi_names[k],
                        "value": np.round(block[ok].astype(np.float64), 4),
                        "period_end": times[ti],
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=["managed_object", "measurement", "value", "period_end"])
    return pd.concat(parts, ignore_index=True)


def _sample(el: str, name: str, value: float, end: object, gran: int):
    from twinrca.core.records import KpiSample

    return KpiSample(el, name, value, end, gran)  # type: ignore[arg-type]


def _background_logs(result: SimResult, topology: Topology, seed: int) -> list[LogEvent]:
    rng = np.random.default_rng([seed, 9])
    out = []
    sites = topology.ids(ElementKind.SITE)
    horizon = result.steps * result.step_minutes
    for site in sites:
        t = float(rng.uniform(0, 360))
        while t < horizon:
            msg = str(
                rng.choice(
                    [
                        "OAM: PM file upload completed in {x} ms",
                        "OAM: NTP sync offset {x} us",
                        "SYS: CPU load {x}%",
                    ]
                )
            ).format(x=int(rng.integers(5, 900)))
            out.append(LogEvent(result.start + timedelta(minutes=t), site, "INFO", msg))
            t += float(rng.uniform(240, 480))
    return out


def _tables(out: Path, result: SimResult, topology: Topology) -> None:
    assert result.kpis is not None
    n_e, n_t = len(result.element_ids), result.steps
    frame = pd.DataFrame(
        {
            "time": np.tile([result.time(t) for t in range(n_t)], n_e),
            "element_id": np.repeat(result.element_ids, n_t),
            "kind": np.repeat([str(topology.element(e).kind) for e in result.element_ids], n_t),
        }
    )
    for k, name in enumerate(result.kpi_names):
        frame[name] = result.kpis[0, :, :, k].reshape(-1)
    frame.to_parquet(out / "kpis.parquet", index=False)
    al = result.alarms[result.alarms["scenario"] == 0].copy()
    al["raise_time"] = [result.start + timedelta(minutes=float(m)) for m in al["raise_min"]]
    al["clear_time"] = [
        pd.NaT if np.isnan(m) else result.start + timedelta(minutes=float(m))
        for m in al["clear_min"]
    ]
    al.to_parquet(out / "alarms.parquet", index=False)
    for name, f in topology.to_frames().items():
        f.to_parquet(out / f"{name}.parquet", index=False)


def generate_scenario(
    out: str | Path,
    *,
    cells: int = 1000,
    days: float = 7.0,
    faults: int = 50,
    seed: int = 0,
    step_minutes: int = 15,
    pm_xml: bool = False,
    topology: Topology | None = None,
    demand: Demand | None = None,
    engine: str = "numba",
    strict_faults: bool = False,
    mapper: Mapper = serial_map,
) -> ScenarioSummary:
    """Generate a labelled scenario into ``out`` (see the module docstring).

    Faults are placed so that their windows never overlap on shared elements; on a small
    network or a short scenario fewer than ``faults`` may fit. With ``strict_faults`` that
    is an error (raised before anything is simulated or written), else fewer are planted.
    The KPI stream, most of the work, is written in pieces of periods handed to
    ``mapper`` (:mod:`twinrca.core.mapper`); the bytes are the same for any mapper.
    """
    out = Path(out)
    catalogue = load_catalogue()
    topology = topology or generate_topology(cells, seed=seed)
    demand = demand or generate_demand(topology, days=days, step_minutes=step_minutes, seed=seed)
    planted = plant_faults(
        topology,
        catalogue,
        count=faults,
        steps=demand.steps,
        step_minutes=demand.step_minutes,
        seed=seed,
    )
    if strict_faults and len(planted) < faults:
        raise ValidationError(
            "too_many_faults",
            f"--faults {faults}: only {len(planted)} faults fit without overlapping on "
            f"{len(demand.cell_ids)} cells over {days:g} days",
            hint="ask for fewer faults, more --days or more --cells",
        )
    log.info(
        "simulating %s elements x %s steps with %s faults",
        len(topology),
        demand.steps,
        len(planted),
    )
    result = simulate(
        topology, demand, planted, scenarios=1, seed=seed, catalogue=catalogue, engine=engine
    )
    (out / "streams").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(exist_ok=True)
    streams = out / "streams"
    n_kpi = _write_kpis(streams, result, topology, pm_xml, mapper)
    alarms = [wire.alarm_message(a) for a in result.alarm_records(0)]
    n_al = _write_lines(streams / "alarms.jsonl", alarms)
    logs = sorted(
        result.log_events(0) + _background_logs(result, topology, seed),
        key=lambda e: (e.time, e.source, e.message),
    )
    n_log = _write_lines(streams / "logs.jsonl", [wire.log_message(e) for e in logs])
    _tables(out / "tables", result, topology)
    topology.to_json(out / "topology.json")
    labels = fault_labels(result, topology, catalogue, planted)
    labels.to_parquet(out / "labels.parquet", index=False)
    labels.to_csv(out / "labels.csv", index=False)
    condition_labels(result, topology, labels).to_csv(out / "conditions.csv", index=False)
    return ScenarioSummary(
        out, len(demand.cell_ids), len(topology), demand.steps, len(planted), n_kpi, n_al, n_log
    )
