"""Behler–Parrinello atom-centred symmetry functions (ACSF), DScribe-compatible.

Conventions (identical to DScribe 2.1 ``dscribe.descriptors.ACSF``):

* species are sorted by atomic number; the centre's own species is not encoded;
* per neighbour species ``a`` (in that order) the block ``[G1, G2..., G3...]``:
  ``G1 = sum_j fc(r_ij)``, ``G2 = sum_j exp(-eta (r_ij - Rs)^2) fc(r_ij)``
  (``eta`` in 1/Å², ``Rs`` in Å, the cutoff is *not* shifted by ``Rs``),
  ``G3 = sum_j cos(kappa r_ij) fc(r_ij)`` (``kappa`` in 1/Å);
* then per unordered pair of neighbour species ``(a, b)`` with ``a >= b``, in
  the order ``(0,0), (1,0), (1,1), (2,0), ...`` (index ``a(a+1)/2 + b``), the
  block ``[G4..., G5...]`` summed over unordered neighbour pairs ``{j, k}``::

      G4 = 2^(1-zeta) (1 + lambda cos(theta_ijk))^zeta
           exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) fc(r_ij) fc(r_ik) fc(r_jk)
      G5 = 2^(1-zeta) (1 + lambda cos(theta_ijk))^zeta
           exp(-eta (r_ij^2 + r_ik^2)) fc(r_ij) fc(r_ik)

  (G4 vanishes when ``r_jk >= r_cut``);
* cutoff ``"cosine"``: ``fc(r) = (cos(pi r / r_cut) + 1) / 2`` (DScribe's);
  ``"polynomial"``: ``fc = 1 - 10 x^3 + 15 x^4 - 6 x^5``, ``x = r / r_cut``
  (the ``poly2`` cutoff of Singraber et al. 2019, smooth to 2nd derivative).

Extension (not in DScribe; empty by default): ``shifted_g5_params`` rows
``(eta, Rs, zeta, lambda)`` add, after all of DScribe's features, one block per
unordered neighbour-species pair (same order) of shell-resolved angular functions
``G5s = 2^(1-zeta) sum_{j<k} (1 + lambda cos)^zeta g(r_ij) g(r_ik)`` with
``g(r) = exp(-eta (r - Rs)^2) fc(r)`` (see :mod:`._acsf_shifted`). A second
extension, ``power_spectrum``, appends after those a SOAP-like radial power
spectrum per neighbour-species pair (see :mod:`._power_spectrum`). The first
:attr:`ACSF.n_dscribe_features` columns are always DScribe's.

References
----------
J. Behler, J. Chem. Phys. 134, 074106 (2011).
L. Himanen et al., Comput. Phys. Commun. 247, 106949 (2020) (DScribe).
A. Singraber, J. Behler, C. Dellago, J. Chem. Theory Comput. 15, 1827 (2019).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import MatsightError
from . import _acsf_fast as _fast
from . import _acsf_shifted as _shifted
from ._power_spectrum import PowerSpectrum
from ._acsf_params import (CUTOFFS, centred_g2, check_params, check_r_cut, default_g4, shell_g5,
                           shifted_g2, species_to_numbers)
from ._neighbors import neighbor_pairs as _vesin_pairs
from ._neighbors import pair_triplets, sort_pairs

__all__ = ["ACSF"]

_FORMAT = "matsight.acsf/1"
_FORMAT_SHIFTED = "matsight.acsf/2"  # written only when shifted G5 functions are present
_FORMAT_PS = "matsight.acsf/3"  # written only when power-spectrum functions are present


class ACSF:
    """Atom-centred symmetry functions with DScribe's conventions and feature order.

    Parameters
    ----------
    species : list of str or int
        All elements that may ever occur (symbols or atomic numbers).
    r_cut : float
        Cutoff radius in Å.
    g2_params : array-like, shape (n_g2, 2), optional
        Rows ``(eta [1/Å²], Rs [Å])``.
    g3_params : array-like, shape (n_g3,), optional
        ``kappa`` values in 1/Å.
    g4_params, g5_params : array-like, shape (n, 3), optional
        Rows ``(eta [1/Å²], zeta >= 1, lambda = ±1)``.
    periodic : bool
        Honour ``atoms.pbc`` (as in DScribe; ``False`` treats every system as a molecule).
    cutoff : {"cosine", "polynomial"}
        Cutoff function (DScribe uses ``"cosine"``).
    shifted_g5_params : array-like, shape (n, 4), optional
        matsight extension: rows ``(eta [1/Å²], Rs [Å], zeta >= 1, lambda = ±1)`` of
        shell-resolved angular functions, appended after DScribe's features.
    power_spectrum : dict, optional
        matsight extension: ``{"centres_A": [...], "width_A": w, "l_max": L}`` adds
        the power spectrum of Gaussian radial functions (centres and standard
        deviation in Å) times spherical harmonics up to ``L`` (Bartók et al.
        2013), after everything else; see :mod:`._power_spectrum`.

    Notes
    -----
    ``create(atoms)`` returns float64 numpy features; ``compute(...)`` is the
    differentiable PyTorch path used for energies, forces and stresses.

    References
    ----------
    J. Behler, J. Chem. Phys. 134, 074106 (2011).
    """

    def __init__(self, species, r_cut, g2_params=None, g3_params=None, g4_params=None,
                 g5_params=None, periodic=False, cutoff="cosine", shifted_g5_params=None, power_spectrum=None):
        self.species = species
        self.r_cut = r_cut
        self.g2_params = g2_params
        self.g3_params = g3_params
        self.g4_params = g4_params
        self.g5_params = g5_params
        self.periodic = periodic
        self.cutoff = cutoff
        self.shifted_g5_params = shifted_g5_params
        self.power_spectrum = power_spectrum
        # cheap validation, normalised copies (the stored arguments are left untouched)
        self._z = species_to_numbers(species)
        self._r_cut = check_r_cut(r_cut)
        self._g2 = check_params("g2_params", g2_params, 2)
        self._g3 = check_params("g3_params", g3_params, 0)
        self._g4 = check_params("g4_params", g4_params, 3)
        self._g5 = check_params("g5_params", g5_params, 3)
        self._g5s = check_params("shifted_g5_params", shifted_g5_params, 4)
        self._ps = None
        if power_spectrum:
            if not isinstance(power_spectrum, dict) or set(power_spectrum) != {"centres_A", "width_A", "l_max"}:
                raise MatsightError(f"power_spectrum={power_spectrum!r} must be a dict with the keys centres_A, "
                                    "width_A and l_max.")
            self._ps = PowerSpectrum(**power_spectrum)
        if cutoff not in CUTOFFS:
            raise MatsightError(f"cutoff={cutoff!r} is not one of {', '.join(CUTOFFS)}.")
        if not isinstance(periodic, (bool, np.bool_)):
            raise MatsightError(f"periodic={periodic!r} must be True or False.")
        self._index_of_z = np.full(119, -1, dtype=np.int64)
        self._index_of_z[self._z] = np.arange(len(self._z))

    # ------------------------------------------------------------------ construction
    @classmethod
    def default_for(cls, species, r_cut=5.0, n_g2=8, n_g4=8, n_g5=0, *, periodic=True,
                    cutoff="cosine", zetas=(1.0, 2.0, 4.0, 16.0), r_min=0.5,
                    g4_widths=(1.0, 0.5, 0.25), g5_shells=(), g5_shell_width=0.3,
                    g5_shell_zetas=(1.0, 2.0, 4.0, 8.0), n_ps=0, ps_r_min=None, ps_width=0.35,
                    ps_l_max=6) -> "ACSF":
        """Automatic parameter set: centred and shifted G2 grids and a G4 set.

        ``n_g2 // 2`` centred G2 (``Rs = 0``, Imbalzano et al. 2018), the rest
        shifted (``Rs`` evenly spaced on ``[r_min, r_cut)`` in Å, ``eta = 1/(2 dr²)``;
        start ``r_min`` a little below the shortest bond you expect);
        ``n_g4`` (and ``n_g5``) angular functions over ``zetas`` × ``lambda=±1``
        with ``eta = 1/(2 (w r_cut)²)`` for each ``w`` of ``g4_widths`` in turn
        (then halving ``w``) until ``n_g4`` are made. ``g5_shells`` (radii in Å,
        e.g. the neighbour shells of the crystal and the gaps between them) adds
        shell-resolved angular functions (``shifted_g5_params``): Gaussians of
        standard deviation ``g5_shell_width`` Å, each ``g5_shell_zetas`` × ``lambda=±1``.
        ``n_ps > 0`` adds the power spectrum (``power_spectrum``) of ``n_ps``
        Gaussian radial functions of standard deviation ``ps_width`` Å, centred
        evenly on ``[ps_r_min, r_cut - 0.3]`` Å (``ps_r_min`` defaults to ``r_min``),
        with spherical harmonics up to ``ps_l_max``.

        References
        ----------
        G. Imbalzano et al., J. Chem. Phys. 148, 241730 (2018).
        """
        r = check_r_cut(r_cut)
        for name, n in (("n_g2", n_g2), ("n_g4", n_g4), ("n_g5", n_g5), ("n_ps", n_ps)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
                raise MatsightError(f"{name}={n!r} must be a non-negative integer.")
        n_c = int(n_g2) // 2
        if not 0 <= float(r_min) < r:
            raise MatsightError(f"r_min={r_min!r} must be in [0, r_cut={r}) Å.")
        g2 = np.vstack([centred_g2(n_c, r), shifted_g2(int(n_g2) - n_c, r, r_min=float(r_min))])
        g4 = default_g4(int(n_g4), r, zetas, g4_widths)
        g5 = default_g4(int(n_g5), r, zetas, g4_widths)
        g5s = shell_g5(g5_shells, g5_shell_width, g5_shell_zetas)
        ps = None
        if n_ps:
            lo = float(r_min if ps_r_min is None else ps_r_min)
            if not 0 <= lo < r - 0.3:
                raise MatsightError(f"ps_r_min={lo!r} must be in [0, r_cut - 0.3 = {r - 0.3:g}) Å.")
            ps = {"centres_A": np.linspace(lo, r - 0.3, int(n_ps)).tolist(), "width_A": float(ps_width),
                  "l_max": ps_l_max}
        return cls(species, r, g2_params=g2.tolist() or None, g4_params=g4.tolist() or None,
                   g5_params=g5.tolist() or None, periodic=periodic, cutoff=cutoff,
                   shifted_g5_params=g5s.tolist() or None, power_spectrum=ps)

    def to_dict(self) -> dict:
        """JSON-able description (for model files); inverse of :meth:`from_dict`."""
        d = {
            "format": _FORMAT_PS if self._ps else _FORMAT_SHIFTED if len(self._g5s) else _FORMAT,
            "species": [int(z) for z in self._z],
            "r_cut": self._r_cut,
            "g2_params": self._g2.tolist(),
            "g3_params": self._g3.tolist(),
            "g4_params": self._g4.tolist(),
            "g5_params": self._g5.tolist(),
            "periodic": bool(self.periodic),
            "cutoff": self.cutoff,
        }
        if len(self._g5s):
            d["shifted_g5_params"] = self._g5s.tolist()
        if self._ps:
            d["power_spectrum"] = self._ps.to_dict()
        return d

    @classmethod
    def from_dict(cls, d) -> "ACSF":
        """Rebuild from :meth:`to_dict` output."""
        if not isinstance(d, dict) or d.get("format") not in (_FORMAT, _FORMAT_SHIFTED, _FORMAT_PS):
            raise MatsightError(f"the ACSF description does not have format {_FORMAT!r}, {_FORMAT_SHIFTED!r} "
                                f"or {_FORMAT_PS!r}.")
        try:
            return cls(d["species"], d["r_cut"], g2_params=d["g2_params"] or None,
                       g3_params=d["g3_params"] or None, g4_params=d["g4_params"] or None,
                       g5_params=d["g5_params"] or None, periodic=d["periodic"], cutoff=d["cutoff"],
                       shifted_g5_params=d.get("shifted_g5_params") or None,
                       power_spectrum=d.get("power_spectrum") or None)
        except KeyError as e:
            raise MatsightError(f"the ACSF description lacks the key {e.args[0]!r}.") from None

    def __repr__(self):
        return (f"ACSF(species={[int(z) for z in self._z]}, r_cut={self._r_cut}, n_g2={len(self._g2)}, "
                f"n_g3={len(self._g3)}, n_g4={len(self._g4)}, n_g5={len(self._g5)}, "
                f"n_shifted_g5={len(self._g5s)}, periodic={self.periodic}, cutoff={self.cutoff!r})")

    # ------------------------------------------------------------------ sizes and names
    @property
    def atomic_numbers(self) -> np.ndarray:
        """Sorted atomic numbers of the species (the feature-block order)."""
        return self._z.copy()

    @property
    def n_species(self) -> int:
        return len(self._z)

    @property
    def n_dscribe_features(self) -> int:
        """DScribe's features per atom: ``(1 + n_g2 + n_g3) n_species + (n_g4 + n_g5) n_species (n_species + 1) / 2``."""
        ns = len(self._z)
        return (1 + len(self._g2) + len(self._g3)) * ns + (len(self._g4) + len(self._g5)) * ns * (ns + 1) // 2

    @property
    def n_features(self) -> int:
        """Features per atom: :attr:`n_dscribe_features`, ``n_shifted_g5 n_species (n_species + 1) / 2``
        and :attr:`n_power_spectrum`."""
        ns = len(self._z)
        return self.n_dscribe_features + len(self._g5s) * ns * (ns + 1) // 2 + self.n_power_spectrum

    @property
    def n_power_spectrum(self) -> int:
        """Power-spectrum features per atom (the last columns; 0 without ``power_spectrum``)."""
        return 0 if self._ps is None else self._ps.n_features(len(self._z))

    def get_number_of_features(self) -> int:
        """Same as :attr:`n_features` (DScribe's spelling)."""
        return self.n_features

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names such as ``"G2[Si](eta=0.5,Rs=1)"`` and ``"G4[O,Si](eta=..,zeta=..,lambda=..)"``."""
        from ase.data import chemical_symbols as sym

        names = []
        for z in self._z:
            s = sym[z]
            names.append(f"G1[{s}]")
            names += [f"G2[{s}](eta={e:g},Rs={rs:g})" for e, rs in self._g2]
            names += [f"G3[{s}](kappa={k:g})" for k in self._g3]
        for a in range(len(self._z)):
            for b in range(a + 1):
                pair = f"{sym[self._z[b]]},{sym[self._z[a]]}"
                for tag, tab in (("G4", self._g4), ("G5", self._g5)):
                    names += [f"{tag}[{pair}](eta={e:g},zeta={z:g},lambda={lam:g})" for e, z, lam in tab]
        for a in range(len(self._z)):
            for b in range(a + 1):
                pair = f"{sym[self._z[b]]},{sym[self._z[a]]}"
                names += [f"G5s[{pair}](eta={e:g},Rs={rs:g},zeta={z:g},lambda={lam:g})" for e, rs, z, lam in self._g5s]
        if self._ps is not None:
            for a in range(len(self._z)):
                for b in range(a + 1):
                    names += self._ps.names(f"{sym[self._z[b]]},{sym[self._z[a]]}", a == b)
        return np.array(names, dtype=object)

    # ------------------------------------------------------------------ neighbours
    def _is_periodic(self, atoms) -> bool:
        return bool(self.periodic) and bool(np.any(atoms.pbc))

    def neighbor_pairs(self, atoms):
        """Full neighbour list within ``r_cut`` from vesin.

        Returns
        -------
        i, j : numpy.ndarray of int64, shape (n_pairs,)
            Centres (sorted) and neighbours; both directions are listed.
        shifts : numpy.ndarray of int64, shape (n_pairs, 3)
            Integer cell shifts: ``r_ij = positions[j] - positions[i] + shifts @ cell``.
        """
        self._check_atoms(atoms)
        if self._is_periodic(atoms):
            return _vesin_pairs(atoms.positions, atoms.cell.array, atoms.pbc, self._r_cut)
        return _vesin_pairs(atoms.positions, np.zeros((3, 3)), False, self._r_cut)

    def _check_atoms(self, atoms):
        try:
            numbers = np.asarray(atoms.numbers)
        except AttributeError:
            raise MatsightError(f"expected an ase.Atoms object, got {type(atoms).__name__}.") from None
        self._species_index(numbers)

    def _species_index(self, numbers) -> np.ndarray:
        numbers = np.asarray(numbers, dtype=np.int64)
        bad = (numbers < 0) | (numbers > 118)
        idx = np.full(numbers.shape, -1, dtype=np.int64)
        idx[~bad] = self._index_of_z[numbers[~bad]]
        if np.any(idx < 0):
            from ase.data import chemical_symbols as sym
            z = int(numbers[idx < 0][0])
            name = sym[z] if 0 < z <= 118 else str(z)
            raise MatsightError(f"the structure contains {name}, which is not among the ACSF species "
                                f"{[sym[k] for k in self._z]}.")
        return idx

    # ------------------------------------------------------------------ features
    def create(self, atoms) -> np.ndarray:
        """Descriptors of every atom, float64, shape ``(n_atoms, n_features)``, DScribe's order.

        Uses the numba kernels (the PyTorch path if numba is missing).
        """
        pairs = self.neighbor_pairs(atoms)
        cell = atoms.cell.array if self._is_periodic(atoms) else np.zeros((3, 3))
        i, j, s = pairs
        tidx = self._species_index(atoms.numbers)
        pos = np.asarray(atoms.positions, dtype=np.float64)
        if _fast.available():
            vec = _fast.pair_vectors(pos, cell, i, j, s)
            offsets = np.zeros(len(atoms) + 1, dtype=np.int64)
            np.cumsum(np.bincount(i, minlength=len(atoms)), out=offsets[1:])
            out = _fast.forward(self._plan(), vec, offsets, tidx[j])
            if len(self._g5s):
                import torch

                with torch.no_grad():
                    extra = _shifted.features_fast(torch.from_numpy(vec), i, tidx[j], len(atoms), self.n_species,
                                                   self._g5s, self._r_cut, self.cutoff)
                out = np.concatenate([out, extra.numpy()], axis=1)
            if self._ps is not None:
                import torch

                with torch.no_grad():
                    extra = self._power(torch.from_numpy(vec), i, tidx[j], len(atoms))
                out = np.concatenate([out, extra.numpy()], axis=1)
            return out
        import torch

        vec = pos[j] - pos[i] + s @ np.asarray(cell, dtype=np.float64)
        with torch.no_grad():
            return _features_torch(self, torch.from_numpy(vec), i, j, tidx, len(atoms)).numpy()

    def _plan(self):
        plan = self.__dict__.get("_plan_cache")
        if plan is None:
            plan = self.__dict__["_plan_cache"] = _fast.Plan(self)
        return plan

    def compute(self, positions, numbers, cell, pairs, *, fast=None):
        """Differentiable descriptors (PyTorch).

        Parameters
        ----------
        positions : torch.Tensor, shape (n_atoms, 3)
            Å, float32 or float64; may require grad.
        numbers : torch.Tensor or array, shape (n_atoms,)
            Atomic numbers.
        cell : torch.Tensor, shape (3, 3)
            Cell vectors as rows, Å, same dtype; may require grad (stress).
        pairs : tuple
            ``(i, j, shifts)`` from :meth:`neighbor_pairs`.
        fast : bool or None
            ``False``: pure PyTorch, differentiable any number of times (training
            on forces needs this). ``True``: numba kernels wrapped in a
            :class:`torch.autograd.Function` with analytic first derivatives
            (inference: energies, forces, stresses; a second backward raises).
            ``None`` (default): the fast path only when no gradient can be
            requested (no input requires grad, or grad mode is off), else PyTorch.

        Returns
        -------
        torch.Tensor, shape (n_atoms, n_features), ``positions.dtype``
            Differentiable w.r.t. ``positions`` and ``cell``.
        """
        import torch

        if not torch.is_tensor(positions) or positions.ndim != 2 or positions.shape[1] != 3:
            raise MatsightError("positions must be a torch tensor of shape (n_atoms, 3).")
        dtype, device = positions.dtype, positions.device
        if dtype not in (torch.float32, torch.float64):
            raise MatsightError(f"positions must be float32 or float64, got {dtype}.")
        n = positions.shape[0]
        num = numbers.detach().cpu().numpy() if torch.is_tensor(numbers) else np.asarray(numbers)
        if num.shape != (n,):
            raise MatsightError(f"numbers must have shape ({n},), got {tuple(num.shape)}.")
        tidx = self._species_index(num)
        cell = torch.as_tensor(cell, dtype=dtype, device=device)
        if cell.shape != (3, 3):
            raise MatsightError(f"cell must have shape (3, 3), got {tuple(cell.shape)}.")
        i, j, s = sort_pairs(*pairs)
        if len(i) and (i.min() < 0 or max(i.max(), j.max()) >= n):
            raise MatsightError("pairs refer to atoms outside positions; recompute the neighbour list.")
        ti = torch.as_tensor(i, device=device)
        tj = torch.as_tensor(j, device=device)
        # always through the cell (zero shifts for molecules) so that grad w.r.t. cell exists
        vec = positions[tj] - positions[ti] + torch.as_tensor(s, dtype=dtype, device=device) @ cell
        if fast is None:
            needs_grad = torch.is_grad_enabled() and (positions.requires_grad or cell.requires_grad)
            fast = not needs_grad
        if fast and device.type == "cpu" and _fast.available():
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(i, minlength=n), out=offsets[1:])
            out = _FastFunction.apply(vec, (self._plan(), offsets, tidx[j]))  # (n, n_dscribe_features)
            if len(self._g5s):
                extra = _shifted.features_fast(vec, i, tidx[j], n, self.n_species, self._g5s, self._r_cut, self.cutoff)
                out = torch.cat([out, extra], dim=1)  # (n, n_features - n_power_spectrum)
            if self._ps is not None:
                out = torch.cat([out, self._power(vec, i, tidx[j], n)], dim=1)  # (n, n_features)
            return out
        return _features_torch(self, vec, i, j, tidx, n)


    def _power(self, vec, i, sj, n_atoms):
        """Power-spectrum columns (differentiable PyTorch; also on the fast path)."""
        return self._ps.features(vec, i, sj, n_atoms, self.n_species, self._r_cut, self.cutoff)


def _fast_function():
    import torch
    from torch.autograd.function import once_differentiable

    class FastACSF(torch.autograd.Function):
        """Numba forward and analytic vector-Jacobian product on the pair vectors."""

        @staticmethod
        def forward(ctx, vec, aux):
            plan, offsets, sj = aux
            v = vec.detach().cpu().to(torch.float64).numpy()
            ctx.aux = (plan, offsets, sj, v)
            out = _fast.forward(plan, v, offsets, sj)
            return torch.from_numpy(out).to(vec.dtype)

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_out):
            plan, offsets, sj, v = ctx.aux
            if not bool(grad_out.any()):  # e.g. a shifted-G5 column's Jacobian: skip the kernel
                return torch.zeros(v.shape, dtype=grad_out.dtype), None
            g = _fast.backward(plan, v, offsets, sj, grad_out.detach().to(torch.float64).numpy())
            return torch.from_numpy(g).to(grad_out.dtype), None

    return FastACSF


class _LazyFunction:
    """Builds the autograd Function on first use (keeps torch out of import time)."""

    _cls = None

    def apply(self, *args):
        if _LazyFunction._cls is None:
            _LazyFunction._cls = _fast_function()
        return _LazyFunction._cls.apply(*args)


_FastFunction = _LazyFunction()


# ---------------------------------------------------------------------- torch kernel
def _cutoff_fn(kind, r, r_cut):
    import torch

    if kind == "cosine":
        return 0.5 * (torch.cos(r * (math.pi / r_cut)) + 1.0)
    x = r / r_cut
    return 1.0 + x * x * x * (x * (15.0 - 6.0 * x) - 10.0)


def _features_torch(acsf: ACSF, vec, i, j, tidx, n_atoms):
    """Descriptors from pair vectors ``vec`` (n_pairs, 3) of pairs ``(i, j)`` sorted by ``i``."""
    import torch

    out = [_dscribe_torch(acsf, vec, i, j, tidx, n_atoms)]  # (n_atoms, n_dscribe_features)
    if len(acsf._g5s):
        out.append(_shifted.features_torch(vec, i, tidx[j], n_atoms, acsf.n_species, acsf._g5s, acsf._r_cut,
                                           acsf.cutoff))
    if acsf._ps is not None:
        out.append(acsf._power(vec, i, tidx[j], n_atoms))
    return torch.cat(out, dim=1) if len(out) > 1 else out[0]  # (n_atoms, n_features)


def _dscribe_torch(acsf: ACSF, vec, i, j, tidx, n_atoms):
    """DScribe's features from pair vectors ``vec`` (n_pairs, 3) of pairs ``(i, j)`` sorted by ``i``."""
    import torch

    dtype, device = vec.dtype, vec.device
    ns = acsf.n_species
    npt = ns * (ns + 1) // 2
    g2, g3, g4, g5 = acsf._g2, acsf._g3, acsf._g4, acsf._g5
    rc = acsf._r_cut
    nr = 1 + len(g2) + len(g3)
    na = len(g4) + len(g5)
    sj = tidx[j]                                       # neighbour species index per pair

    r2 = (vec * vec).sum(-1)
    r = torch.sqrt(r2)
    fc = _cutoff_fn(acsf.cutoff, r, rc)
    cols = [fc.unsqueeze(1)]
    if len(g2):
        eta = torch.as_tensor(g2[:, 0], dtype=dtype, device=device)
        rs = torch.as_tensor(g2[:, 1], dtype=dtype, device=device)
        cols.append(torch.exp(-eta * (r.unsqueeze(1) - rs) ** 2) * fc.unsqueeze(1))
    if len(g3):
        kappa = torch.as_tensor(g3, dtype=dtype, device=device)
        cols.append(torch.cos(r.unsqueeze(1) * kappa) * fc.unsqueeze(1))
    radial = torch.cat(cols, dim=1)
    slot = torch.as_tensor(i * ns + sj, device=device)
    out_r = torch.zeros(n_atoms * ns, nr, dtype=dtype, device=device).index_add(0, slot, radial)
    out_r = out_r.reshape(n_atoms, ns * nr)
    if na == 0 or len(i) == 0:
        out_a = torch.zeros(n_atoms, npt * na, dtype=dtype, device=device)
        return torch.cat([out_r, out_a], dim=1)

    p, q, _ = pair_triplets(i, n_atoms)
    if len(g5) == 0:                                   # G4 only: drop triplets with r_jk >= r_cut
        v = vec.detach().cpu().numpy()
        d = v[q] - v[p]
        keep = np.einsum("ij,ij->i", d, d) < rc * rc
        p, q = p[keep], q[keep]
    tp = torch.as_tensor(p, device=device)
    tq = torch.as_tensor(q, device=device)
    a, b = sj[p], sj[q]
    its = np.where(a >= b, a * (a + 1) // 2 + b, b * (b + 1) // 2 + a)
    tslot = torch.as_tensor(i[p] * npt + its, device=device)

    vij, vik = vec[tp], vec[tq]
    rij2, rik2 = r2[tp], r2[tq]
    cos = (vij * vik).sum(-1) / (r[tp] * r[tq])
    vjk = vik - vij
    rjk2 = (vjk * vjk).sum(-1)
    blocks = []
    for tab, with_jk in ((g4, True), (g5, False)):
        if len(tab) == 0:
            continue
        eta = torch.as_tensor(tab[:, 0], dtype=dtype, device=device)
        zeta = torch.as_tensor(tab[:, 1], dtype=dtype, device=device)
        lam = torch.as_tensor(tab[:, 2], dtype=dtype, device=device)
        base = 0.5 * (1.0 + lam * cos.unsqueeze(1))
        ang = 2.0 * base.clamp_min(0.0) ** zeta
        rsum = rij2 + rik2
        fcc = fc[tp] * fc[tq]
        if with_jk:
            inside = rjk2 < rc * rc
            rjk = torch.sqrt(torch.where(inside, rjk2, torch.ones_like(rjk2)))
            fjk = torch.where(inside, _cutoff_fn(acsf.cutoff, rjk, rc), torch.zeros_like(rjk))
            rsum = rsum + rjk2
            fcc = fcc * fjk
        blocks.append(ang * torch.exp(-eta * rsum.unsqueeze(1)) * fcc.unsqueeze(1))
    ang = torch.cat(blocks, dim=1) if len(blocks) > 1 else blocks[0]
    out_a = torch.zeros(n_atoms * npt, na, dtype=dtype, device=device).index_add(0, tslot, ang)
    return torch.cat([out_r, out_a.reshape(n_atoms, npt * na)], dim=1)
