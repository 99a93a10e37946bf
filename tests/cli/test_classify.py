"""``matsight classify``: the JSON contract, figures, text output and clear errors."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matsight import datasets

KEYS = {"n", "cv", "neighbors", "accuracy", "balanced_accuracy", "baseline_accuracy", "classes",
        "confusion_matrix", "per_class", "accuracy_vs_k"}


@pytest.fixture(scope="module")
def topo_csv(tmp_path_factory):
    df = datasets.load("topological")
    counts = df["formula"].value_counts()
    keep = set(counts.index[counts >= 2][:40]) | set(df["formula"].iloc[::60])
    path = tmp_path_factory.mktemp("cls") / "topo.csv"
    df[df["formula"].isin(keep)].rename(columns={"formula": "comp", "label": "kind"}).to_csv(path, index=False)
    return path


def test_json_contract(cli, topo_csv):
    r = cli(["classify", topo_csv, "--target", "kind", "--formula-column", "comp", "--neighbors", "3",
             "--features", "fractions", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert KEYS <= set(d)
    n = len(pd.read_csv(topo_csv))
    assert d["n"] == n and d["cv"] == "group-loo" and d["neighbors"] == 3
    assert d["classes"] == ["topological", "trivial"]
    cm = np.array(d["confusion_matrix"])
    assert cm.sum() == n and d["accuracy"] == pytest.approx(np.trace(cm) / n)
    assert set(d["per_class"]) == set(d["classes"])
    assert {"precision", "recall"} <= set(d["per_class"]["trivial"])
    assert d["accuracy_vs_k"]["k"][:3] == [1, 2, 3]
    assert d["accuracy_vs_k"]["accuracy"][2] == pytest.approx(d["accuracy"])
    assert set(d["comparison"]) == {"loo", "group-loo"}
    assert d["reference"]["ma_2023_accuracy"] == 0.8


def test_cv_choice_positive_and_plot(cli, topo_csv, tmp_path):
    png = tmp_path / "acc.png"
    r = cli(["classify", topo_csv, "-t", "kind", "-f", "comp", "--cv", "loo", "--positive", "TI",
             "--features", "fractions", "--plot", png, "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert d["cv"] == "loo" and d["classes"] == ["negative", "positive"] and d["positive"] == ["TI"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_output(cli, topo_csv):
    r = cli(["classify", topo_csv, "-t", "kind", "-f", "comp", "--features", "fractions", "-k", "2"])
    assert r.code == 0, r.err
    for word in ("accuracy", "balanced accuracy", "majority baseline", "confusion matrix", "Ma et al"):
        assert word in r.out


@pytest.mark.parametrize("name", ["topological", "topological.csv"])
def test_bundled_dataset_name_is_accepted(cli, name):
    # resolving the name is all that is checked here (the column check fails fast)
    r = cli(["classify", name, "--target", "nope"])
    assert r.code == 2 and "no column 'nope'" in r.err and "formula, space_group, label" in r.err


def _csv(tmp_path, rows, name="t.csv"):
    p = tmp_path / name
    pd.DataFrame(rows, columns=["formula", "label"]).to_csv(p, index=False)
    return p


@pytest.mark.parametrize("rows, args, message", [
    ([("NaCl", "a"), ("KBr", "a"), ("LiF", "a")], [], "single class 'a'"),
    ([("NaCl", "a"), ("KBr", "b"), ("Qq3", "a"), ("LiF", "b")], ["-k", "1"], "row 2 of"),
    ([("NaCl", "a"), ("KBr", "b"), ("LiF", "a")], ["-k", "3"], "--neighbors 3 is larger than the 2 usable"),
    ([("NaCl", "a"), ("NaCl", "b"), ("NaCl", "a"), ("KBr", "b"), ("LiF", "a")], ["-k", "3"],
     "usable neighbours for --cv group-loo"),
    ([("NaCl", "a"), ("KBr", "b"), ("LiF", "a")], ["--cv", "lpo"], "unknown --cv 'lpo'"),
    ([("NaCl", "a"), ("KBr", "b"), ("LiF", "a")], ["--target", "y"], "no column 'y'"),
    ([("NaCl", "a"), ("KBr", "b"), ("LiF", "a")], ["--features", "soap"], "unknown --features 'soap'"),
    ([("NaCl", "a"), ("KBr", "b"), ("LiF", "a")], ["--plot", "x.pdf"], "must be a .png file"),
])
def test_bad_input_exits_2_with_one_line(cli, tmp_path, rows, args, message):
    r = cli(["classify", _csv(tmp_path, rows), *args])
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err + r.out and len(r.err.strip().splitlines()) <= 2


def test_missing_file_is_named(cli, tmp_path):
    r = cli(["classify", tmp_path / "none.csv"])
    assert r.code == 2 and "neither an existing file nor a bundled dataset" in r.err
