"""Shell-resolved angular symmetry functions (private; an extension beyond DScribe's set).

For every unordered pair of neighbour species ``(a, b)`` (DScribe's pair order)
and every row ``(eta, Rs, zeta, lambda)`` of ``shifted_g5_params``::

    G5s = 2^(1-zeta) sum_{j<k} (1 + lambda cos(theta_ijk))^zeta g(r_ij) g(r_ik),
    g(r) = exp(-eta (r - Rs)^2) fc(r)

that is, DScribe's G5 with its Gaussians centred on a neighbour shell at ``Rs``
instead of on the central atom (n2p2's "angular wide" function with a shift,
Singraber et al. 2019). G4/G5 with ``Rs = 0`` mix all shells into one
exponentially weighted sum; a grid of ``Rs`` gives the angular distribution of
each shell separately (e.g. bcc's first and second shells, 0.4 Å apart).

Two entry points on pair vectors ``vec`` (n_pairs, 3) sorted by centre:
:func:`features_torch` (plain PyTorch, differentiable any number of times) and
:func:`features_fast` (a :class:`torch.autograd.Function` whose backward uses the
analytic pair Jacobian, first derivatives only; cheap to apply once per feature,
which is what precomputing training Jacobians does).

References
----------
A. Singraber, J. Behler, C. Dellago, J. Chem. Theory Comput. 15, 1827 (2019).
J. Behler, J. Chem. Phys. 134, 074106 (2011).
"""
from __future__ import annotations

import math

import numpy as np

from ._neighbors import pair_triplets

__all__ = ["features_torch", "features_fast", "pair_slots", "angular_terms"]

_CHUNK = 200_000  # triplets per block in the analytic path (bounds memory at ~K * 200k * 3 doubles)


def pair_slots(ns: int) -> np.ndarray:
    """``slot[a, b]``: index of the unordered species pair ``(a, b)`` in DScribe's order, shape (ns, ns)."""
    a = np.arange(ns)[:, None]
    b = np.arange(ns)[None, :]
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    return hi * (hi + 1) // 2 + lo


def _cutoff_and_slope(kind, r, r_cut):
    import torch

    if kind == "cosine":
        x = r * (math.pi / r_cut)
        return 0.5 * (torch.cos(x) + 1.0), (-0.5 * math.pi / r_cut) * torch.sin(x)
    x = r / r_cut
    x2 = x * x
    fc = 1.0 + x2 * x * (x * (15.0 - 6.0 * x) - 10.0)
    return fc, x2 * (-30.0 + x * (60.0 - 30.0 * x)) / r_cut


def _triplets(i, sj, n_atoms, ns):
    """Triplets ``(p, q)`` (pair indices, ``p < q``, same centre) and their output row ``centre * npt + slot``."""
    p, q, _ = pair_triplets(i, n_atoms)
    npt = ns * (ns + 1) // 2
    row = i[p] * npt + pair_slots(ns)[sj[p], sj[q]]
    return p, q, row


def features_torch(vec, i, sj, n_atoms, ns, params, r_cut, cutoff):
    """Differentiable G5s, shape (n_atoms, npt * K) with ``npt = ns (ns + 1) / 2``, ``K = len(params)``.

    Parameters
    ----------
    vec : torch.Tensor, shape (n_pairs, 3)
        Pair vectors ``r_j - r_i`` in Å, sorted by centre ``i``.
    i, sj : numpy.ndarray of int64, shape (n_pairs,)
        Centre of each pair and the neighbour's species index.
    params : numpy.ndarray, shape (K, 4)
        Rows ``(eta [1/Å²], Rs [Å], zeta, lambda)``.
    """
    import torch

    dtype, device = vec.dtype, vec.device
    npt = ns * (ns + 1) // 2
    K = len(params)
    p, q, row = _triplets(i, sj, n_atoms, ns)
    if len(p) == 0:
        return vec.new_zeros(n_atoms, npt * K)
    sh = torch.as_tensor(params, dtype=dtype, device=device)
    eta, rs, zeta, lam = sh[:, 0], sh[:, 1], sh[:, 2], sh[:, 3]
    r = torch.sqrt((vec * vec).sum(-1))
    fc, _ = _cutoff_and_slope(cutoff, r, r_cut)
    g = torch.exp(-eta * (r.unsqueeze(1) - rs) ** 2) * fc.unsqueeze(1)  # (n_pairs, K)
    tp, tq = torch.as_tensor(p, device=device), torch.as_tensor(q, device=device)
    cos = (vec[tp] * vec[tq]).sum(-1) / (r[tp] * r[tq])  # (n_trip,)
    base = (0.5 * (1.0 + lam * cos.unsqueeze(1))).clamp_min(0.0)  # (n_trip, K)
    terms = 2.0 * base ** zeta * g[tp] * g[tq]  # (n_trip, K)
    out = torch.zeros(n_atoms * npt, K, dtype=dtype, device=device).index_add(0, torch.as_tensor(row, device=device), terms)
    return out.reshape(n_atoms, npt * K)


