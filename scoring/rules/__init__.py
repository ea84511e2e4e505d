"""Points-rules scoring engine: fit, intent, negative signals, decay, explanations, replay."""
