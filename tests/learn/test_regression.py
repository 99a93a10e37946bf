"""OLS and power-law regression against statsmodels, scikit-learn and closed forms."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matsight import MatsightError
from matsight.learn import OLSRegression, PowerLawRegression, regress


def _synthetic_linear(n=40, p=2, seed=0):
    """SYNTHETIC data: a known linear model plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * [1.0, 3.0][:p] + [0.5, -2.0][:p]
    y = 1.5 + X @ np.array([2.0, -0.7][:p]) + rng.normal(scale=0.8, size=n)
    return pd.DataFrame(X, columns=[f"f{j}" for j in range(p)]), pd.Series(y, name="target")


# --------------------------------------------------------------------------- OLS vs statsmodels


@pytest.mark.parametrize("p", [1, 2])
def test_ols_matches_statsmodels(p):
    import statsmodels.api as sm

    X, y = _synthetic_linear(p=p)
    est = OLSRegression().fit(X, y)
    ref = sm.OLS(y.to_numpy(), sm.add_constant(X.to_numpy())).fit()
    np.testing.assert_allclose(est.intercept_, ref.params[0], rtol=1e-10)
    np.testing.assert_allclose(est.coef_, ref.params[1:], rtol=1e-10)
    ci = ref.conf_int(alpha=0.05)
    np.testing.assert_allclose(est.intercept_ci_, ci[0], rtol=1e-10)
    np.testing.assert_allclose(est.coef_ci_, ci[1:], rtol=1e-10)
    np.testing.assert_allclose(est.coef_se_, ref.bse[1:], rtol=1e-10)
    np.testing.assert_allclose(est.r2_, ref.rsquared, rtol=1e-12)
    np.testing.assert_allclose(est.adj_r2_, ref.rsquared_adj, rtol=1e-12)
    np.testing.assert_allclose(est.sigma_, np.sqrt(ref.scale), rtol=1e-12)
    np.testing.assert_allclose(est.hat_, ref.get_influence().hat_matrix_diag, rtol=1e-10)
    assert est.dof_ == ref.df_resid
    # other levels, too
    est90 = OLSRegression(confidence=0.9).fit(X, y)
    np.testing.assert_allclose(est90.coef_ci_, ref.conf_int(alpha=0.1)[1:], rtol=1e-10)


def test_ols_prediction_and_confidence_intervals_match_statsmodels():
    import statsmodels.api as sm

    X, y = _synthetic_linear(p=2)
    est = OLSRegression().fit(X, y)
    ref = sm.OLS(y.to_numpy(), sm.add_constant(X.to_numpy())).fit()
    Xn = pd.DataFrame({"f0": [-1.0, 0.5, 4.0], "f1": [0.0, -2.0, 7.0]})
    frame = ref.get_prediction(sm.add_constant(Xn.to_numpy(), has_constant="add")).summary_frame(alpha=0.05)
    mean, lo, hi = est.predict(Xn, interval="prediction")
    np.testing.assert_allclose(mean, frame["mean"], rtol=1e-10)
    np.testing.assert_allclose(lo, frame["obs_ci_lower"], rtol=1e-10)
    np.testing.assert_allclose(hi, frame["obs_ci_upper"], rtol=1e-10)
    mean, lo, hi = est.predict(Xn, interval="confidence")
    np.testing.assert_allclose(lo, frame["mean_ci_lower"], rtol=1e-10)
    np.testing.assert_allclose(hi, frame["mean_ci_upper"], rtol=1e-10)
    np.testing.assert_allclose(est.predict(Xn), frame["mean"], rtol=1e-10)


def test_prediction_interval_closed_form_one_feature():
    """Textbook form: s * t * sqrt(1 + 1/n + (x0 - xbar)^2 / Sxx) (Draper & Smith eq. 3.1.7)."""
    from scipy import stats

    X, y = _synthetic_linear(p=1, n=25, seed=3)
    x = X["f0"].to_numpy()
    est = OLSRegression().fit(X, y)
    x0 = 2.5
    sxx = ((x - x.mean()) ** 2).sum()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / sxx
    s = np.sqrt(((y - (y.mean() + slope * (x - x.mean()))) ** 2).sum() / (len(x) - 2))
    half = stats.t.ppf(0.975, len(x) - 2) * s * np.sqrt(1 + 1 / len(x) + (x0 - x.mean()) ** 2 / sxx)
    mean, lo, hi = est.predict(pd.DataFrame({"f0": [x0]}), interval="prediction")
    np.testing.assert_allclose(est.coef_[0], slope, rtol=1e-10)
    np.testing.assert_allclose(hi - mean, half, rtol=1e-10)
    np.testing.assert_allclose(mean - lo, half, rtol=1e-10)


