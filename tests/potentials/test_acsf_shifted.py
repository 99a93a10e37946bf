"""Shell-resolved angular functions (``shifted_g5_params``), the extension beyond DScribe's set."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from matsight.errors import MatsightError
from matsight.potentials import ACSF

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import assert_descriptor_forces_and_stress, assert_descriptor_invariances, random_system  # noqa: E402

SPECIES = ["H", "C", "O"]
BASE = dict(g2_params=[[0.5, 1.0]], g4_params=[[0.05, 2.0, 1.0]], g5_params=[[0.1, 1.0, -1.0]])
SHIFTED = [[4.0, 1.2, 1.0, 1.0], [4.0, 1.2, 2.0, -1.0], [2.0, 2.0, 4.0, 1.0], [1.0, 0.0, 1.0, -1.0]]
SMALL_CELL = np.array([[4.2, 0.0, 0.0], [1.1, 4.0, 0.0], [-0.7, 0.9, 4.4]])


def _acsf(cutoff="cosine", r_cut=3.5):
    return ACSF(SPECIES, r_cut, periodic=True, cutoff=cutoff, shifted_g5_params=SHIFTED, **BASE)


def _brute(acsf, atoms):
    """Loops over neighbour pairs from ASE's neighbour list: the obviously correct version."""
    from ase.neighborlist import neighbor_list

    z = list(acsf.atomic_numbers)
    ns = len(z)
    npt = ns * (ns + 1) // 2
    rc = acsf.r_cut
    i_, j_, d_ = neighbor_list("ijD", atoms, rc)
    out = np.zeros((len(atoms), npt, len(SHIFTED)))

    def fc(r):
        if acsf.cutoff == "cosine":
            return 0.5 * (np.cos(np.pi * r / rc) + 1)
        x = r / rc
        return 1 - 10 * x ** 3 + 15 * x ** 4 - 6 * x ** 5

    for a in range(len(atoms)):
        sel = np.flatnonzero(i_ == a)
        for ip, p in enumerate(sel):
            for q in sel[ip + 1:]:
                u, v = d_[p], d_[q]
                ru, rv = np.linalg.norm(u), np.linalg.norm(v)
                cos = u @ v / ru / rv
                sa, sb = z.index(atoms.numbers[j_[p]]), z.index(atoms.numbers[j_[q]])
                slot = max(sa, sb) * (max(sa, sb) + 1) // 2 + min(sa, sb)
                for k, (eta, rs, zeta, lam) in enumerate(SHIFTED):
                    g = np.exp(-eta * (ru - rs) ** 2) * fc(ru) * np.exp(-eta * (rv - rs) ** 2) * fc(rv)
                    out[a, slot, k] += 2 ** (1 - zeta) * (1 + lam * cos) ** zeta * g
    return out.reshape(len(atoms), -1)


@pytest.mark.parametrize("cutoff", ["cosine", "polynomial"])
def test_matches_brute_force_and_keeps_dscribe_prefix(cutoff):
    acsf = _acsf(cutoff)
    plain = ACSF(SPECIES, 3.5, periodic=True, cutoff=cutoff, **BASE)
    atoms = random_system(9, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=1)
    x = acsf.create(atoms)
    assert x.shape == (9, acsf.n_features) and acsf.n_features == plain.n_features + 6 * len(SHIFTED)
    assert acsf.n_dscribe_features == plain.n_features
    np.testing.assert_allclose(x[:, :plain.n_features], plain.create(atoms), rtol=1e-12, atol=1e-14)
    ref = _brute(acsf, atoms)
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(x[:, plain.n_features:], ref, rtol=1e-10, atol=1e-13)
    # the pure-PyTorch path gives the same numbers
    pairs = acsf.neighbor_pairs(atoms)
    g = acsf.compute(torch.tensor(atoms.positions), torch.tensor(atoms.numbers), torch.tensor(atoms.cell.array),
                     pairs, fast=False)
    np.testing.assert_allclose(g.detach().numpy(), x, rtol=1e-12, atol=1e-14)


def test_names_and_round_trip():
    acsf = _acsf()
    names = acsf.get_feature_names_out()
    assert len(names) == acsf.n_features
    assert names[acsf.n_dscribe_features] == "G5s[H,H](eta=4,Rs=1.2,zeta=1,lambda=1)"
    d = acsf.to_dict()
    assert d["format"] == "matsight.acsf/2"
    back = ACSF.from_dict(d)
    atoms = random_system(5, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=2)
    np.testing.assert_array_equal(back.create(atoms), acsf.create(atoms))
    assert ACSF(SPECIES, 3.5, **BASE).to_dict()["format"] == "matsight.acsf/1"  # files without the extension


