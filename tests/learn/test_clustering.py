"""Alloy families: wt -> at %, composition distances, DBSCAN roles, auto-eps.

References: pymatgen's Composition.from_weight_dict (wt -> at), the closed-form
Aitchison distance, scipy.stats.wasserstein_distance (1-D EMD), scikit-learn's
DBSCAN, NearestNeighbors and adjusted_rand_score.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matsight import MatsightError
from matsight.learn._alloys import read_compositions, superalloy_compositions, wt_to_at_percent
from matsight.learn._clustering import (
    adjusted_rand_vs,
    check_distance_matrix,
    clr,
    cluster_compositions,
    composition_distances,
    kdistances,
    knee_eps,
    mds_embedding,
    mendeleev_numbers,
    multiplicative_replacement,
)


@pytest.fixture(scope="module")
def alloys():
    return superalloy_compositions()


def _random_compositions(rng, n=12, k=6, zeros=True):
    x = rng.dirichlet(np.ones(k), size=n) * 100
    if zeros:
        x[rng.random((n, k)) < 0.3] = 0.0
        x[:, 0] += 1.0  # keep every row positive
    return x


# --- data preparation -------------------------------------------------------------

def test_wt_to_at_matches_pymatgen():
    from pymatgen.core import Composition

    rng = np.random.default_rng(0)
    els = ["Ni", "Cr", "Co", "Al", "Ti", "W", "B"]
    w = rng.dirichlet(np.ones(len(els)), size=5) * 100
    at = wt_to_at_percent(w, els)
    for row_w, row_at in zip(w, at):
        ref = Composition.from_weight_dict(dict(zip(els, row_w))).fractional_composition
        np.testing.assert_allclose(row_at, [100 * ref[e] for e in els], rtol=1e-9)
    # Ni3Al: 13.28 wt % Al is 25 at % Al
    w_al = 100 * 26.9815386 / (3 * 58.6934 + 26.9815386)
    np.testing.assert_allclose(wt_to_at_percent([100 - w_al, w_al], ["Ni", "Al"]), [75.0, 25.0], rtol=1e-6)


def test_superalloy_reduction(alloys):
    from matsight import datasets

    raw = datasets.load("superalloys")
    assert alloys.n_source_rows == 2800 and len(alloys) == 422
    np.testing.assert_allclose(alloys.at_percent.sum(axis=1), 100.0)
    # independent count of distinct compositions with pandas: Ni as balance, blank -> 0, '*' stripped
    wt_cols = [c for c in raw.columns if c.startswith("wt_")]
    w = raw[wt_cols].apply(lambda s: pd.to_numeric(s.astype(str).str.rstrip("*"), errors="coerce")).fillna(0.0)
    w["wt_Ni"] = 100 - w.drop(columns="wt_Ni").sum(axis=1)
    assert len(w.round(4).drop_duplicates()) == 422
    # every alloy name of the data appears, and shared compositions keep all names
    listed = {n for joined in alloys.names for n in joined.split("; ")}
    assert listed == set(raw["name"].astype(str))
    assert "Nimonic 75; Nimonic075" in alloys.names
    assert all(len(v) == 422 for v in alloys.labels.values())
    # no two rows share a composition
    assert len(np.unique(np.round(alloys.at_percent, 8), axis=0)) == 422


def test_superalloy_balance_and_blank_cells(alloys):
    from pymatgen.core import Composition

    i = alloys.names.index("Unnamedalloy28")  # listed with 126.8 wt % in total
    els = alloys.elements
    wt = {"Al": 1.49, "C": 0.006, "Co": 19.2, "Cr": 24.25, "Mo": 1.44, "Nb": 1.08, "Ti": 2.93}
    wt["Ni"] = 100 - sum(wt.values())
    ref = Composition.from_weight_dict(wt).fractional_composition
    np.testing.assert_allclose(alloys.at_percent[i], [100 * ref[e] for e in els], atol=1e-9)
    j = alloys.names.index("Unnamedalloy2")  # Nb and Ti given as '2*' (varied amount)
    assert alloys.at_percent[j, els.index("Nb")] > 0 and alloys.at_percent[j, els.index("Ti")] > 0
    kept = superalloy_compositions(balance=None)
    assert len(kept) == 424


def test_read_compositions_at_and_wt(tmp_path):
    df = pd.DataFrame({"name": ["a", "b"], "at_Ni": [3.0, 50.0], "at_Al": [1.0, None]})
    before = df.copy()
    t = read_compositions(df)
    pd.testing.assert_frame_equal(df, before)  # caller's frame untouched
    np.testing.assert_allclose(t.at_percent, [[75.0, 25.0], [100.0, 0.0]])
    assert t.names == ["a", "b"] and t.basis == "at"
    p = tmp_path / "w.csv"
    pd.DataFrame({"alloy": ["x"], "wt_Ni": [86.72], "wt_Al": [13.28]}).to_csv(p, index=False)
    t = read_compositions(p)
    assert t.names == ["x"] and t.basis == "wt"
    np.testing.assert_allclose(t.at_percent[0], [75.01, 24.99], atol=0.01)


@pytest.mark.parametrize(
    "frame, message",
    [
        ({"name": ["a"], "Ni": [1.0]}, "no composition columns"),
        ({"name": ["a"], "wt_Ni": [50.0], "at_Cr": [50.0]}, "mixes wt_ and at_"),
        ({"name": ["a"], "wt_Ni": [50.0], "wt_Xx": [50.0]}, "'Xx' is not a chemical element"),
        ({"name": ["a", "zero"], "at_Ni": [50.0, 0.0], "at_Cr": [50.0, 0.0]}, "row 'zero' does not sum to a positive total"),
        ({"name": ["a", "neg"], "at_Ni": [50.0, 60.0], "at_Cr": [50.0, -1.0]}, "row 'neg' has a negative"),
        ({"name": ["a", "txt"], "at_Ni": ["50", "lots"], "at_Cr": [50.0, 1.0]}, "row 'txt' has a non-numeric at_Ni"),
    ],
)
def test_read_compositions_errors(frame, message):
    with pytest.raises(MatsightError, match=message):
        read_compositions(pd.DataFrame(frame))


# --- distances -------------------------------------------------------------------

def test_euclidean_distance_in_at_percent():
    rng = np.random.default_rng(1)
    x = _random_compositions(rng)
    D = composition_distances(x, distance="euclidean")
    xc = 100 * x / x.sum(axis=1, keepdims=True)
    ref = np.linalg.norm(xc[:, None, :] - xc[None, :, :], axis=-1)
    np.testing.assert_allclose(D, ref, atol=1e-10)


def test_aitchison_matches_closed_form_and_is_scale_invariant():
    rng = np.random.default_rng(2)
    x = _random_compositions(rng, zeros=False)
    D = composition_distances(x, distance="aitchison")
    k = x.shape[1]
    lr = np.log(x[:, :, None] / x[:, None, :])  # ln(x_i / x_j)
    ref = np.sqrt(((lr[:, None] - lr[None, :]) ** 2).sum(axis=(-1, -2)) / (2 * k))
    np.testing.assert_allclose(D, ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(composition_distances(x * rng.uniform(0.1, 10, (len(x), 1)), distance="aitchison"), D, atol=1e-10)


def test_multiplicative_replacement_properties():
    x = np.array([[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    r = multiplicative_replacement(x, delta=1e-3)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    np.testing.assert_allclose(r[0], [0.5 * (1 - 2e-3), 0.5 * (1 - 2e-3), 1e-3, 1e-3])
    np.testing.assert_allclose(r[1], x[1])
    np.testing.assert_allclose(clr(r).sum(axis=1), 0.0, atol=1e-12)
    with pytest.raises(MatsightError, match="delta"):
        multiplicative_replacement(x, delta=0.5)
    with pytest.raises(MatsightError, match="strictly positive"):
        clr(x)


def test_emd_matches_scipy_wasserstein():
    from scipy.stats import wasserstein_distance

    els = ["Ni", "Cr", "Co", "Al", "Ti", "Nb", "Ta", "Mo"]
    rng = np.random.default_rng(3)
    x = _random_compositions(rng, n=10, k=len(els))
    D = composition_distances(x, els, distance="emd")
    pos = mendeleev_numbers(els)
    for i in range(len(x)):
        for j in range(len(x)):
            ref = wasserstein_distance(pos, pos, u_weights=x[i], v_weights=x[j])
            assert D[i, j] == pytest.approx(ref, abs=1e-10)
    # Nb -> Ta is a short move on Pettifor's scale (53 -> 52); Ni -> Mo a long one (67 -> 56)
    d = composition_distances([[50, 50, 0, 0], [50, 0, 50, 0], [0, 50, 0, 50], [0, 0, 50, 50]], ["Ni", "Nb", "Ta", "Mo"], "emd")
    assert d[0, 1] == pytest.approx(0.5 * 1)  # half the atoms move Nb -> Ta
    assert d[0, 2] == pytest.approx(0.5 * 11)  # half move Ni -> Mo
    assert d[0, 3] == pytest.approx(0.5 * 1 + 0.5 * 11)  # Nb -> Ta and Ni -> Mo


def test_distance_errors():
    x = np.array([[50.0, 50.0], [20.0, 80.0]])
    with pytest.raises(MatsightError, match="unknown distance 'cosine'"):
        composition_distances(x, distance="cosine")
    with pytest.raises(MatsightError, match="needs one element symbol"):
        composition_distances(x, distance="emd")
    with pytest.raises(MatsightError, match="row 1 does not sum"):
        composition_distances([[1.0, 0.0], [0.0, 0.0]])


@pytest.mark.parametrize(
    "D, message",
    [
        (np.zeros((2, 3)), "square"),
        (np.zeros(3), "square"),
        (np.zeros((0, 0)), "square"),
        (np.array([[0.0, 1.0], [2.0, 0.0]]), "not symmetric"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), "negative entry"),
        (np.array([[0.0, np.nan], [np.nan, 0.0]]), "non-finite"),
        (np.array([[1.0, 1.0], [1.0, 0.0]]), "non-zero diagonal"),
        ([["a", "b"], ["c", "d"]], "not numeric"),
    ],
)
def test_check_distance_matrix_rejects(D, message):
    with pytest.raises(MatsightError, match=message):
        check_distance_matrix(D)


def test_check_distance_matrix_returns_copy():
    D = np.array([[0.0, 1.0], [1.0, 0.0]])
    out = check_distance_matrix(D)
    out[0, 1] = 5
    assert D[0, 1] == 1.0


# --- k-distance and knee ---------------------------------------------------------

def test_kdistances_match_nearest_neighbors(alloys):
    from sklearn.neighbors import NearestNeighbors

    D = composition_distances(alloys.at_percent, alloys.elements, "euclidean")
    for k in (1, 4):
        nn = NearestNeighbors(n_neighbors=k + 1).fit(alloys.at_percent)
        ref = nn.kneighbors(alloys.at_percent)[0][:, k]
        np.testing.assert_allclose(kdistances(D, k), ref, atol=1e-9)
    with pytest.raises(MatsightError, match="1 <= k"):
        kdistances(D, 0)


def test_knee_is_the_corner_of_a_hockey_stick():
    y = 1.0 + np.maximum(0, np.arange(100) - 60) * 2.0  # flat at 1 until index 60, then linear
    eps, i = knee_eps(np.random.default_rng(0).permutation(y))
    assert i == 60 and eps == 1.0
    # hand-computed: x = [0, .25, .5, .75, 1], u = [0, .05, .1, .2, 1] -> x - u max at index 3
    assert knee_eps([0.0, 0.5, 1.0, 2.0, 10.0]) == (2.0, 3)
    assert knee_eps([3.0, 3.0, 3.0]) == (3.0, 0)
    with pytest.raises(MatsightError, match="every k-distance is 0"):
        knee_eps([0.0, 0.0, 0.0])
    with pytest.raises(MatsightError, match="at least 3"):
        knee_eps([1.0, 2.0])


# --- DBSCAN ----------------------------------------------------------------------

@pytest.mark.parametrize("distance", ["euclidean", "aitchison", "emd"])
def test_labels_identical_to_sklearn_dbscan(alloys, distance):
    from sklearn.cluster import DBSCAN

    res = cluster_compositions(alloys, distance=distance)
    D = composition_distances(alloys.at_percent, alloys.elements, distance)
    ref = DBSCAN(eps=res.eps, min_samples=res.min_samples, metric="precomputed").fit(D)
    np.testing.assert_array_equal(res.labels, ref.labels_)
    core = set(ref.core_sample_indices_.tolist())
    for i, (lab, role) in enumerate(zip(res.labels, res.roles)):
        expected = "core" if i in core else ("noise" if lab == -1 else "border")
        assert role == expected
    # core exactly when the (min_samples - 1)-distance is within eps
    kd = kdistances(D, res.min_samples - 1)
    np.testing.assert_array_equal(np.array(res.roles) == "core", kd <= res.eps)
    assert res.auto_eps and res.eps == pytest.approx(np.sort(kd)[res.knee_index])


def test_euclidean_labels_match_dbscan_on_raw_at_percent(alloys):
    from sklearn.cluster import DBSCAN

    res = cluster_compositions(alloys, distance="euclidean", eps=4.0, min_samples=4)
    ref = DBSCAN(eps=4.0, min_samples=4).fit(alloys.at_percent)
    np.testing.assert_array_equal(res.labels, ref.labels_)
    assert not res.auto_eps


def test_clusters_members_and_means(alloys):
    res = cluster_compositions(alloys)
    assert sum(len(c.members) for c in res.clusters) + res.n_noise == len(alloys)
    for c in res.clusters:
        idx = np.flatnonzero(res.labels == c.label)
        assert c.members == [alloys.names[i] for i in idx]
        mean = alloys.at_percent[idx].mean(axis=0)
        for el, v in c.mean_composition.items():
            assert v == pytest.approx(mean[alloys.elements.index(el)], abs=1e-4)
        assert sum(c.mean_composition.values()) == pytest.approx(100.0, abs=0.01)
    d = res.to_dict()
    assert set(d) >= {"eps", "min_samples", "distance", "names", "labels", "roles", "clusters"}


def test_superalloy_families_relate_to_precipitate_not_to_powder(alloys):
    from sklearn.metrics import adjusted_rand_score

    res = cluster_compositions(alloys)
    prec = alloys.labels["strengthening_precipitate_phase"]
    known = [i for i, p in enumerate(prec) if p is not None]
    ari = adjusted_rand_score([prec[i] for i in known], res.labels[known])
    v = res.validation["strengthening_precipitate_phase"]
    assert v["ari"] == pytest.approx(ari) and v["n_labelled"] == len(known) == 267
    assert v["ari"] > 0.4  # families track gamma' / gamma'' / solid solution
    assert abs(res.validation["powder_processed"]["ari"]) < 0.1
    # the Nb-rich 718-type family is mostly gamma-double-prime
    i718 = next(i for i, n in enumerate(alloys.names) if n == "Inconel 718")
    fam = next(c for c in res.clusters if c.label == res.labels[i718])
    counts = fam.reference_counts["strengthening_precipitate_phase"]
    assert max((k for k in counts if k != "unknown"), key=counts.get) == "DoublePrime"
    assert fam.mean_composition["Nb"] > 2.5


def test_adjusted_rand_vs_skips_unknown():
    ari, n = adjusted_rand_vs([0, 0, 1, 1, -1], ["a", "a", "b", None, "b"])
    from sklearn.metrics import adjusted_rand_score

    assert n == 4 and ari == pytest.approx(adjusted_rand_score(["a", "a", "b", "b"], [0, 0, 1, -1]))
    assert np.isnan(adjusted_rand_vs([0, 1], [None, "a"])[0])


def test_separated_blobs_and_an_outlier():
    rng = np.random.default_rng(4)
    centres = np.array([[80, 15, 5], [50, 20, 30], [30, 60, 10]], dtype=float)
    x = np.vstack([c + rng.normal(0, 0.5, (15, 3)) for c in centres] + [np.array([[5.0, 5.0, 90.0]])])
    from matsight.learn._alloys import CompositionTable

    t = CompositionTable([f"a{i}" for i in range(len(x))], ["Ni", "Cr", "Al"], 100 * x / x.sum(1, keepdims=True))
    res = cluster_compositions(t, min_samples=4)
    assert res.n_clusters == 3 and res.labels[-1] == -1 and res.roles[-1] == "noise"
    for b in range(3):
        assert len(set(res.labels[15 * b:15 * (b + 1)])) == 1
    res1 = cluster_compositions(t, eps=1e-9, min_samples=1)  # every point is its own core
    assert res1.n_clusters == len(x) and set(res1.roles) == {"core"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"eps": 0.0}, "eps must be a positive number"),
        ({"eps": -1.0}, "eps must be a positive number"),
        ({"eps": float("nan")}, "eps must be a positive number"),
        ({"min_samples": 0}, "min_samples must be an integer >= 1"),
        ({"min_samples": 2.5}, "min_samples must be an integer >= 1"),
        ({"min_samples": 1}, "auto-eps needs min_samples >= 2"),
        ({"distance": "manhattan"}, "unknown distance"),
        ({"D": np.ones((3, 3))}, "non-zero diagonal"),
        ({"D": np.zeros((2, 2))}, "2 rows but there are 3"),
    ],
)
def test_cluster_bad_input(kwargs, message):
    from matsight.learn._alloys import CompositionTable

    t = CompositionTable(["a", "b", "c"], ["Ni", "Cr"], np.array([[80.0, 20.0], [79.0, 21.0], [50.0, 50.0]]))
    with pytest.raises(MatsightError, match=message):
        cluster_compositions(t, **kwargs)


def test_mds_embedding_preserves_distances(alloys):
    from scipy.stats import spearmanr

    D = composition_distances(alloys.at_percent[:80], alloys.elements, "euclidean")
    emb = mds_embedding(D, random_state=0)
    assert emb.shape == (80, 2)
    np.testing.assert_allclose(mds_embedding(D, random_state=0), emb)
    iu = np.triu_indices(80, 1)
    d2 = np.linalg.norm(emb[:, None] - emb[None], axis=-1)[iu]
    assert spearmanr(D[iu], d2).statistic > 0.9


def test_tour_section(tmp_path):
    from matsight.learn._tour_cluster import section

    sec = section(tmp_path, random_state=0)
    assert sec.key == "clustering"
    for f in sec.figures:
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"
    assert sec.data["n_clusters"] == int(sec.summary["clusters"]) >= 3
    assert sec.data["n_noise"] == int(sec.summary["noise"])
    assert "ARI vs precipitate" in sec.summary and "<table>" in sec.html


def test_estimator_contract(alloys):
    from sklearn.base import clone
    from sklearn.cluster import DBSCAN

    from matsight.learn._clustering import CompositionDBSCAN

    est = CompositionDBSCAN(distance="emd", min_samples=4, elements=alloys.elements)
    assert clone(est).get_params() == est.get_params()
    X = alloys.at_percent.copy()
    assert est.fit(X) is est
    np.testing.assert_array_equal(X, alloys.at_percent)  # input untouched
    ref = DBSCAN(eps=est.eps_, min_samples=4, metric="precomputed").fit(
        composition_distances(alloys.at_percent, alloys.elements, "emd")
    )
    np.testing.assert_array_equal(est.labels_, ref.labels_)
    np.testing.assert_array_equal(est.core_sample_indices_, ref.core_sample_indices_)
    with pytest.raises(MatsightError, match="needs one element symbol"):
        CompositionDBSCAN(distance="emd").fit(X)
    with pytest.raises(MatsightError, match="no parameter 'foo'"):
        est.set_params(foo=1)
