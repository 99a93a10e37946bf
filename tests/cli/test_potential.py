"""``matsight potential train|test|md|label`` end to end on small EMT-labelled data."""
from __future__ import annotations

import numpy as np
import pytest

KEYS = {"n_frames", "energy_mae_meV_per_atom", "energy_rmse_meV_per_atom", "force_mae_meV_per_A", "force_rmse_meV_per_A"}


def _emt_file(path, n=8, seed=0, labelled=True):
    import ase.io
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator

    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        a = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
        a.positions += rng.normal(scale=0.08, size=a.positions.shape)
        if labelled:
            a.calc = EMT()
            a.calc = SinglePointCalculator(a, energy=a.get_potential_energy(), forces=a.get_forces())
        a.info["config_type"] = f"set{k % 2}"
        frames.append(a)
    ase.io.write(path, frames, format="extxyz")
    return path


def test_train_test_md_pipeline(cli, tmp_path):
    data = _emt_file(tmp_path / "cu.xyz")
    model = tmp_path / "cu-model"
    r = cli(["potential", "train", data, "--out", model, "--epochs", 3, "--r-cut", 4.0, "--n-g2", 4, "--n-g4", 4,
             "--hidden", "8", "--seed", 1, "--ensemble", 2, "--jobs", 2, "--schedule", "exponential", "--max-minutes", 5,
             "--components", 5, "--stratify", "--member-folds", "--g5-shells", "2.5,3.6", "--keep", "last", "--json"])
    assert r.code == 0, r.err
    out = r.json()
    assert out["epochs_run"] == [3, 3] and out["species"] == ["Cu"]
    assert out["config"]["schedule"] == "exponential" and out["config"]["n_components"] == 5
    assert out["config"]["stratify"] is True and out["config"]["g5_shells"] == [2.5, 3.6]
    assert out["config"]["member_folds"] is True and out["config"]["keep"] == "last"
    assert (tmp_path / "cu-model.safetensors").is_file() and (tmp_path / "cu-model.json").is_file()
    assert not list(tmp_path.glob("cu-model.ckpt*"))

    plot = tmp_path / "parity.png"
    r = cli(["potential", "test", model, data, "--json", "--plot", plot])
    assert r.code == 0, r.err
    res = r.json()
    assert KEYS <= set(res) and res["n_frames"] == 8
    assert res["mean_energy_std_meV_per_atom"] > 0  # the ensemble's spread
    assert set(res["by_group"]) == {"set0", "set1"}
    assert all(KEYS <= set(v) for v in res["by_group"].values())
    assert sum(v["n_frames"] for v in res["by_group"].values()) == 8
    assert plot.read_bytes()[:4] == b"\x89PNG"

    # cross-check the CLI against the Python API
    from matsight.potentials import evaluate, load

    api = evaluate(load(model), data)
    assert res["force_mae_meV_per_A"] == pytest.approx(api.force_mae_meV_per_A, rel=1e-9)

    r = cli(["potential", "md", model, data, "--steps", 20, "--temperature-K", 300, "--json"])
    assert r.code == 0, r.err
    md = r.json()
    assert md["steps"] == 20 and md["n_atoms"] == 8 and md["ensemble"] == "nve"
    assert abs(md["energy_drift_meV_per_atom"]) < 5.0
    r = cli(["potential", "md", model, data, "--steps", 5, "--ensemble", "langevin", "--repeat", "1,2,1", "--json"])
    assert r.code == 0 and r.json()["n_atoms"] == 16

    r = cli(["potential", "test", model, data])  # human-readable table
    assert r.code == 0 and "set0" in r.out


def test_train_with_lbfgs(cli, tmp_path):
    data = _emt_file(tmp_path / "cu.xyz")
    r = cli(["potential", "train", data, "--out", tmp_path / "m", "--epochs", 4, "--r-cut", 4.0, "--n-g2", 4,
             "--n-g4", 4, "--hidden", "8", "--optimizer", "lbfgs", "--weight-decay", 1e-6,
             "--energy-huber-meV", 2.0, "--force-huber", 0.05, "--json"])
    assert r.code == 0, r.err
    out = r.json()
    assert out["config"]["optimizer"] == "lbfgs" and out["config"]["dtype"] == "float64"
    assert out["config"]["weight_decay"] == 1e-6
    assert out["config"]["energy_huber_meV_per_atom"] == 2.0 and out["config"]["force_huber_eV_per_A"] == 0.05
    assert out["epochs_run"] == [4]


