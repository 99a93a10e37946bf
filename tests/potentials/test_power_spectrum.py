"""The radial power spectrum (``power_spectrum``), matsight's SOAP-like extension of the ACSF."""
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
BASE = dict(g2_params=[[0.5, 1.0]], g4_params=[[0.05, 2.0, 1.0]], shifted_g5_params=[[4.0, 1.2, 2.0, -1.0]])
PS = {"centres_A": [0.9, 1.6, 2.4], "width_A": 0.4, "l_max": 4}
SMALL_CELL = np.array([[4.2, 0.0, 0.0], [1.1, 4.0, 0.0], [-0.7, 0.9, 4.4]])


def _acsf(cutoff="cosine", r_cut=3.5, ps=PS):
    return ACSF(SPECIES, r_cut, periodic=True, cutoff=cutoff, power_spectrum=ps, **BASE)


def _brute(acsf, atoms):
    """The addition-theorem form, a double loop over neighbours with Legendre polynomials:
    ``p^{ab}_{nn'l} = (2l+1)/(4 pi) sum_{j in a, k in b} g_n(r_ij) g_n'(r_ik) P_l(cos theta_jik)``."""
    from ase.neighborlist import neighbor_list
    from scipy.special import eval_legendre

    z = list(acsf.atomic_numbers)
    ns, rc = len(z), acsf.r_cut
    cen, w, lmax = np.array(PS["centres_A"]), PS["width_A"], PS["l_max"]
    nr = len(cen)
    i_, j_, d_ = neighbor_list("ijD", atoms, rc)

    def fc(r):
        if acsf.cutoff == "cosine":
            return 0.5 * (np.cos(np.pi * r / rc) + 1)
        x = r / rc
        return 1 - 10 * x ** 3 + 15 * x ** 4 - 6 * x ** 5

    rows = []
    for c in range(len(atoms)):
        sel = np.flatnonzero(i_ == c)
        full = np.zeros((ns, ns, lmax + 1, nr, nr))  # [a, b, l, n, n']
        for p in sel:
            for q in sel:
                u, v = d_[p], d_[q]
                ru, rv = np.linalg.norm(u), np.linalg.norm(v)
                cos = np.clip(u @ v / ru / rv, -1.0, 1.0)
                gu = np.exp(-0.5 * ((ru - cen) / w) ** 2) * fc(ru)
                gv = np.exp(-0.5 * ((rv - cen) / w) ** 2) * fc(rv)
                sa, sb = z.index(atoms.numbers[j_[p]]), z.index(atoms.numbers[j_[q]])
                for l in range(lmax + 1):
                    full[sa, sb, l] += (2 * l + 1) / (4 * np.pi) * eval_legendre(l, cos) * np.outer(gu, gv)
        row = []
        for a in range(ns):
            for b in range(a + 1):
                for l in range(lmax + 1):
                    m = full[a, b, l]
                    row.append(m[np.triu_indices(nr)] if a == b else m.reshape(-1))
        rows.append(np.concatenate(row))
    return np.array(rows)


@pytest.mark.parametrize("cutoff", ["cosine", "polynomial"])
@pytest.mark.parametrize("periodic", [True, False])
def test_matches_addition_theorem_and_keeps_the_other_columns(cutoff, periodic):
    acsf = _acsf(cutoff)
    plain = ACSF(SPECIES, 3.5, periodic=True, cutoff=cutoff, **BASE)
    atoms = random_system(9, [1, 6, 8], periodic=periodic, cell=SMALL_CELL if periodic else None, random_state=1)
    x = acsf.create(atoms)
    n_ps = 3 * (5 * 6) + 3 * (5 * 9)  # three a = b blocks (n <= n'), three a != b blocks (all n, n')
    assert acsf.n_power_spectrum == n_ps and acsf.n_features == plain.n_features + n_ps
    np.testing.assert_allclose(x[:, :plain.n_features], plain.create(atoms), rtol=1e-12, atol=1e-14)
    ref = _brute(acsf, atoms)
    assert np.abs(ref).max() > 0.1
    np.testing.assert_allclose(x[:, plain.n_features:], ref, rtol=1e-10, atol=1e-12)
    pairs = acsf.neighbor_pairs(atoms)
    cell = torch.tensor(atoms.cell.array) if periodic else torch.zeros(3, 3, dtype=torch.float64)
    g = acsf.compute(torch.tensor(atoms.positions), torch.tensor(atoms.numbers), cell, pairs, fast=False)
    np.testing.assert_allclose(g.detach().numpy(), x, rtol=1e-12, atol=1e-14)


