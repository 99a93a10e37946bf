"""matsight: machine learning for materials science.

Importing the package is cheap: sub-packages (``matsight.composition``,
``matsight.learn``, ``matsight.potentials``, ...) are imported on first use.
"""
from __future__ import annotations

import importlib

from .errors import MatsightError

__version__ = "0.1.0"
__all__ = ["MatsightError", "__version__"]

_SUBPACKAGES = {"datasets", "composition", "learn", "potentials", "thermo", "report", "units", "io"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'matsight' has no attribute {name!r}")
