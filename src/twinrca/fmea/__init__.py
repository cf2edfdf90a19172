"""TwinRCA fmea package: the failure-mode catalogue (shared with the twin) and FMEA ratings.

- catalogue: :func:`load_catalogue`, :class:`FailureMode` ... (ids like ``FM-PWR-MAINS``)
- table: :class:`FmeaRow`, :func:`assess` -> RPN, Action Priority with its reason and the
  criticality zone side by side; :class:`ActionPriorityTable` and
  :class:`CriticalityMatrix` are editable data (CSV)
- re-rating: :func:`rerate_from_incidents`, :func:`rerate_from_predictions`, every change
  kept in a :class:`RatingHistory` (persisted through a :class:`DocumentStore`)
- files: :func:`export_table` / :func:`import_table` (CSV, .xlsx); plot: :func:`plot_criticality`
"""

from twinrca.fmea.action_priority import ActionPriorityTable, ApResult, ApRule, Priority, parse_band
from twinrca.fmea.catalogue import (
    AlarmRule,
    Catalogue,
    Duration,
    FailureMode,
    KpiEffect,
    Onset,
    Propagation,
    RemediationAction,
    load_catalogue,
)
from twinrca.fmea.criticality import CriticalityMatrix
from twinrca.fmea.history import (
    DocumentStore,
    InMemoryDocumentStore,
    JsonDirDocumentStore,
    RatingChange,
    RatingHistory,
    current_rows,
)
from twinrca.fmea.io import export_table, import_table
from twinrca.fmea.plot import plot_criticality
from twinrca.fmea.ratings import (
    DetectionBands,
    OccurrenceBands,
    check_rating,
    rpn,
    severity_meaning,
)
from twinrca.fmea.rerate import (
    ModeStats,
    incident_stats,
    rerate_from_incidents,
    rerate_from_predictions,
)
from twinrca.fmea.table import (
    AssessedRow,
    FmeaRow,
    assess,
    assessed_frame,
    rows_from_catalogue,
    sort_assessed,
)

__all__ = [
    "ActionPriorityTable",
    "AlarmRule",
    "ApResult",
    "ApRule",
    "AssessedRow",
    "Catalogue",
    "CriticalityMatrix",
    "DetectionBands",
    "DocumentStore",
    "Duration",
    "FailureMode",
    "FmeaRow",
    "InMemoryDocumentStore",
    "JsonDirDocumentStore",
    "KpiEffect",
    "ModeStats",
    "OccurrenceBands",
    "Onset",
    "Priority",
    "Propagation",
    "RatingChange",
    "RatingHistory",
    "RemediationAction",
    "assess",
    "assessed_frame",
    "check_rating",
    "current_rows",
    "export_table",
    "import_table",
    "incident_stats",
    "load_catalogue",
    "parse_band",
    "plot_criticality",
    "rerate_from_incidents",
    "rerate_from_predictions",
    "rows_from_catalogue",
    "rpn",
    "severity_meaning",
    "sort_assessed",
]
