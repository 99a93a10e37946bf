"""Numba kernels for ACSF: features and their vector-Jacobian product (private).

Both kernels work on pair vectors ``vec`` (n_pairs, 3) sorted by centre
(``offsets[a]:offsets[a+1]`` are the pairs of atom ``a``), so that positions,
cell shifts and strain enter only through ``vec = x_j - x_i + S @ cell`` and
PyTorch's autograd carries the gradient from ``vec`` to positions and cell.

How it is fast (about 1 M neighbour triplets for 1000 Si atoms with a 6 Å cutoff):

* the Gaussians factor over pairs: ``exp(-eta (r_ij² + r_ik² + r_jk²)) fc_ij fc_ik
  fc_jk = [e_ij fc_ij] [e_ik fc_ik] [e_jk fc_jk]``; the first two are computed once
  per pair;
* the last factor, a smooth function of ``t = r_jk² / r_cut²`` on ``[0, 1]``, is a
  polynomial of 16 to 28 terms fitted (Chebyshev interpolation) when the ACSF is
  built and checked on a dense grid to 5e-14 (no ``sqrt``, ``exp`` or ``cos`` per
  triplet; a parameter without an accurate enough fit uses exact ``exp``/``cos``);
* the radial ``exp`` is a vectorisable Taylor series of ``exp(x / 2^m)`` squared
  ``m`` times (``m`` chosen per parameter from its largest argument);
* the neighbours of each centre are sorted by species and the triplets ``(j < k)``
  laid out per species pair, so that every pass over triplets is a branch-free loop
  LLVM vectorises (SIMD); triplets with ``r_jk >= r_cut`` are dropped first when
  there is no G5 (less than half survive in a dense solid);
* ``zeta`` in {1, 2, 4, 8, 16, 32} (the usual sets) are summed in one pass of
  repeated squaring per ``(eta, lambda)``; other integer ``zeta`` by unrolled
  binary powers, non-integer ``zeta`` by ``pow``;
* the backward kernel returns ``dL/dvec`` directly (analytic derivatives, memory
  O(n_pairs)) instead of a Jacobian.

``numba`` is optional: :func:`available` says whether it imports.
"""
from __future__ import annotations

import numpy as np

__all__ = ["available", "Plan", "forward", "backward", "NC", "NCS"]

#: Number of polynomial coefficients of the fitted triplet factor (degree NC - 1).
NC = 28
#: Polynomial lengths tried, shortest first (each has its own unrolled kernel).
NCS = (16, 20, 24, 28)
_KERNELS = None


def available() -> bool:
    """Whether numba imports (the fast path is usable)."""
    try:
        import numba  # noqa: F401
    except Exception:  # pragma: no cover - depends on the environment
        return False
    return True


def _fit_jk(eta: float, r_cut: float, cosine: bool):
    """Monomial coefficients in ``x = 2t - 1`` of ``h(t) = exp(-eta r_cut² t) fc_cos(t)``.

    For the polynomial cutoff only the exponential is fitted (the cutoff is then
    evaluated exactly). Tries ``NCS`` lengths in turn and keeps the first whose error
    on a dense grid is below 5e-14 (value) and 5e-11 (relative derivative).
    Returns ``(coef[NC], dcoef_dt[NC], n_coef)``; ``n_coef = 0`` when no fit is good
    enough (the kernels then evaluate ``exp`` and the cutoff exactly).
    """
    from numpy.polynomial import chebyshev as C
    from numpy.polynomial import polynomial as P

    k = eta * r_cut * r_cut

    def h(t):
        t = np.clip(t, 0.0, 1.0)
        e = np.exp(-k * t)
        return e * 0.5 * (np.cos(np.pi * np.sqrt(t)) + 1.0) if cosine else e

    def dh(t):
        t = np.clip(t, 0.0, 1.0)
        e = np.exp(-k * t)
        if not cosine:
            return -k * e
        return -k * h(t) - e * 0.25 * np.pi * np.pi * np.sinc(np.sqrt(t))   # d/dt cos(pi sqrt t)/2

    t = np.concatenate([np.linspace(0.0, 1.0, 4001), np.random.default_rng(0).random(2000)])
    x = 2.0 * t - 1.0
    for n in NCS:
        cheb = C.chebinterpolate(lambda x: h((x + 1.0) / 2.0), n - 1)
        coef = np.zeros(NC)
        mono = C.cheb2poly(cheb)
        coef[:len(mono)] = mono
        dcoef = np.zeros(NC)
        dmono = 2.0 * P.polyder(coef[:n])
        dcoef[:len(dmono)] = dmono
        err = np.max(np.abs(_horner_np(coef[:n], x) - h(t)))
        derr = np.max(np.abs(_horner_np(dcoef[:n], x) - dh(t))) / max(1.0, np.max(np.abs(dh(t))))
        if err < 5e-14 and derr < 5e-11:
            return coef, dcoef, n
    return np.zeros(NC), np.zeros(NC), 0


def _horner_np(c, x):
    p = np.full_like(x, c[-1])
    for d in range(len(c) - 2, -1, -1):
        p = p * x + c[d]
    return p


