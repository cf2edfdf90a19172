"""The failure-mode catalogue shared by the twin, diagnosis and the FMEA tables.

Each :class:`FailureMode` says what fails (category, element kind), how it shows
(the alarms it raises, its effect on KPIs of the root element, of the elements it
feeds and of neighbour cells), how it starts (sudden or gradual, ramp), how it
spreads along the topology, how long it lasts and which :class:`RemediationAction`
applies. The data lives in ``fmea/data/failure_modes.json``; ids are stable
(``FM-PWR-MAINS``, ``RA-SWITCH-PROTECTION``) and are what labels, diagnoses and
ratings refer to.

Ratings (``severity``, ``occurrence``, ``detection``, 1..10) are plain defaults here:
the FMEA module rates and re-rates on top of them.

KPI effects are written at full intensity; a gradual onset scales them linearly
from 0 to 1 over ``ramp_min``. Multipliers (``availability``, ``capacity``,
``demand``, ``coverage``) are 1.0 when untouched; losses and additions are 0.0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from twinrca.core.errors import NotFound, ValidationError
from twinrca.core.records import AlarmType, PerceivedSeverity
from twinrca.core.topology import ElementKind

__all__ = [
    "AlarmRule",
    "Catalogue",
    "Duration",
    "FailureMode",
    "KpiEffect",
    "Onset",
    "Propagation",
    "RemediationAction",
    "load_catalogue",
]

Target = Literal["root", "descendants", "neighbours"]


@dataclass(frozen=True, slots=True)
class AlarmRule:
    """An alarm a failure mode raises (X.733 / 3GPP identity) and where.

    ``on`` picks the elements: the root, the elements it feeds (``descendants``,
    optionally only of ``kinds``) or the neighbour cells of the affected cells.
    The alarm is raised ``delay_min`` after the effect reaches ``at_intensity`` and
    cleared when the fault ends.
    """

    alarm_type: AlarmType
    probable_cause: str
    specific_problem: str
    on: Target = "root"
    kinds: tuple[ElementKind, ...] = ()
    severity: PerceivedSeverity = PerceivedSeverity.MAJOR
    delay_min: float = 0.0
    at_intensity: float = 0.0


@dataclass(frozen=True, slots=True)
class KpiEffect:
    """Effect on an element's KPIs at full intensity (neutral values by default)."""

    availability: float = 1.0
    capacity: float = 1.0
    demand: float = 1.0
    coverage: float = 1.0
    rrc_loss: float = 0.0
    erab_loss: float = 0.0
    ho_loss: float = 0.0
    drop_add: float = 0.0
    latency_ms: float = 0.0
    loss_pct: float = 0.0
    load_add: float = 0.0

    @property
    def is_neutral(self) -> bool:
        return self == KpiEffect()


@dataclass(frozen=True, slots=True)
class Onset:
    profile: Literal["sudden", "gradual"] = "sudden"
    ramp_min: float = 0.0


@dataclass(frozen=True, slots=True)
class Propagation:
    """How the fault spreads: to the elements the root feeds (protected ones, with
    a surviving second parent, are spared when ``unless_protected``) and to the
    neighbour cells of the affected cells."""

    to_descendants: bool = False
    unless_protected: bool = True
    to_neighbours: bool = False


@dataclass(frozen=True, slots=True)
class Duration:
    typical_min: float = 60.0
    min_min: float = 15.0
    max_min: float = 240.0


@dataclass(frozen=True, slots=True)
class FailureMode:
    """One failure mode of one element kind, with its signature and its fixes."""

    id: str
    name: str
    category: str
    element_kind: ElementKind
    severity: int
    occurrence: int
    detection: int
    causes: tuple[str, ...]
    effects: str
    controls: tuple[str, ...]
    alarms: tuple[AlarmRule, ...]
    root_effect: KpiEffect
    descendant_effect: KpiEffect
    neighbour_effect: KpiEffect
    onset: Onset
    propagation: Propagation
    duration: Duration
    remediations: tuple[str, ...]
    log_templates: tuple[str, ...] = ()
    requires: Mapping[str, object] = field(default_factory=dict)
    conditions: tuple[str, ...] = ()
    follows: str | None = None
    follows_after_attr: str | None = None  # None: follows when the root's precursor ends
    follow_prob: float = 1.0  # share of root faults that lead to this follower
    primary: bool = True
    self_clearing: bool = True  # ends by itself (grid back, rain over); False: until repaired
    # a precursor the telemetry shows (battery draining, memory rising, cabinet heating,
    # microwave fade) comes before its onset: forecasters may warn of it; False: sudden
    # (board failure, process crash), its risk may raise FMEA occurrence but warns no one
    announceable: bool = False

    @property
    def correct_remediation(self) -> str | None:
        """The action that fixes it best (first listed)."""
        return self.remediations[0] if self.remediations else None


