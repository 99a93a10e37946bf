"""The vectorised Magpie featurizer against matminer, closed forms and bad inputs."""
from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from matsight import MatsightError, datasets
from matsight.composition import CompositionFeaturizer, compute_descriptor, descriptor_names, featurize

matminer_composite = pytest.importorskip("matminer.featurizers.composition")
from pymatgen.core import Composition  # noqa: E402

ATOL = 1e-6


def _matminer(featurizer, formulas) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.array([featurizer.featurize(Composition(f)) for f in formulas], dtype=float)


@pytest.fixture(scope="module")
def magpie_ref():
    return matminer_composite.ElementProperty.from_preset("magpie")


@pytest.fixture(scope="module")
def formulas_sample():
    """Every distinct formula of band_gaps, perovskites and expt_gap, plus random
    samples of topological (1500), expt_is_metal (800) and mp_e_form (3000): about 10 500 formulas."""
    rng = np.random.default_rng(0)
    out = []
    out += datasets.load("band_gaps")["formula"].unique().tolist()
    out += datasets.load("perovskites")["ABX3"].unique().tolist()
    out += datasets.load("expt_gap")["formula"].unique().tolist()
    for name, k in (("topological", 1500), ("expt_is_metal", 800), ("mp_e_form", 3000)):
        u = datasets.load(name)["formula"].unique()
        out += rng.choice(u, size=k, replace=False).tolist()
    good, unparseable = [], []
    for f in dict.fromkeys(out):
        try:
            Composition(f)
        except Exception:  # matminer cannot featurize what pymatgen cannot parse
            unparseable.append(f)
        else:
            good.append(f)
    assert unparseable == ["In1p1"]  # one typo in band_gaps (lower-case p)
    for f in unparseable:
        with pytest.raises(MatsightError, match=f"cannot parse formula '{f}'"):
            featurize([f])
    return good


def assert_same(ours, ref):
    assert ours.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    diff = np.abs(np.nan_to_num(ours) - np.nan_to_num(ref))
    assert diff.max() <= ATOL, f"max abs difference {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"


# --------------------------------------------------------------------------- matminer agreement
def test_labels_and_order_are_matminers(magpie_ref):
    assert descriptor_names() == magpie_ref.feature_labels()
    assert len(descriptor_names()) == 132
    stoich = matminer_composite.Stoichiometry()
    assert descriptor_names(None, ["p_norms"]) == stoich.feature_labels()
    names = CompositionFeaturizer(extras=("en_difference", "p_norms")).get_feature_names_out()
    assert list(names[:132]) == magpie_ref.feature_labels()
    assert list(names[132:]) == ["pauling_en_difference", *stoich.feature_labels()]


def test_magpie_agrees_with_matminer_on_bundled_datasets(magpie_ref, formulas_sample):
    assert len(formulas_sample) > 10000
    ours = CompositionFeaturizer().fit(formulas_sample).transform(formulas_sample)
    assert_same(ours, _matminer(magpie_ref, formulas_sample))


def test_extras_agree_with_matminer(formulas_sample):
    sub = formulas_sample[::4]
    stoich = matminer_composite.Stoichiometry()
    assert_same(featurize(sub, preset=None, extras=["p_norms"]), _matminer(stoich, sub))
    # Pauling EN difference = matminer's range of pymatgen's X, without imputation
    x_range = matminer_composite.ElementProperty("pymatgen", ["X"], ["range"], impute_nan=False)
    ours = featurize(sub + ["XeF2", "HeNe", "ArCl"], preset=None, extras=["en_difference"])
    ref = _matminer(x_range, sub + ["XeF2", "HeNe", "ArCl"])
    assert_same(ours, ref)
    assert np.isnan(ours[-2:]).all() and not np.isnan(ours[-3])  # He, Ne, Ar have no Pauling value


def test_without_imputation_nan_behaviour_matches_matminer():
    # elements with holes in the Magpie tables (noble gases, heavy elements)
    formulas = ["XeF2", "HeNe", "KrF2", "AmO2", "Fr2O", "NaCl", "Rn", "Lr2O3", "EsCl3", "CmNO"]
    ref_f = matminer_composite.ElementProperty.from_preset("magpie", impute_nan=False)
    ref = _matminer(ref_f, formulas)
    ours = CompositionFeaturizer(impute_nan=False).fit_transform(formulas)
    assert np.isnan(ref).any()  # the check is not vacuous
    assert_same(ours, ref)


def test_mode_ties_match_matminer(magpie_ref):
    formulas = ["NaCl", "ClNa", "Na2Cl", "NaCl2", "Na1Cl1.000001", "Na1Cl1.001", "Na2e-8Cl3e-8",
                "Fe2O2Ni2", "Li0.5Fe0.5PO4", "AlCuFeNiCoCr", "H1.0000000001He1"]
    assert_same(featurize(formulas), _matminer(magpie_ref, formulas))
    mode_z = compute_descriptor("MagpieData mode Number", formulas[:7])
    # equal amounts -> smallest value; within np.isclose -> smallest; else the most abundant.
    # np.isclose acts on the raw amounts (atol=1e-8), so Na2e-8Cl3e-8 is a tie although x = 0.4/0.6
    np.testing.assert_array_equal(mode_z, [11, 11, 11, 17, 11, 17, 11])


