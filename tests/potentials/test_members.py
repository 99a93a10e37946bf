"""Ensemble members with their own validation folds (a cross-validation committee)."""
from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: make checks.py importable
from checks import emt_frames  # noqa: E402

from matsight import MatsightError  # noqa: E402
from matsight.potentials import PotentialTrainer  # noqa: E402
from matsight.potentials._train import fold_split  # noqa: E402

SMALL = dict(r_cut=4.0, n_g2=4, n_g4=4, hidden=(8,), batch_size=4, learning_rate=1e-2, patience=100)
LBFGS = dict(SMALL, optimizer="lbfgs", epochs=3, random_state=2)


@pytest.fixture(scope="module")
def frames():
    return emt_frames()


def test_fold_split_partitions_and_stratifies():
    groups = ["AIMD"] * 31 + ["Elastic"] * 12 + ["Surface"] * 5 + ["Vacancy"] * 3
    for stratify in (False, True):
        folds = fold_split(groups, 5, stratify, torch.Generator().manual_seed(7))
        flat = [k for f in folds for k in f]
        assert sorted(flat) == list(range(51))  # a partition
        assert max(map(len, folds)) - min(map(len, folds)) <= 1
        assert all(f == sorted(f) for f in folds)
        again = fold_split(groups, 5, stratify, torch.Generator().manual_seed(7))
        other = fold_split(groups, 5, stratify, torch.Generator().manual_seed(8))
        assert again == folds and other != folds
    # stratified: every group spread over the folds to within one structure
    for g in set(groups):
        counts = [sum(groups[k] == g for k in f) for f in folds]
        assert max(counts) - min(counts) <= 1, (g, counts)
    plain = fold_split(groups, 5, False, torch.Generator().manual_seed(7))
    perm = torch.randperm(51, generator=torch.Generator().manual_seed(7)).tolist()
    assert plain[0] == sorted(perm[0::5])  # dealt round robin from the permutation


def test_each_member_trains_without_its_own_fold(frames):
    from matsight.potentials import _members

    seen = {}
    real = _members._train_one

    def spy(trainer, model, m, data, *args):
        seen[m] = data
        return real(trainer, model, m, data, *args)

    tr = PotentialTrainer(**dict(LBFGS, ensemble=3, validation_fraction=0.25, member_folds=True))
    with mock.patch.object(_members, "_train_one", spy):
        tr.fit(frames)
    folds = fold_split([a.info["config_type"] for a in frames], 4, False, torch.Generator().manual_seed(2))
    energies = np.array([a.get_potential_energy() for a in frames])

    def ids(batches):  # structure indices of collated chunks, from their energies
        return sorted(int(np.argmin(np.abs(energies - e))) for b in batches for e in b.energy_eV.tolist())

    for m in range(3):
        train, chunks, val = seen[m]
        assert ids(val) == folds[m]  # member m stops early on fold m ...
        rest = sorted(set(range(len(frames))) - set(folds[m]))
        assert ids(chunks) == rest  # ... and never trains on it
        assert sorted(int(np.argmin(np.abs(energies - f.energy_eV))) for f in train) == rest
    assert tr.summary_.n_frames_validation == sum(len(folds[m]) for m in range(3))
    assert tr.summary_.n_frames_train == len(frames) - len(folds[0])
    assert tr.config()["member_folds"] is True


def test_committee_validation_errors_are_out_of_fold(frames):
    tr = PotentialTrainer(**dict(LBFGS, ensemble=2, validation_fraction=0.25, member_folds=True)).fit(frames)
    folds = fold_split([a.info["config_type"] for a in frames], 4, False, torch.Generator().manual_seed(2))
    # each held-out structure predicted by the one member that did not train on it (calculator path, float64)
    err = [abs(tr.model_.compute(frames[k])["energies"][m] - frames[k].get_potential_energy()) / len(frames[k])
           for m in range(2) for k in folds[m]]
    assert tr.summary_.energy_mae_meV_per_atom_validation == pytest.approx(1e3 * np.mean(err), rel=1e-6)
    # the same numbers the members saw at their best epochs during training (folds of equal size here)
    best = [next(h for h in tr.history_ if h["member"] == m and h["epoch"] == tr.summary_.best_epoch[m])
            for m in range(2)]
    assert tr.summary_.energy_mae_meV_per_atom_validation == pytest.approx(
        np.mean([h["validation_energy_mae_meV_per_atom"] for h in best]), rel=1e-6)
    assert tr.summary_.force_mae_meV_per_A_validation == pytest.approx(
        np.mean([h["validation_force_mae_meV_per_A"] for h in best]), rel=1e-6)


def test_committee_members_trained_at_once_equal_members_in_turn(frames):
    cfg = dict(LBFGS, ensemble=2, validation_fraction=0.25, member_folds=True)
    one = PotentialTrainer(**cfg).fit(frames)
    two = PotentialTrainer(**dict(cfg, n_jobs=2, n_threads=2)).fit(frames)
    for a, b in zip(one.model_.parameters(), two.model_.parameters()):
        assert torch.equal(a, b)


def test_committee_with_adam_and_a_checkpoint_resumes(frames, tmp_path):
    cfg = dict(SMALL, epochs=4, ensemble=2, validation_fraction=0.25, member_folds=True, random_state=5)
    full = PotentialTrainer(**cfg).fit(frames)
    ckpt = tmp_path / "run.ckpt"

    class Killed(Exception):
        pass

    def killer(done, total, msg):
        if total is not None and done == 6:  # member 1, epoch 2
            raise Killed

    with pytest.raises(Killed):
        PotentialTrainer(**cfg).fit(frames, checkpoint=ckpt, progress=killer)
    resumed = PotentialTrainer(**cfg).fit(frames, checkpoint=ckpt)
    assert resumed.summary_.resumed_from_epoch is not None
    for a, b in zip(full.model_.parameters(), resumed.model_.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("fraction", [0.0, 0.6])
def test_member_folds_need_a_validation_fraction(frames, fraction):
    with pytest.raises(MatsightError, match="member_folds needs a validation_fraction"):
        PotentialTrainer(**dict(SMALL, epochs=1, member_folds=True, validation_fraction=fraction)).fit(frames)
