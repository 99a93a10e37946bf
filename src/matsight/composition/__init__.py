"""Composition descriptors: formula parsing, the Magpie featurizer, perovskite factors."""
from ._parse import element_fractions, parse_formula

__all__ = ["element_fractions", "parse_formula"]
