"""The one-pass analytic Jacobian used to precompute training data, against autograd."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from matsight.potentials import ACSF
from matsight.potentials._batch import frame_features

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import random_system  # noqa: E402

FULL = dict(g2_params=[[0.5, 0.0], [2.0, 1.5]], g3_params=[0.7, 1.9], g4_params=[[0.05, 2.0, 1.0], [0.3, 1.0, -1.0]],
            g5_params=[[0.1, 4.0, -1.0], [0.02, 1.0, 1.0]], shifted_g5_params=[[3.0, 1.4, 2.0, 1.0], [1.0, 2.2, 1.0, -1.0]])
CELL = np.array([[4.0, 0.0, 0.0], [0.9, 3.8, 0.0], [-0.6, 0.7, 4.1]])


@pytest.mark.parametrize("cutoff", ["cosine", "polynomial"])
@pytest.mark.parametrize("periodic", [True, False])
def test_analytic_training_jacobian_equals_autograd(cutoff, periodic):
    acsf = ACSF(["H", "C", "O"], 3.6, periodic=True, cutoff=cutoff, **FULL)
    atoms = random_system(8, [1, 6, 8], periodic=periodic, cell=CELL if periodic else None, random_state=11)
    slow = frame_features(acsf, atoms, fast=False, store_dtype=torch.float64)   # one autograd pass per feature
    fast = frame_features(acsf, atoms, fast=True, store_dtype=torch.float64)    # pair_jacobian
    for name in ("owner", "target"):
        assert torch.equal(getattr(fast, name), getattr(slow, name))
    assert float(slow.jacobian.abs().max()) > 0.1
    np.testing.assert_allclose(fast.features.numpy(), slow.features.numpy(), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(fast.jacobian.numpy(), slow.jacobian.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.features.numpy(), acsf.create(atoms), rtol=1e-11, atol=1e-13)


def test_analytic_jacobian_catches_a_wrong_derivative(monkeypatch):
    """The comparison above fails when one family's derivative is wrong (a test that cannot fail is a defect)."""
    from matsight.potentials import _acsf_jacobian as aj

    real = aj._radial

    def off(acsf, r, unit):
        val, dval = real(acsf, r, unit)
        return val, dval * 1.001

    monkeypatch.setattr(aj, "_radial", off)
    acsf = ACSF(["H", "C", "O"], 3.6, periodic=True, **FULL)
    atoms = random_system(6, [1, 6, 8], periodic=True, cell=CELL, random_state=12)
    slow = frame_features(acsf, atoms, fast=False, store_dtype=torch.float64)
    fast = frame_features(acsf, atoms, fast=True, store_dtype=torch.float64)
    assert not np.allclose(fast.jacobian.numpy(), slow.jacobian.numpy(), rtol=1e-9, atol=1e-12)
