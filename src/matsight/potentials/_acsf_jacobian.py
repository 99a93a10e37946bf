"""All ACSF features and their pair Jacobian in one pass (private; for precomputing training data).

Training on forces needs, for every structure, the derivative of every symmetry
function with respect to every neighbour vector. Asking autograd for it costs
one backward pass per function (93 passes over all triplets for the bench's
set); here the radial functions are differentiated in closed form and all
angular ones (DScribe's G4/G5 and the shell-resolved G5s) in a single numba
pass over the triplets (:func:`._acsf_shifted.angular_terms`). The result equals
the autograd Jacobian to rounding (tests/potentials/test_acsf_jacobian.py).
"""
from __future__ import annotations

import numpy as np

from ._acsf_shifted import _cutoff_and_slope_np, angular_terms, pair_slots

__all__ = ["pair_jacobian"]


def _radial(acsf, r, unit):
    """Per pair: radial block values (n_pairs, nr) and d/dvec (n_pairs, nr, 3); ``nr = 1 + n_g2 + n_g3``."""
    fc, dfc = _cutoff_and_slope_np(acsf.cutoff, r, acsf._r_cut)
    vals = [fc[:, None]]
    dvals = [dfc[:, None]]
    if len(acsf._g2):
        eta, rs = acsf._g2[:, 0], acsf._g2[:, 1]
        d = r[:, None] - rs  # (n_pairs, n_g2)
        ex = np.exp(-eta * d * d)
        vals.append(ex * fc[:, None])
        dvals.append(ex * (dfc[:, None] - 2.0 * eta * d * fc[:, None]))
    if len(acsf._g3):
        kr = r[:, None] * acsf._g3  # (n_pairs, n_g3)
        vals.append(np.cos(kr) * fc[:, None])
        dvals.append(np.cos(kr) * dfc[:, None] - acsf._g3 * np.sin(kr) * fc[:, None])
    val = np.concatenate(vals, axis=1)
    dval = np.concatenate(dvals, axis=1)
    return val, dval[:, :, None] * unit[:, None, :]


def _place(jac_out, jac_pass, sj, ns, base, K):
    """Copy a pass's Jacobian (n_pairs * ns, K, 3) into columns ``base + slot(sj[p], b) K + k`` of ``jac_out``."""
    n_pairs = len(sj)
    jp = jac_pass.reshape(n_pairs, ns, K, 3)
    rows = np.arange(n_pairs)[:, None]
    slots = pair_slots(ns)
    for b in range(ns):
        cols = base + slots[sj, b][:, None] * K + np.arange(K)[None, :]  # (n_pairs, K)
        jac_out[rows, cols] += jp[:, b]


def pair_jacobian(acsf, vec, i, sj, n_atoms):
    """Features and their derivatives with respect to each pair vector.

    Parameters
    ----------
    acsf : ACSF
    vec : numpy.ndarray, shape (n_pairs, 3)
        ``r_j - r_i`` in Å, pairs sorted by centre ``i``.
    i, sj : numpy.ndarray of int64, shape (n_pairs,)
        Centre of each pair and the neighbour's species index.
    n_atoms : int

    Returns
    -------
    features : numpy.ndarray, shape (n_atoms, n_features)
        Same as :meth:`ACSF.create` (float64).
    jacobian : numpy.ndarray, shape (n_pairs, n_features, 3)
        ``d features[i[p], f] / d vec[p]`` (a pair only moves its own centre's features).
    """
    ns = acsf.n_species
    npt = ns * (ns + 1) // 2
    n_pairs = len(vec)
    n_feat = acsf.n_features
    vec = np.ascontiguousarray(vec, dtype=np.float64)
    i = np.asarray(i, dtype=np.int64)
    sj = np.asarray(sj, dtype=np.int64)
    feats = np.zeros((n_atoms, n_feat))
    jac = np.zeros((n_pairs, n_feat, 3))
    if n_pairs == 0:
        return feats, jac
    r = np.sqrt(np.einsum("pc,pc->p", vec, vec))
    unit = vec / r[:, None]
    # radial block of neighbour species sj[p]: columns sj[p] * nr + c
    val, dval = _radial(acsf, r, unit)
    nr = val.shape[1]
    rad = np.zeros((n_atoms * ns, nr))
    np.add.at(rad, i * ns + sj, val)
    feats[:, :ns * nr] = rad.reshape(n_atoms, ns * nr)
    cols = sj[:, None] * nr + np.arange(nr)[None, :]  # (n_pairs, nr)
    jac[np.arange(n_pairs)[:, None], cols] = dval
    # angular blocks: DScribe's G4 then G5 per species pair, then the shell-resolved G5s
    g4, g5 = acsf._g4, acsf._g5
    tables = []
    if len(g4) + len(g5):
        tab = np.zeros((len(g4) + len(g5), 5))
        tab[:, 0] = np.r_[g4[:, 0], g5[:, 0]]
        tab[:, 2:4] = np.r_[g4[:, 1:], g5[:, 1:]]
        tab[:len(g4), 4] = 1.0
        tables.append((ns * nr, tab))
    if len(acsf._g5s):
        tables.append((acsf.n_dscribe_features, np.column_stack([acsf._g5s, np.zeros(len(acsf._g5s))])))
    for base, tab in tables:
        K = len(tab)
        out, jp = angular_terms(vec, i, sj, n_atoms, ns, tab, acsf._r_cut, acsf.cutoff)
        feats[:, base:base + npt * K] = out.reshape(n_atoms, npt * K)
        _place(jac, jp, sj, ns, base, K)
    if acsf._ps is not None:
        n_ps = acsf.n_power_spectrum
        feats[:, n_feat - n_ps:], jac[:, n_feat - n_ps:] = acsf._ps.features_and_jacobian(
            vec, i, sj, n_atoms, ns, acsf._r_cut, acsf.cutoff)
    return feats, jac
