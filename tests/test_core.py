"""Core plumbing: datasets, atomic writes, errors, CLI exit codes."""
from __future__ import annotations

import os

import pandas as pd
import pytest

from matsight import MatsightError, datasets
from matsight.io import atomic_write, read_table, require_columns


def test_every_dataset_loads_with_its_stated_rows():
    for d in datasets.list_datasets():
        df = datasets.load(d.name)
        assert len(df) == d.rows, d.name
        assert d.citation and d.doi and d.licence


@pytest.mark.parametrize("name", ["band_gaps", "band_gaps_strehlow_cook_1973", "band_gaps_strehlow_cook_1973.csv", "BAND_GAPS"])
def test_dataset_aliases(name):
    assert datasets.resolve(name).name == "band_gaps"


def test_unknown_dataset_is_named():
    with pytest.raises(MatsightError, match="unknown dataset 'nope'"):
        datasets.load("nope")


def test_read_table_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(MatsightError, match="empty"):
        read_table(empty)
    header_only = tmp_path / "h.csv"
    header_only.write_text("formula,y\n")
    with pytest.raises(MatsightError, match="no rows"):
        read_table(header_only)
    with pytest.raises(MatsightError, match="neither an existing file"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(MatsightError, match="no column 'zz'"):
        require_columns(pd.DataFrame({"a": [1]}), ["zz"], "t.csv")


def test_read_table_returns_copy_of_frame():
    df = pd.DataFrame({"a": [1, 2]})
    out = read_table(df)
    out.loc[0, "a"] = 99
    assert df.loc[0, "a"] == 1


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_cli_data_commands(cli):
    r = cli(["data", "list", "--json"])
    assert r.code == 0
    names = [d["name"] for d in r.json()]
    assert "band_gaps" in names and "mp_e_form" in names
    r = cli(["data", "show", "perovskites", "--json"])
    assert r.code == 0 and r.json()["shape"] == [576, 17]


def test_cli_unknown_dataset_exits_2_without_traceback(cli):
    r = cli(["data", "show", "nope"])
    assert r.code == 2
    assert "unknown dataset 'nope'" in r.err
    assert "Traceback" not in r.err + r.out


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, matsight, matsight.cli.main; print(int(any(m in sys.modules for m in ('torch', 'pymatgen', 'sklearn', 'matplotlib'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "0"