def test_real_spherical_harmonics_are_orthonormal():
    from matsight.potentials._power_spectrum import real_spherical_harmonics

    # Lebedev-free check: Gauss-Legendre in cos(theta) x uniform phi integrates degree <= 16 exactly
    x, wx = np.polynomial.legendre.leggauss(12)
    phi = np.arange(24) * 2 * np.pi / 24
    ct, ph = np.meshgrid(x, phi, indexing="ij")
    st = np.sqrt(1 - ct ** 2)
    u = torch.tensor(np.stack([st * np.cos(ph), st * np.sin(ph), ct], -1).reshape(-1, 3))
    w = torch.tensor((wx[:, None] * np.full(24, 2 * np.pi / 24)).reshape(-1))
    y = real_spherical_harmonics(u, 6)  # (n, 49)
    gram = (y * w[:, None]).T @ y
    np.testing.assert_allclose(gram.numpy(), np.eye(49), atol=1e-12)


def test_names_round_trip_and_default_for():
    acsf = _acsf()
    names = acsf.get_feature_names_out()
    assert len(names) == acsf.n_features
    assert names[acsf.n_features - acsf.n_power_spectrum] == "PS[H,H](l=0,Rn=0.9,Rn'=0.9,w=0.4)"
    d = acsf.to_dict()
    assert d["format"] == "matsight.acsf/3" and d["power_spectrum"] == PS
    back = ACSF.from_dict(d)
    atoms = random_system(5, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=2)
    np.testing.assert_array_equal(back.create(atoms), acsf.create(atoms))
    mo = ACSF.default_for(["Mo"], r_cut=5.5, n_g2=4, n_g4=4, n_ps=8, ps_r_min=1.9, ps_l_max=6)
    np.testing.assert_allclose(mo.power_spectrum["centres_A"], np.linspace(1.9, 5.2, 8))
    assert mo.n_power_spectrum == 7 * 36 and mo.n_features == mo.n_dscribe_features + 252
    assert ACSF.default_for(["Mo"], n_g2=4, n_g4=4).n_power_spectrum == 0


def test_invariances():
    fn = _acsf().create
    cry = random_system(7, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=3)
    mol = random_system(8, [1, 6, 8], periodic=False, random_state=4)
    assert_descriptor_invariances(fn, cry, mol)


@pytest.mark.parametrize("fast", [False, True])
def test_forces_and_stress_match_finite_differences(fast):
    acsf = _acsf("polynomial")
    atoms = random_system(6, [1, 6, 8], periodic=True, cell=SMALL_CELL * 0.9, random_state=5)
    assert_descriptor_forces_and_stress(acsf, atoms, fast)


def test_training_jacobian_equals_autograd():
    """The closed-form training Jacobian (forward-mode basis derivatives) against one backward per feature."""
    from matsight.potentials._batch import frame_features

    acsf = _acsf()
    atoms = random_system(6, [1, 6, 8], periodic=True, cell=SMALL_CELL, random_state=7)
    a = frame_features(acsf, atoms, fast=False, store_dtype=torch.float64)
    b = frame_features(acsf, atoms, fast=True, store_dtype=torch.float64)
    ps = slice(acsf.n_features - acsf.n_power_spectrum, None)
    assert float(a.jacobian[:, ps].abs().max()) > 0.1
    np.testing.assert_allclose(b.features.numpy(), a.features.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.jacobian.numpy(), a.jacobian.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ps,match", [
    ({"centres_A": [], "width_A": 0.3, "l_max": 2}, "centres"),
    ({"centres_A": [1.0, -1.0], "width_A": 0.3, "l_max": 2}, "centres"),
    ({"centres_A": [1.0], "width_A": 0.0, "l_max": 2}, "width"),
    ({"centres_A": [1.0], "width_A": 0.3, "l_max": 13}, "l_max"),
    ({"centres_A": [1.0], "width_A": 0.3, "l_max": 2.5}, "l_max"),
    ({"centres_A": [1.0], "width": 0.3, "l_max": 2}, "keys"),
])
def test_bad_parameters(ps, match):
    with pytest.raises(MatsightError, match=match):
        ACSF(["Si"], 5.0, power_spectrum=ps)
    with pytest.raises(MatsightError, match="ps_r_min"):
        ACSF.default_for(["Si"], r_cut=5.0, n_ps=4, ps_r_min=4.8)
