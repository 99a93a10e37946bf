"""Neighbour pairs (vesin) and neighbour triplets for ACSF (private, numpy only)."""
from __future__ import annotations

import threading

import numpy as np

from ..errors import MatsightError

_LOCAL = threading.local()

__all__ = ["neighbor_pairs", "sort_pairs", "pair_triplets"]


def neighbor_pairs(positions, cell, pbc, r_cut: float):
    """Full neighbour list within ``r_cut`` (both directions), from vesin.

    Parameters
    ----------
    positions : array-like, shape (n_atoms, 3)
        Cartesian positions in Å (need not be wrapped into the cell).
    cell : array-like, shape (3, 3)
        Cell vectors as rows, Å. Ignored where ``pbc`` is False.
    pbc : bool or sequence of 3 bool
        Periodicity along each cell vector.
    r_cut : float
        Cutoff radius in Å.

    Returns
    -------
    i, j : numpy.ndarray of int64, shape (n_pairs,)
        Centre and neighbour indices, sorted by ``i``.
    shifts : numpy.ndarray of int64, shape (n_pairs, 3)
        Integer cell shifts ``S``: the neighbour vector is
        ``positions[j] - positions[i] + S @ cell`` and has length < ``r_cut``.
    """
    pos = np.ascontiguousarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise MatsightError(f"positions must have shape (n_atoms, 3), got {pos.shape}.")
    if not np.all(np.isfinite(pos)):
        raise MatsightError("positions contain NaN or infinite values.")
    pbc = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    box = np.ascontiguousarray(cell, dtype=np.float64).reshape(3, 3) if pbc.any() else np.zeros((3, 3))
    if pbc.any():
        periodic_rows = box[pbc]
        if np.linalg.matrix_rank(periodic_rows, tol=1e-8) < int(pbc.sum()):
            raise MatsightError("the cell is degenerate along a periodic direction; "
                                "give three independent cell vectors.")
        # vesin needs a full-rank box: fill non-periodic zero rows with an orthogonal vector.
        if np.linalg.matrix_rank(box, tol=1e-8) < 3:
            box = box.copy()
            for d in np.where(~pbc)[0]:
                others = box[[e for e in range(3) if e != d]]
                n = np.cross(others[0], others[1]) if np.linalg.matrix_rank(others, tol=1e-8) == 2 else None
                if n is None or np.linalg.norm(n) == 0:
                    n = np.eye(3)[d]
                box[d] = n / np.linalg.norm(n)
    if len(pos) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), np.zeros((0, 3), dtype=np.int64)
    nl = _neighbor_list(float(r_cut))
    i, j, s = nl.compute(pos, box, pbc if pbc.any() else False, quantities="ijS")
    i = i.astype(np.int64)
    j = j.astype(np.int64)
    s = s.astype(np.int64)
    return sort_pairs(i, j, s)


def _neighbor_list(r_cut: float):
    """A vesin NeighborList per cutoff and thread, reused (building one costs as much as a search)."""
    import vesin

    cache = _LOCAL.__dict__.setdefault("lists", {})
    nl = cache.get(r_cut)
    if nl is None:
        if len(cache) > 8:
            cache.clear()
        nl = cache[r_cut] = vesin.NeighborList(cutoff=r_cut, full_list=True, sorted=True, n_threads=1)
    return nl


def sort_pairs(i, j, shifts):
    """Return ``(i, j, shifts)`` sorted by centre ``i`` (stable); no copy if already sorted."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    shifts = np.asarray(shifts, dtype=np.int64).reshape(-1, 3)
    if len(i) > 1 and np.any(i[1:] < i[:-1]):
        order = np.argsort(i, kind="stable")
        i, j, shifts = i[order], j[order], shifts[order]
    return i, j, shifts


def pair_triplets(i_sorted: np.ndarray, n_atoms: int):
    """All unordered pairs of pairs that share their centre.

    Parameters
    ----------
    i_sorted : numpy.ndarray of int64, shape (n_pairs,)
        Centres of the pairs, sorted.
    n_atoms : int

    Returns
    -------
    p, q : numpy.ndarray of int64, shape (n_triplets,)
        Pair indices with ``p < q`` and ``i_sorted[p] == i_sorted[q]``: the
        triplet ``(i, j_p, j_q)`` counted once, as DScribe does.
    offsets : numpy.ndarray of int64, shape (n_atoms + 1,)
        ``offsets[a]:offsets[a+1]`` is the block of pairs centred on atom ``a``.
    """
    counts = np.bincount(i_sorted, minlength=n_atoms).astype(np.int64)
    offsets = np.zeros(n_atoms + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    n_pairs = len(i_sorted)
    if n_pairs == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), offsets
    local = np.arange(n_pairs, dtype=np.int64) - offsets[i_sorted]
    n_after = counts[i_sorted] - local - 1           # partners q > p in the same block
    p = np.repeat(np.arange(n_pairs, dtype=np.int64), n_after)
    start = np.cumsum(n_after) - n_after             # first triplet of each p
    q = p + 1 + (np.arange(len(p), dtype=np.int64) - np.repeat(start, n_after))
    return p, q, offsets
