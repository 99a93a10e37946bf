"""The band-gap seed workflow: aggregation rule, binary filter, fit on the real compilation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matsight import MatsightError, datasets
from matsight.learn import prepare_band_gaps, regress


def _toy():
    return pd.DataFrame({
        "formula": ["Ga1As1", "Ga1As1", "Ga1As1", "Ga1As1", "V1O2", "V2O4", "Si", "Ge0.9Si0.1", "Cu1In1Se2", "In1p1", "B1N1", "Ab1Cd"],
        "band_gap_eV": [1.43, 1.40, 1.52, 9.0, 0.5, 0.7, 1.12, 0.8, 1.0, 1.3, 6.0, 2.0],
        "temperature_K": [300, 295, 4.2, np.nan, 10, 20, 300, 300, 300, 300, 300, 300],
        "method": ["Absorption", "Reflection", "Absorption", "Absorption", "Absorption", "Reflection", "Absorption",
                   "Absorption", "Absorption", "Absorption", "Estimated", "Absorption"],
    })


def test_aggregation_rule_on_a_hand_made_table():
    toy = _toy()
    before = toy.copy()
    b = prepare_band_gaps(toy)
    pd.testing.assert_frame_equal(toy, before)  # the caller's frame is untouched
    t = b.table.set_index("formula")
    # GaAs: median of the two room-temperature values only (the 9.0 eV outlier has no temperature)
    assert t.loc["GaAs", "band_gap_eV"] == pytest.approx(np.median([1.43, 1.40]))
    assert t.loc["GaAs", "rule"] == "room-temperature median" and t.loc["GaAs", "n_measurements"] == 4
    # VO2 and V2O4 are one compound; no room-temperature value: median of all
    assert t.loc["VO2", "band_gap_eV"] == pytest.approx(0.6)
    assert t.loc["VO2", "rule"] == "all-measurement median" and t.loc["VO2", "source_formulas"] == "V1O2;V2O4"
    # element, alloy, ternary, unparseable, estimate-only and unknown-element formulas are gone
    assert sorted(t.index) == ["GaAs", "VO2"]
    c = b.counts
    assert c["n_formulas_element"] == 1 and c["n_formulas_non_stoichiometric"] == 1
    assert c["n_formulas_ternary_or_more"] == 1 and c["n_not_measurements"] == 1
    assert c["n_formulas_unparseable"] == 2 and set(b.dropped_formulas) == {"In1p1", "Ab1Cd"}
    assert c["n_measurements_used"] == 6 and c["n_compounds"] == 2
    # the window is a parameter: 0-400 K now admits the 10 K and 20 K VO2 values
    b2 = prepare_band_gaps(toy, room_temperature_K=(0, 400))
    assert b2.table.set_index("formula").loc["GaAs", "band_gap_eV"] == pytest.approx(np.median([1.43, 1.40, 1.52]))


def test_aggregation_bad_inputs():
    with pytest.raises(MatsightError, match="no column 'temperature_K'"):
        prepare_band_gaps(pd.DataFrame({"formula": ["GaAs"], "band_gap_eV": [1.4]}))
    with pytest.raises(MatsightError, match="low <= high"):
        prepare_band_gaps(_toy(), room_temperature_K=(350, 250))
    with pytest.raises(MatsightError, match="no measurement of a binary compound"):
        prepare_band_gaps(_toy().iloc[[6]])


def test_real_compilation_counts_match_an_independent_recount():
    from pymatgen.core import Composition

    raw = datasets.load("band_gaps")
    b = prepare_band_gaps()
    c = b.counts
    assert c["n_measurements_total"] == 1447 and c["n_formulas_total"] == 496
    # independent recount with pymatgen directly
    meas = raw[~raw["method"].isin(["Estimated", "SCOPW", "APW"])]
    keep, red = [], {}
    for f in meas["formula"].unique():
        try:
            comp = Composition(f)
            ok = len(comp) == 2 and all(float(a).is_integer() for a in comp.values()) and all(e.Z < 104 for e in comp)
        except Exception:
            ok = False
        if ok:
            keep.append(f)
            red[f] = comp.reduced_formula
    sub = meas[meas["formula"].isin(keep)]
    assert c["n_measurements_used"] == len(sub)
    assert c["n_compounds"] == len(set(red.values())) == len(b.table)
    assert c["n_compounds_room_temperature"] + c["n_compounds_fallback"] == c["n_compounds"]
    assert 400 < c["n_compounds"] < 500


def test_real_gaps_agree_with_textbook_room_temperature_values():
    """Room-temperature gaps (Sze & Ng, Physics of Semiconductor Devices, 3rd ed., App. G): GaAs 1.42, InAs 0.354, GaP 2.26 (indirect)."""
    t = prepare_band_gaps().table.set_index("formula")["band_gap_eV"]
    assert t["GaAs"] == pytest.approx(1.42, abs=0.05)
    assert t["InAs"] == pytest.approx(0.354, abs=0.05)
    # GaP: the median mixes the 2.26 eV indirect and 2.78 eV direct thresholds; it must lie between them
    assert 2.26 <= t["GaP"] <= 2.78


def test_band_gap_fit_is_the_aggregated_binary_fit():
    import statsmodels.api as sm

    run = regress("band_gaps", descriptors=["en_difference"], predict_formulas=["MgS"])
    table = prepare_band_gaps().table
    assert run.result.n == len(table) and run.result.target == "band_gap_eV"
    assert run.preparation["counts"]["n_compounds"] == len(table)
    assert any("binary compounds" in n for n in run.notes)
    ref = sm.OLS(table["band_gap_eV"].to_numpy(), sm.add_constant(run.X["en_difference"].to_numpy())).fit()
    np.testing.assert_allclose(run.result.coefficients["en_difference"].value, ref.params[1], rtol=1e-10)
    # electronegativity difference does explain part of the gap: a positive slope, clearly nonzero
    assert run.result.coefficients["en_difference"].ci_low > 1.0
    assert 0.2 < run.result.r2 < 0.6
    p = run.predictions[0]
    assert p["pi_low"] < p["value"] < p["pi_high"]
    # the raw rows are not filtered: the compilation's one malformed formula is named
    with pytest.raises(MatsightError, match="In1p1"):
        regress("band_gaps", target="band_gap_eV", descriptors=["en_difference"], aggregate_band_gaps=False)


def test_band_gap_power_law_drops_zero_difference_with_a_note():
    run = regress("band_gaps", descriptors=["en_difference"], power_law=True)
    assert any("ReSi2" in n for n in run.notes)
    assert run.result.n == prepare_band_gaps().counts["n_compounds"] - 1
    b = run.result.exponents["en_difference"]
    assert 0.0 < b.ci_low < b.value < b.ci_high < 1.0


def test_tour_section_writes_figures_and_numbers(tmp_path):
    from matsight.learn._tour_regression import section

    sec = section(tmp_path, random_state=0)
    assert sec.key == "regression" and len(sec.figures) == 3
    for f in sec.figures:
        assert (tmp_path / f).read_bytes()[:4] == b"\x89PNG"
    lin, pl = sec.data["linear"], sec.data["power_law"]
    assert lin["n"] == pl["n"] + 1 and lin["loo_mae"] < lin["loo_mae_baseline"]
    assert [p["formula"] for p in lin["predictions"]] == ["MgS", "SrF2"]
    assert "R²" in sec.summary and "prediction interval" in sec.html