class Plan:
    """Parameters of an :class:`ACSF` in the array form the kernels take."""

    def __init__(self, acsf):
        self.ns = acsf.n_species
        self.rc = float(acsf._r_cut)
        self.poly = 1 if acsf.cutoff == "polynomial" else 0
        self.g2 = np.ascontiguousarray(acsf._g2, dtype=np.float64).reshape(-1, 2)
        self.g3 = np.ascontiguousarray(acsf._g3, dtype=np.float64).reshape(-1)
        self.n_features = acsf.n_dscribe_features   # the shifted G5 block is computed elsewhere
        g4 = np.asarray(acsf._g4, dtype=np.float64).reshape(-1, 3)
        g5 = np.asarray(acsf._g5, dtype=np.float64).reshape(-1, 3)
        self.n4 = len(g4)
        ang = np.vstack([g4, g5])                      # unified angular list, G4 first (output order)
        fam = np.r_[np.zeros(len(g4), np.int64), np.ones(len(g5), np.int64)]
        # distinct (eta, family) -> "u" rows
        keys = sorted({(int(f), float(e)) for f, e in zip(fam, ang[:, 0])})
        kidx = {k: n for n, k in enumerate(keys)}
        self.uu = np.array([kidx[(int(f), float(e))] for f, e in zip(fam, ang[:, 0])], dtype=np.int64)
        self.eall = np.array([e for _, e in keys], dtype=np.float64)
        self.is4 = np.array([f == 0 for f, _ in keys], dtype=np.bool_)
        nu = len(keys)
        self.pc = np.zeros((nu, NC))
        self.dpc = np.zeros((nu, NC))
        self.nco = np.zeros(nu, dtype=np.int64)     # 0: exact exp / cutoff per triplet
        for u in range(nu):
            if self.is4[u]:
                self.pc[u], self.dpc[u], self.nco[u] = _fit_jk(self.eall[u], self.rc, not self.poly)
        # radial: cutoff as a polynomial of t = r²/r_cut² (exact polynomial for "polynomial"),
        # and the number of squarings that keep exp's argument in [-0.5, 0] (see vexp)
        self.fcc, self.dfcc, self.fcn = _fit_jk(0.0, self.rc, not self.poly)
        rs = self.g2[:, 1]
        xmax2 = self.g2[:, 0] * np.maximum(rs * rs, (self.rc - rs) ** 2)
        self.m2 = _squarings(xmax2)
        self.mu = _squarings(self.eall * self.rc * self.rc)
        # distinct (zeta, lambda) combos and the parameters using each
        combos = sorted({(float(z), float(lam)) for z, lam in ang[:, 1:]})
        cidx = {c: n for n, c in enumerate(combos)}
        kc = np.array([cidx[(float(z), float(lam))] for z, lam in ang[:, 1:]], dtype=np.int64)
        self.czeta = np.array([c[0] for c in combos], dtype=np.float64)
        self.clam = np.array([c[1] for c in combos], dtype=np.float64)
        self.cint = np.array([int(z) if z == round(z) and z <= 255 else -1 for z in self.czeta], dtype=np.int64)
        self.kz = self.czeta[kc].copy()              # per angular parameter: zeta, lambda, integer zeta
        self.kl = self.clam[kc].copy()
        self.kint = self.cint[kc].copy()

    def args(self):
        return (self.ns, self.rc, self.poly, self.g2, self.g3, self.eall, self.is4, self.pc, self.dpc,
                self.nco, self.uu, self.kz, self.kl, self.kint, self.fcc, self.dfcc, self.fcn, self.m2, self.mu)


def _squarings(xmax):
    """Squarings m so that exp(x), x in [-xmax, 0], is (Taylor of exp(x / 2^m))^(2^m) with |x/2^m| <= 0.5."""
    xmax = np.asarray(xmax, dtype=np.float64)
    m = np.ceil(np.log2(np.maximum(xmax, 1e-300) / 0.5))
    return np.clip(m, 0, 60).astype(np.int64)



def _kernels():
    global _KERNELS
    if _KERNELS is None:
        _KERNELS = _build()
    return _KERNELS


def forward(plan: Plan, vec: np.ndarray, offsets: np.ndarray, sj: np.ndarray) -> np.ndarray:
    """Features (n_atoms, n_features) float64 from pair vectors ``vec``."""
    fwd, _ = _kernels()
    out = np.zeros((len(offsets) - 1, plan.n_features))
    import numba

    fwd(np.ascontiguousarray(vec, dtype=np.float64), offsets, np.ascontiguousarray(sj, dtype=np.int64),
        *plan.args(), 8 * numba.get_num_threads(), out)
    return out


def pair_vectors(positions, cell, i, j, shifts) -> np.ndarray:
    """``positions[j] - positions[i] + shifts @ cell`` (n_pairs, 3) float64, in one numba pass."""
    from ._acsf_kernel_parts import pair_vectors as _pv

    return _pv(np.ascontiguousarray(positions, dtype=np.float64), np.ascontiguousarray(cell, dtype=np.float64),
               np.ascontiguousarray(i, dtype=np.int64), np.ascontiguousarray(j, dtype=np.int64),
               np.ascontiguousarray(shifts, dtype=np.int64))


def backward(plan: Plan, vec: np.ndarray, offsets: np.ndarray, sj: np.ndarray,
             grad_out: np.ndarray) -> np.ndarray:
    """``dL/dvec`` (n_pairs, 3) given ``grad_out = dL/dfeatures`` (n_atoms, n_features)."""
    _, bwd = _kernels()
    gvec = np.zeros((len(vec), 3))
    bwd(np.ascontiguousarray(vec, dtype=np.float64), offsets, np.ascontiguousarray(sj, dtype=np.int64),
        *plan.args(), np.ascontiguousarray(grad_out, dtype=np.float64), gvec)
    return gvec


def _build():
    from . import _acsf_kernels as K

    return K.fwd, K.bwd
