"""TwinRCA predict package: fault prediction with lead time, calibrated risk and explanations.

- users' incident tables: :class:`TableFeaturizer` (long tables keyed by an id ->
  counts, shares, per-category sums, order within groups), :func:`cross_validate`,
  :func:`fit_table_model` -> :class:`TableModel` (``twinrca predict cv | fit | score``)
- element time series: :func:`build_features` (trailing windows, trends, time-of-day
  residuals, alarm and log counts, active alarms, topology aggregates),
  :func:`make_labels` ("a fault starts within H", with a gap), :func:`time_split`
- model: :func:`fit_risk_model` -> :class:`RiskModel` (LightGBM, Platt calibration on a
  later time slice, warning threshold, ``pred_contrib`` explanations in domain terms),
  compiled :class:`FastForest` evaluator; :class:`ModelRegistry` over a :class:`ModelStore`
- scoring: :func:`score_frame`, :class:`StreamScorer` -> :class:`FaultWarning` (TS 28.104
  MDA report); evaluation: :func:`quality` (PR-AUC, recall at precision 0.8, lead time)
- data: :func:`prepare`, :func:`train_evaluate`, :func:`read_twin_scenario`, and the
  generators :func:`precursor_streams`, :func:`incident_tables`
"""

from twinrca.predict.describe import describe_feature
from twinrca.predict.evaluate import Quality, pr_auc, quality, recall_at_precision
from twinrca.predict.fasttree import FastForest
from twinrca.predict.features import FeatureSpec, build_features
from twinrca.predict.gbm import GbmConfig, PlattCalibrator
from twinrca.predict.labels import Labels, make_labels, time_split
from twinrca.predict.pipeline import Dataset, Evaluation, prepare, train_evaluate
from twinrca.predict.registry import (
    DirModelStore,
    MemoryModelStore,
    ModelCard,
    ModelRegistry,
    ModelStore,
    check_schema,
    frame_schema,
)
from twinrca.predict.risk import Contribution, RiskModel, fit_risk_model
from twinrca.predict.scenario import TwinScenario, read_twin_scenario, target_events
from twinrca.predict.scoring import FaultWarning, StreamScorer, fmea_predictions, score_frame
from twinrca.predict.synthetic import incident_tables, precursor_streams
from twinrca.predict.tables import TableFeaturizer
from twinrca.predict.tabular import CvResult, TableModel, cross_validate, fit_table_model

__all__ = [
    "Contribution",
    "CvResult",
    "Dataset",
    "DirModelStore",
    "Evaluation",
    "FastForest",
    "FaultWarning",
    "FeatureSpec",
    "GbmConfig",
    "Labels",
    "MemoryModelStore",
    "ModelCard",
    "ModelRegistry",
    "ModelStore",
    "PlattCalibrator",
    "Quality",
    "RiskModel",
    "StreamScorer",
    "TableFeaturizer",
    "TableModel",
    "TwinScenario",
    "build_features",
    "check_schema",
    "cross_validate",
    "describe_feature",
    "fit_risk_model",
    "fit_table_model",
    "fmea_predictions",
    "frame_schema",
    "incident_tables",
    "make_labels",
    "pr_auc",
    "precursor_streams",
    "prepare",
    "quality",
    "read_twin_scenario",
    "recall_at_precision",
    "score_frame",
    "target_events",
    "time_split",
    "train_evaluate",
]
