"""An ASE calculator for :class:`~matsight.potentials.NeuralPotential` models."""
from __future__ import annotations

import copy
import os

import numpy as np
from ase.calculators.calculator import Calculator as _AseCalculator
from ase.calculators.calculator import PropertyNotImplementedError, all_changes

__all__ = ["Calculator"]


class Calculator(_AseCalculator):
    """ASE calculator: energy (eV), forces (eV/Å) and stress (eV/Å³) by autograd.

    Parameters
    ----------
    model : NeuralPotential, str or path-like
        A model, a model file or a shipped name such as ``"si-mlearn"``. The
        calculator works on its own copy, cast to ``dtype``.
    dtype : torch.dtype, optional
        Precision of the evaluation (default float64, so that forces are the
        exact gradient of the energy to ~1e-10 and MD conserves energy).
    min_distance_A : float
        Atoms closer than this raise :class:`matsight.MatsightError`.
    fast : bool or None
        Evaluate the symmetry functions with the descriptor's numba kernels
        (analytic derivatives; same numbers as the PyTorch path to ~1e-10,
        tested): 14x faster for MD with the shipped model (64 Si atoms:
        23 against 317 ms per step). They compile once per machine (30-60 s,
        cached next to the module; set ``NUMBA_CACHE_DIR`` on a read-only
        install). ``None`` (default): the numba kernels when numba imports,
        else the pure-PyTorch path; ``False``: always PyTorch.
    n_threads : int or None
        Torch threads during a calculation (default 1: a structure of a few
        hundred atoms is too small to gain from more, and extra threads only
        spin on a busy machine); ``None`` leaves torch's setting alone.

    Notes
    -----
    ``results`` holds ``energy`` and ``free_energy`` (identical: the model
    has no electronic entropy), ``forces``, ``stress`` (Voigt order, ASE
    sign: positive under tension) when requested for a 3D-periodic cell, and
    for an ensemble ``energy_std`` (eV), the spread of the members' energies,
    and ``energies_members`` (eV).

    Examples
    --------
    >>> from ase.build import bulk
    >>> from matsight.potentials import Calculator
    >>> si = bulk("Si", "diamond", a=5.43)
    >>> si.calc = Calculator("si-mlearn")
    >>> e = si.get_potential_energy()
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model, dtype=None, min_distance_A: float = 0.5, fast: bool | None = None,
                 n_threads: int | None = 1, **kwargs):
        import torch

        from ._io import load_model

        super().__init__(**kwargs)
        if isinstance(model, (str, os.PathLike)):
            model = load_model(model)
        self.dtype = torch.float64 if dtype is None else dtype
        self.model = copy.deepcopy(model).to(self.dtype).eval()
        self.min_distance_A = float(min_distance_A)
        self.n_threads = n_threads
        if fast is None:
            from ._acsf_fast import available

            fast = available()
        self.fast = bool(fast)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from ._data import validate_atoms

        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        validate_atoms(atoms, species=self.model.species, where="the structure", min_distance_A=self.min_distance_A)
        want_stress = "stress" in properties
        if want_stress and not np.all(atoms.pbc):
            raise PropertyNotImplementedError("stress needs a structure periodic in all three directions")
        from ._batch import torch_threads

        with torch_threads(self.n_threads):
            out = self.model.compute(atoms, dtype=self.dtype, forces=True, stress=want_stress, fast=self.fast)
        results = {"energy": out["energy"], "free_energy": out["energy"], "forces": out["forces"]}
        if want_stress:
            results["stress"] = out["stress"]
        if self.model.n_members > 1:
            results["energy_std"] = float(np.std(out["energies"]))
            results["energies_members"] = out["energies"]
        self.results = results
