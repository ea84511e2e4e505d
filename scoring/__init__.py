"""The bundled scorers: rules, predictive model and entity extraction."""
