"""``matsight featurize``: CSV/Parquet, chunking, row-numbered errors, atomic output."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matsight.composition import descriptor_names, featurize

pytest.importorskip("pyarrow")

FORMULAS = ["NaCl", "SrTiO3", "Fe2O3", "GaAs", "LiFePO4", "MgO", "Si", "Al2O3", "CsPbI3", "ZnS", "Cu", "BN"]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "in.csv"
    pd.DataFrame({"id": range(len(FORMULAS)), "formula": FORMULAS, "y": np.linspace(0, 1, len(FORMULAS))}).to_csv(
        path, index=False
    )
    return path


def test_csv_output_has_input_columns_then_matminer_labels(cli, table, tmp_path):
    before = table.read_bytes()
    out = tmp_path / "out.csv"
    r = cli(["featurize", table, "-o", out, "--json"])
    assert r.code == 0, r.err
    assert r.json() == {"rows": 12, "features": 132, "out": str(out), "skipped_rows": 0, "chunks": 1,
                        "seconds": r.json()["seconds"]}
    df = pd.read_csv(out)
    assert list(df.columns) == ["id", "formula", "y", *descriptor_names()]
    pd.testing.assert_frame_equal(df[["id", "formula", "y"]], pd.read_csv(table))
    np.testing.assert_allclose(df[descriptor_names()].to_numpy(), featurize(FORMULAS), rtol=1e-15)
    assert table.read_bytes() == before  # the input is not touched


def test_chunked_runs_match_one_chunk_csv_and_parquet(cli, table, tmp_path):
    names = descriptor_names(extras=("en_difference", "p_norms"))
    extra = ["--extra", "en_difference", "--extra", "p_norms"]
    assert cli(["featurize", table, "-o", tmp_path / "one.csv", *extra]).code == 0
    r = cli(["featurize", table, "-o", tmp_path / "many.csv", "--chunk-size", 5, "--json", *extra])
    assert r.code == 0 and r.json()["chunks"] == 3
    one, many = pd.read_csv(tmp_path / "one.csv"), pd.read_csv(tmp_path / "many.csv")
    pd.testing.assert_frame_equal(one, many)
    assert list(one.columns[3:]) == names

    for size in (1000, 1):
        r = cli(["featurize", table, "-o", tmp_path / f"p{size}.parquet", "--chunk-size", size, "--json", *extra])
        assert r.code == 0 and r.json()["rows"] == 12 and r.json()["chunks"] == (1 if size == 1000 else 12)
    p1000, p1 = pd.read_parquet(tmp_path / "p1000.parquet"), pd.read_parquet(tmp_path / "p1.parquet")
    pd.testing.assert_frame_equal(p1000, p1)
    pd.testing.assert_frame_equal(p1000, one)  # Parquet and CSV hold the same numbers


def test_parquet_input_and_bundled_dataset(cli, table, tmp_path):
    src = tmp_path / "in.parquet"
    pd.read_csv(table).to_parquet(src, index=False)
    r = cli(["featurize", src, "-o", tmp_path / "o.csv", "--chunk-size", 4, "--json"])
    assert r.code == 0 and r.json()["chunks"] == 3
    np.testing.assert_allclose(pd.read_csv(tmp_path / "o.csv")[descriptor_names()], featurize(FORMULAS), rtol=1e-15)

    r = cli(["featurize", "perovskites", "-o", tmp_path / "perov.parquet", "--formula-column", "ABX3",
             "--chunk-size", 200, "--json"])
    assert r.code == 0, r.err
    assert r.json()["rows"] == 576 and r.json()["chunks"] == 3
    df = pd.read_parquet(tmp_path / "perov.parquet")
    assert df.shape == (576, 17 + 132) and df.columns[0] == "ABX3"


def test_bad_formula_names_the_row_and_leaves_no_output(cli, tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("formula,y\nNaCl,1\nMgO,2\nFe2O3,3\nXx2O,4\nSi,5\n")
    out = tmp_path / "out.csv"
    r = cli(["featurize", src, "-o", out, "--chunk-size", 2])
    assert r.code == 2
    assert "row 4 of" in r.err and "'Xx2O'" in r.err and "unknown element" in r.err
    assert "Traceback" not in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]  # nothing written, no temp file left

    r = cli(["featurize", src, "-o", out, "--on-error", "skip", "--json"])
    assert r.code == 0 and r.json()["rows"] == 4 and r.json()["skipped_rows"] == 1
    assert pd.read_csv(out)["formula"].tolist() == ["NaCl", "MgO", "Fe2O3", "Si"]

    src.write_text("formula,y\nNaCl,1\n,2\n")
    r = cli(["featurize", src, "-o", out])
    assert r.code == 2 and "row 2 of" in r.err and "empty formula" in r.err


@pytest.mark.parametrize(
    "content, args, message",
    [
        ("", [], "is empty"),
        ("formula,y\n", [], "has a header but no rows"),
        ("comp,y\nNaCl,1\n", [], "no formula column 'formula'"),
        ("comp,y\nNaCl,1\n", ["--on-error", "ignore"], "on_error must be 'fail' or 'skip'"),
        ("formula\nNaCl\n", ["--chunk-size", 0], "chunk size must be a positive"),
        ("formula\nNaCl\n", ["--extra", "magic"], "unknown extra descriptor group 'magic'"),
    ],
)
def test_input_errors_exit_2_with_one_line(cli, tmp_path, content, args, message):
    src = tmp_path / "in.csv"
    src.write_text(content)
    r = cli(["featurize", src, "-o", tmp_path / "out.csv", *args])
    assert r.code == 2 and message in r.err, r.err
    assert not (tmp_path / "out.csv").exists()


def test_output_and_source_errors(cli, table, tmp_path):
    r = cli(["featurize", table, "-o", tmp_path / "out.xlsx"])
    assert r.code == 2 and "must end in .csv or .parquet" in r.err
    r = cli(["featurize", tmp_path / "missing.csv", "-o", tmp_path / "o.csv"])
    assert r.code == 2 and "neither an existing file nor a bundled dataset" in r.err
    out = tmp_path / "o.csv"
    assert cli(["featurize", table, "-o", out]).code == 0
    r = cli(["featurize", out, "-o", tmp_path / "o2.csv"])  # featurizing a featurized table
    assert r.code == 2 and "already has feature columns" in r.err


def test_human_output(cli, table, tmp_path):
    r = cli(["featurize", table, "-o", tmp_path / "o.csv"])
    assert r.code == 0 and "wrote 12 rows x 132 features" in r.out


@pytest.mark.parametrize("type_pass_rows", [2, 100_000])
def test_parquet_from_csv_whose_column_types_change_between_chunks(cli, tmp_path, monkeypatch, type_pass_rows):
    # per chunk pandas sees n as int64, then float64 (a gap); s as all-empty, then str; b as bool, then object
    import matsight.composition._files as files

    monkeypatch.setattr(files, "_TYPE_PASS_ROWS", type_pass_rows)
    src = tmp_path / "mixed.csv"
    src.write_text("formula,n,s,b\nNaCl,1,,True\nMgO,2,,False\nSi,,a,\nGe,4,,True\n")
    for size in (1, 2, 100):
        r = cli(["featurize", src, "-o", tmp_path / f"m{size}.parquet", "--chunk-size", size, "--json"])
        assert r.code == 0, r.err
    frames = [pd.read_parquet(tmp_path / f"m{size}.parquet") for size in (1, 2, 100)]
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)
    assert frames[0]["n"].isna().tolist() == [False, False, True, False]
    assert frames[0]["s"].tolist()[2] == "a"
    assert frames[0]["b"].tolist()[:2] == [True, False]
