"""Vendor-format decoding rates for ``bench.ingest`` (no Kafka, no database).

``pm_xml_values_per_s``: values of TS 32.435 files shaped like a radio node's 15-minute
file (125 measured objects, 15 % multi-valued counters with 10 bins each, TS 28.552
names and vendor names) through the pm-xml topic decoder, KPIs derived;
``ves_events_per_s``: VES fault and measurement events through the ves topic decoder
(one poll of 1,000 at a time); ``json_pm_values_per_s``: the twin's JSON PM batches of
the same values through their decoder, the baseline measured in the same run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson

__all__ = ["vendor_rates"]

_STD = [
    "RRC.ConnEstabAtt",
    "RRC.ConnEstabSucc",
    "RRU.PrbUsedDl",
    "RRU.PrbAvailDl",
    "DRB.UEThpDl",
    "MM.HoExeIntraReq",
    "MM.HoExeIntraSucc",
    "DRB.EstabAtt",
    "DRB.EstabSucc",
]


def _pm_files(n_files: int, rng: np.random.Generator) -> tuple[list[bytes], int]:
    from twinrca.core.vendor_wire import pm_file_xml

    names = _STD + [f"pmVendorCounter{i}" for i in range(60)]
    multi = {n for i, n in enumerate(names) if i % 7 == 3}  # ~15 % multi-valued
    files, values = [], 0
    t0 = datetime(2024, 6, 3, tzinfo=UTC)
    for f in range(n_files):
        objects = {}
        for o in range(125):
            objects[f"ManagedElement=gnb{f},GNBDUFunction=1,NRCellDU={o}"] = {
                n: (rng.integers(0, 50, 10).tolist() if n in multi else float(rng.integers(1, 999)))
                for n in names
            }
            values += len(names) + 9 * len(multi)
        files.append(pm_file_xml(objects, t0 + timedelta(minutes=15 * f), dn_prefix="SubNetwork=1"))
    return files, values


def _ves_events(n: int) -> list[bytes]:
    from twinrca.core.vendor_wire import ves_fault, ves_measurement

    t0 = datetime(2024, 6, 3, tzinfo=UTC)
    out = []
    for i in range(n):
        when = t0 + timedelta(seconds=i)
        event = (
            ves_fault(f"gnb{i % 50}", "LinkDown", when, event_id=f"e{i}", sequence=i)
            if i % 2
            else ves_measurement(f"gnb{i % 50}", when, {"RRU.PrbUsedDl": 10.0, "cpu_load": 30.0})
        )
        out.append(orjson.dumps(event))
    return out


def _rate(decode, messages: list[bytes], topic: str, count: int) -> float:
    from twinrca.ingest.pipeline import BatchBuilder, Decoded, Message

    builder = BatchBuilder({topic: decode}, keep_messages=False)
    started = time.perf_counter()
    for lo in range(0, len(messages), 1000):
        batch = Decoded()
        builder.add(
            batch, [Message(topic, 0, i, m) for i, m in enumerate(messages[lo : lo + 1000], lo)]
        )
    return count / (time.perf_counter() - started)


def vendor_rates(quick: bool) -> dict[str, float]:
    from twinrca.core.wire import dumps
    from twinrca.ingest.columns import KpiColumns
    from twinrca.ingest.decode import decode_pm_json
    from twinrca.ingest.pmxml import read_pm_xml

    rng = np.random.default_rng(11)
    files, values = _pm_files(4 if quick else 12, rng)
    pm_rate = _rate("pm-xml", files, "pm", values)
    events = _ves_events(5000 if quick else 20000)
    ves_rate = _rate("ves", events, "ves", len(events))
    json_msgs = []
    for data in files:  # the same values as the twin's JSON batches
        pm = read_pm_xml(data).kpis
        by_obj: dict[str, dict[str, float]] = {}
        for mo, m, v in zip(pm.managed_object, pm.measurement, pm.value, strict=True):
            by_obj.setdefault(mo, {})[m] = v
        end = datetime.fromtimestamp(pm.period_end_ns[0] / 1e9, tz=UTC).isoformat()
        json_msgs += [dumps({"managedObject": mo, "periodEnd": end, "measurements": ms})
                      for mo, ms in by_obj.items()]  # fmt: skip
    started = time.perf_counter()
    cols = KpiColumns()
    for m in json_msgs:
        decode_pm_json(m, cols)
    json_rate = len(cols) / (time.perf_counter() - started)
    return {
        "pm_xml_values_per_s": round(pm_rate),
        "ves_events_per_s": round(ves_rate),
        "json_pm_values_per_s": round(json_rate),
        "pm_xml_ratio_to_json": round(pm_rate / json_rate, 3),
        "pm_xml_values": values,
    }