@dataclass(frozen=True, slots=True)
class RemediationAction:
    """A remediation and its effect on the faults it applies to.

    ``effect``: ``restore`` ends the fault, ``mitigate`` leaves ``residual`` of its
    effect, both ``time_to_effect_min`` after the action starts and with probability
    ``success_prob``. ``side_effect_outage_min`` takes the target's cells down for
    that long when the action starts (a reset). ``cost`` and ``risk`` are 1..10.
    """

    id: str
    name: str
    description: str
    applies_to: tuple[ElementKind, ...]
    effect: Literal["restore", "mitigate"]
    time_to_effect_min: float
    success_prob: float
    residual: float
    cost: int
    risk: int
    side_effect_outage_min: float = 0.0
    requires: Mapping[str, object] = field(default_factory=dict)

    def applicable(
        self, attrs: Mapping[str, object], kind: ElementKind | str | None = None
    ) -> bool:
        """Whether the action can act on an element with these attributes."""
        if kind is not None and ElementKind(kind) not in self.applies_to:
            return False
        return all(attrs.get(k) == v for k, v in self.requires.items())


class Catalogue:
    """Failure modes and remediation actions, looked up by id and element kind."""

    def __init__(
        self, modes: list[FailureMode], actions: list[RemediationAction], version: str = "1"
    ) -> None:
        self.version = version
        self._modes = {m.id: m for m in modes}
        self._actions = {a.id: a for a in actions}
        if len(self._modes) != len(modes) or len(self._actions) != len(actions):
            raise ValidationError("duplicate_id", "failure mode or action id listed twice")
        self._check_references()

    def __len__(self) -> int:
        return len(self._modes)

    def __iter__(self) -> Iterator[FailureMode]:
        return iter(self._modes.values())

    def __contains__(self, mode_id: object) -> bool:
        return mode_id in self._modes

    @property
    def modes(self) -> list[FailureMode]:
        return list(self._modes.values())

    @property
    def actions(self) -> list[RemediationAction]:
        return list(self._actions.values())

    def mode(self, mode_id: str) -> FailureMode:
        try:
            return self._modes[mode_id]
        except KeyError:
            raise NotFound(
                f"no failure mode {mode_id!r}", hint="see `load_catalogue().modes`"
            ) from None

    def action(self, action_id: str) -> RemediationAction:
        try:
            return self._actions[action_id]
        except KeyError:
            raise NotFound(f"no remediation action {action_id!r}") from None

    def announceable(self) -> list[FailureMode]:
        """The modes a precursor announces (the only ones forecasters warn of)."""
        return [m for m in self._modes.values() if m.announceable]

    def by_kind(self, kind: ElementKind | str) -> list[FailureMode]:
        kind = ElementKind(kind)
        return [m for m in self._modes.values() if m.element_kind == kind]

    def remediations_for(self, mode_id: str) -> list[RemediationAction]:
        return [self._actions[a] for a in self.mode(mode_id).remediations]

    def correct_remediation(self, mode_id: str, attrs: Mapping[str, object]) -> str | None:
        """The first listed action of the mode that applies to a root with ``attrs``."""
        mode = self.mode(mode_id)
        for action in self.remediations_for(mode_id):
            if action.applicable(attrs, mode.element_kind):
                return action.id
        return None

    def followers(self, mode_id: str) -> list[FailureMode]:
        """Modes that follow ``mode_id`` (battery exhaustion after mains loss)."""
        return [m for m in self._modes.values() if m.follows == mode_id]

    def to_frame(self) -> pd.DataFrame:
        """One row per mode with the FMEA columns (ratings kept plain)."""
        rows = [
            {
                "id": m.id,
                "name": m.name,
                "category": m.category,
                "element_kind": str(m.element_kind),
                "severity": m.severity,
                "occurrence": m.occurrence,
                "detection": m.detection,
                "causes": "; ".join(m.causes),
                "effects": m.effects,
                "controls": "; ".join(m.controls),
                "alarms": "; ".join(
                    f"{a.probable_cause}/{a.specific_problem}@{a.on}" for a in m.alarms
                ),
                "onset": m.onset.profile,
                "ramp_min": m.onset.ramp_min,
                "typical_duration_min": m.duration.typical_min,
                "remediations": "; ".join(m.remediations),
            }
            for m in self._modes.values()
        ]
        return pd.DataFrame(rows)

    def _check_references(self) -> None:
        for m in self._modes.values():
            for a in m.remediations:
                if a not in self._actions:
                    raise ValidationError("unknown_action", f"{m.id} names unknown action {a!r}")
            if m.follows is not None and m.follows not in self._modes:
                raise ValidationError("unknown_mode", f"{m.id} follows unknown mode {m.follows!r}")
            for name in ("severity", "occurrence", "detection"):
                if not 1 <= getattr(m, name) <= 10:
                    raise ValidationError("bad_rating", f"{m.id}.{name} must be 1..10")


