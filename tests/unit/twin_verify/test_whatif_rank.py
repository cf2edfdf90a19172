"""The remediation ranking rule on hand-made outcomes: Monte Carlo noise is no gain,
a mitigation's residual counts against the time it saves, repairs first for faults
that do not clear by themselves."""

from __future__ import annotations

from twinrca.twin_replay.whatif import DO_NOTHING, RemediationOutcome, _rank


def _o(action: str, service: float, ttr: float | None, risk: float, cost: float):
    return RemediationOutcome(
        action_id=action, name=action, target="tx:1", description="",
        expected_service=service, service_interval=(service, service),
        time_to_recover_min=ttr, recover_interval_min=(ttr, ttr), p_recovered=1.0,
        gain_vs_nothing=0.0, loss_recovered=0.0, success_prob=0.9, risk=risk, cost=cost,
        utility=0.0,
    )  # fmt: skip


# a congested link: the twin's service measure barely sees it; it clears in ~3 h
CONGESTION = [
    _o(DO_NOTHING, 0.9987, 172.5, 0, 0),
    _o("REROUTE", 0.9984, 15.0, 3, 2),
    _o("LOAD-BALANCE", 0.9982, 15.0, 2, 1),
]
RESIDUAL = {"REROUTE": 0.25, "LOAD-BALANCE": 0.6}


def test_noise_is_no_gain_and_the_residual_weighs_on_the_time_saved() -> None:
    noise = {o.action_id: True for o in CONGESTION}
    out = _rank(CONGESTION, horizon_min=720.0, residual=RESIDUAL, noise=noise)
    assert [o.action_id for o in out] == ["REROUTE", "LOAD-BALANCE", DO_NOTHING]
    assert [o.rank for o in out] == [1, 2, 3]


def test_a_significant_service_loss_still_counts() -> None:
    """Had the twin shown that rerouting truly costs service, doing nothing wins."""
    out = _rank(CONGESTION, horizon_min=720.0, residual=RESIDUAL, noise={})
    assert out[0].action_id == DO_NOTHING


def test_repairs_first_when_the_fault_would_not_end() -> None:
    jammer = [
        _o(DO_NOTHING, 0.909, None, 0, 0),
        _o("LOAD-BALANCE", 0.943, 15.0, 2, 1),
        _o("HUNT", 0.929, 540.0, 1, 7),
    ]
    plain = _rank(jammer, horizon_min=1200.0, residual={"LOAD-BALANCE": 0.6})
    assert plain[0].action_id == "LOAD-BALANCE"  # more service within the horizon
    fixed = _rank(
        jammer,
        horizon_min=1200.0,
        residual={"LOAD-BALANCE": 0.6},
        repairs_first=frozenset({"HUNT"}),
    )
    assert [o.action_id for o in fixed] == ["HUNT", "LOAD-BALANCE", DO_NOTHING]
