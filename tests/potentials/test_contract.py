"""The numba force contraction of training (``_contract``) against a dense einsum, with its autograd rules."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from matsight.potentials._contract import contract_entries


def _problem(n_atoms=7, n_feat=5, seed=0):
    """Random centre-sorted entries (some centres without any) and a dense reference."""
    gen = np.random.default_rng(seed)
    counts = gen.integers(0, 6, n_atoms)  # (n_atoms,)
    counts[2] = 0
    owner = torch.from_numpy(np.repeat(np.arange(n_atoms), counts))  # (n_entries,) sorted
    start = torch.zeros(n_atoms + 1, dtype=torch.long)
    start[1:] = torch.cumsum(torch.from_numpy(counts), 0)
    jac = torch.from_numpy(gen.normal(size=(len(owner), 3, n_feat)))  # (n_entries, 3, n_feat)
    de_dg = torch.from_numpy(gen.normal(size=(n_atoms, n_feat))).requires_grad_(True)
    return de_dg, jac, owner, start


def _dense(de_dg, jac, owner):
    return torch.einsum("qcf,qf->qc", jac, de_dg[owner])  # (n_entries, 3)


def test_forward_and_gradient_match_einsum():
    de_dg, jac, owner, start = _problem()
    out = contract_entries(de_dg, jac, owner, start)
    ref = _dense(de_dg, jac, owner)
    torch.testing.assert_close(out, ref, atol=1e-13, rtol=0)
    w = torch.randn(out.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    (g,) = torch.autograd.grad((out * w).sum(), de_dg)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), de_dg)
    torch.testing.assert_close(g, g_ref, atol=1e-13, rtol=0)
    assert g[2].abs().max() == 0  # a centre without entries gets no gradient (and is not left uninitialised)


def test_a_narrower_de_dg_reads_the_leading_columns_only():
    """A member that reads the leading ``w`` features: the full Jacobian array, contracted over ``w`` columns."""
    de_dg, jac, owner, start = _problem(n_feat=6, seed=4)
    x = de_dg.detach()[:, :4].clone().requires_grad_(True)  # (n_atoms, 4)
    out = contract_entries(x, jac, owner, start)
    ref = _dense(x, jac[:, :, :4], owner)
    torch.testing.assert_close(out, ref, atol=1e-13, rtol=0)
    (g,) = torch.autograd.grad(out.square().sum(), x)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), x)
    assert g.shape == (7, 4)
    torch.testing.assert_close(g, g_ref, atol=1e-13, rtol=0)
    assert torch.autograd.gradgradcheck(lambda y: contract_entries(y, jac, owner, start), (x,))


def test_gradcheck_and_gradgradcheck():
    de_dg, jac, owner, start = _problem(n_atoms=4, n_feat=3, seed=2)
    f = lambda x: contract_entries(x, jac, owner, start)  # noqa: E731
    assert torch.autograd.gradcheck(f, (de_dg,))
    assert torch.autograd.gradgradcheck(f, (de_dg,))


def test_parallel_loops_equal_serial(monkeypatch):
    de_dg, jac, owner, start = _problem(n_atoms=50, n_feat=9, seed=3)
    import matsight.potentials._contract as C

    results = {}
    for par in (False, True):
        monkeypatch.setattr(C, "_parallel", lambda par=par: par)
        out = contract_entries(de_dg, jac, owner, start)
        (g,) = torch.autograd.grad(out.square().sum(), de_dg)
        results[par] = (out.detach(), g)
    torch.testing.assert_close(results[True][0], results[False][0], atol=1e-13, rtol=0)
    torch.testing.assert_close(results[True][1], results[False][1], atol=1e-13, rtol=0)


def test_serial_from_worker_threads(monkeypatch):
    """Ensemble members train in Python threads: they must not enter numba's thread pool."""
    import matsight.potentials._contract as C

    seen = []
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    t = threading.Thread(target=lambda: seen.append(C._parallel()))
    t.start()
    t.join()
    assert seen == [False] and C._parallel() is True


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes_follow_de_dg(dtype):
    de_dg, jac, owner, start = _problem(seed=4)
    out = contract_entries(de_dg.detach().to(dtype), jac.to(dtype), owner, start)
    assert out.dtype == dtype
    torch.testing.assert_close(out.double(), _dense(de_dg.detach(), jac, owner), atol=1e-5, rtol=1e-5)


def test_float32_storage_and_no_jacobian_layout():
    """Training stores Jacobians in float32 and contracts in float64: forces within float32 rounding of the
    float64 layout; a batch collated without Jacobians refuses to give forces instead of returning zeros."""
    from ase.build import bulk

    from matsight.potentials import ACSF, NeuralPotential
    from matsight.potentials._batch import collate, energies_and_forces, frame_features

    acsf = ACSF.default_for(["Si"], r_cut=4.0, n_g2=4, n_g4=4)
    model = NeuralPotential(acsf, ["Si"], (8,), "tanh", 1).double()
    atoms = bulk("Si", "diamond", 5.43, cubic=True)
    atoms.rattle(0.05, seed=1)
    frame = frame_features(acsf, atoms, 0.0, np.zeros((len(atoms), 3)), store_dtype=torch.float64)
    model.fit_scalers(frame.features, model.species_index(frame.numbers.numpy()))
    e64, f64 = energies_and_forces(model, collate([frame], model))
    b32 = collate([frame], model, jacobian_dtype=torch.float32)
    assert b32.entries.jacobian.dtype == torch.float32
    e32, f32 = energies_and_forces(model, b32)
    assert f32.dtype == torch.float64 and float(f64.abs().max()) > 1e-3
    torch.testing.assert_close(e32, e64, atol=0, rtol=0)
    torch.testing.assert_close(f32, f64, atol=1e-6 * float(f64.abs().max()), rtol=0)
    assert not torch.equal(f32, f64)  # really rounded
    with pytest.raises(ValueError, match="without Jacobians"):
        energies_and_forces(model, collate([frame], model, layout="none"))
