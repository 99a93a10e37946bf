"""One-pass leave-one-out k-NN against scikit-learn's n refits and a brute-force reference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import LeaveOneGroupOut, LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from matsight import MatsightError, datasets
from matsight.learn._classify import composition_features
from matsight.learn._neighbors import fold_weights, loo_kneighbors, loo_predict, tie_winners, vote



@pytest.fixture(autouse=True)
def _one_thread():
    """scikit-learn's per-fold OpenMP start-up dominates n refits on a shared 2-core machine."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield

@pytest.fixture(scope="module")
def topo_subsample():
    """300 rows of the topological dataset plus 40 duplicated rows.

    30 duplicates keep their label, 10 get the opposite label: the same
    composition with two labels, the hard case for distance ties (it occurs
    in the real data, where a formula has several space groups).
    """
    df = datasets.load("topological")
    rng = np.random.default_rng(0)
    sub = df.iloc[rng.choice(len(df), 300, replace=False)].reset_index(drop=True)
    dup = sub.iloc[rng.choice(300, 40, replace=False)].copy()
    flip = dup.index[:10]
    dup.loc[flip, "label"] = np.where(dup.loc[flip, "label"] == "trivial", "TI", "trivial")
    sub = pd.concat([sub, dup], ignore_index=True).sample(frac=1.0, random_state=1).reset_index(drop=True)
    X, _ = composition_features(sub["formula"].tolist(), "magpie")
    y = (sub["label"] != "trivial").to_numpy().astype(int)
    return X, y, sub["formula"].to_numpy()


def _brute(X, groups=None, W=None):
    """Reference: full (distance, index) order of every row, own group excluded."""
    n = len(X)
    g = np.arange(n) if groups is None else np.asarray(groups)
    out = []
    for i in range(n):
        w = np.ones(X.shape[1]) if W is None else W[i]
        d = (((X - X[i]) ** 2) * w).sum(axis=1)
        d[g == g[i]] = np.inf
        out.append((d, np.lexsort((np.arange(n), d))))
    return out


def _check_against_sklearn(ours, ref, X, y, k, groups=None, W=None):
    """Equal wherever scikit-learn's answer is tie-free; elsewhere sklearn's answer is admissible."""
    n_ambiguous = 0
    for i, (d, _) in enumerate(_brute(X, groups, W)):
        keep = np.isfinite(d)
        winners = tie_winners(d[keep], y[keep], k, 2)
        assert ref[i] in winners, (i, k)
        assert ours[i] in winners, (i, k)
        if len(winners) == 1:
            assert ours[i] == ref[i], (i, k)
        else:
            n_ambiguous += 1
    return n_ambiguous


@pytest.mark.parametrize("k", [1, 2, 5, 15])
def test_loo_predictions_equal_sklearn_cross_val_predict(topo_subsample, k):
    X, y, _ = topo_subsample
    Xs = StandardScaler().fit_transform(X)          # identical X for both
    ours = loo_predict(Xs, y, k)
    ref = cross_val_predict(KNeighborsClassifier(k), Xs, y, cv=LeaveOneOut())
    n_amb = _check_against_sklearn(ours, ref, Xs, y, k)
    # the flipped duplicates make a few samples genuinely ambiguous, the rest must agree
    assert n_amb <= 10
    assert (ours == ref).sum() >= len(y) - n_amb


@pytest.mark.parametrize("k", [1, 4])
def test_fold_standardisation_equals_sklearn_pipeline(topo_subsample, k):
    X, y, _ = topo_subsample
    X, y = X[:200], y[:200]
    ours = loo_predict(X, y, k, standardize="fold")
    ref = cross_val_predict(make_pipeline(StandardScaler(), KNeighborsClassifier(k)), X, y, cv=LeaveOneOut())
    _check_against_sklearn(ours, ref, X, y, k, W=fold_weights(X))


@pytest.mark.parametrize("k", [1, 5])
def test_group_loo_equals_sklearn_leave_one_group_out(topo_subsample, k):
    X, y, formulas = topo_subsample
    ours = loo_predict(X, y, k, groups=formulas, standardize="fold")
    ref = cross_val_predict(make_pipeline(StandardScaler(), KNeighborsClassifier(k)), X, y,
                            groups=formulas, cv=LeaveOneGroupOut())
    _check_against_sklearn(ours, ref, X, y, k, groups=formulas, W=fold_weights(X, formulas))
    _, ind = loo_kneighbors(X, k, groups=formulas, standardize="fold")
    assert not np.any(formulas[ind] == formulas[:, None])   # no neighbour from the own formula


