"""leadbridge.core."""