# --------------------------------------------------------------------------- closed forms
def test_closed_forms():
    names = descriptor_names(extras=("en_difference", "p_norms"))
    x = pd.Series(featurize(["SiO2"], extras=("en_difference", "p_norms"))[0], index=names)
    assert x["MagpieData minimum Number"] == 8 and x["MagpieData maximum Number"] == 14
    assert x["MagpieData range Number"] == 6
    assert x["MagpieData mean Number"] == pytest.approx(10.0)  # (14 + 2*8) / 3
    assert x["MagpieData avg_dev Number"] == pytest.approx(8 / 3)  # (|14-10| + 2|8-10|) / 3
    assert x["MagpieData mode Number"] == 8
    assert x["pauling_en_difference"] == pytest.approx(3.44 - 1.90)
    assert x["0-norm"] == 2
    assert x["2-norm"] == pytest.approx(np.sqrt((1 / 3) ** 2 + (2 / 3) ** 2))
    assert x["10-norm"] == pytest.approx(((1 / 3) ** 10 + (2 / 3) ** 10) ** 0.1)
    fe = pd.Series(featurize(["Fe"], extras=("p_norms",))[0], index=descriptor_names(extras=("p_norms",)))
    assert (fe.filter(like="range") == 0).all() and (fe.filter(like="avg_dev") == 0).all()
    assert (fe.filter(like="norm") == 1).all()


def test_invariances():
    base = ["NaCl", "SrTiO3", "Fe2O3", "LiFePO4"]
    x = featurize(base, extras=("en_difference", "p_norms"))
    # element order and a common multiple of the amounts do not matter
    same = ["ClNa", "O3TiSr", "Fe4O6", "Li2Fe2P2O8"]
    np.testing.assert_allclose(featurize(same, extras=("en_difference", "p_norms")), x, rtol=1e-12, atol=1e-12)
    # rows are independent: permuting the input permutes the output
    perm = [2, 0, 3, 1]
    np.testing.assert_array_equal(featurize([base[i] for i in perm], extras=("en_difference", "p_norms")), x[perm])


# --------------------------------------------------------------------------- compute_descriptor
def test_compute_descriptor_matches_transform_columns():
    formulas = ["NaCl", "GaAs", "SrTiO3", "MgO"]
    f = CompositionFeaturizer(extras=("en_difference", "p_norms")).fit(formulas)
    X = pd.DataFrame(f.transform(formulas), columns=f.get_feature_names_out())
    for name in ["MagpieData mean Electronegativity", "MagpieData mode GSvolume_pa", "MagpieData avg_dev Row",
                 "pauling_en_difference", "0-norm", "7-norm"]:
        got = compute_descriptor(name, formulas)
        assert got.shape == (4,)
        np.testing.assert_allclose(got, X[name].to_numpy(), rtol=1e-13)
    np.testing.assert_array_equal(compute_descriptor("en_difference", formulas), X["pauling_en_difference"])
    np.testing.assert_allclose(compute_descriptor("en_difference", ["NaCl"]), [3.16 - 0.93])


def test_compute_descriptor_errors():
    with pytest.raises(MatsightError, match=r"unknown descriptor 'MagpieData mean Numbr'.*MagpieData mean Number"):
        compute_descriptor("MagpieData mean Numbr", ["NaCl"])
    with pytest.raises(MatsightError, match="en_difference"):
        compute_descriptor("electronegativity", ["NaCl"])
    with pytest.raises(MatsightError, match="empty input"):
        compute_descriptor("en_difference", [])
    with pytest.raises(MatsightError, match="single string"):
        compute_descriptor("en_difference", "NaCl")
    with pytest.raises(MatsightError, match=r"row 1 \(0-based\) of the input: formula 'Qq2O' contains an unknown element"):
        compute_descriptor("en_difference", ["NaCl", "Qq2O"])


# --------------------------------------------------------------------------- scikit-learn
def test_pipeline_and_column_transformer():
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    df = datasets.load("expt_gap").sample(400, random_state=0)
    pipe = make_pipeline(CompositionFeaturizer(extras=("en_difference",)), StandardScaler(), Ridge(alpha=10.0))
    cv = KFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(pipe, df["formula"], df["target"], cv=cv, scoring="r2")
    # composition carries band-gap information: every fold beats the mean predictor (R2 = 0) clearly
    assert scores.min() > 0.1, scores

    ct = ColumnTransformer([("comp", CompositionFeaturizer(extras=("p_norms",)), "formula")], remainder="passthrough")
    frame = df.assign(other=np.arange(len(df), dtype=float))[["formula", "other"]]
    Z = ct.fit_transform(frame)
    assert Z.shape == (400, 132 + 6 + 1)
    names = ct.get_feature_names_out()
    assert names[0] == "comp__MagpieData minimum Number" and names[-1] == "remainder__other"

    f = clone(CompositionFeaturizer(extras=("en_difference",), formula_column="ABX3"))
    assert f.get_params()["formula_column"] == "ABX3"
    out = f.set_output(transform="pandas").fit_transform(datasets.load("perovskites").head(5))
    assert list(out.columns) == descriptor_names(extras=("en_difference",))


