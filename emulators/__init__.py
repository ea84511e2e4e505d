"""leadbridge.emulators."""
