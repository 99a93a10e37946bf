"""Behler–Parrinello model: physics (forces, stress, invariances), model files, bad input."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))  # tests/potentials/checks.py under --import-mode=importlib
from checks import (  # noqa: E402
    assert_image_invariant, assert_permutation_equivariant, assert_rotation_invariant,
    assert_translation_invariant, fd_forces, fd_stress, random_system)

from matsight import MatsightError
from matsight.potentials import ACSF, Calculator, NeuralPotential, load, save


def _random_model(species=("C", "Si"), n_members=1, seed=0):
    desc = ACSF.default_for(list(species), r_cut=4.0, n_g2=4, n_g4=4)
    model = NeuralPotential(desc, species, hidden=(8, 8), n_members=n_members).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.networks.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
        model.feature_mean.uniform_(0.0, 1.0, generator=gen)
        model.feature_std.uniform_(0.5, 2.0, generator=gen)
        model.reference_energies.copy_(torch.tensor([-3.0, -5.0][: len(model.species)], dtype=torch.float64))
        model.energy_scale.fill_(0.3)
    return model


@pytest.fixture(scope="module")
def model():
    return _random_model()


@pytest.fixture(scope="module")
def system():
    return random_system(10, [6, 14], periodic=True, min_dist=1.3, random_state=3)


def _energy(model):
    calc = Calculator(model)

    def fn(atoms):
        return np.array(calc.get_potential_energy(atoms.copy()))

    return fn


def test_forces_are_minus_gradient_of_energy(model, system):
    calc = Calculator(model)
    forces = calc.get_forces(system.copy())
    ref = fd_forces(_energy(model), system, h=1e-4)
    assert np.abs(forces).max() > 0.05  # a non-trivial check
    np.testing.assert_allclose(forces, ref, atol=2e-6, rtol=1e-5)


def test_stress_matches_strain_derivative(model, system):
    calc = Calculator(model)
    stress = calc.get_stress(system.copy())  # Voigt
    ref = fd_stress(_energy(model), system, h=1e-5)
    ref_voigt = np.array([ref[0, 0], ref[1, 1], ref[2, 2], ref[1, 2], ref[0, 2], ref[0, 1]])
    assert np.abs(stress).max() > 1e-3
    np.testing.assert_allclose(stress, ref_voigt, atol=1e-7, rtol=1e-5)
    # and ASE's own numerical stress agrees
    from ase.calculators.fd import calculate_numerical_stress

    a = system.copy()
    a.calc = Calculator(model)
    np.testing.assert_allclose(stress, calculate_numerical_stress(a, eps=1e-5), atol=1e-6)


def test_energy_invariances(model, system):
    fn = _energy(model)
    assert_translation_invariant(fn, system, atol=1e-9)
    assert_rotation_invariant(fn, system, atol=1e-9)
    assert_permutation_equivariant(fn, system, per_atom=False, atol=1e-9)
    assert_image_invariant(fn, system, atol=1e-9)


def test_equivalent_cell_choice_gives_same_energy(model, system):
    """The same crystal described by another (unimodular) choice of cell vectors."""
    other = system.copy()
    c = system.cell.array
    other.set_cell(np.array([c[0], c[1] + c[0], c[2] - c[1]]), scale_atoms=False)
    assert np.isclose(other.get_volume(), system.get_volume())
    fn = _energy(model)
    assert abs(fn(other) - fn(system)) < 1e-9


def test_forces_rotate_with_the_structure(model, system):
    from checks import random_rotation

    rot = random_rotation(np.random.default_rng(1))
    moved = system.copy()
    moved.positions = system.positions @ rot.T
    moved.cell = system.cell.array @ rot.T
    calc = Calculator(model)
    np.testing.assert_allclose(calc.get_forces(moved), calc.get_forces(system.copy()) @ rot.T, atol=1e-9)


def test_supercell_energy_is_extensive(model, system):
    calc = Calculator(model)
    e1 = calc.get_potential_energy(system.copy())
    f1 = calc.get_forces(system.copy())
    big = system.repeat((2, 1, 3))
    assert abs(calc.get_potential_energy(big) - 6 * e1) < 1e-8 * abs(e1) + 1e-8
    np.testing.assert_allclose(calc.get_forces(big), np.tile(f1, (6, 1)), atol=1e-9)


def test_energy_is_sum_of_atomic_energies_and_batches_independent(model):
    a = random_system(6, [6, 14], periodic=True, min_dist=1.3, random_state=1)
    b = random_system(9, [6, 14], periodic=True, min_dist=1.3, random_state=2)
    feats, sp = [], []
    for at in (a, b):
        pairs = model.descriptor.neighbor_pairs(at)
        feats.append(model.descriptor.compute(torch.tensor(at.positions), torch.tensor(at.numbers),
                                              torch.tensor(at.cell.array), pairs, fast=False).detach())
        sp.append(model.species_index(at.numbers))
    g = torch.cat(feats)
    idx = torch.cat(sp)
    frame = torch.tensor([0] * 6 + [1] * 9)
    e_batch = model(g, idx, frame, 2)[0]
    e_a = model(feats[0], sp[0])[0, 0]
    e_b = model(feats[1], sp[1])[0, 0]
    assert torch.allclose(e_batch, torch.stack([e_a, e_b]), atol=1e-12)
    atomic = model.atomic_energies(g, idx)[0]
    assert torch.allclose(atomic[:6].sum(), e_a, atol=1e-12)
    calc = Calculator(model)
    assert abs(calc.get_potential_energy(a) - e_a.item()) < 1e-10


def test_reference_energies_by_least_squares():
    model = _random_model()
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 10, size=(12, 2)).astype(float)
    counts[:, 0] += 1
    e_true = np.array([-7.5, -5.4])
    energies = counts @ e_true + rng.normal(scale=0.01, size=12) * counts.sum(1)
    resid = model.fit_reference_energies(counts, energies)
    ref, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    np.testing.assert_allclose(model.reference_energies.numpy(), ref, atol=1e-10)
    np.testing.assert_allclose(model.reference_energies.numpy(), e_true, atol=0.05)
    np.testing.assert_allclose(resid, (energies - counts @ ref) / counts.sum(1), atol=1e-12)


def test_stored_jacobian_forces_equal_autograd_forces(model, system):
    """The training code path (precomputed sparse Jacobian) gives the calculator's forces."""
    from matsight.potentials._batch import collate, energies_and_forces, frame_features

    ff = frame_features(model.descriptor, system, 0.0, np.zeros((len(system), 3)), store_dtype=torch.float64)
    batch = collate([ff], model)
    e, f = energies_and_forces(model, batch)
    calc = Calculator(model)
    np.testing.assert_allclose(f.detach().numpy(), calc.get_forces(system.copy()), atol=1e-10)
    assert abs(e[0, 0].item() - calc.get_potential_energy(system.copy())) < 1e-9


