"""Radial power spectrum (SOAP-like) functions, a matsight extension of :class:`ACSF` (private).

Per centre ``i`` and neighbour species ``s`` the density of neighbours is
expanded in Gaussian radial functions times real spherical harmonics,

    c^s_nlm(i) = sum_{j in s} g_n(r_ij) Y_lm(r_ij / |r_ij|),
    g_n(r) = exp(-(r - R_n)^2 / (2 w^2)) fc(r),

and the rotation-invariant power spectrum is

    p^{ab}_{nn'l}(i) = sum_m c^a_nlm(i) c^b_n'lm(i)
                     = (2l + 1) / (4 pi) sum_{j in a, k in b} g_n(r_ij) g_n'(r_ik) P_l(cos theta_jik)

(the second form, with ``j = k`` included, is the addition theorem; the tests
check the first against it). These are angular functions with two independent
radial shells and Legendre polynomials of every order up to ``l_max``; the
ACSF's ``(1 + lambda cos)^zeta`` only span a few polynomials of one shell. The
spherical harmonics make the cost linear in the number of neighbours.

Layout: one block per unordered neighbour-species pair ``(a, b)``, ``a >= b``, in
the ACSF's pair order; per block ``l = 0..l_max`` and in each ``l`` the
radial pairs ``(n, n')`` with ``n <= n'`` when ``a = b`` (the block is
symmetric) or all ``(n, n')`` when ``a != b`` (``n`` for species ``a``).

References
----------
A. P. Bartók, R. Kondor, G. Csányi, Phys. Rev. B 87, 184115 (2013) (SOAP).
A. P. Bartók et al., Phys. Rev. X 8, 041048 (2018) (GAP; the mlearn GAP uses SOAP).
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..errors import MatsightError

__all__ = ["PowerSpectrum"]


@lru_cache(maxsize=None)
def _sh_table(l_max: int) -> tuple:
    """``(l, m, coefficients of d^m P_l / dz^m in powers of z, normalisation)`` for ``m >= 0``."""
    from numpy.polynomial import legendre, polynomial

    rows = []
    for l in range(l_max + 1):
        unit = np.zeros(l + 1)
        unit[l] = 1.0
        p_l = legendre.leg2poly(unit)  # P_l in powers of z
        for m in range(l + 1):
            d = polynomial.polyder(p_l, m) if m else p_l
            norm = math.sqrt((2 * l + 1) / (4 * math.pi) * math.factorial(l - m) / math.factorial(l + m))
            rows.append((l, m, tuple(float(c) for c in np.atleast_1d(d)), norm * (math.sqrt(2.0) if m else 1.0)))
    return tuple(rows)


def real_spherical_harmonics(u, l_max: int):
    """Orthonormal real spherical harmonics of unit vectors.

    Parameters
    ----------
    u : Tensor of shape (n, 3)
        Unit vectors.
    l_max : int

    Returns
    -------
    Tensor of shape (n, (l_max + 1)^2)
        Column ``l^2 + l + m`` holds ``Y_lm``, ``m = -l..l`` (``m < 0``: the sine
        harmonics). Polynomials in ``x, y, z``, so smooth at the poles.
    """
    import torch

    x, y, z = u[:, 0], u[:, 1], u[:, 2]
    re, im = [torch.ones_like(x)], [torch.zeros_like(x)]  # Re, Im of (x + i y)^m
    for _ in range(l_max):
        re.append(re[-1] * x - im[-1] * y)
        im.append(re[-2] * y + im[-1] * x)
    zp = [torch.ones_like(z)]
    for _ in range(l_max):
        zp.append(zp[-1] * z)
    cols = {}
    for l, m, coef, norm in _sh_table(l_max):
        q = norm * sum(c * zp[k] for k, c in enumerate(coef))  # (n,)
        if m == 0:
            cols[(l, 0)] = q
        else:
            cols[(l, m)] = q * re[m]
            cols[(l, -m)] = q * im[m]
    return torch.stack([cols[(l, m)] for l in range(l_max + 1) for m in range(-l, l + 1)], dim=1)


class PowerSpectrum:
    """Parameters and kernels of the power-spectrum block (see the module docstring).

    Parameters
    ----------
    centres_A : array-like, shape (n_radial,)
        Centres ``R_n`` of the Gaussian radial functions, Å.
    width_A : float
        Their standard deviation ``w``, Å.
    l_max : int
        Highest spherical-harmonic order (0-12).
    """

    def __init__(self, centres_A, width_A, l_max):
        c = np.asarray(centres_A, dtype=float).reshape(-1)
        if c.size == 0 or not np.all(np.isfinite(c)) or np.any(c < 0):
            raise MatsightError(f"power spectrum centres {centres_A!r} must be a non-empty list of distances >= 0 Å.")
        if not (np.isfinite(float(width_A)) and float(width_A) > 0):
            raise MatsightError(f"power spectrum width {width_A!r} must be a positive distance in Å.")
        if isinstance(l_max, bool) or int(l_max) != l_max or not 0 <= int(l_max) <= 12:
            raise MatsightError(f"power spectrum l_max={l_max!r} must be an integer between 0 and 12.")
        self.centres_A = c
        self.width_A = float(width_A)
        self.l_max = int(l_max)

    def to_dict(self) -> dict:
        return {"centres_A": self.centres_A.tolist(), "width_A": self.width_A, "l_max": self.l_max}

    @property
    def n_radial(self) -> int:
        return len(self.centres_A)

    def n_block(self, same: bool) -> int:
        """Functions per species pair (``same``: a = b)."""
        n = self.n_radial
        return (self.l_max + 1) * (n * (n + 1) // 2 if same else n * n)

    def n_features(self, n_species: int) -> int:
        return sum(self.n_block(a == b) for a in range(n_species) for b in range(a + 1))

    def _radial_pairs(self, same: bool):
        n = self.n_radial
        if same:
            return np.triu_indices(n)
        a, b = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        return a.reshape(-1), b.reshape(-1)

    def names(self, pair: str, same: bool) -> list[str]:
        n1, n2 = self._radial_pairs(same)
        return [f"PS[{pair}](l={l},Rn={self.centres_A[p]:g},Rn'={self.centres_A[q]:g},w={self.width_A:g})"
                for l in range(self.l_max + 1) for p, q in zip(n1, n2)]

    # ------------------------------------------------------------------ kernels
    def _basis(self, vec, r_cut: float, cutoff: str):
        """``g_n(r) Y_lm(rhat)`` per pair: (n_pairs, 3) -> (n_pairs, n_radial, (l_max + 1)^2)."""
        import torch

        from ._acsf import _cutoff_fn

        r = torch.sqrt((vec * vec).sum(-1))  # (n_pairs,)
        fc = _cutoff_fn(cutoff, r, r_cut) * (r < r_cut)  # (n_pairs,)
        centres = torch.as_tensor(self.centres_A, dtype=vec.dtype, device=vec.device)
        g = torch.exp(-0.5 * ((r[:, None] - centres) / self.width_A) ** 2) * fc[:, None]  # (n_pairs, n_radial)
        y = real_spherical_harmonics(vec / r[:, None], self.l_max)  # (n_pairs, (l_max + 1)^2)
        return g[:, :, None] * y[:, None, :]

    def _coefficients(self, basis, i, sj, n_atoms: int, n_species: int):
        """``c^s_nlm(i)``: (n_atoms, n_species, n_radial, (l_max + 1)^2)."""
        import torch

        slot = torch.as_tensor(np.asarray(i) * n_species + np.asarray(sj), device=basis.device)
        c = basis.new_zeros((n_atoms * n_species,) + tuple(basis.shape[1:])).index_add(0, slot, basis)
        return c.reshape((n_atoms, n_species) + tuple(basis.shape[1:]))

    def features(self, vec, i, sj, n_atoms: int, n_species: int, r_cut: float, cutoff: str):
        """Differentiable features, (n_atoms, n_features(n_species)), ``vec``'s dtype.

        ``vec`` (n_pairs, 3) are ``r_j - r_i`` in Å, ``i`` the centres and ``sj``
        the neighbours' species indices (numpy int arrays).
        """
        import torch

        if len(vec) == 0:
            return vec.new_zeros((n_atoms, self.n_features(n_species)))
        c = self._coefficients(self._basis(vec, r_cut, cutoff), i, sj, n_atoms, n_species)
        blocks = []
        for a in range(n_species):
            for b in range(a + 1):
                n1, n2 = (torch.as_tensor(t) for t in self._radial_pairs(a == b))
                for l in range(self.l_max + 1):
                    s = slice(l * l, (l + 1) * (l + 1))
                    p = torch.einsum("xnm,xkm->xnk", c[:, a, :, s], c[:, b, :, s])  # (n_atoms, n_radial, n_radial)
                    blocks.append(p[:, n1, n2])
        return torch.cat(blocks, dim=1)

    def features_and_jacobian(self, vec, i, sj, n_atoms: int, n_species: int, r_cut: float, cutoff: str):
        """Features and ``d features[i[p]] / d vec[p]`` per pair, float64 numpy.

        Returns
        -------
        features : ndarray of shape (n_atoms, n_features)
        jacobian : ndarray of shape (n_pairs, n_features, 3)
        """
        import torch

        vec = torch.as_tensor(np.asarray(vec, dtype=np.float64))  # (n_pairs, 3)
        n_pairs, n_feat = len(vec), self.n_features(n_species)
        if n_pairs == 0:
            return np.zeros((n_atoms, n_feat)), np.zeros((0, n_feat, 3))
        i = np.asarray(i, dtype=np.int64)
        sj = np.asarray(sj, dtype=np.int64)

        def basis(v):
            return self._basis(v, r_cut, cutoff)

        with torch.no_grad():
            b = basis(vec)  # (n_pairs, n_radial, n_lm)
            # each pair's basis depends on its own vector only: three forward-mode passes give every derivative
            db = torch.stack([torch.func.jvp(basis, (vec,), (torch.eye(3, dtype=vec.dtype)[k].expand_as(vec),))[1]
                              for k in range(3)], dim=-1)  # (n_pairs, n_radial, n_lm, 3)
            c = self._coefficients(b, i, sj, n_atoms, n_species)  # (n_atoms, n_species, n_radial, n_lm)
            ci = c[torch.as_tensor(i)]  # (n_pairs, n_species, n_radial, n_lm) the pair's centre
            own = torch.as_tensor(sj)
            feats, jacs = [], []
            for a in range(n_species):
                for b_ in range(a + 1):
                    n1, n2 = (torch.as_tensor(t) for t in self._radial_pairs(a == b_))
                    is_a = (own == a).to(vec.dtype)[:, None, None, None]  # (n_pairs, 1, 1, 1)
                    is_b = (own == b_).to(vec.dtype)[:, None, None, None]
                    for l in range(self.l_max + 1):
                        s = slice(l * l, (l + 1) * (l + 1))
                        p = torch.einsum("xnm,xkm->xnk", c[:, a, :, s], c[:, b_, :, s])  # (n_atoms, n_radial, n_radial)
                        feats.append(p[:, n1, n2])
                        # d p[n, n'] / d vec: the pair's own-species basis against the other species' coefficients
                        d_a = torch.einsum("pnmx,pkm->pnkx", db[:, :, s], ci[:, b_, :, s])  # (n_pairs, n_r, n_r, 3)
                        d_b = torch.einsum("pnm,pkmx->pnkx", ci[:, a, :, s], db[:, :, s])  # (n_pairs, n_r, n_r, 3)
                        d = is_a * d_a + is_b * d_b  # (n_pairs, n_radial, n_radial, 3)
                        jacs.append(d[:, n1, n2])
        return torch.cat(feats, 1).numpy(), torch.cat(jacs, 1).numpy()
