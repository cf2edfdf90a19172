"""Plant the answer: incidents built from the catalogue's alarm rules (plus noise
alarms) on a small topology; the diagnoser must rank the planted (element, mode) first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from twinrca.causal.diagnosis import BayesianDiagnoser, IncidentEvidence
from twinrca.core import Element, ElementKind, Topology
from twinrca.detect.grouping import AlarmGroup, candidate_elements
from twinrca.fmea.catalogue import load_catalogue

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def _topology() -> Topology:
    k = ElementKind
    els = [Element("core", k.CORE)]
    feeds = []
    for t in range(3):
        els.append(Element(f"t{t}", k.TRANSPORT))
        feeds.append(("core", f"t{t}"))
        for s in range(3):
            site = f"s{t}{s}"
            els.append(Element(site, k.SITE))
            feeds.append((f"t{t}", site))
            for c in range(3):
                els.append(Element(f"{site}c{c}", k.CELL))
                feeds.append((site, f"{site}c{c}"))
    return Topology(els, feeds)


def _incident(topo: Topology, mode, root: str, rng: np.random.Generator) -> IncidentEvidence:
    rows = []
    for i, rule in enumerate(mode.alarms):
        if rule.on == "root":
            targets = [root]
        elif rule.on == "descendants":
            targets = [
                d
                for d in topo.descendants(root)
                if not rule.kinds or topo.element(d).kind in rule.kinds
            ]
        else:
            targets = []
        for el in targets:
            if rng.random() < 0.9:  # alarms get lost sometimes
                rows.append(
                    (
                        el,
                        rule.probable_cause,
                        rule.specific_problem,
                        T0 + timedelta(minutes=i + rng.random()),
                    )
                )
    if rng.random() < 0.5:  # an unrelated noise alarm nearby
        noise = str(rng.choice(topo.ids(ElementKind.CELL)))
        rows.append(
            (
                noise,
                "thresholdCrossed",
                "Handover success rate below threshold",
                T0 + timedelta(minutes=3),
            )
        )
    if not rows:
        rows.append((root, mode.alarms[0].probable_cause, mode.alarms[0].specific_problem, T0))
    alarms = pd.DataFrame(
        rows, columns=["managed_object", "probable_cause", "specific_problem", "event_time"]
    )
    alarms["state"] = "raised"
    els = tuple(sorted(set(alarms["managed_object"])))
    group = AlarmGroup(0, T0, T0, tuple(range(len(alarms))), els, topo.shared_upstream(els))
    cands = candidate_elements(group, topo)
    anomalies = pd.DataFrame(columns=["managed_object", "measurement", "direction"])
    return IncidentEvidence(alarms, anomalies, tuple(cands))


def _draw(topo: Topology, cat, rng: np.random.Generator, n: int):
    modes = [m for m in cat if m.primary]
    out = []
    for _ in range(n):
        m = modes[rng.integers(len(modes))]
        root = str(rng.choice(topo.ids(m.element_kind)))
        out.append((_incident(topo, m, root, rng), root, m.id))
    return out


@pytest.fixture(scope="module")
def fitted():
    topo = _topology()
    cat = load_catalogue()
    diag = BayesianDiagnoser(
        topo,
        mode_kinds={m.id: str(m.element_kind) for m in cat},
        mode_prior={m.id: float(m.occurrence) for m in cat},
    )
    diag.fit(_draw(topo, cat, np.random.default_rng(1), 300))
    return topo, cat, diag


def test_planted_cause_ranks_first_on_unseen_incidents(fitted) -> None:
    topo, cat, diag = fitted
    test = _draw(topo, cat, np.random.default_rng(99), 120)
    hits1 = hits3 = 0
    for ev, root, mode in test:
        ranked = diag.rank(ev)
        keys = [(c.element, c.failure_mode) for c in ranked]
        hits1 += keys[0] == (root, mode)
        hits3 += (root, mode) in keys[:3]
        assert abs(sum(c.probability for c in diag.rank(ev, top=10_000)) - 1.0) < 1e-6
    assert hits1 / len(test) >= 0.85, hits1 / len(test)
    assert hits3 / len(test) >= 0.95


def test_evidence_names_the_root_alarms(fitted) -> None:
    topo, cat, diag = fitted
    ev, _root, _mode = _draw(topo, cat, np.random.default_rng(5), 1)[0]
    top = diag.rank(ev)[0]
    assert top.evidence["symptoms"], top.evidence
    assert all(s["log_lr"] > 0 for s in top.evidence["symptoms"])


def test_unfitted_diagnoser_raises() -> None:
    from twinrca.core import ModelError

    diag = BayesianDiagnoser(_topology(), mode_kinds={}, mode_prior={})
    ev = IncidentEvidence(
        pd.DataFrame(
            columns=["managed_object", "probable_cause", "specific_problem", "event_time"]
        ),
        pd.DataFrame(),
        ("core",),
    )
    with pytest.raises(ModelError):
        diag.rank(ev)


def test_fit_keeps_constructor_parameters(fitted) -> None:
    """scikit-learn's rule: fitted state ends in ``_``; the parameters stay as given."""
    import dataclasses
    import pickle

    _topo, _cat, diag = fitted
    assert diag.alarm_vocab == () and diag.kpi_vocab == ()
    assert diag.temperature == 1.0 and diag.kpi_weight == 1.0
    assert diag.alarm_vocab_ and diag.classes_ and diag.logp_ is not None
    assert diag.temperature_ > 0 and 0 < diag.kpi_weight_ <= 1.0
    state = pickle.loads(pickle.dumps(diag)).__dict__
    fields = {f.name for f in dataclasses.fields(diag)}
    assert set(state) <= fields  # nothing pickled beyond the declared fields
