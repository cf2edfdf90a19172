"""Training that does not grow with the network (issue 18, item 1): the representative
network holds every kind of the target, the diagnoser's key ignores the topology when it
trains there, a fitted model re-binds to a larger network of the same kinds, and the
NumPy tables are pgmpy's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from tests.unit.diagnosis.test_bayes import _draw, _topology

from twinrca.causal._tables import dirichlet_tables
from twinrca.causal.diagnosis import BayesianDiagnoser
from twinrca.core import Element, ElementKind, Topology
from twinrca.fmea.catalogue import load_catalogue
from twinrca.training.cache import kind_parameters
from twinrca.training.diagnoser import diagnoser_key, training_network
from twinrca.training.neighbourhoods import REPRESENTATIVE_CELLS, representative_network
from twinrca.twin_replay import generate_topology

SETUP = {"seeds": (1, 2), "days": 3.0, "faults": 40}


@pytest.fixture(scope="module")
def big() -> Topology:
    return generate_topology(3000, seed=5)


def _cells(topo: Topology) -> int:
    return len(topo.ids(ElementKind.CELL))


def test_representative_network_holds_every_kind_at_bounded_size(big) -> None:
    rep = representative_network(big)
    assert kind_parameters(rep) == kind_parameters(big)
    assert REPRESENTATIVE_CELLS <= _cells(rep) < 2 * REPRESENTATIVE_CELLS < _cells(big)
    for site in rep.ids(ElementKind.SITE):  # whole sites, their whole upstream chain
        assert rep.descendants(site) == big.descendants(site)
        assert rep.ancestors(site) == big.ancestors(site)
    protected = [
        t for t in rep.ids(ElementKind.TRANSPORT) if rep.element(t).attrs.get("protection")
    ]
    assert protected and rep.neighbour_pairs
    small = generate_topology(200, seed=1)
    assert representative_network(small) is small
    assert training_network(small, "full") is small
    with pytest.raises(ValueError):
        training_network(small, "half")


def test_representative_network_brings_a_rare_value(big) -> None:
    last_site = sorted(big.ids(ElementKind.SITE))[-1]
    els = [
        replace(e, attrs={**e.attrs, "battery_min": 720}) if e.element_id == last_site else e
        for e in big
    ]
    rare = Topology(els, big.feeds, big.neighbour_pairs)
    rep = representative_network(rare)
    assert last_site in rep.ids(ElementKind.SITE)
    assert kind_parameters(rep) == kind_parameters(rare)


def test_representative_key_ignores_the_network_but_not_its_kinds() -> None:
    cat = load_catalogue()
    a, b = generate_topology(300, seed=0), generate_topology(1000, seed=4)
    assert kind_parameters(a) == kind_parameters(b)
    rep = {"train_on": "representative", **SETUP}
    assert diagnoser_key(a, cat, **rep) == diagnoser_key(b, cat, **rep)
    full = {"train_on": "full", **SETUP}
    assert diagnoser_key(a, cat, **full) != diagnoser_key(b, cat, **full)
    assert diagnoser_key(a, cat, **full) != diagnoser_key(a, cat, **rep)
    first = a.ids(ElementKind.SITE)[0]
    els = [
        replace(e, attrs={**e.attrs, "battery_min": 720}) if e.element_id == first else e for e in a
    ]
    longer = Topology(els, a.feeds, a.neighbour_pairs)
    assert diagnoser_key(longer, cat, **rep) != diagnoser_key(a, cat, **rep)


def _wider() -> Topology:
    """``_topology()`` with two more transport branches (same kinds, more of them)."""
    base = _topology()
    els, feeds = list(base), list(base.feeds)
    for t in (3, 4):
        els.append(Element(f"t{t}", ElementKind.TRANSPORT))
        feeds.append(("core", f"t{t}"))
        for s in range(3):
            site = f"s{t}{s}"
            els.append(Element(site, ElementKind.SITE))
            feeds.append((f"t{t}", site))
            for c in range(3):
                els.append(Element(f"{site}c{c}", ElementKind.CELL))
                feeds.append((site, f"{site}c{c}"))
    return Topology(els, feeds)


def test_a_fitted_model_serves_a_larger_network_of_the_same_kinds() -> None:
    cat, small, wide = load_catalogue(), _topology(), _wider()
    diag = BayesianDiagnoser(
        small,
        mode_kinds={m.id: str(m.element_kind) for m in cat if m.primary},
        mode_prior={m.id: float(m.occurrence) for m in cat if m.primary},
    ).fit(_draw(small, cat, np.random.default_rng(1), 200))
    bound = diag.for_topology(wide)
    assert bound.topology is wide and diag.topology is small  # a copy
    assert bound.for_topology(wide) is bound
    np.testing.assert_array_equal(bound.logp_, diag.logp_)
    # incidents on elements the training network never had
    test = [
        c
        for c in _draw(wide, cat, np.random.default_rng(7), 200)
        if c[1][:2] in {"t3", "t4", "s3", "s4"}
    ]
    assert len(test) >= 20
    top = [bound.rank(ev)[0] for ev, _, _ in test]
    hits = sum(
        (c.element, c.failure_mode) == (r, m) for c, (_, r, m) in zip(top, test, strict=True)
    )
    assert hits / len(test) >= 0.85, hits / len(test)


def test_numpy_tables_are_pgmpys() -> None:
    import pandas as pd
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator

    rng = np.random.default_rng(3)
    card, classes = [2, 3, 2, 3], ["a", "b", "c"]
    x = np.stack([rng.integers(c, size=200) for c in card], axis=1).astype(np.int8)
    x[:, 1] = np.where(x[:, 1] == 2, 0, x[:, 1])  # a state never seen: only the prior
    labels = list(rng.choice(classes[:2], size=200))  # a class never seen
    got = dirichlet_tables(x, labels, classes, card, 2.0)
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(4)])
    frame["Mode"] = pd.Categorical(labels, categories=classes)
    pseudo = {"Mode": np.ones((3, 1))}
    for j, c in enumerate(card):
        pooled = np.bincount(x[:, j], minlength=c)[:c] + 0.5
        pseudo[f"f{j}"] = np.repeat((2.0 * pooled / pooled.sum())[:, None], 3, axis=1)
    names = {"Mode": classes} | {f"f{j}": list(range(c)) for j, c in enumerate(card)}
    model = DiscreteBayesianNetwork([("Mode", f"f{j}") for j in range(4)])
    est = DiscreteBayesianEstimator(state_names=names, prior_type="dirichlet", pseudo_counts=pseudo)
    model.add_cpds(*est.fit(model, frame).parameters_)
    for j, c in enumerate(card):
        cpd = model.get_cpds(f"f{j}")
        order = [cpd.state_names["Mode"].index(k) for k in classes]
        want = np.log(np.asarray(cpd.get_values())[:, order].T)
        np.testing.assert_allclose(got[:, j, :c], want, rtol=1e-9)
        assert (got[:, j, c:] == 0).all()
