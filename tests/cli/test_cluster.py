"""``matsight cluster``: the JSON contract, user CSVs, plots and every bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def small_csv(tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[75, 20, 5], [55, 15, 30]], dtype=float)
    rows = np.vstack([c + rng.normal(0, 0.4, (8, 3)) for c in centres] + [np.array([[10.0, 10.0, 80.0]])])
    df = pd.DataFrame(rows, columns=["wt_Ni", "wt_Cr", "wt_Mo"])
    df.insert(0, "name", [f"A{i}" for i in range(8)] + [f"B{i}" for i in range(8)] + ["odd"])
    path = tmp_path / "alloys.csv"
    df.to_csv(path, index=False)
    return path


def test_superalloys_json_contract(cli):
    r = cli(["cluster", "superalloys", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert {"eps", "min_samples", "distance", "names", "labels", "roles", "clusters"} <= set(d)
    n = len(d["names"])
    assert n == 422  # distinct compositions, merged automatically
    assert len(d["labels"]) == len(d["roles"]) == n
    assert d["distance"] == "euclidean" and d["min_samples"] == 5 and d["auto_eps"] is True
    for lab, role in zip(d["labels"], d["roles"]):
        assert role in {"core", "border", "noise"} and (lab == -1) == (role == "noise")
    labels = sorted({lab for lab in d["labels"] if lab >= 0})
    assert [c["label"] for c in d["clusters"]] == labels
    for c in d["clusters"]:
        assert set(c) >= {"label", "members", "mean_composition"}
        assert len(c["members"]) == d["labels"].count(c["label"])
        assert sum(c["mean_composition"].values()) == pytest.approx(100, abs=0.01)
    assert -1 <= d["validation"]["strengthening_precipitate_phase"]["ari"] <= 1


def test_dataset_name_with_csv_suffix_and_other_distance(cli):
    r = cli(["cluster", "superalloys.csv", "--distance", "emd", "--eps", "0.4", "--min-samples", "4", "--json"])
    assert r.code == 0, r.err
    d = r.json()
    assert d["distance"] == "emd" and d["eps"] == 0.4 and d["auto_eps"] is False and d["min_samples"] == 4


def test_user_csv_table_and_plot(cli, small_csv, tmp_path):
    png = tmp_path / "fig" / "map.png"
    r = cli(["cluster", small_csv, "--min-samples", "3", "--plot", png])
    assert r.code == 0, r.err
    assert "2 clusters" in r.out and "odd" in r.out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = cli(["cluster", small_csv, "--min-samples", "3", "--distance", "aitchison", "--auto-eps", "--json"])
    d = r.json()
    assert d["names"][-1] == "odd" and d["labels"][-1] == -1 and d["roles"][-1] == "noise"
    assert len(set(d["labels"][:8])) == 1 and len(set(d["labels"][8:16])) == 1 and d["labels"][0] != d["labels"][8]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--eps", "0"], "eps must be a positive number"),
        (["--eps", "-2"], "eps must be a positive number"),
        (["--min-samples", "0"], "min_samples must be an integer >= 1"),
        (["--min-samples", "1", "--auto-eps"], "auto-eps needs min_samples >= 2"),
        (["--distance", "cosine"], "unknown --distance 'cosine'"),
        (["--eps", "1", "--auto-eps"], "either --eps or --auto-eps"),
        (["--plot", "out.txt"], "must name a .png file"),
    ],
)
def test_bad_options(cli, small_csv, args, message):
    r = cli(["cluster", small_csv, *args])
    assert r.code == 2
    assert message in r.err and "Traceback" not in r.err + r.out


@pytest.mark.parametrize(
    "frame, message",
    [
        ({"name": ["a", "b"], "Ni": [1.0, 2.0]}, "has no composition columns"),
        ({"name": ["a", "b"], "wt_Ni": [50.0, 60.0], "at_Cr": [50.0, 40.0]}, "mixes wt_ and at_"),
        ({"name": ["a", "b"], "wt_Ni": [50.0, 60.0], "wt_Qq": [50.0, 40.0]}, "'Qq' is not a chemical element"),
        ({"name": ["a", "empty"], "at_Ni": [50.0, 0.0], "at_Cr": [50.0, 0.0]}, "row 'empty' does not sum to a positive total"),
    ],
)
def test_bad_tables(cli, tmp_path, frame, message):
    p = tmp_path / "bad.csv"
    pd.DataFrame(frame).to_csv(p, index=False)
    r = cli(["cluster", p, "--eps", "1"])
    assert r.code == 2
    assert message in r.err and "Traceback" not in r.err + r.out


def test_missing_file(cli, tmp_path):
    r = cli(["cluster", tmp_path / "nope.csv"])
    assert r.code == 2 and "neither an existing file nor a bundled dataset" in r.err
