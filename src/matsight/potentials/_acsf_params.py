"""Validation and automatic choice of ACSF parameters (private).

Everything here is plain numpy / Python: it is imported by :mod:`._acsf`
without pulling in torch.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from ..errors import MatsightError

__all__ = [
    "CUTOFFS", "species_to_numbers", "check_r_cut", "check_params",
    "centred_g2", "shifted_g2", "default_g4", "shell_g5",
]

#: Supported cutoff functions.
CUTOFFS = ("cosine", "polynomial")


def species_to_numbers(species) -> np.ndarray:
    """Sorted unique atomic numbers of ``species`` (symbols or numbers), like DScribe.

    Raises
    ------
    MatsightError
        For an empty list, a bare string, an unknown symbol or a number out of 1..118.
    """
    from ase.data import atomic_numbers as _z_of

    if species is None or isinstance(species, (str, bytes)) or not hasattr(species, "__iter__"):
        raise MatsightError(
            f"species={species!r} is not a list of chemical symbols or atomic numbers, "
            "e.g. ['Si', 'O'].")
    out = []
    for s in species:
        if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
            z = int(s)
            if not 1 <= z <= 118:
                raise MatsightError(f"species contains atomic number {z}, which is not in 1..118.")
        elif isinstance(s, (str, np.str_)):
            if s not in _z_of or s == "X":
                raise MatsightError(f"species contains {s!r}, which is not a chemical symbol.")
            z = _z_of[s]
        else:
            raise MatsightError(f"species contains {s!r}, which is neither a symbol nor an atomic number.")
        out.append(z)
    if not out:
        raise MatsightError("species is empty: give at least one element, e.g. ['Si'].")
    return np.array(sorted(set(out)), dtype=np.int64)


def check_r_cut(r_cut) -> float:
    """Return ``r_cut`` as a positive finite float in Å or raise :class:`MatsightError`."""
    try:
        r = float(r_cut)
    except (TypeError, ValueError):
        raise MatsightError(f"r_cut={r_cut!r} is not a number (a cutoff radius in Å).") from None
    if not math.isfinite(r) or r <= 0:
        raise MatsightError(f"r_cut={r_cut!r} must be a positive cutoff radius in Å.")
    return r


def check_params(name: str, value, n_columns: int) -> np.ndarray:
    """Validate a parameter table.

    Parameters
    ----------
    name : {"g2_params", "g3_params", "g4_params", "g5_params", "shifted_g5_params"}
    value : array-like or None
        ``None`` disables the family. G2: rows ``(eta, Rs)``; G3: a vector of
        ``kappa``; G4/G5: rows ``(eta, zeta, lambda)``; shifted G5: rows
        ``(eta, Rs, zeta, lambda)``.
    n_columns : int
        0 for a vector (G3), else the number of columns.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n,)`` for G3 or ``(n, n_columns)``; ``n`` may be 0.
    """
    if value is None:
        return np.zeros((0,) if n_columns == 0 else (0, n_columns))
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise MatsightError(f"{name} is not a numeric table.") from None
    if n_columns == 0:
        if arr.ndim != 1:
            raise MatsightError(f"{name} must be a vector of kappa values in 1/Å, got shape {arr.shape}.")
    else:
        if arr.size == 0:
            return np.zeros((0, n_columns))
        cols = {2: "(eta, Rs)", 3: "(eta, zeta, lambda)", 4: "(eta, Rs, zeta, lambda)"}[n_columns]
        if arr.ndim != 2 or arr.shape[1] != n_columns:
            raise MatsightError(f"{name} must be a table with {n_columns} columns {cols}, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise MatsightError(f"{name} contains NaN or infinite values.")
    if n_columns >= 2 and np.any(arr[:, 0] <= 0):
        raise MatsightError(f"{name} has a non-positive eta; eta (in 1/Å²) must be > 0.")
    if n_columns >= 3:
        if np.any(arr[:, -2] < 1):
            raise MatsightError(f"{name} has zeta < 1; zeta must be >= 1 for smooth angular terms.")
        if np.any(np.abs(arr[:, -1]) != 1):
            raise MatsightError(f"{name} has a lambda other than +1 or -1.")
    if n_columns == 4 and np.any(arr[:, 1] < 0):
        raise MatsightError(f"{name} has a negative Rs; shell radii are distances in Å (>= 0).")
    return arr


def centred_g2(n: int, r_cut: float) -> np.ndarray:
    """Centred radial set (``Rs = 0``) of Imbalzano et al. (2018), eq. (15).

    ``eta_m = (n^(m/n) / r_cut)^2`` for ``m = 0 .. n-1``: Gaussian widths
    ``1/sqrt(eta)`` from ``r_cut`` down geometrically.

    References
    ----------
    G. Imbalzano et al., J. Chem. Phys. 148, 241730 (2018).
    """
    if n <= 0:
        return np.zeros((0, 2))
    m = np.arange(n)
    eta = (n ** (m / n) / r_cut) ** 2
    return np.column_stack([eta, np.zeros(n)])


def shifted_g2(n: int, r_cut: float, r_min: float = 0.5) -> np.ndarray:
    """Shifted radial set: ``Rs`` evenly spaced on ``[r_min, r_cut)``, ``eta = 1/(2 dr^2)``.

    ``dr = (r_cut - r_min) / n`` is the spacing, so neighbouring Gaussians
    cross at about ``exp(-1/8)``: a smooth, overlapping tiling of the shell.
    """
    if n <= 0:
        return np.zeros((0, 2))
    dr = (r_cut - r_min) / n
    rs = r_min + dr * np.arange(n)
    eta = np.full(n, 1.0 / (2.0 * dr * dr))
    return np.column_stack([eta, rs])


def default_g4(n: int, r_cut: float, zetas: Iterable[float] = (1.0, 2.0, 4.0, 16.0),
               widths: Iterable[float] = (1.0, 0.5, 0.25)) -> np.ndarray:
    """Angular set: every ``zeta`` with ``lambda = +1, -1``, for one Gaussian width after another.

    The ``k``-th block of ``2 * len(zetas)`` functions uses
    ``eta_k = 1 / (2 * (widths[k] * r_cut)**2)``; past the given ``widths``
    each new width is half the previous one. The list is truncated to ``n`` rows.
    """
    zetas = [float(z) for z in zetas]
    fractions = [float(w) for w in widths] or [1.0]
    if any(w <= 0 for w in fractions):
        raise MatsightError(f"G4 widths must be positive fractions of r_cut, got {fractions}")
    rows = []
    k = 0
    while len(rows) < n:
        width = r_cut * (fractions[k] if k < len(fractions) else fractions[-1] / 2 ** (k - len(fractions) + 1))
        eta = 1.0 / (2.0 * width * width)
        for z in zetas:
            for lam in (1.0, -1.0):
                rows.append((eta, z, lam))
        k += 1
    return np.array(rows[:n], dtype=np.float64).reshape(-1, 3)


def shell_g5(shifts: Iterable[float], width: float = 0.3,
             zetas: Iterable[float] = (1.0, 2.0, 4.0, 8.0)) -> np.ndarray:
    """Shell-resolved angular set: rows ``(eta, Rs, zeta, lambda)`` for every shell radius ``Rs``.

    ``eta = 1 / (2 width²)`` (``width`` in Å, the Gaussian's standard deviation);
    for each ``Rs`` in turn every ``zeta`` with ``lambda = +1, -1``.
    """
    shifts = [float(r) for r in shifts]
    width = float(width)
    if not math.isfinite(width) or width <= 0:
        raise MatsightError(f"the shell width {width!r} must be a positive distance in Å.")
    eta = 1.0 / (2.0 * width * width)
    rows = [(eta, r, float(z), lam) for r in shifts for z in zetas for lam in (1.0, -1.0)]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)
