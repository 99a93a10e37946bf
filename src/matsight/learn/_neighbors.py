"""One-pass leave-one-out k-nearest-neighbour classification.

Leave-one-out (LOO) cross-validation of a k-NN classifier does not need ``n``
refits: the held-out sample's prediction only depends on its ``k`` nearest
*other* training samples. :func:`loo_kneighbors` computes every sample's
neighbours once (chunked GEMM distances, then an exact re-ranking of the
candidates), excluding the sample itself or, for group-LOO, every sample of
its group. :func:`loo_predict` then votes, for one or for many ``k`` at once.

Determinism (the tie rules)
---------------------------
* **Distance ties.** Neighbours are ranked by the squared Euclidean distance
  computed directly as ``sum((x_i - x_j)**2)`` in float64 (so exact duplicate
  rows are at distance exactly 0), and among equal distances by the smaller
  row index. The GEMM formula ``|x|^2 - 2 x.y + |y|^2`` (in float32) is only
  used to shortlist candidates; a row whose shortlist cannot be proven to contain its true
  ``k`` nearest (a wide band of near-equal distances) is recomputed in full.
  The rule does not depend on the chunk size or the number of threads.
* **Vote ties.** Uniform weights; the class with most votes wins, and among
  classes with equally many votes the one that sorts first (the smallest
  class index of ``np.unique(y)``), as in scikit-learn.

Relation to scikit-learn
------------------------
The predictions equal those of
``cross_val_predict(KNeighborsClassifier(k), X, y, cv=LeaveOneOut())`` for
every sample whose scikit-learn prediction is itself well defined, i.e. does
not depend on how a tie at the ``k``-th neighbour distance is broken.
scikit-learn's brute-force search breaks such ties through the rounding of
its GEMM distances and the order in which per-thread heaps are merged, so its
choice can change with the thread count; this module's choice does not.
:func:`tie_ambiguous` finds the samples where the choice matters.

With ``standardize="fold"`` the features are standardised inside every fold
exactly as ``make_pipeline(StandardScaler(), KNeighborsClassifier(k))`` would
be (mean and population variance of the n - 1 training samples, or the samples
outside the group), still in one pass: standardising with fold statistics is a
query-dependent diagonal metric ``sum(w_i (x_i - x_j)**2)`` with
``w_i = 1 / var_fold(i)``, and the mean cancels in the differences.

References
----------
T. Cover and P. Hart, Nearest neighbor pattern classification, IEEE Trans.
Inf. Theory 13, 21 (1967). F. Pedregosa et al., Scikit-learn: Machine
Learning in Python, JMLR 12, 2825 (2011).
"""
from __future__ import annotations

import numpy as np

from ..errors import MatsightError

__all__ = ["fold_weights", "loo_kneighbors", "loo_predict", "tie_ambiguous", "tie_winners", "vote"]

_EPS = np.finfo(np.float64).eps


def _as_float_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise MatsightError(f"the feature matrix must be 2-D (samples x features), got shape {X.shape}")
    if X.shape[0] < 2:
        raise MatsightError(f"leave-one-out needs at least 2 samples, got {X.shape[0]}")
    if not np.isfinite(X).all():
        bad = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise MatsightError(f"the feature matrix has a missing or infinite value in row {bad}")
    return X


def _group_codes(groups, n: int) -> np.ndarray:
    if groups is None:
        return np.arange(n)
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise MatsightError(f"groups must have one entry per sample ({n}), got shape {groups.shape}")
    _, codes = np.unique(groups, return_inverse=True)
    return codes.reshape(-1)


