"""Plant known faults with the twin, diagnose, and check the planted cause ranks first
(training and test runs use different seeds)."""

from __future__ import annotations

import pytest

from twinrca.fmea.catalogue import load_catalogue
from twinrca.training.diagnoser import labelled_run, new_diagnoser, training_cases
from twinrca.twin_replay.network import generate_topology


@pytest.fixture(scope="module")
def setup():
    cat = load_catalogue()
    topo = generate_topology(120, seed=0)
    diag = new_diagnoser(topo, cat).fit(
        training_cases((11, 12, 13, 14), topo, cat, days=2.0, faults=40)
    )
    return cat, topo, diag


def test_planted_twin_faults_rank_first(setup) -> None:
    cat, topo, diag = setup
    incidents, labels, match = labelled_run(901, topo, cat, days=2.0, faults=30)
    assert len(match) >= 0.9 * len(labels), "planted faults must show up as incidents"
    top1 = top3 = 0
    modes = set()
    for li, ii in match.items():
        lab = labels.iloc[li]
        ranked = [(c.element, c.failure_mode) for c in diag.rank(incidents[ii].evidence, top=3)]
        truth = (lab.root_element, lab.mode_id)
        modes.add(lab.mode_id)
        top1 += ranked[0] == truth
        top3 += truth in ranked
    assert len(modes) >= 12
    assert top1 / len(match) >= 0.85, (top1, len(match))
    assert top3 / len(match) >= 0.95, (top3, len(match))