def test_loo_mae_closed_form_equals_explicit_refits_and_sklearn():
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    X, y = _synthetic_linear(p=2, n=30, seed=1)
    est = OLSRegression().fit(X, y)
    # explicit refit loop
    loo = np.empty(len(y))
    for i in range(len(y)):
        m = np.ones(len(y), bool)
        m[i] = False
        loo[i] = OLSRegression().fit(X[m], y[m]).predict(X[~m])[0]
    np.testing.assert_allclose(est.loo_predictions_, loo, rtol=1e-9, atol=1e-12)
    # scikit-learn's cross_val_predict with LeaveOneOut, both with its LinearRegression and with ours
    ref = cross_val_predict(LinearRegression(), X, y, cv=LeaveOneOut())
    np.testing.assert_allclose(est.loo_mae_, np.mean(np.abs(y - ref)), rtol=1e-9)
    ours = cross_val_predict(OLSRegression(), X, y, cv=LeaveOneOut())
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    # the no-feature baseline is scikit-learn's DummyRegressor(mean) under the same LOO
    from sklearn.dummy import DummyRegressor

    dummy = cross_val_predict(DummyRegressor(), X, y, cv=LeaveOneOut())
    np.testing.assert_allclose(est.loo_mae_baseline_, np.mean(np.abs(y - dummy)), rtol=1e-12)
    assert est.loo_mae_ < est.loo_mae_baseline_


def test_estimator_contract():
    from sklearn.base import clone

    X, y = _synthetic_linear()
    est = OLSRegression(confidence=0.9)
    assert est.fit(X, y) is est
    assert list(est.feature_names_in_) == ["f0", "f1"]
    c = clone(est)
    assert c.get_params() == {"confidence": 0.9} and not hasattr(c, "coef_")
    X0, y0 = X.copy(), y.copy()
    OLSRegression().fit(X, y)
    pd.testing.assert_frame_equal(X, X0)
    pd.testing.assert_series_equal(y, y0)
    np.testing.assert_allclose(est.score(X, y), est.r2_, rtol=1e-12)
    r = est.result().to_dict()
    assert set(r) >= {"n", "r2", "loo_mae", "intercept", "coefficients"}
    assert set(r["intercept"]) == {"value", "ci_low", "ci_high"}
    assert set(r["coefficients"]) == {"f0", "f1"}
    # numpy input: generic names, no feature_names_in_
    est2 = OLSRegression().fit(X.to_numpy(), y.to_numpy())
    assert not hasattr(est2, "feature_names_in_") and est2.result().features == ["x0", "x1"]


# --------------------------------------------------------------------------- power law


def test_power_law_recovers_known_exponents_on_synthetic_data():
    """SYNTHETIC data: y = 3.0 * x1^1.5 * x2^-0.5 with 2 % log-normal noise."""
    rng = np.random.default_rng(42)
    X = pd.DataFrame({"x1": rng.uniform(0.5, 5.0, 200), "x2": rng.uniform(1.0, 10.0, 200)})
    y = 3.0 * X["x1"] ** 1.5 * X["x2"] ** -0.5 * np.exp(rng.normal(scale=0.02, size=200))
    est = PowerLawRegression().fit(X, y)
    np.testing.assert_allclose(est.exponents_, [1.5, -0.5], atol=0.01)
    np.testing.assert_allclose(est.prefactor_, 3.0, rtol=0.01)
    assert est.exponents_ci_[0, 0] < 1.5 < est.exponents_ci_[0, 1]
    assert est.exponents_ci_[1, 0] < -0.5 < est.exponents_ci_[1, 1]
    assert est.prefactor_ci_[0] < 3.0 < est.prefactor_ci_[1]
    np.testing.assert_allclose(est.predict(pd.DataFrame({"x1": [2.0], "x2": [4.0]})), 3.0 * 2**1.5 / 2, rtol=0.02)


