"""``matsight regress`` and ``matsight bandgap``: the JSON contract, tables, plots and errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _est_keys(d):
    return set(d) == {"value", "ci_low", "ci_high"} and d["ci_low"] <= d["value"] <= d["ci_high"]


def test_regress_json_contract_on_a_csv(cli, tmp_path):
    import statsmodels.api as sm

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=30), "b": rng.normal(size=30)})
    df["y"] = 1.0 + 2.0 * df["a"] - 0.5 * df["b"] + rng.normal(scale=0.3, size=30)
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    r = cli(["regress", path, "--target", "y", "--feature", "a", "--feature", "b", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert {"n", "r2", "loo_mae", "intercept", "coefficients"} <= set(d)
    assert d["n"] == 30 and set(d["coefficients"]) == {"a", "b"}
    assert _est_keys(d["intercept"]) and all(_est_keys(v) for v in d["coefficients"].values())
    ref = sm.OLS(df["y"], sm.add_constant(df[["a", "b"]])).fit()
    np.testing.assert_allclose(d["coefficients"]["a"]["value"], ref.params["a"], rtol=1e-10)
    np.testing.assert_allclose([d["intercept"]["ci_low"], d["intercept"]["ci_high"]], ref.conf_int().loc["const"], rtol=1e-10)
    np.testing.assert_allclose(d["r2"], ref.rsquared, rtol=1e-12)


def test_regress_power_law_json_contract(cli):
    r = cli(["regress", "perovskites", "--target", "rX (Ang)", "--feature", "rA (Ang)", "--feature", "rB (Ang)", "--power-law", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert {"n", "r2", "loo_mae", "prefactor", "exponents"} <= set(d) and d["r2_space"] == "log"
    assert d["n"] == 576 and _est_keys(d["prefactor"]) and set(d["exponents"]) == {"rA (Ang)", "rB (Ang)"}


def test_band_gap_shortcut_and_bandgap_command_agree(cli, tmp_path):
    r = cli(["regress", "band_gaps", "--descriptor", "en_difference", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert d["preparation"]["dataset"] == "band_gaps" and d["n"] == d["preparation"]["counts"]["n_compounds"]
    assert "binary compounds" in d["notes"][0]
    r2 = cli(["bandgap", "--json", "--predict", "MgS"])
    assert r2.code == 0, r2.err
    d2 = r2.json()
    assert d2["coefficients"] == d["coefficients"] and d2["n"] == d["n"]
    assert d2["predictions"][0]["formula"] == "MgS"
    # human-readable output says what was done to the data and writes the plots
    r3 = cli(["regress", "band_gaps", "--descriptor", "en_difference", "--plot", tmp_path / "fit.png",
              "--parity-plot", tmp_path / "parity.png", "--predict", "MgS"])
    assert r3.code == 0, r3.err
    assert "binary compounds" in r3.out and "slope of en_difference" in r3.out and "MgS" in r3.out
    assert "R² =" in r3.out and "leave-one-out MAE" in r3.out
    for f in ("fit.png", "parity.png"):
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"


def test_bandgap_room_temperature_window_is_used(cli):
    default = cli(["bandgap", "--json"]).json()["preparation"]
    wide = cli(["bandgap", "--json", "--room-temperature-K", "200", "400"]).json()["preparation"]
    assert wide["room_temperature_K"] == [200.0, 400.0]
    assert wide["counts"]["n_compounds_room_temperature"] > default["counts"]["n_compounds_room_temperature"]


def test_bandgap_power_law_text(cli):
    r = cli(["bandgap", "--power-law"])
    assert r.code == 0, r.err
    assert "exponent of en_difference" in r.out and "log space" in r.out and "ReSi2" in r.out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["regress", "{good}", "--target", "y", "--feature", "zz"], "no column 'zz'"),
        (["regress", "{good}", "--target", "y", "--feature", "s"], "feature column 's' is not numeric"),
        (["regress", "{good}", "--feature", "x"], "no target column"),
        (["regress", "{good}", "--target", "y"], "no regressor"),
        (["regress", "{empty}", "--target", "y", "--feature", "x"], "is empty"),
        (["regress", "{good}", "--target", "y", "--feature", "c"], "feature 'c' is constant"),
        (["regress", "{good}", "--target", "y", "--descriptor", "nope"], "nope"),
        (["regress", "{good}", "--target", "y", "--feature", "neg", "--power-law"], "feature 'neg' has 2 non-positive"),
        (["regress", "{small}", "--target", "y", "--feature", "x"], "too few rows"),
        (["regress", "missing.csv", "--target", "y", "--feature", "x"], "neither an existing file"),
        (["bandgap", "--confidence", "1.5"], "confidence must lie strictly between 0 and 1"),
        (["bandgap", "--room-temperature-K", "400", "200"], "low <= high"),
        (["regress", "band_gaps", "--descriptor", "en_difference", "--raw"], "In1p1"),
    ],
)
def test_regress_errors_exit_2_with_one_line(cli, tmp_path, argv, message):
    good = tmp_path / "good.csv"
    good.write_text("formula,x,y,s,c,neg\nNaCl,1,2.1,a,1,-1\nKBr,2,3.9,b,1,0\nMgO,3,6.2,c,1,2\nGaAs,4,8.1,d,1,3\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "small.csv").write_text("x,y\n1,2\n2,3\n")
    paths = {"good": good, "empty": tmp_path / "empty.csv", "small": tmp_path / "small.csv"}
    r = cli([a.format(**paths) for a in argv])
    assert r.code == 2
    assert message in r.err and "Traceback" not in r.err + r.out
    assert len(r.err.strip().splitlines()) == 1


def test_missing_values_are_dropped_and_reported(cli, tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("x,y\n1,2.0\n2,\n3,6.1\n4,8.0\n5,9.9\n")
    r = cli(["regress", p, "--target", "y", "--feature", "x", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert d["n"] == 4 and d["n_rows_dropped"] == 1 and "dropped 1 of 5 rows" in d["notes"][0]