@pytest.mark.parametrize("layout", ["buckets", "entries"])
def test_stored_jacobian_layouts_match_entrywise_contraction(model, layout):
    """Both training layouts (padded per-centre blocks for bmm, centre-sorted entries for the numba
    loops) hold every stored entry once: forces of a mixed batch (a periodic cell, a molecule, a cell
    with a vacancy; many neighbour counts) equal the entry-wise sum
    ``F_k = -sum_q [target_q = k] dE/dG_owner(q) . J_q`` and the calculator's forces."""
    from matsight.potentials._batch import collate, energies_and_forces, frame_features

    systems = [random_system(14, [6, 14], periodic=True, min_dist=1.3, random_state=5),
               random_system(7, [6, 14], periodic=False, min_dist=1.3, random_state=6)]
    holed = systems[0].copy()
    del holed[3]
    systems.append(holed)
    frames = [frame_features(model.descriptor, a, 0.0, np.zeros((len(a), 3)), store_dtype=torch.float64) for a in systems]
    assert len({int(c) for f in frames for c in torch.bincount(f.owner)}) > 3  # several buckets
    batch = collate(frames, model, layout=layout)
    assert (batch.entries is None) == (layout == "buckets") and bool(batch.buckets) == (layout == "buckets")
    e, f = energies_and_forces(model, batch)
    start = 0
    for fr, a in zip(frames, systems):
        g = fr.features.clone().requires_grad_(True)
        en = model(g, model.species_index(fr.numbers.numpy()))
        (de_dg,) = torch.autograd.grad(en.sum(), g)
        slow = torch.zeros(fr.n_atoms, 3, dtype=torch.float64)
        for q in range(len(fr.owner)):
            slow[fr.target[q]] -= de_dg[fr.owner[q]] @ fr.jacobian[q]
        np.testing.assert_allclose(f[start:start + fr.n_atoms].numpy(), slow.numpy(), atol=1e-12)
        np.testing.assert_allclose(f[start:start + fr.n_atoms].numpy(), Calculator(model).get_forces(a.copy()), atol=1e-10)
        start += fr.n_atoms


