"""3GPP PM XML files (TS 32.435 ``measCollecFile``, TS 28.532 ``measDataFile``) into
KPI columns, through defusedxml only.

Any DTD is refused (``forbid_dtd``), so entity expansion (billion laughs) and external
entities never reach the parser's resolver. Both layouts of the standards are read:
``measType p=`` with ``r p=`` values, and the ``measTypes`` / ``measResults``
space-separated lists. Values are read by :func:`~twinrca.ingest.pmvalues.parse_value`
(multi-valued counters become ``<counter>.bin<i>`` rows).

**A bad value costs that value only**: it is returned in :attr:`PmFile.rejected` with
its measured object, counter and reason, and the rest of the file is kept. A bad
``granPeriod`` costs its ``measInfo``, a ``measValue`` whose ``measResults`` do not line
up with the ``measTypes`` costs that ``measValue``. Only a document that is no XML, or
no PM file, is refused whole (:class:`ValidationError`). A processing instruction
before the XML declaration is accepted with a warning (:attr:`PmFile.warnings`).

Measured objects are named by their DN: ``dnPrefix`` + ``measObjLdn`` when the
``dnPrefix`` is a DN (has ``=``), else ``measObjLdn`` (or the ``localDn`` of the
``managedElement`` / ``measEntity`` when a ``measValue`` names no object).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as DET

from twinrca.core.errors import ValidationError
from twinrca.ingest.columns import KpiColumns
from twinrca.ingest.deadletter import Rejected
from twinrca.ingest.decode import MAX_NAME, time_ns
from twinrca.ingest.pmvalues import BIN, fix_prolog, parse_value

__all__ = ["MAX_XML_BYTES", "ROOTS", "PmFile", "decode_pm_xml", "parse_duration_s", "read_pm_xml"]

MAX_XML_BYTES = 64 * 1024 * 1024
ROOTS = ("measCollecFile", "measDataFile")
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(slots=True)
class PmFile:
    """What one PM file held: its values, the values refused alone, and warnings."""

    kpis: KpiColumns = field(default_factory=KpiColumns)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    multi_valued: int = 0  # counters stored as bins


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


def _first(el: Element | None, *names: str) -> Element | None:
    for c in el if el is not None else ():
        if _local(c.tag) in names:
            return c
    return None


def _name(text: str | None, what: str) -> str:
    name = (text or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError("bad_value", f"empty or too long {what}")
    return name


def _suspect(value: Element) -> bool:
    flag = _first(value, "suspect")
    return flag is not None and (flag.text or "").strip().lower() == "true"


@dataclass(slots=True)
class _Context:
    """The file-level names a measValue's values are read with."""

    dn_prefix: str
    footer_end: str | None
    out: PmFile

    def object_name(self, ldn: str | None, local_dn: str) -> str:
        ldn = (ldn or "").strip() or local_dn
        name = _name(ldn, "measObjLdn")
        if "=" in self.dn_prefix and not name.startswith(self.dn_prefix):
            name = f"{self.dn_prefix},{name}"
        return name[:MAX_NAME]

    def reject(self, exc: ValidationError, raw: str, mo: str = "", counter: str = "") -> None:
        self.out.rejected.append(Rejected(exc, raw.encode()[:4096], mo, counter))


def _add(
    names: list[str], values: list[float], counter: str, parsed: list[float], ctx: _Context
) -> None:
    if len(parsed) == 1:
        names.append(counter)
        values.append(parsed[0])
        return
    ctx.out.multi_valued += 1
    names.extend(f"{counter}{BIN}{i}" for i in range(len(parsed)))
    values.extend(parsed)


def _value(
    counter: str, text: str | None, mo: str, names: list[str], vals: list[float], ctx: _Context
) -> None:
    try:
        parsed = parse_value(text)
    except ValidationError as exc:
        ctx.reject(
            ValidationError(exc.reason, f"{mo[:80]} {counter}: {exc.message}"),
            text or "",
            mo,
            counter,
        )
        return
    if parsed is not None:
        _add(names, vals, counter, parsed, ctx)