def test_tie_rule_is_distance_then_index():
    # rows 1, 2, 3 are all at distance 1 from row 0; rows 4 and 5 duplicate row 0
    X = np.array([[0.0, 0], [1, 0], [0, 1], [-1, 0], [0, 0], [0, 0], [5, 5]])
    d, ind = loo_kneighbors(X, 4)
    assert ind[0].tolist() == [4, 5, 1, 2]
    assert d[0].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert ind[5].tolist() == [0, 4, 1, 2]
    # independent of chunking and of the shortlist length (pad 0 forces the full fallback)
    for chunk, pad in [(1, 0), (3, 1), (512, 16)]:
        d2, ind2 = loo_kneighbors(X, 4, chunk_size=chunk, shortlist_pad=pad)
        assert np.array_equal(ind2, ind) and np.array_equal(d2, d)


def test_matches_brute_force_on_random_data_with_groups_and_ties():
    rng = np.random.default_rng(3)
    base = rng.integers(0, 3, size=(60, 4)).astype(float)    # many exact distance ties
    X = np.vstack([base, base[:15]])
    groups = rng.integers(0, 25, size=len(X))        # few groups: per-fold exact metric
    many = np.arange(len(X)) % 70                       # 70 > 64 groups: global metric with slack
    for g in (None, groups, many):
        for std in (None, "fold"):
            W = None if std is None else fold_weights(X, g)
            ref = _brute(X, g, W)
            for chunk, pad in [(7, 0), (512, 16)]:
                d, ind = loo_kneighbors(X, 6, groups=g, standardize=std, chunk_size=chunk, shortlist_pad=pad)
                for i, (dist, order) in enumerate(ref):
                    assert ind[i].tolist() == order[:6].tolist(), (i, g is None, std, chunk)
                    np.testing.assert_allclose(d[i], dist[order[:6]], rtol=1e-12, atol=1e-12)


def test_fold_weights_equal_standard_scaler_per_fold():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30, 4)) * [1, 100, 1e-3, 1] + [0, 5e3, 2, 0]
    X[:, 3] = 0.0
    X[7, 3] = 1.0            # constant once row 7 is left out: sklearn uses scale 1 there
    groups = np.repeat(np.arange(10), 3)
    for g in (None, groups):
        W = fold_weights(X, g)
        for i in range(len(X)):
            train = np.ones(len(X), bool)
            if g is None:
                train[i] = False
            else:
                train[g == g[i]] = False
            scale = StandardScaler().fit(X[train]).scale_
            np.testing.assert_allclose(W[i], 1.0 / scale**2, rtol=1e-9)
    assert W[7, 3] == 1.0 and fold_weights(X)[0, 3] != 1.0


def test_vote_ties_go_to_the_smallest_class_like_sklearn():
    # every sample has one neighbour of each of two other classes (no distance tie)
    X = np.array([[0.0], [-1.0], [2.0]])
    y = np.array(["z", "b", "a"])
    ref = cross_val_predict(KNeighborsClassifier(2), X, y, cv=LeaveOneOut())
    ours = loo_predict(X, y, 2)
    assert ours.tolist() == ref.tolist() == ["a", "a", "b"]
    assert vote(np.array([[2, 1, 1, 2]]), 3, [1, 2, 3, 4]).ravel().tolist() == [2, 1, 1, 1]


def test_vote_for_many_k_equals_separate_votes():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 3, size=(50, 9))
    many = vote(codes, 3, range(1, 10))
    for k in range(1, 10):
        assert np.array_equal(many[k - 1], vote(codes[:, :k], 3))


def test_tie_winners():
    d = np.array([0.0, 1.0, 1.0, 2.0])
    lab = np.array([0, 1, 0, 1])
    assert tie_winners(d, lab, 2, 2) == {0}       # (0,1) tie -> class 0; (0,0) -> class 0
    assert tie_winners(d, lab, 3, 2) == {0}
    assert tie_winners(np.array([0.0, 1.0, 1.0]), np.array([1, 1, 0]), 2, 2) == {0, 1}


def test_bad_inputs():
    X = np.zeros((5, 2))
    X[:, 0] = np.arange(5)
    with pytest.raises(MatsightError, match="5 neighbours requested but only 4 samples are usable"):
        loo_kneighbors(X, 5)
    with pytest.raises(MatsightError, match="only 2 samples are usable .*largest group"):
        loo_kneighbors(X, 3, groups=[0, 0, 0, 1, 2])
    with pytest.raises(MatsightError, match="at least 1"):
        loo_kneighbors(X, 0)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(MatsightError, match="row 3"):
        loo_kneighbors(bad, 1)
    with pytest.raises(MatsightError, match="2-D"):
        loo_kneighbors(np.arange(5.0), 1)
    with pytest.raises(MatsightError, match="one entry per sample"):
        loo_kneighbors(X, 1, groups=[0, 1])
    with pytest.raises(MatsightError, match="standardize"):
        loo_kneighbors(X, 1, standardize="global")
    with pytest.raises(MatsightError, match="at least 2 samples"):
        loo_kneighbors(X[:1], 1)
