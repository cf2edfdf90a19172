"""The network twin: topology, demand, Numba KPI kernel (NumPy reference), failure
injection and remediation replay, labelled scenario generation and calibration."""

from twinrca.twin_replay._local import neighbourhood
from twinrca.twin_replay.demand import Demand, SurgeEvent, demand_from_telemetry, generate_demand
from twinrca.twin_replay.effects import FaultInstance, Intervention, spread_of
from twinrca.twin_replay.generate import generate_scenario, plant_faults
from twinrca.twin_replay.inventory import load_inventory, save_inventory_csv
from twinrca.twin_replay.kernel import CELL_KPIS, cell_kernel, cell_reference
from twinrca.twin_replay.network import generate_topology
from twinrca.twin_replay.observe import Observation
from twinrca.twin_replay.simulate import KPI_NAMES, CellParams, SimResult, TwinState, simulate
from twinrca.twin_replay.verify import Verification, rerank, verify_candidates
from twinrca.twin_replay.whatif import DO_NOTHING, RemediationOutcome, what_if

__all__ = [
    "CELL_KPIS",
    "DO_NOTHING",
    "KPI_NAMES",
    "CellParams",
    "Demand",
    "FaultInstance",
    "Intervention",
    "Observation",
    "RemediationOutcome",
    "SimResult",
    "SurgeEvent",
    "TwinState",
    "Verification",
    "cell_kernel",
    "cell_reference",
    "demand_from_telemetry",
    "generate_demand",
    "generate_scenario",
    "generate_topology",
    "load_inventory",
    "neighbourhood",
    "plant_faults",
    "rerank",
    "save_inventory_csv",
    "simulate",
    "spread_of",
    "verify_candidates",
    "what_if",
]
