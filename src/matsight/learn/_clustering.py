"""Families of alloys: composition distances, DBSCAN on a precomputed matrix, auto-eps.

Pipeline: compositions (at %) -> pairwise distance matrix
(:func:`composition_distances`) -> :func:`check_distance_matrix` ->
scikit-learn's ``DBSCAN(metric="precomputed")`` -> core / border / noise roles,
cluster members and mean compositions (:class:`ClusteringResult`).

Distances
---------
``euclidean``
    Euclidean distance between at % vectors (at %). Simple, dominated by the
    major elements (Ni, Cr, Co, Fe).
``aitchison``
    Euclidean distance between centred log-ratio (CLR) vectors of the closed
    compositions, after multiplicative replacement of zeros by ``delta``
    (dimensionless). Scale invariant and sub-compositionally coherent, so
    minor additions (Nb, Ta, Re, B, Zr) weigh by their ratios, not their
    absolute amount (Aitchison 1986; Martin-Fernandez et al. 2003).
``emd``
    1-D earth mover's (Wasserstein-1) distance between the compositions seen
    as distributions of atoms over Pettifor's Mendeleev number, a chemical
    scale on which similar elements are neighbours (Pettifor 1984). Computed
    from cumulative sums, in Mendeleev-number units; replacing Nb by Ta
    costs little, replacing Ni by Mo a lot (Hargreaves et al. 2020).

Auto-eps (k-distance knee)
--------------------------
With ``k = min_samples - 1``, the k-distance of a point is the distance to its
k-th nearest *other* point; in scikit-learn's DBSCAN (which counts the point
itself among ``min_samples``) a point is core exactly when its k-distance is
<= eps. The k-distances sorted ascending form a curve ``y_0 <= ... <= y_{n-1}``;
with ``x_i = i / (n - 1)`` and ``u_i = (y_i - y_0) / (y_{n-1} - y_0)`` the knee is
the index maximising ``x_i - u_i``, the point farthest below the chord from
the first to the last point (the Kneedle rule of Satopaa et al. 2011, without
smoothing). ``eps`` is the k-distance at the knee (first such index on ties).

References
----------
M. Ester, H.-P. Kriegel, J. Sander and X. Xu, KDD-96, 226 (1996).
V. Satopaa, J. Albrecht, D. Irwin and B. Raghavan, ICDCS Workshops, 166 (2011).
J. Aitchison, The Statistical Analysis of Compositional Data (1986).
J. A. Martin-Fernandez, C. Barcelo-Vidal and V. Pawlowsky-Glahn, Math. Geol. 35, 253 (2003).
D. G. Pettifor, Solid State Commun. 51, 31 (1984).
C. J. Hargreaves et al., npj Comput. Mater. 6, 174 (2020) (element-movers distance).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import MatsightError

__all__ = [
    "DISTANCES",
    "ClusterSummary",
    "ClusteringResult",
    "CompositionDBSCAN",
    "adjusted_rand_vs",
    "check_distance_matrix",
    "clr",
    "cluster_compositions",
    "composition_distances",
    "dbscan_precomputed",
    "kdistances",
    "knee_eps",
    "mds_embedding",
    "mendeleev_numbers",
    "multiplicative_replacement",
    "plot_kdistance",
    "plot_mds_map",
    "plot_clustering",
]

#: Names accepted by :func:`composition_distances`.
DISTANCES = ("euclidean", "aitchison", "emd")
_UNITS = {"euclidean": "at %", "aitchison": "dimensionless (CLR)", "emd": "Mendeleev-number units"}


def check_distance_matrix(D, name: str = "distance matrix", atol: float = 1e-8) -> np.ndarray:
    """Validate a pairwise distance matrix and return it as a new float array.

    Parameters
    ----------
    D : array-like of shape (n, n)
    name : str
        How to name the matrix in error messages.
    atol : float
        Tolerance (relative to the largest entry) for symmetry and the zero diagonal.

    Raises
    ------
    MatsightError
        If ``D`` is not a 2-D square matrix with at least one row, has
        non-finite or negative entries, is not symmetric, or has a non-zero diagonal.
    """
    try:
        D = np.array(D, dtype=float)
    except (TypeError, ValueError):
        raise MatsightError(f"{name} is not numeric") from None
    if D.ndim != 2 or D.shape[0] != D.shape[1] or D.shape[0] == 0:
        raise MatsightError(f"{name} must be a square n x n matrix, got shape {D.shape}")
    if not np.all(np.isfinite(D)):
        raise MatsightError(f"{name} has non-finite entries")
    if np.any(D < 0):
        i, j = np.argwhere(D < 0)[0]
        raise MatsightError(f"{name} has a negative entry at ({i}, {j}): {D[i, j]:g}")
    tol = atol * max(1.0, float(D.max()))
    asym = np.abs(D - D.T)
    if np.any(asym > tol):
        i, j = np.unravel_index(np.argmax(asym), asym.shape)
        raise MatsightError(f"{name} is not symmetric: entry ({i}, {j}) is {D[i, j]:g} but ({j}, {i}) is {D[j, i]:g}")
    if np.any(np.abs(np.diag(D)) > tol):
        raise MatsightError(f"{name} has a non-zero diagonal")
    return D


def _closed_fractions(at_percent, name="compositions") -> np.ndarray:
    x = np.array(at_percent, dtype=float)
    if x.ndim != 2:
        raise MatsightError(f"{name} must be a 2-D array (rows = alloys, columns = elements), got shape {x.shape}")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise MatsightError(f"{name} must be finite and non-negative")
    total = x.sum(axis=1, keepdims=True)
    bad = np.flatnonzero(~(total[:, 0] > 0))
    if bad.size:
        raise MatsightError(f"{name}: row {bad[0]} does not sum to a positive total")
    return x / total


def multiplicative_replacement(x, delta: float = 1e-5) -> np.ndarray:
    """Replace zero parts of closed compositions by ``delta`` (Martin-Fernandez et al. 2003).

    Parameters
    ----------
    x : array-like of shape (n, k)
        Non-negative compositions (each row is closed to 1 first).
    delta : float
        Replacement value, as a fraction (default 1e-5, i.e. 10 ppm atomic,
        below the smallest amount reported in the superalloy data, 7 ppm).

    Returns
    -------
    ndarray of shape (n, k)
        ``r_j = delta`` where ``x_j = 0``, else ``x_j (1 - z delta)`` with ``z``
        the number of zeros of the row; rows still sum to 1 and ratios between
        non-zero parts are kept.
    """
    x = _closed_fractions(x)
    if not (0 < delta < 1.0 / x.shape[1]):
        raise MatsightError(f"delta must be in (0, 1/k) = (0, {1.0 / x.shape[1]:.3g}), got {delta}")
    zero = x == 0
    z = zero.sum(axis=1, keepdims=True)
    return np.where(zero, delta, x * (1.0 - z * delta))


def clr(x) -> np.ndarray:
    """Centred log-ratio transform ``log x_j - mean_k log x_k`` of strictly positive compositions, shape (n, k)."""
    x = np.asarray(x, dtype=float)
    if np.any(x <= 0):
        raise MatsightError("clr needs strictly positive parts; replace zeros first (multiplicative_replacement)")
    lx = np.log(x)
    return lx - lx.mean(axis=1, keepdims=True)


def mendeleev_numbers(elements) -> np.ndarray:
    """Pettifor's Mendeleev numbers (as tabulated by pymatgen) of ``elements``."""
    from pymatgen.core import Element

    out = []
    for el in elements:
        try:
            out.append(float(Element(el).mendeleev_no))
        except (ValueError, KeyError, AttributeError, TypeError):
            raise MatsightError(f"{el!r} is not an element with a Mendeleev number") from None
    return np.asarray(out)


