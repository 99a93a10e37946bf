"""Physical constants and unit conversions, in one place (CODATA 2018 via scipy).

Internal units are ASE's: eV, Å, eV/Å, eV/Å³ (stress), K, amu, fs.
Convert only at the boundaries (input parsing, reports), and name every
unit-bearing variable after its unit (``temperature_K``, ``b0_GPa``).
"""
from __future__ import annotations

from scipy import constants as _c

__all__ = [
    "KB_EV_PER_K", "EV_PER_A3_TO_GPA", "GPA_TO_EV_PER_A3", "EV_TO_MEV", "MEV_TO_EV",
    "EV_TO_J", "AMU_TO_KG", "ANGSTROM_TO_M", "eV_per_A3_to_GPa", "GPa_to_eV_per_A3",
]

#: Boltzmann constant in eV/K.
KB_EV_PER_K: float = _c.k / _c.e
#: 1 eV/Å³ expressed in GPa (about 160.2177).
EV_PER_A3_TO_GPA: float = _c.e / 1e-30 / 1e9
GPA_TO_EV_PER_A3: float = 1.0 / EV_PER_A3_TO_GPA
EV_TO_MEV: float = 1000.0
MEV_TO_EV: float = 1e-3
EV_TO_J: float = _c.e
AMU_TO_KG: float = _c.atomic_mass
ANGSTROM_TO_M: float = 1e-10


def eV_per_A3_to_GPa(x):
    """Convert a pressure or stress from eV/Å³ to GPa."""
    return x * EV_PER_A3_TO_GPA


def GPa_to_eV_per_A3(x):
    """Convert a pressure or stress from GPa to eV/Å³."""
    return x * GPA_TO_EV_PER_A3
