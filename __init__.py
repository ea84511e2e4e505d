"""leadbridge: connect CRMs to a lead scorer, write scores back, audit every change.

This file must stay free of side effects and use absolute imports only: the
repository root is the `leadbridge` package (see docs/architecture.md).
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