def test_power_law_matches_statsmodels_on_log_data():
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 3.0, 50)
    y = 0.7 * x**0.8 * np.exp(rng.normal(scale=0.3, size=50))
    est = PowerLawRegression().fit(x[:, None], y)
    ref = sm.OLS(np.log(y), sm.add_constant(np.log(x))).fit()
    ci = ref.conf_int(alpha=0.05)
    np.testing.assert_allclose(est.exponents_[0], ref.params[1], rtol=1e-10)
    np.testing.assert_allclose(est.exponents_ci_[0], ci[1], rtol=1e-10)
    np.testing.assert_allclose(est.prefactor_, np.exp(ref.params[0]), rtol=1e-10)
    np.testing.assert_allclose(est.prefactor_ci_, np.exp(ci[0]), rtol=1e-10)
    np.testing.assert_allclose(est.r2_, ref.rsquared, rtol=1e-12)
    frame = ref.get_prediction(np.array([[1.0, np.log(2.0)]])).summary_frame(alpha=0.05)
    mean, lo, hi = est.predict(np.array([[2.0]]), interval="prediction")
    np.testing.assert_allclose([mean[0], lo[0], hi[0]], np.exp(frame[["mean", "obs_ci_lower", "obs_ci_upper"]].to_numpy()[0]), rtol=1e-10)
    # LOO in original units: back-transformed log-space LOO predictions
    loo_log = np.array([
        sm.OLS(np.log(y)[np.arange(50) != i], sm.add_constant(np.log(x)[np.arange(50) != i])).fit().params @ [1, np.log(x[i])]
        for i in range(50)
    ])
    np.testing.assert_allclose(est.loo_mae_, np.mean(np.abs(y - np.exp(loo_log))), rtol=1e-9)
    np.testing.assert_allclose(est.loo_mae_log_, np.mean(np.abs(np.log(y) - loo_log)), rtol=1e-9)
    d = est.result().to_dict()
    assert d["r2_space"] == "log" and set(d["prefactor"]) == {"value", "ci_low", "ci_high"}


def test_power_law_refuses_non_positive_values_naming_column_and_count():
    X = pd.DataFrame({"rA": [1.0, 2.0, 3.0, 4.0, 5.0], "rB": [1.0, 0.0, -2.0, 1.0, 2.0]})
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], name="gap")
    with pytest.raises(MatsightError, match=r"feature 'rB' has 2 non-positive row\(s\) out of 5"):
        PowerLawRegression().fit(X, y)
    with pytest.raises(MatsightError, match=r"target 'gap' has 1 non-positive"):
        PowerLawRegression().fit(X[["rA"]], y.where(y != 3.0, 0.0))


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs_to_the_estimator():
    X, y = _synthetic_linear(n=10, p=2)
    with pytest.raises(MatsightError, match=r"too few rows \(n_samples = 3\) for 2 feature\(s\)"):
        OLSRegression().fit(X.iloc[:3], y.iloc[:3])
    OLSRegression().fit(X.iloc[:4], y.iloc[:4])  # n = p + 2 is the minimum
    with pytest.raises(MatsightError, match="feature 'c' is constant"):
        OLSRegression().fit(X.assign(c=1.0), y)
    with pytest.raises(MatsightError, match="linearly dependent"):
        OLSRegression().fit(X.assign(g=2 * X["f0"] - X["f1"]), y)
    with pytest.raises(MatsightError, match="column 'f1' has 1 missing"):
        OLSRegression().fit(X.assign(f1=X["f1"].where(X.index != 3)), y)
    with pytest.raises(MatsightError, match="target 'target' has 1 missing"):
        OLSRegression().fit(X, y.where(y.index != 2))
    with pytest.raises(MatsightError, match="column 's' is not numeric"):
        OLSRegression().fit(X.assign(s=["a"] * 10), y)
    with pytest.raises(MatsightError, match="constant"):
        OLSRegression().fit(X, pd.Series(np.ones(10)))
    with pytest.raises(MatsightError, match="confidence"):
        OLSRegression(confidence=95).fit(X, y)
    with pytest.raises(MatsightError, match="not fitted"):
        OLSRegression().predict(X)
    est = OLSRegression().fit(X, y)
    with pytest.raises(MatsightError, match="interval must be"):
        est.predict(X, interval="credible")
    with pytest.raises(MatsightError, match="f1"):
        est.predict(X[["f0"]])
    with pytest.raises(MatsightError, match="1 features, but OLSRegression is expecting 2"), pytest.warns(UserWarning):
        est.predict(X[["f0"]].to_numpy())
    with pytest.raises(MatsightError, match="X column 'f0' has 1 missing"):
        est.predict(X.assign(f0=np.nan).iloc[:1])