def composition_distances(at_percent, elements=None, distance: str = "euclidean", delta: float = 1e-5) -> np.ndarray:
    """Pairwise distances between compositions.

    Parameters
    ----------
    at_percent : array-like of shape (n, k)
        Atomic per cent (rows are closed to 100 first).
    elements : sequence of str, length k
        Element symbols; needed for ``"emd"``.
    distance : {"euclidean", "aitchison", "emd"}
        See the module docstring. Units: at %, dimensionless, Mendeleev-number units.
    delta : float
        Zero replacement of the Aitchison distance (fraction).

    Returns
    -------
    ndarray of shape (n, n)
        Symmetric, zero diagonal, non-negative.
    """
    from scipy.spatial.distance import pdist, squareform

    if distance not in DISTANCES:
        raise MatsightError(f"unknown distance {distance!r}; choose one of {', '.join(DISTANCES)}")
    x = _closed_fractions(at_percent)
    if distance == "euclidean":
        d = pdist(100.0 * x, "euclidean")
    elif distance == "aitchison":
        d = pdist(clr(multiplicative_replacement(x, delta)), "euclidean")
    else:
        if elements is None or len(elements) != x.shape[1]:
            raise MatsightError("the emd distance needs one element symbol per composition column")
        pos = mendeleev_numbers(elements)
        order = np.argsort(pos, kind="stable")
        cum = np.cumsum(x[:, order], axis=1)[:, :-1]
        gaps = np.diff(pos[order])
        # W1 = integral |F_a - F_b| dz = sum_m |C_am - C_bm| * gap_m
        d = pdist(cum * gaps, "cityblock")
    D = squareform(d)
    return 0.5 * (D + D.T)


