"""3GPP TS 32.435 ``measCollecFile`` XML into KPI columns, through defusedxml only.

Any DTD is refused (``forbid_dtd``), so entity expansion (billion laughs) and external
entities never reach the parser's resolver. Both layouts of the standard are read:
``measType p=`` with ``r p=`` values, and the older ``measTypes`` / ``measResults``
space-separated lists. An empty value or ``NIL`` means *not available* and is skipped;
any other non-number rejects the whole file (the dead-letter record keeps it).
"""

from __future__ import annotations

import math
import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET

from twinrca.core.errors import ValidationError
from twinrca.ingest.columns import KpiColumns
from twinrca.ingest.decode import MAX_NAME, time_ns

__all__ = ["MAX_XML_BYTES", "decode_pm_xml", "parse_duration_s"]

MAX_XML_BYTES = 64 * 1024 * 1024
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_NIL = {"", "NIL", "nil", "NULL", "null", "-"}


def parse_duration_s(text: str) -> int:
    """ISO 8601 duration such as ``PT900S`` or ``PT15M`` in seconds."""
    m = _DURATION.match(text.strip())
    if m is None or not any(m.groups()):
        raise ValidationError("bad_value", f"bad granPeriod duration {text[:32]!r}")
    d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if not 0 < seconds <= 31 * 86400:
        raise ValidationError("bad_value", f"granPeriod duration out of range: {text[:32]!r}")
    return seconds


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _number(text: str | None, where: str) -> float | None:
    text = (text or "").strip()
    if text in _NIL:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise ValidationError("bad_value", f"non-numeric value {text[:32]!r} in {where}") from exc
    if not math.isfinite(value):
        raise ValidationError("bad_value", f"non-finite value in {where}")
    return value


def _name(text: str | None, what: str) -> str:
    name = (text or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError("bad_value", f"empty or too long {what}")
    return name


def _suspect(value: Element) -> bool:
    flags = _children(value, "suspect")
    return bool(flags) and (flags[0].text or "").strip().lower() == "true"


def _values_by_p(
    value: Element, types: dict[str, str], where: str
) -> tuple[list[str], list[float]]:
    names, values = [], []
    for r in _children(value, "r"):
        name = types.get(r.get("p", ""))
        if name is None:
            raise ValidationError("bad_value", f"r p={r.get('p')!r} names no measType in {where}")
        number = _number(r.text, where)
        if number is not None:
            names.append(name)
            values.append(number)
    return names, values


def _values_by_list(value: Element, types: list[str], where: str) -> tuple[list[str], list[float]]:
    results = _children(value, "measResults")
    raw = (results[0].text or "").split() if results else []
    if len(raw) != len(types):
        raise ValidationError("bad_value", f"{len(raw)} measResults for {len(types)} measTypes")
    pairs = [(n, _number(v, where)) for n, v in zip(types, raw, strict=True)]
    kept = [(n, v) for n, v in pairs if v is not None]
    return [n for n, _ in kept], [v for _, v in kept]


def _meas_info(info: Element, out: KpiColumns) -> None:
    gran_el = _children(info, "granPeriod")
    if not gran_el:
        raise ValidationError("missing_field", "measInfo without granPeriod", field="granPeriod")
    gran = parse_duration_s(gran_el[0].get("duration", ""))
    end_ns = time_ns(gran_el[0].get("endTime"), "granPeriod/@endTime")
    by_p = {t.get("p", ""): _name(t.text, "measType") for t in _children(info, "measType")}
    listed = [
        _name(n, "measTypes")
        for el in _children(info, "measTypes")
        for n in (el.text or "").split()
    ]
    for value in _children(info, "measValue"):
        mo = _name(value.get("measObjLdn"), "measObjLdn")
        where = f"measValue {mo[:64]!r}"
        if by_p:
            names, values = _values_by_p(value, by_p, where)
        else:
            names, values = _values_by_list(value, listed, where)
        if names:
            out.add_batch(mo, names, values, end_ns, gran, _suspect(value))


def decode_pm_xml(data: bytes, out: KpiColumns) -> int:
    """A whole measCollecFile into ``out`` (all or nothing); returns values appended."""
    if len(data) > MAX_XML_BYTES:
        raise ValidationError("too_large", f"PM XML file over {MAX_XML_BYTES} bytes")
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise ValidationError("xml_forbidden", f"XML refused: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise ValidationError("xml_malformed", f"XML not well formed: {exc}") from exc
    if _local(root.tag) != "measCollecFile":
        raise ValidationError("not_meas_collec", f"root element {_local(root.tag)[:40]!r}")
    staged = KpiColumns()
    for data_el in _children(root, "measData"):
        for info in _children(data_el, "measInfo"):
            _meas_info(info, staged)
    n = len(staged)
    out.managed_object.extend(staged.managed_object)
    out.measurement.extend(staged.measurement)
    out.value.extend(staged.value)
    out.period_end_ns.extend(staged.period_end_ns)
    out.granularity_s.extend(staged.granularity_s)
    out.suspect.extend(staged.suspect)
    return n