def _csv(tmp_path, text, name="t.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_regress_table_bad_inputs(tmp_path):
    good = _csv(tmp_path, "formula,x,y,s\nNaCl,1,2.1,a\nKBr,2,3.9,b\nMgO,3,6.2,c\nGaAs,4,8.1,d\n")
    with pytest.raises(MatsightError, match="no column 'zz'"):
        regress(good, target="y", features=["zz"])
    with pytest.raises(MatsightError, match="feature column 's' is not numeric"):
        regress(good, target="y", features=["s"])
    with pytest.raises(MatsightError, match="no target column"):
        regress(good, features=["x"])
    with pytest.raises(MatsightError, match="no regressor"):
        regress(good, target="y")
    with pytest.raises(MatsightError, match="empty"):
        regress(_csv(tmp_path, "", "e.csv"), target="y", features=["x"])
    with pytest.raises(MatsightError, match="too few rows"):
        regress(_csv(tmp_path, "x,y\n1,2\n2,3\n", "two.csv"), target="y", features=["x"])
    with pytest.raises(MatsightError, match="nope"):
        regress(good, target="y", descriptors=["nope"])
    with pytest.raises(MatsightError, match="more than once"):
        regress(good, target="y", features=["x", "x"])


def test_regress_drops_missing_rows_with_a_warning(tmp_path):
    p = _csv(tmp_path, "x,y\n1,2.0\n2,\n3,6.1\n4,8.0\n,9\n5,9.9\n")
    with pytest.warns(UserWarning, match="dropped 2 of 6 rows"):
        run = regress(p, target="y", features=["x"])
    assert run.result.n == 4 and run.n_rows_dropped == 2
    assert any("dropped 2 of 6" in n for n in run.notes)


def test_regress_with_descriptor_and_prediction(tmp_path):
    p = _csv(tmp_path, "formula,gap\nNaCl,8.5\nKBr,7.4\nGaAs,1.4\nSi1C1,2.4\nZnO,3.3\nCdTe,1.5\n")
    run = regress(p, target="gap", descriptors=["en_difference"], predict_formulas=["LiF"])
    from pymatgen.core import Element

    dx = [abs(Element(a).X - Element(b).X) for a, b in [("Na", "Cl"), ("K", "Br"), ("Ga", "As"), ("Si", "C"), ("Zn", "O"), ("Cd", "Te")]]
    np.testing.assert_allclose(run.X["en_difference"], dx, atol=1e-12)
    pred = run.predictions[0]
    assert pred["formula"] == "LiF" and pred["pi_low"] < pred["ci_low"] < pred["value"] < pred["ci_high"] < pred["pi_high"]
    np.testing.assert_allclose(pred["en_difference"], Element("F").X - Element("Li").X)


def test_fit_and_parity_plots(tmp_path):
    X, y = _synthetic_linear(p=1)
    df = X.assign(y=y)
    run = regress(df, target="y", features=["f0"])
    run.plot_fit(tmp_path / "fit.png")
    run.plot_parity(tmp_path / "parity.png")
    for f in ("fit.png", "parity.png"):
        assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit.png", "parity.png"]
    run2 = regress(_synthetic_linear(p=2)[0].assign(y=y), target="y", features=["f0", "f1"])
    with pytest.raises(MatsightError, match="exactly one feature"):
        run2.plot_fit(tmp_path / "no.png")


def test_scikit_learn_estimator_checks_pass():
    """scikit-learn's own contract checks (clone, idempotent fit, no input mutation, error types, ...)."""
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(OLSRegression(), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert len(results) > 40 and failed == []


def test_power_law_on_real_perovskite_radii_recovers_goldschmidt_structure():
    """Bartel et al. (2019) radii: t = (rA + rX) / (sqrt(2) (rB + rX)) is not a power law, but its
    log-linear approximation must have d ln t / d ln r_i close to the mean elasticities
    rA/(rA+rX), -rB/(rB+rX) and rX/(rA+rX) - rX/(rB+rX) of the exact formula."""
    from matsight import datasets

    df = datasets.load("perovskites")
    cols = ["rA (Ang)", "rB (Ang)", "rX (Ang)"]
    est = PowerLawRegression().fit(df[cols], df["t"])
    rA, rB, rX = (df[c] for c in cols)
    elasticities = [np.mean(rA / (rA + rX)), -np.mean(rB / (rB + rX)), np.mean(rX / (rA + rX) - rX / (rB + rX))]
    assert est.exponents_[0] > 0 > est.exponents_[1] and est.exponents_[2] < 0
    np.testing.assert_allclose(est.exponents_, elasticities, atol=0.08)
    assert est.r2_ > 0.95 and est.loo_mae_ < 0.25 * est.loo_mae_baseline_