def kdistances(D, k: int) -> np.ndarray:
    """Distance of each point to its ``k``-th nearest other point, shape (n,) (unsorted)."""
    D = np.asarray(D, dtype=float)
    n = D.shape[0]
    if not (1 <= k <= n - 1):
        raise MatsightError(f"k-distance needs 1 <= k <= n - 1 = {n - 1}, got k = {k}")
    masked = D + np.diag(np.full(n, np.inf))
    return np.partition(masked, k - 1, axis=1)[:, k - 1]


def knee_eps(kdist) -> tuple[float, int]:
    """The knee of a k-distance curve: ``(eps, index)`` in the ascending sorted curve.

    The point farthest below the chord of the normalised curve,
    ``argmax_i (i / (n - 1) - (y_i - y_0) / (y_{n-1} - y_0))``. If that value
    is 0 (duplicate compositions), the smallest positive k-distance is used.
    """
    y = np.sort(np.asarray(kdist, dtype=float))
    n = y.size
    if n < 3:
        raise MatsightError(f"auto-eps needs at least 3 points, got {n}")
    span = y[-1] - y[0]
    if span <= 0:
        if y[0] > 0:
            return float(y[0]), 0
        raise MatsightError("auto-eps: every k-distance is 0 (all compositions identical)")
    gap = np.arange(n) / (n - 1) - (y - y[0]) / span
    i = int(np.argmax(gap))
    if y[i] <= 0:
        i = int(np.flatnonzero(y > 0)[0])
    return float(y[i]), i


def dbscan_precomputed(D, eps: float, min_samples: int):
    """scikit-learn DBSCAN on a precomputed matrix: ``(labels, is_core)``, both shape (n,)."""
    from sklearn.cluster import DBSCAN

    _check_params(eps, min_samples)
    model = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit(D)
    core = np.zeros(D.shape[0], dtype=bool)
    core[model.core_sample_indices_] = True
    return model.labels_.astype(int), core


def _check_params(eps, min_samples):
    if eps is not None and not (np.isfinite(eps) and eps > 0):
        raise MatsightError(f"eps must be a positive number, got {eps}")
    if isinstance(min_samples, bool) or int(min_samples) != min_samples or min_samples < 1:
        raise MatsightError(f"min_samples must be an integer >= 1, got {min_samples}")


def adjusted_rand_vs(labels, reference) -> tuple[float, int]:
    """Adjusted Rand index of ``labels`` against ``reference`` on rows where the reference is known.

    Noise (-1) counts as one group of its own. Returns ``(ari, n_rows_used)``;
    ``ari`` is NaN if fewer than 2 rows have a reference.
    """
    from sklearn.metrics import adjusted_rand_score

    keep = [i for i, r in enumerate(reference) if r is not None and r == r]
    if len(keep) < 2:
        return float("nan"), len(keep)
    lab = np.asarray(labels)[keep]
    ref = np.asarray([str(reference[i]) for i in keep])
    return float(adjusted_rand_score(ref, lab)), len(keep)