def fold_weights(X, groups=None) -> np.ndarray:
    """Per-sample feature weights ``1 / var`` of the training fold that leaves it out.

    Reproduces ``StandardScaler().fit(X[train])`` for the leave-one-out (or
    leave-one-group-out) fold of every sample: population variance
    (``ddof=0``) of the other samples, and weight 1 for a feature that
    scikit-learn deems constant in that fold.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    groups : array of shape (n_samples,), optional
        Leave out the whole group of each sample (default: the sample alone).

    Returns
    -------
    weights : ndarray of shape (n_samples, n_features)
    """
    X = _as_float_matrix(X)
    n = X.shape[0]
    codes = _group_codes(groups, n)
    mean_all = X.mean(axis=0)
    Xc = X - mean_all                     # centring keeps the moment updates accurate
    n_groups = codes.max() + 1
    s1 = np.zeros((n_groups, X.shape[1]))
    s2 = np.zeros((n_groups, X.shape[1]))
    np.add.at(s1, codes, Xc)
    np.add.at(s2, codes, Xc * Xc)
    size = np.bincount(codes, minlength=n_groups).astype(np.float64)
    m = n - size                          # training-fold size per group
    if np.any(m < 1):
        raise MatsightError("every leave-one-group-out fold needs at least one training sample")
    mean_c = (Xc.sum(axis=0) - s1) / m[:, None]
    var = np.maximum((((Xc * Xc).sum(axis=0) - s2) / m[:, None]) - mean_c**2, 0.0)
    mean = mean_c + mean_all
    # sklearn.preprocessing._data._is_constant_feature, then _handle_zeros_in_scale
    constant = var <= m[:, None] * _EPS * var + (m[:, None] * mean * _EPS) ** 2
    with np.errstate(divide="ignore"):
        w = np.where(constant, 1.0, 1.0 / np.where(constant, 1.0, var))
    return w[codes]


def _exact_sq(Xq: np.ndarray, Xr: np.ndarray, Wq: np.ndarray | None) -> np.ndarray:
    """``sum(w (xq - xr)^2)`` over the last axis, broadcasting ``Xq[:, None]`` against ``Xr``."""
    diff = Xq[:, None, :] - Xr
    diff *= diff
    if Wq is not None:
        diff *= Wq[:, None, :]
    return diff.sum(axis=-1)


def _global_weights(X: np.ndarray) -> np.ndarray:
    """``1 / var`` of ``StandardScaler().fit(X)`` (1 for a feature it deems constant)."""
    n = X.shape[0]
    mean = X.mean(axis=0)
    var = ((X - mean) ** 2).mean(axis=0)
    constant = var <= n * _EPS * var + (n * mean * _EPS) ** 2
    return np.where(constant, 1.0, 1.0 / np.where(constant, 1.0, var))