def _values_by_p(
    value: Element, types: dict[str, str], mo: str, ctx: _Context
) -> tuple[list[str], list[float]]:
    names: list[str] = []
    vals: list[float] = []
    for r in _children(value, "r"):
        p = r.get("p", "")
        counter = types.get(p)
        if counter is None:
            err = ValidationError("bad_value", f"r p={p[:16]!r} names no measType")
            ctx.reject(err, r.text or "", mo, f"p={p[:16]}")
            continue
        _value(counter, r.text, mo, names, vals, ctx)
    return names, vals


def _values_by_list(
    value: Element, types: list[str], mo: str, ctx: _Context
) -> tuple[list[str], list[float]]:
    results = _first(value, "measResults")
    raw = (results.text or "").split() if results is not None else []
    if len(raw) != len(types):
        msg = f"{len(raw)} measResults for {len(types)} measTypes"
        ctx.reject(ValidationError("bad_value", msg), " ".join(raw)[:4096], mo)
        return [], []
    names: list[str] = []
    vals: list[float] = []
    for counter, text in zip(types, raw, strict=True):
        _value(counter, text, mo, names, vals, ctx)
    return names, vals


def _period(info: Element, ctx: _Context) -> tuple[int, int]:
    gran_el = _first(info, "granPeriod")
    if gran_el is None:
        raise ValidationError("missing_field", "measInfo without granPeriod", field="granPeriod")
    gran = parse_duration_s(gran_el.get("duration", ""))
    end = gran_el.get("endTime") or ctx.footer_end
    return time_ns(end, "granPeriod/@endTime"), gran


def _types(info: Element) -> tuple[dict[str, str], list[str]]:
    by_p = {t.get("p", ""): _name(t.text, "measType") for t in _children(info, "measType")}
    listed = [
        _name(n, "measTypes")
        for el in _children(info, "measTypes")
        for n in (el.text or "").split()
    ]
    return by_p, listed


def _meas_info(info: Element, local_dn: str, ctx: _Context) -> None:
    try:
        end_ns, gran = _period(info, ctx)
        by_p, listed = _types(info)
    except ValidationError as exc:
        ctx.reject(exc, f"measInfo {info.get('measInfoId', '')}"[:200])
        return
    for value in _children(info, "measValue"):
        try:
            mo = ctx.object_name(value.get("measObjLdn"), local_dn)
        except ValidationError as exc:
            ctx.reject(exc, str(value.get("measObjLdn", ""))[:200])
            continue
        if by_p:
            names, vals = _values_by_p(value, by_p, mo, ctx)
        else:
            names, vals = _values_by_list(value, listed, mo, ctx)
        if names:
            ctx.out.kpis.add_batch(mo, names, vals, end_ns, gran, _suspect(value))


def _parse(data: bytes, warnings: list[str]) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise ValidationError("too_large", f"PM XML file over {MAX_XML_BYTES} bytes")
    data, moved = fix_prolog(data)
    warnings.extend(moved)
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise ValidationError("xml_forbidden", f"XML refused: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise ValidationError("xml_malformed", f"XML not well formed: {exc}") from exc
    if _local(root.tag) not in ROOTS:
        raise ValidationError("not_meas_collec", f"root element {_local(root.tag)[:40]!r}")
    return root


def read_pm_xml(data: bytes) -> PmFile:
    """Every value of a PM file, and the values refused alone; raises
    :class:`ValidationError` only for a document that is no XML or no PM file."""
    out = PmFile()
    root = _parse(data, out.warnings)
    header = _first(root, "fileHeader")
    footer = _first(_first(root, "fileFooter"), "measCollec", "measData")
    ctx = _Context(
        dn_prefix=(header.get("dnPrefix", "") if header is not None else "").strip(),
        footer_end=footer.get("endTime") if footer is not None else None,
        out=out,
    )
    for data_el in _children(root, "measData"):
        entity = _first(data_el, "managedElement", "measEntity")
        local_dn = (entity.get("localDn", "") if entity is not None else "").strip()
        for info in _children(data_el, "measInfo"):
            _meas_info(info, local_dn, ctx)
    return out


def decode_pm_xml(data: bytes, out: KpiColumns, rejected: list[Rejected] | None = None) -> int:
    """A PM file's values into ``out``, its refused values into ``rejected`` (dropped
    when None); returns the number of values appended."""
    pm = read_pm_xml(data)
    out.extend(pm.kpis)
    if rejected is not None:
        rejected.extend(pm.rejected)
    return len(pm.kpis)