def _analytic(vec, i, sj, n_atoms, ns, params, r_cut, cutoff):
    """Features (n_atoms, npt*K) and pair Jacobian ``J`` (n_pairs, ns, K, 3), float64, no autograd.

    ``J[p, b, k]`` is the derivative with respect to ``vec[p]`` of feature ``k`` of
    the species-pair block ``(sj[p], b)`` of centre ``i[p]``. Uses the numba kernel
    when numba imports, else :func:`_analytic_torch` (same formulas).
    """
    from . import _acsf_fast

    if not _acsf_fast.available():
        return _analytic_torch(vec, i, sj, n_atoms, ns, params, r_cut, cutoff)
    import torch

    npt = ns * (ns + 1) // 2
    K = len(params)
    table = np.column_stack([np.asarray(params, dtype=np.float64), np.zeros(K)])
    out, jac = angular_terms(vec.numpy(), i, sj, n_atoms, ns, table, r_cut, cutoff)
    return (torch.from_numpy(out.reshape(n_atoms, npt * K)), torch.from_numpy(jac.reshape(len(vec), ns, K, 3)))


def angular_terms(vec, i, sj, n_atoms, ns, table, r_cut, cutoff):
    """Angular functions and their pair Jacobian in one numba pass over the triplets.

    Parameters
    ----------
    vec : numpy.ndarray, shape (n_pairs, 3)
        Pair vectors in Å, sorted by centre ``i``.
    table : numpy.ndarray, shape (K, 5)
        Rows ``(eta, Rs, zeta, lambda, with_jk)``: ``with_jk = 1`` multiplies by
        ``exp(-eta r_jk²) fc(r_jk)`` (DScribe's G4; G5 is ``Rs = 0``, ``with_jk = 0``).

    Returns
    -------
    out : numpy.ndarray, shape (n_atoms * npt, K)
        Row ``centre * npt + slot`` (slot: species pair in DScribe's order).
    jac : numpy.ndarray, shape (n_pairs * ns, K, 3)
        Row ``p * ns + b``: derivative with respect to ``vec[p]`` of the functions
        of block ``(sj[p], b)`` of centre ``i[p]``.
    """
    from ._acsf_shifted_kernel import triplet_pass

    npt = ns * (ns + 1) // 2
    K = len(table)
    n_pairs = len(vec)
    out = np.zeros((n_atoms * npt, K))
    jac = np.zeros((n_pairs * ns, K, 3))
    p, q, row = _triplets(i, sj, n_atoms, ns)
    if len(p) == 0 or K == 0:
        return out, jac
    vec = np.ascontiguousarray(vec, dtype=np.float64)
    r = np.sqrt(np.einsum("pc,pc->p", vec, vec))  # (n_pairs,)
    unit = vec / r[:, None]
    shells = sorted({(float(e), float(rs)) for e, rs in table[:, :2]})
    combos = sorted({(float(z), float(lam)) for z, lam in table[:, 2:4]})
    hetas = sorted({float(e) for e, w in zip(table[:, 0], table[:, 4]) if w})
    ks = np.array([shells.index((float(e), float(rs))) for e, rs in table[:, :2]], dtype=np.int64)
    kc = np.array([combos.index((float(z), float(lam))) for z, lam in table[:, 2:4]], dtype=np.int64)
    kh = np.array([hetas.index(float(e)) if w else -1 for e, w in zip(table[:, 0], table[:, 4])], dtype=np.int64)
    eta = np.array([e for e, _ in shells])
    rs = np.array([x for _, x in shells])
    fc, dfc = _cutoff_and_slope_np(cutoff, r, r_cut)
    d = r[:, None] - rs  # (n_pairs, n_shell)
    ex = np.exp(-eta * d * d)
    g = ex * fc[:, None]
    dg = ex * (dfc[:, None] - 2.0 * eta * d * fc[:, None])
    triplet_pass(vec, unit, r, g, dg, p, q, row, np.ascontiguousarray(sj, dtype=np.int64), ns, ks, kc, kh,
                 np.array([z for z, _ in combos]), np.array([lam for _, lam in combos]), np.array(hetas, dtype=np.float64),
                 float(r_cut), cutoff == "polynomial", out, jac)
    return out, jac


def _cutoff_and_slope_np(kind, r, r_cut):
    if kind == "cosine":
        x = r * (math.pi / r_cut)
        return 0.5 * (np.cos(x) + 1.0), (-0.5 * math.pi / r_cut) * np.sin(x)
    x = r / r_cut
    x2 = x * x
    return 1.0 + x2 * x * (x * (15.0 - 6.0 * x) - 10.0), x2 * (-30.0 + x * (60.0 - 30.0 * x)) / r_cut