def test_input_types_give_the_same_result():
    formulas = ["NaCl", "SrTiO3", "Fe2O3"]
    f = CompositionFeaturizer().fit(formulas)
    ref = f.transform(formulas)
    for X in (pd.Series(formulas), pd.DataFrame({"formula": formulas, "y": [1, 2, 3]}),
              pd.DataFrame({"comp": formulas}), np.array(formulas), np.array(formulas)[:, None], tuple(formulas)):
        np.testing.assert_array_equal(f.transform(X), ref)
    assert f.fit(formulas) is f and f.n_features_in_ == 1
    assert list(f.feature_names_out_) == list(f.get_feature_names_out())


def test_input_is_not_mutated():
    df = pd.DataFrame({"formula": ["NaCl", " SiO2 ", "Fe2O3"], "y": [1.0, 2.0, 3.0]})
    before = df.copy(deep=True)
    lst = df["formula"].tolist()
    CompositionFeaturizer().fit(df).transform(df)
    CompositionFeaturizer().fit_transform(lst)
    pd.testing.assert_frame_equal(df, before)
    assert lst == ["NaCl", " SiO2 ", "Fe2O3"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "bad, pattern",
    [
        ("Xx2O3", r"row 1 \(0-based\) of the input: formula 'Xx2O3' contains an unknown element 'Xx'"),
        ("Fe2O3)", r"row 1 \(0-based\) of the input: cannot parse formula 'Fe2O3\)'"),
        ("", r"row 1 \(0-based\) of the input: empty formula"),
        (None, r"row 1 \(0-based\) of the input: empty formula \(missing value\)"),
        (float("nan"), r"row 1 \(0-based\) of the input: empty formula \(missing value\)"),
    ],
)
def test_bad_formula_names_row_and_formula(bad, pattern):
    with pytest.raises(MatsightError, match=pattern):
        CompositionFeaturizer().fit(["NaCl"]).transform(["NaCl", bad, "MgO"])


def test_on_error_nan_keeps_good_rows():
    f = CompositionFeaturizer(on_error="nan", extras=("p_norms",))
    X = f.fit_transform(["NaCl", "Xx", "MgO"])
    assert np.isnan(X[1]).all() and not np.isnan(X[[0, 2]]).any()
    np.testing.assert_array_equal(X[[0, 2]], f.transform(["NaCl", "MgO"]))
    assert np.isnan(f.transform(["Xx", "Yy"])).all()


def test_empty_and_malformed_inputs():
    f = CompositionFeaturizer()
    with pytest.raises(MatsightError, match="empty input"):
        f.fit([])
    with pytest.raises(MatsightError, match="empty input"):
        f.fit(["NaCl"]).transform(pd.Series([], dtype=object))
    with pytest.raises(MatsightError, match="single string 'NaCl'"):
        f.transform("NaCl")
    with pytest.raises(MatsightError, match="no column 'formula'"):
        f.transform(pd.DataFrame({"a": ["NaCl"], "b": ["MgO"]}))
    with pytest.raises(MatsightError, match="shape"):
        f.transform(np.array([["NaCl", "MgO"]]))
    with pytest.raises(MatsightError, match="unknown preset 'oqmd'"):
        CompositionFeaturizer(preset="oqmd").fit(["NaCl"])
    with pytest.raises(MatsightError, match="unknown extra descriptor group 'x'"):
        CompositionFeaturizer(extras=("x",)).fit(["NaCl"])
    with pytest.raises(MatsightError, match="on_error"):
        CompositionFeaturizer(on_error="skip").fit(["NaCl"])
    with pytest.raises(MatsightError, match="no descriptors requested"):
        CompositionFeaturizer(preset=None).fit(["NaCl"])


# --------------------------------------------------------------------------- packaging
def test_runtime_does_not_import_matminer_and_stays_light():
    code = (
        "import sys, matsight.composition as c\n"
        "light = not any(m in sys.modules for m in ('sklearn', 'matminer', 'torch'))\n"
        "c.featurize(['NaCl']); c.CompositionFeaturizer().fit_transform(['NaCl'])\n"
        "print(int(light), int('matminer' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["1", "0"]


def test_tables_carry_attribution():
    from importlib import resources

    root = resources.files("matsight.composition").joinpath("_tables")
    assert "Lawrence Berkeley National Laboratory" in root.joinpath("LICENSE-matminer.txt").read_text()
    readme = root.joinpath("README.md").read_text()
    assert "16028" in readme and "Ward" in readme
    assert sum(1 for p in root.iterdir() if p.name.endswith(".table")) == 22
