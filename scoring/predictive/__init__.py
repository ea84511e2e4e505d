"""Predictive scoring: point-in-time features, XGBoost training, calibration, registry."""