def loo_kneighbors(X, n_neighbors: int, *, groups=None, standardize: str | None = None,
                   chunk_size: int = 512, shortlist_pad: int = 16, on_chunk=None):
    """Each sample's ``n_neighbors`` nearest other samples, in one pass.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features (any units; Euclidean distance).
    n_neighbors : int
        Neighbours per sample, ``1 <= n_neighbors <= n_samples - largest group``.
    groups : array-like of shape (n_samples,), optional
        Group-LOO: exclude every sample that shares the group of the query
        (e.g. the same formula). Default: exclude only the sample itself.
    standardize : {None, "fold"}
        ``"fold"``: standardise within each training fold (see module notes).
    chunk_size : int
        Query rows per GEMM block (memory ``~ chunk_size * n_samples * 4`` bytes).
    shortlist_pad : int
        Extra candidates kept beyond ``n_neighbors`` before exact re-ranking.
    on_chunk : callable, optional
        Called as ``on_chunk(rows_done)`` after every block (progress display).

    Returns
    -------
    sq_distances : ndarray of shape (n_samples, n_neighbors)
        Squared (weighted) Euclidean distances, ascending.
    indices : ndarray of shape (n_samples, n_neighbors)
        Row indices of the neighbours, ordered by (distance, index).

    Notes
    -----
    The shortlist uses one float32 GEMM per block (its rounding error is
    bounded and accounted for) on globally standardised features;
    with fold standardisation, a row's exact metric differs from the global
    one by at most a factor ``1 +- rho_i``, ``rho_i = max_f |w_if / w_f - 1|``,
    which the completeness test takes into account.
    """
    X = _as_float_matrix(X)
    n, d = X.shape
    k = int(n_neighbors)
    codes = _group_codes(groups, n)
    sizes = np.bincount(codes)
    usable = n - int(sizes.max())
    if k < 1:
        raise MatsightError(f"the number of neighbours must be at least 1, got {k}")
    if k > usable:
        what = "n - 1" if groups is None else "n minus the largest group"
        raise MatsightError(
            f"{k} neighbours requested but only {usable} samples are usable ({what}, n = {n})"
        )
    if standardize not in (None, "fold"):
        raise MatsightError(f"standardize must be None or 'fold', got {standardize!r}")
    order_g = np.argsort(codes, kind="stable")       # members of every group, to mask
    start_g = np.concatenate([[0], np.cumsum(sizes)])
    M = min(k + int(shortlist_pad), n - 1)          # shortlist length; entry M is the cut
    out_d = np.empty((n, k))
    out_i = np.empty((n, k), dtype=np.intp)

    def search(queries, Xs, rho, W):
        """Neighbours of the rows ``queries``; shortlist metric ``Xs``, exact weights ``W``."""
        sq = np.einsum("ij,ij->i", Xs, Xs)
        Xs32 = Xs.astype(np.float32)
        XsT = (-2.0 * Xs32).T.copy()
        sq32 = sq.astype(np.float32)
        sq_max = sq.max()
        # Bound on the float32 error of |x_j|^2 - 2 x_q.x_j (inputs rounded to
        # float32, d-term accumulation): (2d + 10) u (|x_q| max|x_j| + max|x_j|^2).
        u32 = float(np.finfo(np.float32).eps) / 2
        for c0 in range(0, len(queries), chunk_size):
            q = queries[c0:c0 + chunk_size]
            b = len(q)
            # |x_j|^2 - 2 x_q.x_j: the squared distance minus the constant |x_q|^2.
            A = Xs32[q] @ XsT
            A += sq32[None, :]
            gq = codes[q]
            cnt = sizes[gq]
            offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            A[np.repeat(np.arange(b), cnt), order_g[np.repeat(start_g[gq], cnt) + offs]] = np.inf
            part = np.argpartition(A, M, axis=1)
            cand = part[:, :M]
            cut = np.take_along_axis(A, part[:, M:M + 1], axis=1)[:, 0].astype(np.float64) + sq[q]
            # Exact re-ranking of the shortlist by (distance, index).
            Wq = None if W is None else W[q]
            E = _exact_sq(X[q], X[cand], Wq)
            E[np.isinf(np.take_along_axis(A, cand, axis=1))] = np.inf
            order = np.lexsort((cand, E), axis=-1)
            E = np.take_along_axis(E, order, axis=1)
            cand = np.take_along_axis(cand, order, axis=1)
            # A non-shortlisted j has exact distance >= (1 - rho)(cut - tol); the
            # shortlist is provably complete when its k-th distance is below that.
            tol = (2 * d + 10) * u32 * (np.sqrt(sq[q] * sq_max) + sq_max) * 1.01 + 4 * u32 * sq[q]
            with np.errstate(invalid="ignore"):
                safe = E[:, k - 1] < (1.0 - rho[q]) * (cut - tol)
            out_d[q] = E[:, :k]
            out_i[q] = cand[:, :k]
            for r in np.flatnonzero(~safe):       # rare: a wide band of near-ties
                i = q[r]
                e = _exact_sq(X[i:i + 1], X, None if Wq is None else Wq[r:r + 1])[0]
                e[codes == codes[i]] = np.inf
                o = np.lexsort((np.arange(n), e))[:k]
                out_d[i] = e[o]
                out_i[i] = o
            if on_chunk is not None:
                on_chunk(b)

    if standardize != "fold":
        search(np.arange(n), X, np.zeros(n), None)
    elif groups is not None and len(sizes) <= 64:
        # few large folds (k-fold): the fold's own metric is exact, no slack needed
        W = fold_weights(X, codes)
        for g in range(len(sizes)):
            members = order_g[start_g[g]:start_g[g + 1]]
            search(members, X * np.sqrt(W[members[0]]), np.zeros(n), W)
    else:
        W = fold_weights(X, None if groups is None else codes)
        wg = _global_weights(X)
        search(np.arange(n), X * np.sqrt(wg), np.abs(W / wg - 1.0).max(axis=1), W)
    return out_d, out_i