@dataclass
class ClusterSummary:
    """One family: its label, members, mean composition (at %) and the reference labels among members."""

    label: int
    members: list
    mean_composition: dict
    n_core: int = 0
    reference_counts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"label": self.label, "members": list(self.members), "mean_composition": dict(self.mean_composition), "n_core": self.n_core}
        if self.reference_counts:
            d["reference_counts"] = self.reference_counts
        return d


@dataclass
class ClusteringResult:
    """DBSCAN families of compositions.

    Attributes
    ----------
    eps : float
        Neighbourhood radius, in the units of ``distance``.
    min_samples : int
        DBSCAN's ``min_samples`` (the point itself included).
    distance : str
        Name of the distance.
    names : list of str
    labels : ndarray of int, shape (n,)
        Cluster label per row in input order, -1 for noise.
    roles : list of str
        ``"core"``, ``"border"`` or ``"noise"`` per row.
    clusters : list of ClusterSummary
    auto_eps : bool
        Whether eps came from the k-distance knee.
    kdistance_sorted : ndarray of shape (n,)
        Sorted k-distances with ``k = min_samples - 1`` (empty if min_samples == 1).
    validation : dict
        Adjusted Rand index against each reference label column.
    """

    eps: float
    min_samples: int
    distance: str
    names: list
    labels: np.ndarray
    roles: list
    clusters: list
    elements: list
    auto_eps: bool = False
    kdistance_sorted: np.ndarray = field(default_factory=lambda: np.zeros(0))
    knee_index: int | None = None
    validation: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    distances: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)

    @property
    def n_noise(self) -> int:
        return int(np.sum(np.asarray(self.labels) < 0))

    def to_dict(self) -> dict:
        return {
            "eps": float(self.eps),
            "min_samples": int(self.min_samples),
            "distance": self.distance,
            "distance_unit": _UNITS.get(self.distance, ""),
            "auto_eps": bool(self.auto_eps),
            "n_clusters": self.n_clusters,
            "n_noise": self.n_noise,
            "n_core": int(sum(r == "core" for r in self.roles)),
            "n_border": int(sum(r == "border" for r in self.roles)),
            "names": list(self.names),
            "labels": [int(v) for v in self.labels],
            "roles": list(self.roles),
            "clusters": [c.to_dict() for c in self.clusters],
            "validation": dict(self.validation),
            "kdistance_sorted": [float(v) for v in self.kdistance_sorted],
            "data": dict(self.data),
        }


