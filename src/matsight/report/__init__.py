"""Figures and the HTML report of ``matsight tour``."""
from ._tour import SECTIONS, Section, TourResult, run_tour

__all__ = ["SECTIONS", "Section", "TourResult", "run_tour"]
