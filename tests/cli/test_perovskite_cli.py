"""``matsight perovskite``: the --json contract, exit codes, --csv, overrides, the Bartel reproduction."""
from __future__ import annotations

import math

import pytest

CONTRACT = {
    "formula", "A", "B", "X", "oxidation_states", "r_A", "r_B", "r_X",
    "t", "mu", "tau", "tau_probability", "t_says_perovskite", "tau_says_perovskite",
}


def test_json_contract_in_input_order(cli):
    r = cli(["perovskite", "SrTiO3", "BaTiO3", "CsPbI3", "--json"])
    assert r.code == 0, r.err
    out = r.json()
    assert [o["formula"] for o in out] == ["SrTiO3", "BaTiO3", "CsPbI3"]
    for o in out:
        assert CONTRACT <= set(o)
        assert set(o["oxidation_states"]) == {"A", "B", "X"}
    st = out[0]
    assert (st["A"], st["B"], st["X"]) == ("Sr", "Ti", "O")
    # hand value: Shannon (1976) Sr2+ XII 1.44, Ti4+ VI 0.605, O2- VI 1.40 Å
    assert st["t"] == pytest.approx((1.44 + 1.40) / (math.sqrt(2) * (0.605 + 1.40)), rel=1e-12)
    assert st["t_says_perovskite"] is True and out[1]["t_says_perovskite"] is False
    assert out[2]["tau_says_perovskite"] is False


def test_partial_failure_keeps_the_others_and_exits_0(cli):
    r = cli(["perovskite", "SrTiO3", "NaCl", "XxTiO3", "CsPbI3", "--json"])
    assert r.code == 0
    out = r.json()
    assert [o["formula"] for o in out] == ["SrTiO3", "NaCl", "XxTiO3", "CsPbI3"]
    assert set(out[1]) == {"formula", "error"} and "not ABX3" in out[1]["error"]
    assert "unknown element" in out[2]["error"]
    assert "error" not in out[0] and "error" not in out[3]
    assert r.err.count("error:") == 2


def test_all_failing_exits_2_but_prints_the_errors(cli):
    r = cli(["perovskite", "NaCl", "CsRbF3", "--json"])
    assert r.code == 2
    out = r.json()
    assert [set(o) for o in out] == [{"formula", "error"}] * 2
    assert "no charge-balanced oxidation states" in out[1]["error"]
    r = cli(["perovskite", "SrTiO3x"])
    assert r.code == 2 and "cannot parse formula 'SrTiO3x'" in r.err and "Traceback" not in r.err


def test_table_output(cli):
    r = cli(["perovskite", "SrTiO3", "CsPbI3"])
    assert r.code == 0
    assert "SrTiO3" in r.out and "CsPbI3" in r.out and "1.002" in r.out and "4.30" in r.out


def test_override(cli):
    r = cli(["perovskite", "EuTiO3", "--oxidation", "A=+3,B=+3,X=-2", "--json"])
    assert r.code == 0
    o = r.json()[0]
    assert o["oxidation_states"] == {"A": 3, "B": 3, "X": -2} and o["r_A"] == pytest.approx(1.12)


@pytest.mark.parametrize("bad", ["A=+2,B=+4", "A+2,B=+4,X=-2", "A=+2,B=+3,X=-2", "A=x,B=+4,X=-2"])
def test_bad_override_exits_2(cli, bad):
    r = cli(["perovskite", "SrTiO3", "--oxidation", bad, "--json"])
    assert r.code == 2 and "oxidation-state override" in r.err and r.out == ""


def test_csv(cli, tmp_path):
    f = tmp_path / "f.csv"
    f.write_text("name,y\nSrTiO3,1\nLaCoO3,2\nNaCl,3\n")
    r = cli(["perovskite", "KMnF3", "--csv", f, "--formula-column", "name", "--json"])
    assert r.code == 0
    assert [o["formula"] for o in r.json()] == ["KMnF3", "SrTiO3", "LaCoO3", "NaCl"]
    r = cli(["perovskite", "--csv", f, "--json"])
    assert r.code == 2 and "no column 'formula'" in r.err
    g = tmp_path / "g.csv"
    g.write_text("formula,y\nSrTiO3,1\n,2\n")
    r = cli(["perovskite", "--csv", g, "--json"])
    assert r.code == 0 and r.json()[1] == {"formula": "", "error": "empty formula (missing value)"}
    r = cli(["perovskite", "--csv", tmp_path / "missing.csv"])
    assert r.code == 2 and "neither an existing file" in r.err


def test_usage_mistakes(cli):
    r = cli(["perovskite"])
    assert r.code == 2 and "no formula given" in r.err
    r = cli(["perovskite", "SrTiO3", "--plot", "x.png"])
    assert r.code == 2 and "--plot is only for --reproduce-bartel" in r.err
    r = cli(["perovskite", "SrTiO3", "--reproduce-bartel"])
    assert r.code == 2 and "takes no formulas" in r.err


def test_reproduce_bartel(cli, tmp_path):
    png = tmp_path / "bartel.png"
    r = cli(["perovskite", "--reproduce-bartel", "--plot", png, "--json"])
    assert r.code == 0
    d = r.json()
    assert d["n_compounds"] == 576
    assert abs(d["accuracy_matsight"]["t"] - 0.74) <= 0.02
    assert abs(d["accuracy_matsight"]["tau"] - 0.92) <= 0.02
    assert d["n_differences"] == len(d["differences"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
