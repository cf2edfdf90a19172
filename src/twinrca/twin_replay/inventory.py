"""Load a network inventory (CSV or JSON) into a :class:`Topology`.

CSV: one row per element with columns ``element_id, kind`` (core, transport, site,
cell), optional ``lat, lon, region``, ``parents`` (upstream element ids separated by
``;``: two parents make a protected element) and ``neighbours`` (cell ids separated
by ``;``). Every other column becomes an attribute (``medium``, ``capacity_mbps``,
``band``, ``battery_min``, ``standby_path`` ...); numbers and true/false are parsed.

JSON: the format written by :meth:`Topology.to_json` (``elements``, ``feeds``,
``neighbours``). See docs/twin.md.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from twinrca.core.errors import ValidationError
from twinrca.core.topology import Element, ElementKind, Topology

__all__ = ["load_inventory", "save_inventory_csv"]

_CORE_COLS = {"element_id", "kind", "lat", "lon", "region", "parents", "neighbours"}


def _value(v: object) -> object:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        try:
            return int(low) if low.lstrip("-").isdigit() else float(low)
        except ValueError:
            return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _split(text: object) -> list[str]:
    if not isinstance(text, str):
        return []
    return [p.strip() for p in text.split(";") if p.strip()]


def _from_csv(path: Path) -> Topology:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {"element_id", "kind"} - set(frame.columns)
    if missing:
        raise ValidationError(
            "bad_inventory", f"inventory CSV lacks columns {sorted(missing)}", path=str(path)
        )
    elements, feeds, neighbours = [], [], []
    for row in frame.to_dict(orient="records"):
        attrs = {k: _value(v) for k, v in row.items() if k not in _CORE_COLS and v != ""}
        try:
            kind = ElementKind(row["kind"].strip().lower())
        except ValueError as exc:
            raise ValidationError(
                "bad_inventory", f"unknown kind {row['kind']!r}", element=row["element_id"]
            ) from exc
        elements.append(
            Element(
                row["element_id"],
                kind,
                float(row.get("lat") or 0.0),
                float(row.get("lon") or 0.0),
                row.get("region") or "r0",
                attrs,
            )
        )
        feeds += [(p, row["element_id"]) for p in _split(row.get("parents"))]
        neighbours += [(row["element_id"], n) for n in _split(row.get("neighbours"))]
    return Topology(elements, feeds, neighbours)


def load_inventory(path: str | Path) -> Topology:
    """Read a ``.csv`` or ``.json`` inventory (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError("missing_inventory", f"no inventory file {path}")
    if path.suffix.lower() == ".json":
        return Topology.from_json(path)
    if path.suffix.lower() == ".csv":
        try:
            return _from_csv(path)
        except (OSError, ValueError, KeyError) as exc:
            raise ValidationError("bad_inventory", f"cannot read inventory {path}: {exc}") from exc
    raise ValidationError("bad_inventory", f"inventory must be .csv or .json, got {path.name}")


def save_inventory_csv(topology: Topology, path: str | Path) -> None:
    """Write the CSV inventory format that :func:`load_inventory` reads."""
    nb: dict[str, list[str]] = {}
    for a, b in topology.neighbour_pairs:
        nb.setdefault(a, []).append(b)
    rows = []
    for el in topology:
        row: dict[str, object] = {
            "element_id": el.element_id,
            "kind": str(el.kind),
            "lat": el.lat,
            "lon": el.lon,
            "region": el.region,
            "parents": ";".join(topology.parents(el.element_id)),
            "neighbours": ";".join(nb.get(el.element_id, [])),
        }
        row.update(dict(el.attrs))
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
