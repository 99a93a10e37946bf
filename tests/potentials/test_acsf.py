"""ACSF: agreement with DScribe, closed forms, invariances, autograd vs finite differences."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))   # --import-mode=importlib: make checks.py importable
from checks import (assert_image_invariant, assert_permutation_equivariant,  # noqa: E402
                    assert_rotation_invariant, assert_supercell_repeats, assert_translation_invariant,
                    fd_forces, fd_stress, random_system)
from matsight import MatsightError  # noqa: E402
from matsight.potentials._acsf import ACSF  # noqa: E402

torch = pytest.importorskip("torch")
dscribe = pytest.importorskip("dscribe.descriptors")

SPECIES = ["H", "C", "O"]
PARAMS = dict(
    g2_params=[[0.5, 0.0], [1.2, 1.5], [0.3, 3.0], [4.0, 2.2]],
    g3_params=[0.8, 2.1],
    g4_params=[[0.01, 1.0, 1.0], [0.05, 2.0, -1.0], [0.02, 3.5, 1.0], [0.2, 16.0, -1.0]],
    g5_params=[[0.02, 1.0, -1.0], [0.1, 4.0, 1.0], [0.03, 2.5, -1.0]],
)
# small triclinic cell: lattice vectors ~4 Å < r_cut, so atoms see their own images
SMALL_CELL = np.array([[4.1, 0.0, 0.0], [1.3, 3.9, 0.0], [-0.8, 0.7, 4.3]])


def _dscribe(species, r_cut, periodic, **params):
    return dscribe.ACSF(species=species, r_cut=r_cut, periodic=periodic, **params)


def _assert_rel(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    scale = np.abs(b).max(axis=0, keepdims=True) + 1e-300   # per-feature scale
    err = np.abs(a - b) / scale
    assert err.max() < rtol, f"max relative error {err.max():.3g}"


@pytest.mark.parametrize("periodic,cell,n,seed", [
    (False, None, 14, 0),                      # molecule-like cluster
    (True, SMALL_CELL, 9, 1),                  # small triclinic cell, self-images
    (True, None, 24, 2),                       # larger triclinic cell
])
def test_matches_dscribe_float64(periodic, cell, n, seed):
    atoms = random_system(n, [1, 6, 8], periodic=periodic, cell=cell, random_state=seed)
    atoms.wrap() if periodic else None         # DScribe expects positions inside the cell
    ref = _dscribe(SPECIES, 5.0, periodic, **PARAMS).create(atoms)
    ours = ACSF(SPECIES, 5.0, periodic=periodic, **PARAMS)
    assert ours.n_features == ref.shape[1]
    _assert_rel(ours.create(atoms), ref, 1e-10)
    # the differentiable PyTorch path agrees too
    pos = torch.tensor(atoms.positions)
    out = ours.compute(pos, torch.tensor(atoms.numbers), torch.tensor(atoms.cell.array),
                       ours.neighbor_pairs(atoms), fast=False)
    assert out.dtype == torch.float64
    _assert_rel(out.numpy(), ref, 1e-10)


def test_matches_dscribe_partial_pbc_and_default_set():
    atoms = random_system(16, [8, 14], periodic=[True, True, False],
                          cell=np.array([[6.0, 0, 0], [1.5, 5.5, 0], [0, 0, 7.0]]), random_state=3)
    atoms.wrap()
    ours = ACSF.default_for(["O", "Si"], r_cut=4.5, n_g2=6, n_g4=8, n_g5=4)
    ref = _dscribe(["O", "Si"], 4.5, True, g2_params=ours._g2, g4_params=ours._g4,
                   g5_params=ours._g5).create(atoms)
    _assert_rel(ours.create(atoms), ref, 1e-10)


def test_float32_and_fast_paths_agree():
    atoms = random_system(10, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=4)
    atoms.wrap()
    ref = _dscribe(SPECIES, 5.0, True, **PARAMS).create(atoms)
    acsf = ACSF(SPECIES, 5.0, periodic=True, **PARAMS)
    pairs = acsf.neighbor_pairs(atoms)
    for fast in (False, True):
        out = acsf.compute(torch.tensor(atoms.positions, dtype=torch.float32), torch.tensor(atoms.numbers),
                           torch.tensor(atoms.cell.array, dtype=torch.float32), pairs, fast=fast)
        assert out.dtype == torch.float32
        _assert_rel(out.double().numpy(), ref, 2e-4)


def test_feature_count_matches_dscribe():
    for sp, kw in [(["Si"], {}), (["H", "O"], dict(g2_params=[[1, 0]])), (SPECIES, PARAMS),
                   (["Fe", "Ni", "Cr", "Al"], dict(g4_params=[[0.1, 1, 1]], g3_params=[1.0]))]:
        ours = ACSF(sp, 4.0, **kw)
        assert ours.get_number_of_features() == ours.n_features == \
            _dscribe(sp, 4.0, False, **kw).get_number_of_features()
        assert len(ours.get_feature_names_out()) == ours.n_features


def test_dimer_and_trimer_closed_forms():
    """Hand-written Behler formulas for a dimer and a triangle, both cutoffs."""
    from ase import Atoms

    rc = 4.0
    for cutoff in ("cosine", "polynomial"):
        def fc(r):
            x = r / rc
            return 0.5 * (math.cos(math.pi * x) + 1) if cutoff == "cosine" else 1 - 10 * x**3 + 15 * x**4 - 6 * x**5
        acsf = ACSF(["H", "O"], rc, g2_params=[[0.7, 1.1]], g3_params=[1.3], g4_params=[[0.3, 2.0, -1.0]],
                    g5_params=[[0.2, 3.0, 1.0]], cutoff=cutoff)
        d = 1.7
        f = acsf.create(Atoms("HO", positions=[[0, 0, 0], [d, 0, 0]]))
        # H sees O: species blocks [H: G1 G2 G3][O: G1 G2 G3][HH][HO][OO] x [G4 G5]
        assert f[0, :3] == pytest.approx([0, 0, 0])
        assert f[0, 3:6] == pytest.approx([fc(d), math.exp(-0.7 * (d - 1.1) ** 2) * fc(d),
                                           math.cos(1.3 * d) * fc(d)], rel=1e-12)
        assert np.all(f[:, 6:] == 0)
        # triangle O at origin, H at distances a, b with angle theta
        a, b, th = 1.0, 1.4, math.radians(104.5)
        pos = [[0, 0, 0], [a, 0, 0], [b * math.cos(th), b * math.sin(th), 0]]
        f = acsf.create(Atoms("OHH", positions=pos))
        c = math.sqrt(a * a + b * b - 2 * a * b * math.cos(th))
        g4 = 2 ** (1 - 2) * (1 - math.cos(th)) ** 2 * math.exp(-0.3 * (a * a + b * b + c * c)) * fc(a) * fc(b) * fc(c)
        g5 = 2 ** (1 - 3) * (1 + math.cos(th)) ** 3 * math.exp(-0.2 * (a * a + b * b)) * fc(a) * fc(b)
        hh = 6                                   # pair block (H, H) comes first
        assert f[0, hh:hh + 2] == pytest.approx([g4, g5], rel=1e-12)
        assert np.all(f[0, hh + 2:] == 0)


def test_polynomial_cutoff_is_smooth_at_r_cut():
    from matsight.potentials._acsf import _cutoff_fn

    r = torch.tensor([0.0, 3.0 - 1e-12, 3.0], dtype=torch.float64, requires_grad=True)
    f = _cutoff_fn("polynomial", r, 3.0)
    (g,) = torch.autograd.grad(f.sum(), r, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), r)
    assert f.detach().numpy() == pytest.approx([1, 0, 0], abs=1e-10)
    assert g.detach().numpy()[1:] == pytest.approx([0, 0], abs=1e-9)
    assert h.numpy()[1:] == pytest.approx([0, 0], abs=1e-8)


def _features_fn(acsf):
    return lambda atoms: acsf.create(atoms)


def test_invariances_molecule_and_crystal():
    acsf = ACSF(SPECIES, 4.0, periodic=True, **PARAMS)
    fn = _features_fn(acsf)
    mol = random_system(10, [1, 6, 8], periodic=False, random_state=5)
    cry = random_system(8, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=6)
    for atoms in (mol, cry):
        assert_translation_invariant(fn, atoms)
        assert_rotation_invariant(fn, atoms)
        assert_permutation_equivariant(fn, atoms)
    assert_image_invariant(fn, cry)
    assert_supercell_repeats(fn, cry, (2, 1, 2))


def test_invariance_checks_can_fail():
    """The checks must catch a descriptor that is not invariant."""
    mol = random_system(5, [1, 6], periodic=False, random_state=7)
    with pytest.raises(AssertionError):
        assert_translation_invariant(lambda a: a.positions, mol)
    with pytest.raises(AssertionError):
        assert_rotation_invariant(lambda a: a.positions[:, :1] ** 2, mol)
    with pytest.raises(AssertionError):
        assert_permutation_equivariant(lambda a: np.arange(len(a)), mol)


def _energy_setup(acsf, atoms, seed=0, fast=False):
    """E = sum tanh(G) w : a nonlinear dummy energy of the descriptors."""
    w = torch.tensor(np.random.default_rng(seed).normal(size=acsf.n_features))
    pairs = acsf.neighbor_pairs(atoms)

    def energy(pos, cell, p=pairs):
        g = acsf.compute(pos, torch.tensor(atoms.numbers), cell, p, fast=fast)
        return (torch.tanh(g) @ w).sum()

    def energy_np(a):
        with torch.no_grad():
            return float(energy(torch.tensor(a.positions), torch.tensor(a.cell.array), acsf.neighbor_pairs(a)))
    return energy, energy_np


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("cutoff", ["cosine", "polynomial"])
def test_forces_and_stress_match_finite_differences(fast, cutoff):
    acsf = ACSF(SPECIES, 4.0, periodic=True, cutoff=cutoff, **PARAMS)
    atoms = random_system(6, [1, 6, 8], periodic=True, cell=SMALL_CELL * 0.9, random_state=8)
    energy, energy_np = _energy_setup(acsf, atoms, fast=fast)
    pos = torch.tensor(atoms.positions, requires_grad=True)
    eps = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    strain = torch.eye(3, dtype=torch.float64) + eps
    e = energy(pos @ strain, torch.tensor(atoms.cell.array) @ strain)
    g_pos, g_eps = torch.autograd.grad(e, [pos, eps])
    forces = -g_pos.numpy()
    stress = g_eps.numpy() / atoms.get_volume()
    stress = 0.5 * (stress + stress.T)
    np.testing.assert_allclose(forces, fd_forces(energy_np, atoms, 1e-5), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(stress, fd_stress(energy_np, atoms, 1e-6), rtol=1e-6, atol=1e-7)
    assert np.abs(forces).max() > 1e-2 and np.abs(stress).max() > 1e-3      # not trivially zero


def test_fast_gradient_equals_autograd_molecule():
    acsf = ACSF(SPECIES, 4.5, **PARAMS)
    mol = random_system(12, [1, 6, 8], periodic=False, random_state=9)
    out = []
    for fast in (False, True):
        energy, _ = _energy_setup(acsf, mol, fast=fast)
        pos = torch.tensor(mol.positions, requires_grad=True)
        (g,) = torch.autograd.grad(energy(pos, torch.zeros(3, 3, dtype=torch.float64)), [pos])
        out.append(g.numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-11, atol=1e-13)


def test_double_backward_gradcheck():
    """Training on forces differentiates the forces again: gradgradcheck on positions and cell."""
    acsf = ACSF(["H", "O"], 3.5, periodic=True, g2_params=[[0.8, 1.0]], g4_params=[[0.1, 2.0, -1.0]],
                g5_params=[[0.1, 1.0, 1.0]], cutoff="polynomial")
    atoms = random_system(4, [1, 8], periodic=True, cell=np.diag([3.0, 3.2, 3.4]), random_state=10)
    pairs = acsf.neighbor_pairs(atoms)
    nums = torch.tensor(atoms.numbers)
    w = torch.linspace(-1, 1, acsf.n_features, dtype=torch.float64)

    def f(pos, cell):
        return (torch.tanh(acsf.compute(pos, nums, cell, pairs)) @ w).sum()

    pos = torch.tensor(atoms.positions, requires_grad=True)
    cell = torch.tensor(atoms.cell.array, requires_grad=True)
    assert torch.autograd.gradcheck(f, (pos, cell))
    assert torch.autograd.gradgradcheck(f, (pos, cell))
    # the fast path refuses a second backward instead of returning wrong numbers
    g = acsf.compute(pos, nums, cell, pairs, fast=True)
    (gp,) = torch.autograd.grad((g @ w).sum(), [pos], create_graph=True)
    with pytest.raises(RuntimeError):
        gp.sum().backward()


def test_neighbor_pairs_contract():
    acsf = ACSF(["O"], 5.0, periodic=True)
    atoms = random_system(3, [8], periodic=True, cell=SMALL_CELL, random_state=11)
    atoms.positions += 10.0                      # unwrapped positions are fine
    i, j, s = acsf.neighbor_pairs(atoms)
    assert i.dtype == j.dtype == s.dtype == np.int64 and s.shape == (len(i), 3)
    assert np.all(np.diff(i) >= 0)
    d = np.linalg.norm(atoms.positions[j] - atoms.positions[i] + s @ atoms.cell.array, axis=1)
    assert d.max() < 5.0 and np.any(i == j)      # self-images present
    # both directions: (i, j, S) and (j, i, -S)
    fwd = {(a, b, *c) for a, b, c in zip(i, j, s)}
    assert all((b, a, *(-np.array(c))) in fwd for a, b, *c in fwd)
    # brute-force count over images
    n = 0
    for a in range(3):
        for b in range(3):
            for k in np.ndindex(7, 7, 7):
                v = atoms.positions[b] - atoms.positions[a] + (np.array(k) - 3) @ atoms.cell.array
                n += 0 < np.linalg.norm(v) < 5.0
    assert n == len(i)
    # periodic=False ignores the cell
    i2, _, s2 = ACSF(["O"], 5.0).neighbor_pairs(atoms)
    assert len(i2) == 6 and not s2.any()


def test_serialisation_round_trip():
    acsf = ACSF.default_for(["Si", "O"], r_cut=5.5, n_g2=6, n_g4=4, n_g5=2, cutoff="polynomial")
    d = json.loads(json.dumps(acsf.to_dict()))
    back = ACSF.from_dict(d)
    assert back.to_dict() == acsf.to_dict()
    atoms = random_system(6, [8, 14], periodic=True, cell=SMALL_CELL, random_state=12)
    np.testing.assert_array_equal(back.create(atoms), acsf.create(atoms))


def test_default_for_sets():
    acsf = ACSF.default_for(["Si"], r_cut=6.0)
    g2 = np.array(acsf.g2_params)
    assert g2.shape == (8, 2) and np.sum(g2[:, 1] == 0) == 4 and np.all(g2[4:, 1] > 0)
    assert np.all(np.diff(g2[4:, 1]) > 0) and g2[4:, 1].max() < 6.0
    g4 = np.array(acsf.g4_params)
    assert g4.shape == (8, 3) and set(g4[:, 2]) == {1.0, -1.0} and set(g4[:, 1]) == {1, 2, 4, 16}
    assert acsf.n_features == 1 + 8 + 8
    assert ACSF.default_for(["H", "O"], n_g4=20).n_features == 2 * 9 + 3 * 20


def test_default_for_r_min_and_g4_widths():
    acsf = ACSF.default_for(["Si"], r_cut=5.0, n_g2=24, n_g4=30, zetas=(1, 2, 4, 8, 16), r_min=1.5,
                            g4_widths=(1.0, 0.7, 0.5))
    g2 = np.array(acsf.g2_params)
    shifted = g2[g2[:, 1] > 0, 1]
    assert len(shifted) == 12 and shifted.min() == pytest.approx(1.5) and shifted.max() < 5.0
    np.testing.assert_allclose(np.diff(shifted), (5.0 - 1.5) / 12)
    g4 = np.array(acsf.g4_params)
    widths = np.sqrt(1 / (2 * np.unique(g4[:, 0]))) / 5.0  # back to fractions of r_cut
    np.testing.assert_allclose(np.sort(widths), [0.5, 0.7, 1.0])
    # past the given widths, each new block halves the last one
    more = np.array(ACSF.default_for(["Si"], r_cut=4.0, n_g4=24, g4_widths=(1.0,)).g4_params)
    np.testing.assert_allclose(np.sort(np.sqrt(1 / (2 * np.unique(more[:, 0]))) / 4.0), [0.25, 0.5, 1.0])
    with pytest.raises(MatsightError, match="r_min"):
        ACSF.default_for(["Si"], r_cut=4.0, r_min=4.0)
    with pytest.raises(MatsightError, match="widths"):
        ACSF.default_for(["Si"], r_cut=4.0, g4_widths=(1.0, -0.5))


@pytest.mark.parametrize("kwargs,match", [
    (dict(species=[], r_cut=4), "species is empty"),
    (dict(species="Si", r_cut=4), "not a list"),
    (dict(species=["Xx"], r_cut=4), "not a chemical symbol"),
    (dict(species=[0], r_cut=4), "not in 1..118"),
    (dict(species=["Si"], r_cut=-1), "positive cutoff"),
    (dict(species=["Si"], r_cut="a"), "not a number"),
    (dict(species=["Si"], r_cut=4, g2_params=[[1, 2, 3]]), "2 columns"),
    (dict(species=["Si"], r_cut=4, g2_params=[[-1, 2]]), "non-positive eta"),
    (dict(species=["Si"], r_cut=4, g3_params=[[1.0]]), "vector"),
    (dict(species=["Si"], r_cut=4, g4_params=[[1, 1, 0.5]]), "lambda"),
    (dict(species=["Si"], r_cut=4, g5_params=[[1, 0.5, 1]]), "zeta"),
    (dict(species=["Si"], r_cut=4, g4_params=[[np.nan, 1, 1]]), "NaN"),
    (dict(species=["Si"], r_cut=4, cutoff="gauss"), "cutoff"),
    (dict(species=["Si"], r_cut=4, periodic="yes"), "periodic"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(MatsightError, match=match):
        ACSF(**kwargs)


def test_bad_inputs():
    from ase import Atoms

    acsf = ACSF(["H", "O"], 3.0, g2_params=[[1, 0]])
    with pytest.raises(MatsightError, match="Si"):
        acsf.create(Atoms("SiH", positions=[[0, 0, 0], [1, 0, 0]]))
    with pytest.raises(MatsightError, match="ase.Atoms"):
        acsf.create(np.zeros((3, 3)))
    with pytest.raises(MatsightError, match="n_g2"):
        ACSF.default_for(["H"], n_g2=-1)
    with pytest.raises(MatsightError, match="format"):
        ACSF.from_dict({"species": [1]})
    with pytest.raises(MatsightError, match="lacks"):
        ACSF.from_dict({"format": "matsight.acsf/1"})
    atoms = Atoms("HO", positions=[[0, 0, 0], [1, 0, 0]])
    pairs = acsf.neighbor_pairs(atoms)
    pos = torch.tensor(atoms.positions)
    nums = torch.tensor(atoms.numbers)
    cell = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(MatsightError, match="shape"):
        acsf.compute(pos[:, :2], nums, cell, pairs)
    with pytest.raises(MatsightError, match="numbers"):
        acsf.compute(pos, nums[:1], cell, pairs)
    with pytest.raises(MatsightError, match="float32 or float64"):
        acsf.compute(pos.to(torch.float16), nums, cell, pairs)
    with pytest.raises(MatsightError, match="outside"):
        acsf.compute(pos[:1], nums[:1], cell, pairs)
    with pytest.raises(MatsightError, match="cell"):
        acsf.compute(pos, nums, torch.zeros(3, dtype=torch.float64), pairs)
    with pytest.raises(MatsightError, match="degenerate"):
        ACSF(["H", "O"], 3.0, periodic=True).neighbor_pairs(Atoms("HO", positions=[[0, 0, 0], [1, 0, 0]],
                                                                     cell=np.diag([3.0, 3.0, 0.0]), pbc=True))


def test_empty_and_isolated():
    from ase import Atoms

    acsf = ACSF(["H", "O"], 3.0, g2_params=[[1, 0]], g4_params=[[0.1, 1, 1]])
    assert acsf.create(Atoms()).shape == (0, acsf.n_features)
    f = acsf.create(Atoms("H", positions=[[0, 0, 0]]))
    assert f.shape == (1, acsf.n_features) and not f.any()
    f = acsf.create(Atoms("HH", positions=[[0, 0, 0], [9, 0, 0]]))
    assert not f.any()


@pytest.mark.parametrize("cutoff", ["cosine", "polynomial"])
def test_fast_kernels_edge_parameters(cutoff):
    """Narrow Gaussians (exact fallback of the fitted r_jk factor), huge and non-integer zeta."""
    from matsight.potentials import _acsf_fast

    params = dict(g2_params=[[10.0, 0.9], [0.01, 4.0], [3.0, 6.0]], g3_params=[2.5],
                  g4_params=[[2.0, 1.0, 1.0], [0.05, 100.0, -1.0], [0.05, 300.0, 1.0], [0.3, 1.7, -1.0],
                             [0.05, 32.0, -1.0], [0.05, 8.0, -1.0], [0.3, 64.0, 1.0]],
                  g5_params=[[3.0, 7.0, -1.0], [0.01, 33.0, 1.0]])
    acsf = ACSF(["H", "C", "O"], 4.5, periodic=True, cutoff=cutoff, **params)
    plan = acsf._plan()
    assert np.any((plan.nco == 0) & plan.is4) and np.any(plan.nco[plan.is4] > 0)  # exact and fitted r_jk factor
    assert -1 in plan.kint and 100 in plan.kint and 32 in plan.kint   # pow(), unrolled bits, one-pass ladder
    atoms = random_system(10, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=13)
    atoms.wrap()
    pairs = acsf.neighbor_pairs(atoms)
    nums = torch.tensor(atoms.numbers)
    w = torch.tensor(np.random.default_rng(1).normal(size=acsf.n_features))
    res = []
    for fast in (False, True):
        pos = torch.tensor(atoms.positions, requires_grad=True)
        cell = torch.tensor(atoms.cell.array, requires_grad=True)
        g = acsf.compute(pos, nums, cell, pairs, fast=fast)
        grads = torch.autograd.grad((torch.tanh(g) @ w).sum(), [pos, cell])
        res.append([g.detach().numpy()] + [x.numpy() for x in grads])
    _assert_rel(res[1][0], res[0][0], 1e-10)
    for a, b in zip(res[1][1:], res[0][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * np.abs(b).max())
    if cutoff == "cosine":
        _assert_rel(acsf.create(atoms), _dscribe(SPECIES, 4.5, True, **params).create(atoms), 1e-10)
    assert _acsf_fast.available()


def test_without_numba_falls_back_to_torch(monkeypatch):
    from matsight.potentials import _acsf_fast

    atoms = random_system(8, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=14)
    atoms.wrap()
    acsf = ACSF(SPECIES, 5.0, periodic=True, **PARAMS)
    monkeypatch.setattr(_acsf_fast, "available", lambda: False)
    _assert_rel(acsf.create(atoms), _dscribe(SPECIES, 5.0, True, **PARAMS).create(atoms), 1e-10)