# --- loading ----------------------------------------------------------------------
def _effect(doc: Mapping[str, Any] | None) -> KpiEffect:
    doc = doc or {}
    known = {f.name for f in fields(KpiEffect)}
    unknown = set(doc) - known
    if unknown:
        raise ValidationError("unknown_effect", f"unknown KPI effect fields {sorted(unknown)}")
    return KpiEffect(**{k: float(v) for k, v in doc.items()})


def _alarm(doc: Mapping[str, Any]) -> AlarmRule:
    return AlarmRule(
        alarm_type=AlarmType(doc["alarm_type"]),
        probable_cause=str(doc["probable_cause"]),
        specific_problem=str(doc.get("specific_problem", "")),
        on=doc.get("on", "root"),
        kinds=tuple(ElementKind(k) for k in doc.get("kinds", ())),
        severity=PerceivedSeverity(doc.get("severity", "MAJOR")),
        delay_min=float(doc.get("delay_min", 0.0)),
        at_intensity=float(doc.get("at_intensity", 0.0)),
    )


def _mode(doc: Mapping[str, Any]) -> FailureMode:
    effects = doc.get("kpi_effects", {})
    return FailureMode(
        id=doc["id"],
        name=doc["name"],
        category=doc["category"],
        element_kind=ElementKind(doc["element_kind"]),
        severity=int(doc["severity"]),
        occurrence=int(doc["occurrence"]),
        detection=int(doc["detection"]),
        causes=tuple(doc.get("causes", ())),
        effects=str(doc.get("effects", "")),
        controls=tuple(doc.get("controls", ())),
        alarms=tuple(_alarm(a) for a in doc.get("alarms", ())),
        root_effect=_effect(effects.get("root")),
        descendant_effect=_effect(effects.get("descendants")),
        neighbour_effect=_effect(effects.get("neighbours")),
        onset=Onset(**doc.get("onset", {})),
        propagation=Propagation(**doc.get("propagation", {})),
        duration=Duration(**doc.get("duration", {})),
        remediations=tuple(doc.get("remediations", ())),
        log_templates=tuple(doc.get("log_templates", ())),
        requires=dict(doc.get("requires", {})),
        conditions=tuple(doc.get("conditions", ())),
        follows=doc.get("follows"),
        follows_after_attr=doc.get("follows_after_attr"),
        follow_prob=float(doc.get("follow_prob", 1.0)),
        primary=bool(doc.get("primary", True)),
        self_clearing=bool(doc.get("self_clearing", True)),
        announceable=bool(doc.get("announceable", False)),
    )


def _action(doc: Mapping[str, Any]) -> RemediationAction:
    return RemediationAction(
        id=doc["id"],
        name=doc["name"],
        description=doc.get("description", ""),
        applies_to=tuple(ElementKind(k) for k in doc["applies_to"]),
        effect=doc["effect"],
        time_to_effect_min=float(doc["time_to_effect_min"]),
        success_prob=float(doc["success_prob"]),
        residual=float(doc.get("residual", 0.0)),
        cost=int(doc["cost"]),
        risk=int(doc["risk"]),
        side_effect_outage_min=float(doc.get("side_effect_outage_min", 0.0)),
        requires=dict(doc.get("requires", {})),
    )


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Load the catalogue (the packaged ``failure_modes.json`` unless ``path``)."""
    try:
        if path is None:
            text = resources.files("twinrca.fmea").joinpath("data/failure_modes.json").read_text()
        else:
            text = Path(path).read_text()
        doc = json.loads(text)
        modes = [_mode(m) for m in doc["failure_modes"]]
        actions = [_action(a) for a in doc["remediation_actions"]]
    except ValidationError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValidationError(
            "bad_catalogue",
            f"cannot read failure-mode catalogue: {exc}",
            path=str(path or "<packaged>"),
        ) from exc
    return Catalogue(modes, actions, version=str(doc.get("version", "1")))
