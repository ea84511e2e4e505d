"""Predictive scoring: point-in-time features, XGBoost training, calibration, registry.

See docs/predictive.md. The entry points most callers need are re-exported here.
"""

from leadbridge.scoring.predictive.artifact import ModelCard, TrainedModel
from leadbridge.scoring.predictive.blend import BlendConfig, Tier
from leadbridge.scoring.predictive.csv_training import train_csv
from leadbridge.scoring.predictive.dataset import Dataset, TrainingDataError
from leadbridge.scoring.predictive.feedback import FeedbackReport, run_feedback_cycle
from leadbridge.scoring.predictive.history import ColdStartError, train_from_history
from leadbridge.scoring.predictive.outcomes import ColdStart
from leadbridge.scoring.predictive.registry import Holdout, ModelRegistry
from leadbridge.scoring.predictive.scorer import PredictiveScorer
from leadbridge.scoring.predictive.training import TrainConfig

__all__ = [
    "BlendConfig",
    "ColdStart",
    "ColdStartError",
    "Dataset",
    "FeedbackReport",
    "Holdout",
    "ModelCard",
    "ModelRegistry",
    "PredictiveScorer",
    "Tier",
    "TrainConfig",
    "TrainedModel",
    "TrainingDataError",
    "run_feedback_cycle",
    "train_csv",
    "train_from_history",
]
