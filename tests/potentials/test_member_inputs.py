"""Committees of two descriptors: members that read the symmetry functions alone or with the power spectrum."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import emt_frames  # noqa: E402

from matsight import MatsightError  # noqa: E402
from matsight.potentials import ACSF, Calculator, NeuralPotential, PotentialTrainer, load, save  # noqa: E402
from matsight.potentials._batch import collate, energies_and_forces, frame_features  # noqa: E402


def _descriptor():
    return ACSF.default_for(["Cu"], r_cut=4.0, n_g2=4, n_g4=4, n_ps=3, ps_r_min=2.0, ps_l_max=3)


@pytest.fixture(scope="module")
def trained():
    frames = emt_frames(10)
    tr = PotentialTrainer(descriptor=_descriptor(), hidden=(8,), epochs=6, optimizer="lbfgs", ensemble=3,
                          member_features=("acsf", "all"), random_state=0, dtype=torch.float64)
    return tr.fit(frames), frames


def test_members_read_their_leading_features(trained):
    tr, frames = trained
    model, d = tr.model_, _descriptor()
    n, n_ps = d.n_features, d.n_power_spectrum
    assert model.member_inputs == (n - n_ps, n, n - n_ps)  # the list cycles over the members
    assert model.networks["Cu"][0][0].in_features == n - n_ps and model.networks["Cu"][1][0].in_features == n
    g = torch.tensor(d.create(frames[0]))
    idx = model.species_index(frames[0].numbers)
    moved = g.clone()
    moved[:, n - n_ps:] += 1.0  # only the power spectrum changes
    e0 = model.atomic_energies(g.to(torch.float64), idx).detach()
    e1 = model.atomic_energies(moved.to(torch.float64), idx).detach()
    assert torch.equal(e0[0], e1[0]) and torch.equal(e0[2], e1[2])
    assert not torch.allclose(e0[1], e1[1])


@pytest.mark.parametrize("layout", ["entries", "buckets"])
def test_member_forces_from_stored_jacobians_equal_autograd(trained, layout):
    """Training contracts a member's Jacobian columns up to its width only: same forces as autograd."""
    tr, frames = trained
    model = tr.model_
    atoms = frames[3]
    feats = frame_features(model.descriptor, atoms, atoms.get_potential_energy(), atoms.get_forces(),
                           store_dtype=torch.float64, fast=True)
    batch = collate([feats], model, layout=layout)
    if layout == "entries":  # the narrower members' columns, copied contiguous once per batch
        w = model.member_inputs[0]
        assert set(batch.entries.narrow) == {w}
        torch.testing.assert_close(batch.entries.narrow[w], batch.entries.jacobian[:, :, :w], rtol=0, atol=0)
    idx = model.species_index(atoms.numbers)
    for m in range(model.n_members):
        _, f = energies_and_forces(model, batch, member=m)
        pos = torch.tensor(atoms.positions, requires_grad=True)
        g = model.descriptor.compute(pos, torch.tensor(atoms.numbers), torch.tensor(atoms.cell.array),
                                     model.descriptor.neighbor_pairs(atoms), fast=False)
        (grad,) = torch.autograd.grad(model(g, idx, member=m).sum(), pos)
        assert float(grad.abs().max()) > 1e-3
        np.testing.assert_allclose(f.detach().numpy(), -grad.numpy(), rtol=1e-9, atol=1e-11)


def test_saved_with_format_version_3_and_reloaded(trained, tmp_path):
    tr, frames = trained
    stem = save(tr.model_, tmp_path / "mixed")
    meta = json.loads((tmp_path / "mixed.json").read_text())
    assert meta["format_version"] == 3 and meta["member_inputs"] == list(tr.model_.member_inputs)
    assert meta["descriptor"]["format"] == "matsight.acsf/3"
    back = load(stem)
    atoms = frames[1].copy()
    a, b = Calculator(tr.model_), Calculator(back)
    a.calculate(atoms, ["energy", "forces", "stress"])
    b.calculate(atoms, ["energy", "forces", "stress"])
    for key in ("energy", "forces", "stress", "energies_members"):
        np.testing.assert_allclose(b.results[key], a.results[key], rtol=1e-12, atol=1e-12)
    plain = save(NeuralPotential(_descriptor(), ["Cu"], (4,)), tmp_path / "plain")
    assert json.loads(Path(str(plain) + ".json").read_text())["format_version"] == 2  # unchanged without widths


@pytest.mark.parametrize("kw,match", [
    (dict(member_features=("acsf", "soap")), "member_features"),
    (dict(member_features=("acsf",), n_components=5), "member_features"),
    (dict(member_features=()), "member_features"),
])
def test_bad_member_features_are_refused(kw, match):
    with pytest.raises(MatsightError, match=match):
        PotentialTrainer(descriptor=_descriptor(), epochs=1, **kw).fit(emt_frames(3))


def test_member_features_need_a_power_spectrum():
    with pytest.raises(MatsightError, match="power spectrum"):
        PotentialTrainer(r_cut=4.0, n_g2=4, n_g4=4, epochs=1, member_features=("acsf", "all")).fit(emt_frames(3))
    with pytest.raises(MatsightError, match="member_inputs"):
        NeuralPotential(_descriptor(), ["Cu"], (4,), n_members=2, member_inputs=[5])
