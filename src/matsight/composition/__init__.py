"""Composition descriptors: formula parsing, the Magpie featurizer, perovskite factors.

``CompositionFeaturizer`` (a scikit-learn transformer) is imported on first
use, so that importing this package does not import scikit-learn.
"""
import importlib

from ._magpie import compute_descriptor, descriptor_names, featurize
from ._bartel import BartelReproduction, reproduce_bartel
from ._parse import element_fractions, parse_formula
from ._perovskite import (
    PerovskiteFactors,
    bartel_tau,
    goldschmidt_t,
    octahedral_factor,
    parse_oxidation_override,
    perovskite_factors,
    screen_perovskites,
    tau_probability,
)

__all__ = [
    "BartelReproduction",
    "PerovskiteFactors",
    "bartel_tau",
    "goldschmidt_t",
    "octahedral_factor",
    "parse_oxidation_override",
    "perovskite_factors",
    "reproduce_bartel",
    "screen_perovskites",
    "tau_probability",
    "CompositionFeaturizer",
    "FeaturizeFileResult",
    "compute_descriptor",
    "descriptor_names",
    "element_fractions",
    "featurize",
    "featurize_file",
    "parse_formula",
]

_LAZY = {
    "CompositionFeaturizer": "._featurizer",
    "FeaturizeFileResult": "._files",
    "featurize_file": "._files",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