def test_ensemble_reports_spread(system):
    model = _random_model(n_members=3)
    calc = Calculator(model)
    a = system.copy()
    calc.calculate(a, ["energy", "forces"])
    members = calc.results["energies_members"]
    assert members.shape == (3,) and np.ptp(members) > 1e-3
    assert np.isclose(calc.results["energy"], members.mean())
    assert np.isclose(calc.results["energy_std"], members.std())
    # the forces are those of the mean energy
    single = []
    for m in range(3):
        one = _random_model()
        for name in ("feature_mean", "feature_std", "reference_energies", "energy_scale"):
            getattr(one, name).copy_(getattr(model, name))
        for sym in model.species:
            one.networks[sym][0].load_state_dict(model.networks[sym][m].state_dict())
        single.append(Calculator(one).get_forces(system.copy()))
    np.testing.assert_allclose(calc.results["forces"], np.mean(single, axis=0), atol=1e-10)


def test_model_file_round_trip(tmp_path, model, system, monkeypatch):
    stem = save(model, tmp_path / "m.v1", training={"note": "test"})
    assert (tmp_path / "m.v1.safetensors").is_file() and (tmp_path / "m.v1.json").is_file()
    meta = json.loads((tmp_path / "m.v1.json").read_text())
    for key in ("format_version", "species", "descriptor", "scalings", "reference_energies_eV", "units", "training"):
        assert key in meta
    assert meta["species"] == ["C", "Si"] and meta["units"]["energy"] == "eV"
    assert meta["descriptor"]["r_cut"] == 4.0
    # loading never unpickles
    monkeypatch.setattr(torch, "load", lambda *a, **k: (_ for _ in ()).throw(AssertionError("torch.load called")))
    for spec in (stem, tmp_path / "m.v1.json", str(tmp_path / "m.v1.safetensors")):
        loaded = load(spec)
        e0 = Calculator(model).get_potential_energy(system.copy())
        assert Calculator(loaded).get_potential_energy(system.copy()) == pytest.approx(e0, abs=1e-12)
    # the safetensors file is a JSON header plus raw bytes, no pickle opcodes
    raw = (tmp_path / "m.v1.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    json.loads(raw[8:8 + n])


def test_model_file_errors(tmp_path, model):
    with pytest.raises(MatsightError, match="neither a model file .* nor a shipped model"):
        load(tmp_path / "missing")
    stem = save(model, tmp_path / "m")
    meta = json.loads((tmp_path / "m.json").read_text())
    meta["format_version"] = 99
    (tmp_path / "m.json").write_text(json.dumps(meta))
    with pytest.raises(MatsightError, match="format_version 99"):
        load(stem)
    save(model, tmp_path / "m")
    (tmp_path / "m.safetensors").unlink()
    with pytest.raises(MatsightError, match="incomplete"):
        load(tmp_path / "m")
    (tmp_path / "x.json").write_text("{not json")
    (tmp_path / "x.safetensors").write_bytes(b"")
    with pytest.raises(MatsightError, match="not valid JSON"):
        load(tmp_path / "x")


def test_save_does_not_change_the_model(tmp_path, model):
    before = {k: v.clone() for k, v in model.state_dict().items()}
    save(model, tmp_path / "m")
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


@pytest.mark.parametrize("case, match", [
    ("unknown", r"contains O, which the model was not trained on \(it knows C, Si\)"),
    ("overlap", r"atoms 0 \(Si\) and 3 \(C\) overlap: they are 0.100 Å apart"),
    ("nan", "atom 2 has a NaN or infinite position"),
    ("empty", "is empty"),
    ("nocell", "periodic along x, y, z but has no cell vector"),
])
def test_bad_structures_raise_clear_errors(model, case, match):
    from ase import Atoms

    atoms = Atoms("SiC4", positions=[[0, 0, 0], [2, 0, 0], [0, 2, 0], [0, 0, 2], [2, 2, 2]], cell=[8, 8, 8], pbc=True)
    if case == "unknown":
        atoms[1].symbol = "O"
    elif case == "overlap":
        atoms.positions[3] = [0.1, 0, 0]
    elif case == "nan":
        atoms.positions[2, 1] = np.nan
    elif case == "empty":
        atoms = Atoms(cell=[5, 5, 5], pbc=True)
    elif case == "nocell":
        atoms = Atoms("Si2", positions=[[0, 0, 0], [2, 0, 0]], pbc=True)
    with pytest.raises(MatsightError, match=match):
        Calculator(model).get_potential_energy(atoms)


def test_stress_needs_a_periodic_cell(model):
    from ase import Atoms
    from ase.calculators.calculator import PropertyNotImplementedError

    mol = Atoms("SiC", positions=[[0, 0, 0], [1.8, 0, 0]])
    calc = Calculator(model)
    assert np.isfinite(calc.get_potential_energy(mol))
    f = calc.get_forces(mol)
    np.testing.assert_allclose(f.sum(0), 0, atol=1e-10)  # Newton's third law
    with pytest.raises(PropertyNotImplementedError):
        calc.get_stress(mol)


def test_calculator_does_not_modify_the_callers_model(model, system):
    dtype = next(model.parameters()).dtype
    m32 = _random_model().float()
    Calculator(m32).get_potential_energy(system.copy())
    assert next(m32.parameters()).dtype == torch.float32
    assert next(model.parameters()).dtype == dtype


# ---------------------------------------------------------------------- principal-component inputs
def _projected_model(n_inputs=5, seed=1):
    """A random model whose networks see ``n_inputs`` principal components, fitted on random structures."""
    from matsight.potentials._batch import collate, frame_features

    base = _random_model(seed=seed)
    model = NeuralPotential(base.descriptor, base.species, hidden=(8, 8), n_inputs=n_inputs).double()
    structures = [random_system(12, [6, 14], periodic=True, min_dist=1.3, random_state=20 + k) for k in range(4)]
    feats = [frame_features(model.descriptor, a, 0.0, None, store_dtype=torch.float64) for a in structures]
    batch = collate(feats, model)
    model.fit_scalers(batch.features, batch.species_idx).fit_projection(batch.features, batch.species_idx)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.networks.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
        model.reference_energies.copy_(torch.tensor([-3.0, -5.0], dtype=torch.float64))
        model.energy_scale.fill_(0.3)
    return model, batch


def test_projection_keeps_orthonormal_axes_of_decreasing_variance():
    model, batch = _projected_model(n_inputs=5)
    n_feat = model.n_features
    assert model.n_inputs == 5 < n_feat
    x = model.inputs(batch.features, batch.species_idx)  # (n_atoms, 5)
    for k in range(len(model.species)):
        p = model.projection[k]  # (n_features, 5)
        torch.testing.assert_close(p.T @ p, torch.eye(5, dtype=p.dtype), atol=1e-12, rtol=0)
        var = x[batch.species_idx == k].var(0, unbiased=False)  # (5,)
        assert torch.all(var[:-1] >= var[1:] - 1e-12)
        # the leading axis is the top eigenvector: no unit direction has more variance
        z = (batch.features[batch.species_idx == k] - model.feature_mean[k]) / model.feature_std[k]
        top = torch.linalg.eigvalsh(torch.cov(z.T, correction=0))[-1]
        assert var[0].item() == pytest.approx(top.item(), rel=1e-9)
    # all components: a rotation, so the total variance of the standardised features is kept
    full, fb = _projected_model(n_inputs=n_feat)
    zf = full.inputs(fb.features, fb.species_idx)
    z = (fb.features - full.feature_mean[fb.species_idx]) / full.feature_std[fb.species_idx]
    for k in range(len(full.species)):
        sel = fb.species_idx == k
        assert zf[sel].var(0).sum().item() == pytest.approx(z[sel].var(0).sum().item(), rel=1e-10)


def test_projected_model_forces_and_stress_are_derivatives_of_its_energy(system):
    model, _ = _projected_model()
    calc = Calculator(model)
    forces = calc.get_forces(system.copy())
    assert np.abs(forces).max() > 0.05
    np.testing.assert_allclose(forces, fd_forces(_energy(model), system, h=1e-4), atol=2e-6, rtol=1e-5)
    ref = fd_stress(_energy(model), system, h=1e-5)
    ref_voigt = np.array([ref[0, 0], ref[1, 1], ref[2, 2], ref[1, 2], ref[0, 2], ref[0, 1]])
    stress = calc.get_stress(system.copy())
    assert np.abs(stress).max() > 1e-3
    np.testing.assert_allclose(stress, ref_voigt, atol=1e-7, rtol=1e-5)


def test_prepared_batches_give_the_calculators_energies_and_forces():
    """Training batches of network inputs (features and Jacobians mapped once) give the model's own forces."""
    from matsight.potentials._batch import collate, energies_and_forces, frame_features

    model, _ = _projected_model()
    systems = [random_system(14, [6, 14], periodic=True, min_dist=1.3, random_state=7),
               random_system(7, [6, 14], periodic=False, min_dist=1.3, random_state=8)]
    frames = [frame_features(model.descriptor, a, 0.0, np.zeros((len(a), 3)), store_dtype=torch.float64) for a in systems]
    prepared = collate(frames, model, prepared=True)
    assert prepared.features.shape[1] == model.n_inputs and prepared.entries.jacobian.shape[2] == model.n_inputs
    e_p, f_p = energies_and_forces(model, prepared)
    e_r, f_r = energies_and_forces(model, collate(frames, model))
    torch.testing.assert_close(e_p, e_r, atol=1e-10, rtol=0)
    torch.testing.assert_close(f_p, f_r, atol=1e-10, rtol=0)
    start = 0
    for a in systems:
        calc = Calculator(model)
        np.testing.assert_allclose(f_p[start:start + len(a)].numpy(), calc.get_forces(a.copy()), atol=1e-10)
        start += len(a)
    assert abs(e_p[0, 1].item() - Calculator(model).get_potential_energy(systems[1].copy())) < 1e-9


def test_projected_model_file_round_trip(tmp_path, system):
    model, _ = _projected_model()
    stem = save(model, tmp_path / "pca")
    meta = json.loads((tmp_path / "pca.json").read_text())
    assert meta["format_version"] == 2 and meta["n_inputs"] == model.n_inputs
    loaded = load(stem)
    assert loaded.n_inputs == model.n_inputs
    torch.testing.assert_close(loaded.projection, model.projection, atol=0, rtol=0)
    e0 = Calculator(model).get_potential_energy(system.copy())
    assert Calculator(loaded).get_potential_energy(system.copy()) == pytest.approx(e0, abs=1e-12)


@pytest.mark.parametrize("n_inputs", [0, 10_000])
def test_projection_size_outside_the_features_is_refused(n_inputs):
    desc = ACSF.default_for(["Si"], r_cut=4.0, n_g2=4, n_g4=4)
    with pytest.raises(MatsightError, match="n_inputs must be between 1 and the descriptor's"):
        NeuralPotential(desc, ["Si"], n_inputs=n_inputs)
