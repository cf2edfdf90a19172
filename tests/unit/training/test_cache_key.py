"""Model cache keys: code, catalogue and the kinds' parameters retrain; the network
alone retrains a diagnoser trained on the full network (``train_on="full"``) but not a
predictor trained on the same neighbourhood (the representative diagnoser's key:
test_neighbourhoods)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import twinrca.training.diagnoser as diag
from twinrca.core.topology import ElementKind, Topology
from twinrca.fmea.catalogue import Catalogue, load_catalogue
from twinrca.training.cache import (
    MODEL_PACKAGES,
    catalogue_digest,
    code_version,
    kind_parameters,
    source_digest,
)
from twinrca.training.diagnoser import diagnoser_key
from twinrca.training.predictor import PredictorConfig, predictor_key, training_topology
from twinrca.twin_replay import generate_topology

SETUP = {"seeds": (1, 2, 3), "days": 3.0, "faults": 40}


@pytest.fixture(scope="module")
def topo() -> Topology:
    return generate_topology(120, seed=2)


def _with_attr(topo: Topology, kind: ElementKind, name: str, value: object) -> Topology:
    """``topo`` with the first element of ``kind`` given ``name = value``."""
    first = topo.ids(kind)[0]
    els = [replace(e, attrs={**e.attrs, name: value}) if e.element_id == first else e for e in topo]
    return Topology(els, topo.feeds, topo.neighbour_pairs)


def test_source_change_changes_the_code_version(tmp_path) -> None:
    src = Path(diag.__file__).resolve().parent.parent
    for name in ("training", "detect"):
        shutil.copytree(src / name, tmp_path / name)
    roots = [tmp_path / "training", tmp_path / "detect"]
    before = source_digest(roots)
    assert source_digest(roots) == before
    target = tmp_path / "detect" / "grouping.py"
    target.write_text(target.read_text() + "\n# a change\n")
    assert source_digest(roots) != before
    assert {"twin_replay", "detect", "causal", "training"} <= set(MODEL_PACKAGES)
    assert code_version().startswith("0.") and "+" in code_version()


def test_code_version_is_in_both_keys(topo, monkeypatch) -> None:
    cat = load_catalogue()
    d0, p0 = diagnoser_key(topo, cat, **SETUP), predictor_key(topo, cat, PredictorConfig())
    monkeypatch.setattr(diag, "code_version", lambda: "9.9.9+feedface")
    import twinrca.training.predictor as pred

    monkeypatch.setattr(pred, "code_version", lambda: "9.9.9+feedface")
    assert diagnoser_key(topo, cat, **SETUP) != d0
    assert predictor_key(topo, cat, PredictorConfig()) != p0


def test_catalogue_content_changes_the_keys(topo) -> None:
    cat = load_catalogue()
    modes = list(cat.modes)
    modes[0] = replace(modes[0], occurrence=modes[0].occurrence % 10 + 1)
    edited = Catalogue(modes, list(cat.actions), version=cat.version)  # same version number
    assert catalogue_digest(edited) != catalogue_digest(cat)
    assert diagnoser_key(topo, edited, **SETUP) != diagnoser_key(topo, cat, **SETUP)
    assert predictor_key(topo, edited, PredictorConfig()) != predictor_key(
        topo, cat, PredictorConfig()
    )


def test_kind_parameters_change_the_keys(topo) -> None:
    cat = load_catalogue()
    longer = _with_attr(topo, ElementKind.SITE, "battery_min", 720)
    assert kind_parameters(longer) != kind_parameters(topo)
    assert diagnoser_key(longer, cat, **SETUP) != diagnoser_key(topo, cat, **SETUP)
    assert predictor_key(longer, cat, PredictorConfig()) != predictor_key(
        topo, cat, PredictorConfig()
    )


def test_kinds_do_not_depend_on_size_or_wiring() -> None:
    small, large = generate_topology(300, seed=0), generate_topology(1000, seed=4)
    assert kind_parameters(small) == kind_parameters(large)
    other_pci = _with_attr(small, ElementKind.CELL, "pci", 503)  # an identifier
    assert kind_parameters(other_pci) == kind_parameters(small)


def test_predictor_key_follows_the_neighbourhood_it_trains_on() -> None:
    cat, cfg = load_catalogue(), PredictorConfig(max_cells=60)
    big = generate_topology(400, seed=1)
    trained_on = training_topology(big, cfg.max_cells)
    assert len(trained_on) < len(big)
    assert predictor_key(trained_on, cat, cfg) == predictor_key(big, cat, cfg)


def test_a_fully_trained_diagnoser_is_keyed_by_its_topology() -> None:
    # its twin runs simulate the operator's own network, so the key holds it
    cat = load_catalogue()
    a, b = generate_topology(300, seed=0), generate_topology(300, seed=1)
    assert kind_parameters(a) == kind_parameters(b)
    assert diagnoser_key(a, cat, **SETUP) != diagnoser_key(b, cat, **SETUP)
    assert diagnoser_key(a, cat, **SETUP) == diagnoser_key(a, cat, **SETUP)
