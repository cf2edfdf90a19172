"""The TwinRCA dashboard (Streamlit): Overview, Incident, Predictions, FMEA, Twin lab.

Start it with :func:`launch` (``twinrca dashboard``); the pages live in ``views/`` and
read the store through cached functions (``ui``); ``data`` and ``charts`` shape plain
data; ``actions`` writes through the service's own functions; ``jobs`` runs Twin-lab
generations in a background process (``bench/dashboard_sample.py`` seeds a small
realistic data set for tests and benchmarks).
Importing this package does not import Streamlit.
"""

from twinrca.dashboards.config import DashboardConfig
from twinrca.dashboards.launch import command, config_for, environment, launch

__all__ = [
    "DashboardConfig",
    "command",
    "config_for",
    "environment",
    "launch",
]