def cluster_compositions(
    compositions,
    distance: str = "euclidean",
    eps: float | None = None,
    min_samples: int = 5,
    delta: float = 1e-5,
    D=None,
) -> ClusteringResult:
    """Find families of compositions with DBSCAN on a composition distance matrix.

    Parameters
    ----------
    compositions : CompositionTable
        From :func:`matsight.learn._alloys.read_compositions` or
        :func:`~matsight.learn._alloys.superalloy_compositions` (not modified).
    distance : {"euclidean", "aitchison", "emd"}
    eps : float or None
        Neighbourhood radius in the distance's units; None chooses it at the
        knee of the k-distance curve (module docstring).
    min_samples : int
        DBSCAN ``min_samples``, the point itself included (>= 1; auto-eps
        needs >= 2). Default 5, scikit-learn's default.
    delta : float
        Zero replacement for ``"aitchison"``.
    D : array-like of shape (n, n), optional
        A precomputed distance matrix to use instead (validated).

    Returns
    -------
    ClusteringResult
        Clusters sorted by label; ``validation`` holds the adjusted Rand index
        against every reference column of ``compositions.labels``.
    """
    _check_params(eps, min_samples)
    min_samples = int(min_samples)
    names = list(compositions.names)
    x = np.asarray(compositions.at_percent, dtype=float)
    n = x.shape[0]
    if D is None:
        D = composition_distances(x, compositions.elements, distance, delta)
    D = check_distance_matrix(D)
    if D.shape[0] != n:
        raise MatsightError(f"distance matrix has {D.shape[0]} rows but there are {n} compositions")
    k = min_samples - 1
    kd_sorted, knee = np.zeros(0), None
    if k >= 1 and n > k:
        kd_sorted = np.sort(kdistances(D, k))
    auto = eps is None
    if auto:
        if k < 1:
            raise MatsightError("auto-eps needs min_samples >= 2 (k = min_samples - 1 >= 1)")
        if n <= k:
            raise MatsightError(f"auto-eps needs more than min_samples - 1 = {k} compositions, got {n}")
        eps, knee = knee_eps(kd_sorted)
    labels, core = dbscan_precomputed(D, float(eps), min_samples)
    roles = ["core" if c else ("noise" if lab < 0 else "border") for lab, c in zip(labels, core)]
    clusters = []
    for lab in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == lab)
        mean = x[idx].mean(axis=0)
        comp = {el: round(float(v), 4) for el, v in sorted(zip(compositions.elements, mean), key=lambda t: -t[1]) if v > 0}
        refs = {}
        for col, vals in compositions.labels.items():
            counts: dict = {}
            for i in idx:
                key = "unknown" if vals[i] is None else str(vals[i])
                counts[key] = counts.get(key, 0) + 1
            refs[col] = dict(sorted(counts.items(), key=lambda t: -t[1]))
        clusters.append(ClusterSummary(int(lab), [names[i] for i in idx], comp, int(core[idx].sum()), refs))
    validation = {}
    for col, vals in compositions.labels.items():
        ari, used = adjusted_rand_vs(labels, vals)
        clustered = [i for i in range(n) if labels[i] >= 0]
        ari_c, used_c = adjusted_rand_vs(labels[clustered], [vals[i] for i in clustered]) if clustered else (float("nan"), 0)
        validation[col] = {"ari": ari, "n_labelled": used, "ari_clustered_only": ari_c, "n_labelled_clustered": used_c}
    return ClusteringResult(
        eps=float(eps), min_samples=min_samples, distance=distance, names=names, labels=labels, roles=roles,
        clusters=clusters, elements=list(compositions.elements), auto_eps=auto, kdistance_sorted=kd_sorted,
        knee_index=knee, validation=validation, data=compositions.to_dict(), distances=D,
    )


class CompositionDBSCAN:
    """DBSCAN on a composition distance matrix, as a scikit-learn style estimator.

    Parameters
    ----------
    distance : {"euclidean", "aitchison", "emd"}
    eps : float or None
        None: the k-distance knee (module docstring).
    min_samples : int
    delta : float
        Zero replacement of the Aitchison distance.
    elements : sequence of str, optional
        Element symbols of the columns of ``X`` (needed for ``"emd"``).

    Attributes
    ----------
    eps_ : float
    labels_ : ndarray of int, shape (n,)
    core_sample_indices_ : ndarray of int
    roles_ : list of str
    distances_ : ndarray of shape (n, n)
    result_ : ClusteringResult
    """

    def __init__(self, distance="euclidean", eps=None, min_samples=5, delta=1e-5, elements=None):
        self.distance = distance
        self.eps = eps
        self.min_samples = min_samples
        self.delta = delta
        self.elements = elements

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in ("distance", "eps", "min_samples", "delta", "elements")}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self.get_params():
                raise MatsightError(f"CompositionDBSCAN has no parameter {k!r}")
            setattr(self, k, v)
        return self

    def fit(self, X, y=None):
        """Cluster the rows of ``X`` (array-like (n, k), at % or any non-negative amounts; not modified)."""
        from ._alloys import CompositionTable

        x = np.array(X, dtype=float)
        if x.ndim != 2:
            raise MatsightError(f"X must be a 2-D array (rows = alloys, columns = elements), got shape {x.shape}")
        k = x.shape[1]
        elements = list(self.elements) if self.elements is not None else [f"x{j}" for j in range(k)]
        if len(elements) != k:
            raise MatsightError(f"elements has {len(elements)} symbols but X has {k} columns")
        if self.distance == "emd" and self.elements is None:
            raise MatsightError("the emd distance needs one element symbol per composition column")
        closed = 100.0 * _closed_fractions(x, "X")
        table = CompositionTable([str(i) for i in range(len(x))], elements, closed)
        res = cluster_compositions(table, self.distance, self.eps, self.min_samples, self.delta)
        self.result_ = res
        self.eps_ = res.eps
        self.labels_ = res.labels
        self.core_sample_indices_ = np.flatnonzero(np.asarray(res.roles) == "core")
        self.roles_ = list(res.roles)
        self.distances_ = res.distances
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_