def test_train_with_a_power_spectrum_and_two_kinds_of_members(cli, tmp_path):
    data = _emt_file(tmp_path / "cu.xyz")
    r = cli(["potential", "train", data, "--out", tmp_path / "m", "--epochs", 2, "--r-cut", 4.0, "--n-g2", 4,
             "--n-g4", 4, "--hidden", "8", "--optimizer", "lbfgs", "--power-spectrum", 3, "--ps-r-min", 2.0,
             "--ps-l-max", 2, "--ensemble", 2, "--member-features", "acsf,all", "--json"])
    assert r.code == 0, r.err
    out = r.json()
    assert out["config"]["member_features"] == ["acsf", "all"] and out["data"] == str(data)
    import json

    meta = json.loads((tmp_path / "m.json").read_text())
    n = meta["n_features"]
    assert meta["descriptor"]["power_spectrum"]["l_max"] == 2 and meta["member_inputs"] == [n - 3 * 6, n]
    r = cli(["potential", "train", data, "--out", tmp_path / "bad", "--epochs", 1, "--member-features", "acsf,soap"])
    assert r.code == 2 and "member_features" in r.err and "Traceback" not in r.err


def test_label_with_emt(cli, tmp_path):
    import ase.io
    from ase.calculators.emt import EMT

    src = _emt_file(tmp_path / "bare.xyz", n=2, labelled=False)
    out = tmp_path / "labelled.xyz"
    r = cli(["potential", "label", src, "--method", "EMT", "--out", out, "--json"])
    assert r.code == 0, r.err
    assert r.json()["n_structures"] == 2
    frames = ase.io.read(out, ":")
    ref = ase.io.read(src, "1")
    ref.calc = EMT()
    assert frames[1].get_potential_energy() == pytest.approx(ref.get_potential_energy(), abs=1e-8)
    np.testing.assert_allclose(frames[1].get_forces(), ref.get_forces(), atol=1e-8)


def test_label_with_gfn2_xtb(cli, tmp_path):
    pytest.importorskip("tblite")
    import ase.io
    from ase.build import molecule

    src = tmp_path / "h2o.xyz"
    ase.io.write(src, molecule("H2O"))
    out = tmp_path / "h2o-xtb.xyz"
    r = cli(["potential", "label", src, "--method", "gfn2-xtb", "--out", out, "--json"])
    assert r.code == 0, r.err
    a = ase.io.read(out)
    # GFN2-xTB total energy of water is about -5.07 Hartree
    assert a.get_potential_energy() / 27.211386 == pytest.approx(-5.07, abs=0.02)
    assert a.info["label_method"] == "GFN2-xTB"


def test_cli_errors_exit_2(cli, tmp_path):
    data = _emt_file(tmp_path / "cu.xyz", n=3)
    bare = _emt_file(tmp_path / "bare.xyz", n=3, labelled=False)
    cases = [
        (["potential", "test", tmp_path / "nope", data, "--json"], "neither a model file"),
        (["potential", "train", bare, "--out", tmp_path / "m", "--epochs", 1], "has no energy"),
        (["potential", "train", data, "--out", tmp_path / "m", "--hidden", "a,b"], "--hidden"),
        (["potential", "train", data, "--out", tmp_path / "m", "--schedule", "cosine"], "schedule must be"),
        (["potential", "train", data, "--out", tmp_path / "m", "--optimizer", "sgd"], "optimizer must be"),
        (["potential", "train", data, "--out", tmp_path / "m", "--max-minutes", -1], "--max-minutes must be positive"),
        (["potential", "train", data, "--out", tmp_path / "m", "--weight-decay", -1], "weight_decay must be non-negative"),
        (["potential", "train", data, "--out", tmp_path / "m", "--force-huber", 0], "force_huber_eV_per_A must be positive"),
        (["potential", "train", data, "--out", tmp_path / "m", "--jobs", 0], "n_jobs must be at least 1"),
        (["potential", "train", data, "--out", tmp_path / "m", "--components", 999], "exceeds the descriptor's"),
        (["potential", "train", data, "--out", tmp_path / "m", "--g5-shells", "2.5,x"], "--g5-shells"),
        (["potential", "train", data, "--out", tmp_path / "m", "--g5-shells", "6.0"], "every radius must be in"),
        (["potential", "label", bare, "--method", "DFT", "--out", tmp_path / "x.xyz"], "unknown labelling method"),
        (["potential", "test", "si-mlearn", data, "--json"], "Cu, which the model was not trained on"),
        (["potential", "md", "si-mlearn", tmp_path / "missing.xyz"], "does not exist"),
        (["potential", "md", "si-mlearn", data, "--ensemble", "npt"], "unknown MD ensemble"),
    ]
    for argv, msg in cases:
        r = cli(argv)
        assert r.code == 2, (argv, r.err)
        assert msg in r.err, (argv, r.err)
        assert "Traceback" not in r.err