def vote(neighbor_codes, n_classes: int, ks=None) -> np.ndarray:
    """Majority vote of the first ``k`` neighbours, for one or several ``k``.

    Parameters
    ----------
    neighbor_codes : int array of shape (n_samples, k_max)
        Class index (0 .. n_classes-1) of each neighbour, nearest first.
    n_classes : int
    ks : int or sequence of int, optional
        Neighbour counts to vote with (default: ``k_max``).

    Returns
    -------
    ndarray of shape (n_samples,) for an int ``ks`` (or None), else
    (len(ks), n_samples): the winning class index; vote ties go to the
    smallest class index.
    """
    codes = np.asarray(neighbor_codes)
    n, kmax = codes.shape
    single = ks is None or np.isscalar(ks)
    ks_arr = np.atleast_1d(kmax if ks is None else ks).astype(int)
    if ks_arr.min() < 1 or ks_arr.max() > kmax:
        raise MatsightError(f"vote: k must be within 1..{kmax}, got {ks_arr.tolist()}")
    counts = np.zeros((n, n_classes), dtype=np.int64)
    out = np.empty((len(ks_arr), n), dtype=np.intp)
    want = {int(k): j for j, k in enumerate(ks_arr)}
    for k in range(1, ks_arr.max() + 1):
        counts[np.arange(n), codes[:, k - 1]] += 1
        if k in want:
            out[want[k]] = counts.argmax(axis=1)       # first maximum = smallest class index
    # duplicates in ks share a slot; fill every position
    for j, k in enumerate(ks_arr):
        out[j] = out[want[int(k)]]
    return out[0] if single else out


def loo_predict(X, y, n_neighbors: int = 5, *, groups=None, standardize: str | None = None):
    """Leave-one-out k-NN predictions without refitting.

    Equivalent to ``cross_val_predict(KNeighborsClassifier(n_neighbors), X, y,
    cv=LeaveOneOut())`` (``cv=LeaveOneGroupOut()`` with ``groups``), see the
    module notes for the tie rules.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels (any sortable type).
    n_neighbors : int
    groups : array-like of shape (n_samples,), optional
    standardize : {None, "fold"}

    Returns
    -------
    ndarray of shape (n_samples,)
        Predicted labels, same dtype as ``np.unique(y)``.
    """
    y = np.asarray(y)
    classes, y_codes = np.unique(y, return_inverse=True)
    _, ind = loo_kneighbors(X, n_neighbors, groups=groups, standardize=standardize)
    return classes[vote(y_codes.reshape(-1)[ind], len(classes))]


def tie_winners(sq_distances_all, labels_all, k: int, n_classes: int, rtol: float = 1e-9) -> set:
    """Every vote winner reachable by some way of breaking distance ties at the k-th neighbour.

    A reference prediction (e.g. scikit-learn's) is well defined exactly when
    this set has one element; whatever tie rule it uses, its answer must be
    in the set.

    Parameters
    ----------
    sq_distances_all : array of shape (m,)
        Squared distances from one query to all its admissible neighbours.
    labels_all : int array of shape (m,)
        Their class indices (0 .. n_classes-1).
    k : int
    n_classes : int
    rtol : float
        Distances within ``rtol * (1 + d_k)`` of the k-th distance ``d_k``
        count as tied (covers rounding differences between implementations).

    Returns
    -------
    set of int
        Class indices that can win (vote ties to the smallest index).
    """
    d = np.asarray(sq_distances_all, dtype=np.float64)
    lab = np.asarray(labels_all)
    dk = np.partition(d, k - 1)[k - 1]
    tol = rtol * (1.0 + dk)
    sure = lab[d < dk - tol]
    band = lab[np.abs(d - dk) <= tol]
    base = np.bincount(sure, minlength=n_classes)
    avail = np.bincount(band, minlength=n_classes)
    winners: set = set()

    def rec(c, left, cnt):
        if c == n_classes:
            if left == 0:
                winners.add(int(np.argmax(base + np.array(cnt, dtype=np.int64))))
            return
        for a in range(min(left, int(avail[c])) + 1):
            rec(c + 1, left - a, cnt + [a])

    rec(0, k - len(sure), [])
    return winners


def tie_ambiguous(sq_distances_all, labels_all, k: int, n_classes: int, rtol: float = 1e-9) -> bool:
    """Whether the vote among the ``k`` nearest depends on how distance ties are broken.

    See :func:`tie_winners` for the parameters.
    """
    return len(tie_winners(sq_distances_all, labels_all, k, n_classes, rtol)) > 1