def mds_embedding(D, random_state: int = 0) -> np.ndarray:
    """2-D metric MDS (SMACOF, classical-MDS start) of a precomputed distance matrix, shape (n, 2)."""
    import inspect

    from sklearn.manifold import MDS

    D = check_distance_matrix(D)
    params = inspect.signature(MDS).parameters
    kw = {"n_components": 2, "random_state": random_state}
    if "init" in params and "metric_mds" in params:  # scikit-learn >= 1.8
        kw.update(metric="precomputed", init="classical_mds")
    else:
        kw.update(dissimilarity="precomputed", n_init=4)
    return MDS(**kw).fit_transform(D)


def plot_mds_map(result: ClusteringResult, ax, embedding=None, random_state: int = 0, max_legend: int = 12):
    """Draw the MDS map of ``result.distances`` on ``ax``: clusters in colour, noise as grey crosses."""
    emb = mds_embedding(result.distances, random_state) if embedding is None else np.asarray(embedding)
    labels = np.asarray(result.labels)
    noise = labels < 0
    ax.scatter(emb[noise, 0], emb[noise, 1], marker="x", s=14, c="0.6", lw=0.8, label=f"noise ({int(noise.sum())})")
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    for i, c in enumerate(result.clusters):
        m = labels == c.label
        core = m & np.asarray([r == "core" for r in result.roles])
        lab = f"{c.label}: {c.members[0].split(';')[0][:18]} ... ({len(c.members)})" if i < max_legend else None
        ax.scatter(emb[m, 0], emb[m, 1], s=16, color=cmap(i % 20), alpha=0.45, lw=0)
        ax.scatter(emb[core, 0], emb[core, 1], s=16, color=cmap(i % 20), lw=0, label=lab)
    unit = _UNITS.get(result.distance, "")
    ax.set_xlabel(f"MDS 1 [{unit}]")
    ax.set_ylabel(f"MDS 2 [{unit}]")
    ax.set_title(f"MDS map, {result.distance} distance: {result.n_clusters} clusters, {result.n_noise} noise")
    ax.legend(fontsize=6, loc="best", markerscale=1.2, frameon=False)
    return emb


def plot_kdistance(result: ClusteringResult, ax):
    """Draw the sorted k-distance curve with the chosen eps (and the knee) on ``ax``."""
    y = np.asarray(result.kdistance_sorted)
    k = result.min_samples - 1
    if y.size:
        ax.plot(np.arange(y.size), y, lw=1.2, color="C0", label=f"{k}-distance, sorted")
    ax.axhline(result.eps, color="C3", ls="--", lw=1, label=f"eps = {result.eps:.4g}" + (" (knee)" if result.auto_eps else ""))
    if result.knee_index is not None:
        ax.plot([result.knee_index], [y[result.knee_index]], "o", color="C3")
    ax.set_xlabel("compositions, sorted")
    ax.set_ylabel(f"distance to {k}-th nearest neighbour [{_UNITS.get(result.distance, '')}]")
    ax.set_title("k-distance curve")
    ax.legend(fontsize=8, frameon=False)


def plot_clustering(result: ClusteringResult, path, random_state: int = 0):
    """Write a two-panel PNG (MDS map, k-distance curve) to ``path`` atomically; returns the MDS embedding."""
    import matplotlib.pyplot as plt

    from ..report._plots import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [1.4, 1]})
    try:
        emb = plot_mds_map(result, axes[0], random_state=random_state)
        plot_kdistance(result, axes[1])
        fig.tight_layout()
        save_figure(fig, path, dpi=110, fmt="png")
    finally:
        plt.close(fig)
    return emb