def _analytic_torch(vec, i, sj, n_atoms, ns, params, r_cut, cutoff):
    """:func:`_analytic` as PyTorch tensor operations (the fallback without numba)."""
    import torch

    dtype = torch.float64
    npt = ns * (ns + 1) // 2
    K = len(params)
    n_pairs = len(vec)
    out = torch.zeros(n_atoms * npt, K, dtype=dtype)
    J = torch.zeros(n_pairs * ns, K, 3, dtype=dtype)
    p_all, q_all, row_all = _triplets(i, sj, n_atoms, ns)
    if len(p_all) == 0:
        return out.reshape(n_atoms, npt * K), J.reshape(n_pairs, ns, K, 3)
    sh = torch.as_tensor(params, dtype=dtype)
    eta, rs, zeta, lam = sh[:, 0], sh[:, 1], sh[:, 2], sh[:, 3]
    r = torch.sqrt((vec * vec).sum(-1))  # (n_pairs,)
    unit = vec / r.unsqueeze(1)  # (n_pairs, 3)
    fc, dfc = _cutoff_and_slope(cutoff, r, r_cut)
    d = r.unsqueeze(1) - rs  # (n_pairs, K)
    ex = torch.exp(-eta * d * d)
    g = ex * fc.unsqueeze(1)  # (n_pairs, K)
    dg = ex * (dfc.unsqueeze(1) - 2.0 * eta * d * fc.unsqueeze(1))  # dg/dr (n_pairs, K)
    sjt = torch.as_tensor(sj)
    for lo in range(0, len(p_all), _CHUNK):
        p = torch.as_tensor(p_all[lo:lo + _CHUNK])
        q = torch.as_tensor(q_all[lo:lo + _CHUNK])
        row = torch.as_tensor(row_all[lo:lo + _CHUNK])
        up, uq = unit[p], unit[q]  # (n_trip, 3)
        cos = (up * uq).sum(-1)  # (n_trip,)
        base = (0.5 * (1.0 + lam * cos.unsqueeze(1))).clamp_min(0.0)  # (n_trip, K)
        bz1 = base ** (zeta - 1.0)
        ang = 2.0 * bz1 * base  # (n_trip, K)
        gp, gq = g[p], g[q]
        out.index_add_(0, row, ang * gp * gq)
        dang = zeta * lam * bz1 * gp * gq  # d(term)/dcos (n_trip, K)
        # dcos/dvec_p = (u_q - cos u_p) / r_p, and the radial part along u_p
        cp = (uq - cos.unsqueeze(1) * up) / r[p].unsqueeze(1)  # (n_trip, 3)
        cq = (up - cos.unsqueeze(1) * uq) / r[q].unsqueeze(1)
        jp = dang.unsqueeze(2) * cp.unsqueeze(1) + (ang * dg[p] * gq).unsqueeze(2) * up.unsqueeze(1)  # (n_trip, K, 3)
        jq = dang.unsqueeze(2) * cq.unsqueeze(1) + (ang * gp * dg[q]).unsqueeze(2) * uq.unsqueeze(1)
        J.index_add_(0, p * ns + sjt[q], jp)
        J.index_add_(0, q * ns + sjt[p], jq)
    return out.reshape(n_atoms, npt * K), J.reshape(n_pairs, ns, K, 3)


def _function():
    import torch
    from torch.autograd.function import once_differentiable

    class ShiftedG5(torch.autograd.Function):
        """G5s forward with the analytic pair Jacobian kept for the backward."""

        @staticmethod
        def forward(ctx, vec, aux):
            i, sj, n_atoms, ns, params, r_cut, cutoff = aux
            out, J = _analytic(vec.detach().cpu().to(torch.float64), i, sj, n_atoms, ns, params, r_cut, cutoff)
            npt = ns * (ns + 1) // 2
            # rows of grad_out (viewed as (n_atoms * npt, K)) that each J[p, b] multiplies
            gather = i[:, None] * npt + pair_slots(ns)[sj[:, None], np.arange(ns)[None, :]]  # (n_pairs, ns)
            ctx.saved = (J, torch.as_tensor(gather), len(params), vec.dtype, vec.device)
            return out.to(device=vec.device, dtype=vec.dtype)

        @staticmethod
        @once_differentiable
        def backward(ctx, grad_out):
            J, gather, K, dtype, device = ctx.saved
            go = grad_out.detach().cpu().to(torch.float64).reshape(-1, K)[gather]  # (n_pairs, ns, K)
            gvec = torch.einsum("pbk,pbkc->pc", go, J)  # (n_pairs, 3)
            return gvec.to(device=device, dtype=dtype), None

    return ShiftedG5


_FN = None


def features_fast(vec, i, sj, n_atoms, ns, params, r_cut, cutoff):
    """Same values as :func:`features_torch`; backward through the analytic Jacobian (first order only)."""
    global _FN
    if _FN is None:
        _FN = _function()
    return _FN.apply(vec, (np.asarray(i), np.asarray(sj), int(n_atoms), int(ns), np.asarray(params, dtype=np.float64),
                           float(r_cut), cutoff))
