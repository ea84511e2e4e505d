"""leadbridge.sync."""