def test_invariances():
    acsf = _acsf()
    fn = acsf.create
    cry = random_system(7, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=3)
    mol = random_system(8, [1, 6, 8], periodic=False, random_state=4)
    assert_descriptor_invariances(fn, cry, mol)


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("cutoff", ["cosine", "polynomial"])
def test_forces_and_stress_match_finite_differences(fast, cutoff):
    acsf = _acsf(cutoff)
    atoms = random_system(6, [1, 6, 8], periodic=True, cell=SMALL_CELL * 0.9, random_state=5)
    assert_descriptor_forces_and_stress(acsf, atoms, fast)


def test_analytic_jacobian_equals_autograd():
    """The fast path's analytic backward against autograd through the plain PyTorch formula."""
    acsf = _acsf()
    atoms = random_system(10, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=6)
    pairs = acsf.neighbor_pairs(atoms)
    nums = torch.tensor(atoms.numbers)
    w = torch.tensor(np.random.default_rng(1).normal(size=(10, acsf.n_features)))
    grads = []
    for fast in (False, True):
        pos = torch.tensor(atoms.positions, requires_grad=True)
        (g,) = torch.autograd.grad((acsf.compute(pos, nums, torch.tensor(atoms.cell.array), pairs, fast=fast) * w).sum(),
                                   [pos])
        grads.append(g.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-11, atol=1e-13)


def test_numba_kernel_equals_torch_fallback():
    from matsight.potentials import _acsf_shifted as sh
    from matsight.potentials._neighbors import sort_pairs

    acsf = _acsf("polynomial")
    atoms = random_system(9, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=8)
    i, j, s = sort_pairs(*acsf.neighbor_pairs(atoms))
    vec = torch.tensor(atoms.positions[j] - atoms.positions[i] + s @ atoms.cell.array)
    sj = np.searchsorted(acsf.atomic_numbers, atoms.numbers[j])
    args = (vec, i, sj, len(atoms), 3, np.asarray(SHIFTED, dtype=float), 3.5, "polynomial")
    (fa, ja), (fb, jb) = sh._analytic(*args), sh._analytic_torch(*args)
    assert float(jb.abs().max()) > 0.1
    np.testing.assert_allclose(fa.numpy(), fb.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ja.numpy(), jb.numpy(), rtol=1e-11, atol=1e-13)


def test_training_jacobians_use_the_analytic_path():
    """Precomputed training Jacobians (one backward per feature) equal the pure-PyTorch ones."""
    from matsight.potentials._batch import frame_features

    acsf = _acsf()
    atoms = random_system(5, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=7)
    a = frame_features(acsf, atoms, fast=False, store_dtype=torch.float64)
    b = frame_features(acsf, atoms, fast=True, store_dtype=torch.float64)
    np.testing.assert_allclose(b.features.numpy(), a.features.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.jacobian.numpy(), a.jacobian.numpy(), rtol=1e-10, atol=1e-12)


def test_default_for_shells():
    acsf = ACSF.default_for(["Mo"], r_cut=5.5, n_g2=4, n_g4=4, g5_shells=(2.7, 3.15), g5_shell_width=0.3,
                            g5_shell_zetas=(1, 4))
    assert acsf.n_features == acsf.n_dscribe_features + 8
    tab = np.asarray(acsf.shifted_g5_params)
    np.testing.assert_allclose(tab[:, 0], 1 / (2 * 0.3 ** 2))
    assert sorted(set(tab[:, 1])) == [2.7, 3.15] and set(tab[:, 3]) == {1.0, -1.0}
    assert ACSF.default_for(["Mo"], n_g2=4, n_g4=4).n_features == ACSF.default_for(["Mo"], n_g2=4, n_g4=4).n_dscribe_features


@pytest.mark.parametrize("table,match", [
    ([[1.0, 2.0, 1.0]], "4 columns"),
    ([[0.0, 2.0, 1.0, 1.0]], "non-positive eta"),
    ([[1.0, -0.5, 1.0, 1.0]], "negative Rs"),
    ([[1.0, 2.0, 0.5, 1.0]], "zeta < 1"),
    ([[1.0, 2.0, 1.0, 0.5]], "lambda"),
])
def test_bad_parameters(table, match):
    with pytest.raises(MatsightError, match=match):
        ACSF(["Si"], 5.0, shifted_g5_params=table)
    with pytest.raises(MatsightError, match="width"):
        ACSF.default_for(["Si"], g5_shells=(2.3,), g5_shell_width=0.0)
