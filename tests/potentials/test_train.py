"""Training: loss decreases, reproducibility, checkpoints and resume, ensembles, data errors."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib: make checks.py importable
from checks import emt_frames  # noqa: E402

from matsight import MatsightError  # noqa: E402
from matsight.potentials import Calculator, PotentialTrainer, evaluate, read_frames  # noqa: E402


SMALL = dict(r_cut=4.0, n_g2=4, n_g4=4, hidden=(8,), batch_size=4, learning_rate=1e-2, patience=100)


@pytest.fixture(scope="module")
def frames():
    return emt_frames()


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_training_beats_the_reference_energy_baseline(frames):
    tr = PotentialTrainer(**SMALL, epochs=40, random_state=0).fit(frames)
    assert tr.summary_.epochs_run == [40]
    losses = [h["train_loss"] for h in tr.history_]
    assert losses[-1] < 0.5 * losses[0]
    res = evaluate(tr.model_, frames)
    # baseline: reference energy only (zero network) and zero forces
    f_ref = np.concatenate([a.get_forces() for a in frames])
    assert res.force_mae_meV_per_A < 0.7 * np.abs(f_ref).mean() * 1e3
    e_pa = np.array([a.get_potential_energy() / len(a) for a in frames])
    assert res.energy_mae_meV_per_atom < np.abs(e_pa - e_pa.mean()).mean() * 1e3
    assert set(res.by_group) == {"rattled", "strained"}
    # the training code path and the calculator agree on the training errors (float32 vs float64)
    assert tr.summary_.force_mae_meV_per_A_train == pytest.approx(
        evaluate(tr.model_, [frames[k] for k in range(len(frames))]).force_mae_meV_per_A, rel=0.3)


def test_training_is_reproducible_from_the_seed(frames):
    a = PotentialTrainer(**SMALL, epochs=5, random_state=3).fit(frames)
    b = PotentialTrainer(**SMALL, epochs=5, random_state=3).fit(frames)
    c = PotentialTrainer(**SMALL, epochs=5, random_state=4).fit(frames)
    assert torch.equal(_weights(a.model_), _weights(b.model_))
    assert not torch.equal(_weights(a.model_), _weights(c.model_))


def test_interrupted_training_resumes_from_checkpoint(frames, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    full = PotentialTrainer(**SMALL, epochs=8, random_state=1).fit(frames)

    class Killed(Exception):
        pass

    def killer(done, total, msg):
        if total is not None and done == 5:
            raise Killed

    with pytest.raises(Killed):
        PotentialTrainer(**SMALL, epochs=8, random_state=1).fit(frames, checkpoint=ckpt, progress=killer)
    state = json.loads((tmp_path / "run.ckpt.member0.json").read_text())
    assert state["epoch"] == 5 and len(state["history"]) == 5
    resumed = PotentialTrainer(**SMALL, epochs=8, random_state=1).fit(frames, checkpoint=ckpt)
    assert resumed.summary_.resumed_from_epoch == 5
    assert resumed.summary_.epochs_run == [8]
    # identical to the uninterrupted run: optimizer, scheduler and RNG state were restored
    torch.testing.assert_close(_weights(resumed.model_), _weights(full.model_), rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob("run.ckpt*"))  # removed after success


def test_checkpoint_for_other_settings_is_refused(frames, tmp_path):
    ckpt = tmp_path / "run.ckpt"

    def stop(done, total, msg):
        if total is not None and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PotentialTrainer(**SMALL, epochs=4).fit(frames, checkpoint=ckpt, progress=stop)
    with pytest.raises(MatsightError, match="written for other data or settings"):
        PotentialTrainer(**SMALL, epochs=4, force_weight=0.5).fit(frames, checkpoint=ckpt)


def test_ensemble_members_differ_and_report_spread(frames):
    tr = PotentialTrainer(**SMALL, epochs=10, ensemble=2, random_state=0).fit(frames)
    assert tr.model_.n_members == 2 and tr.summary_.epochs_run == [10, 10]
    calc = Calculator(tr.model_)
    a = frames[0].copy()
    calc.calculate(a, ["energy"])
    assert calc.results["energy_std"] > 0
    res = evaluate(tr.model_, frames[:3])
    assert res.to_dict()["mean_energy_std_meV_per_atom"] > 0


def test_exponential_schedule_decays_to_the_minimum_rate(frames):
    tr = PotentialTrainer(**SMALL, epochs=10, schedule="exponential", min_learning_rate=1e-4).fit(frames)
    lrs = [h["learning_rate"] for h in tr.history_]
    assert lrs[-1] == pytest.approx(1e-4, rel=1e-6)
    np.testing.assert_allclose(np.diff(np.log(lrs)), np.log(1e-4 / 1e-2) / 10, rtol=1e-6)


def test_exponential_schedule_resumes_exactly(frames, tmp_path):
    cfg = dict(SMALL, epochs=6, schedule="exponential", random_state=2)
    full = PotentialTrainer(**cfg).fit(frames)

    def stop(done, total, msg):
        if total is not None and done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PotentialTrainer(**cfg).fit(frames, checkpoint=tmp_path / "c", progress=stop)
    resumed = PotentialTrainer(**cfg).fit(frames, checkpoint=tmp_path / "c")
    assert resumed.summary_.resumed_from_epoch == 3
    assert [h["learning_rate"] for h in resumed.history_] == pytest.approx([h["learning_rate"] for h in full.history_])
    torch.testing.assert_close(_weights(resumed.model_), _weights(full.model_), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad, match", [(dict(schedule="cosine"), "schedule must be"),
                                        (dict(min_learning_rate=1.0), "min_learning_rate"),
                                        (dict(max_seconds=0), "max_seconds must be positive")])
def test_bad_schedule_settings_are_refused(frames, bad, match):
    with pytest.raises(MatsightError, match=match):
        PotentialTrainer(**dict(SMALL, **bad), epochs=2).fit(frames)


def test_early_stopping_keeps_the_best_epoch(frames):
    tr = PotentialTrainer(**dict(SMALL, patience=3, learning_rate=0.2), epochs=60, random_state=0).fit(frames)
    run, best = tr.summary_.epochs_run[0], tr.summary_.best_epoch[0]
    assert run < 60 and run - best == 3
    val = [h["validation_loss"] for h in tr.history_]
    assert min(val) == pytest.approx(val[best - 1])


@pytest.mark.parametrize("keep", ["best", "last"])
def test_keep_chooses_the_best_or_the_last_epochs_weights(frames, keep):
    tr = PotentialTrainer(**dict(SMALL, learning_rate=0.05), epochs=25, random_state=3, keep=keep).fit(frames)
    hist, best = tr.history_, tr.summary_.best_epoch[0]
    assert tr.summary_.epochs_run == [25] and best < 25  # the two choices differ
    kept = hist[best - 1] if keep == "best" else hist[-1]
    # the validation error of the weights the model ends with is that epoch's
    assert tr.summary_.force_mae_meV_per_A_validation == pytest.approx(kept["validation_force_mae_meV_per_A"], rel=1e-6)
    assert tr.summary_.energy_mae_meV_per_atom_validation == pytest.approx(kept["validation_energy_mae_meV_per_atom"],
                                                                          rel=1e-6)


def test_unknown_keep_is_refused(frames):
    with pytest.raises(MatsightError, match="keep must be 'best' or 'last'"):
        PotentialTrainer(**dict(SMALL, epochs=1, keep="mean")).fit(frames)


def test_reads_ase_database_and_info_keys(frames, tmp_path):
    from ase.db import connect

    db = connect(tmp_path / "d.db")
    for a in frames[:3]:
        db.write(a)
    got = read_frames(tmp_path / "d.db")
    assert len(got) == 3
    assert got[0].energy_eV == pytest.approx(frames[0].get_potential_energy())
    np.testing.assert_allclose(got[1].forces_eV_per_A, frames[1].get_forces())
    # labels stored as info/arrays keys instead of a calculator
    b = frames[0].copy()
    b.calc = None
    b.info["energy"] = -1.5
    b.arrays["forces"] = np.ones((len(b), 3))
    (fr,) = read_frames([b])
    assert fr.energy_eV == -1.5 and fr.forces_eV_per_A.sum() == 3 * len(b)


def test_bundled_mlearn_frames_have_groups():
    fr = read_frames("Si_test")
    assert len(fr) == 25 and {f.group for f in fr} == {"AIMD-NVT", "Elastic", "Surface", "Vacancy"}
    assert fr[0].energy_eV == pytest.approx(-297.62773938)
    assert fr[0].forces_eV_per_A.shape == (63, 3)


def test_training_data_errors(tmp_path, frames):
    import ase.io

    nolabel = tmp_path / "nolabel.xyz"
    bare = [a.copy() for a in frames[:3]]
    ase.io.write(nolabel, bare, format="extxyz")
    with pytest.raises(MatsightError, match="frame 0 has no energy"):
        PotentialTrainer(**SMALL, epochs=1).fit(nolabel)
    empty = tmp_path / "empty.xyz"
    empty.write_text("")
    with pytest.raises(MatsightError, match="is empty"):
        PotentialTrainer(**SMALL, epochs=1).fit(empty)
    garbage = tmp_path / "garbage.xyz"
    garbage.write_text("this is not\na structure file\n")
    with pytest.raises(MatsightError, match="could not read"):
        read_frames(garbage)
    with pytest.raises(MatsightError, match="does not exist"):
        read_frames(tmp_path / "missing.xyz")
    with pytest.raises(MatsightError, match="at least 2 structures"):
        PotentialTrainer(**SMALL, epochs=1).fit(frames[:1])
    with pytest.raises(MatsightError, match="epochs must be at least 1"):
        PotentialTrainer(**SMALL, epochs=0).fit(frames)


def test_interrupted_ensemble_resumes_in_the_second_member(frames, tmp_path):
    ckpt = tmp_path / "ens.ckpt"
    full = PotentialTrainer(**SMALL, epochs=4, ensemble=2, random_state=2).fit(frames)

    def killer(done, total, msg):
        if total is not None and done == 6:  # member 2, epoch 2
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PotentialTrainer(**SMALL, epochs=4, ensemble=2, random_state=2).fit(frames, checkpoint=ckpt, progress=killer)
    assert json.loads((tmp_path / "ens.ckpt.member0.json").read_text())["done"]
    resumed = PotentialTrainer(**SMALL, epochs=4, ensemble=2, random_state=2).fit(frames, checkpoint=ckpt)
    assert resumed.summary_.resumed_from_epoch == 2
    assert resumed.summary_.epochs_run == [4, 4] and len(resumed.history_) == 8
    torch.testing.assert_close(_weights(resumed.model_), _weights(full.model_), rtol=1e-5, atol=1e-6)


def test_members_trained_at_once_equal_members_trained_in_turn(frames):
    cfg = dict(LBFGS, epochs=4, ensemble=3, random_state=5)
    seq = PotentialTrainer(**cfg).fit(frames)
    par = PotentialTrainer(**cfg, n_jobs=2, n_threads=2).fit(frames)
    assert torch.equal(_weights(par.model_), _weights(seq.model_))  # bit for bit: same arithmetic per member
    assert par.history_ == seq.history_ and par.summary_.epochs_run == [4, 4, 4]
    assert par.config() == seq.config()  # n_jobs is not a setting of the model: checkpoints carry over


def test_members_trained_at_once_resume_each_from_its_own_checkpoint(frames, tmp_path):
    cfg = dict(LBFGS, epochs=6, ensemble=2, random_state=1)
    full = PotentialTrainer(**cfg).fit(frames)
    def stop(done, total, msg):
        if done >= 7:  # the first failure stops both members after their current epoch
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PotentialTrainer(**cfg, n_jobs=2, n_threads=2).fit(frames, checkpoint=tmp_path / "c", progress=stop)
    epochs = [json.loads((tmp_path / f"c.member{m}.json").read_text())["epoch"] for m in range(2)]
    assert min(epochs) < 6 and sum(epochs) >= 7, epochs  # at least one member unfinished
    resumed = PotentialTrainer(**cfg, n_jobs=2, n_threads=2).fit(frames, checkpoint=tmp_path / "c")
    assert resumed.summary_.epochs_run == [6, 6]
    torch.testing.assert_close(_weights(resumed.model_), _weights(full.model_), rtol=1e-9, atol=1e-12)
    assert not list(tmp_path.glob("c.member*"))


def test_members_trained_at_once_share_the_time_limit(frames):
    import time

    t0 = time.perf_counter()
    tr = PotentialTrainer(**dict(LBFGS, patience=10**6), epochs=10**6, ensemble=2, max_seconds=4, n_jobs=2,
                          n_threads=2).fit(frames)
    assert time.perf_counter() - t0 < 15
    assert all(0 < r < 10**6 for r in tr.summary_.epochs_run)


def test_time_limit_is_shared_by_the_ensemble_members(frames):
    import time

    t0 = time.perf_counter()
    tr = PotentialTrainer(**dict(SMALL, patience=10**6), epochs=10**6, ensemble=2, max_seconds=6).fit(frames)
    assert time.perf_counter() - t0 < 25
    run = tr.summary_.epochs_run
    assert all(0 < r < 10**6 for r in run), run


def test_one_thread_training_stays_on_one_thread_after_numba_features(frames):
    """numba's OpenMP start-up used to reset the shared runtime's thread count, so that a
    one-thread training ran torch on every core (measured: 48 s of CPU in 25 s of wall time)."""
    seen = []

    def watch(done, total, msg):
        if total is not None:
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    PotentialTrainer(**SMALL, epochs=2, fast_features=True, n_threads=1).fit(frames[:4], progress=watch)
    assert seen == [1, 1]
    assert torch.get_num_threads() == before


LBFGS = dict(SMALL, optimizer="lbfgs")


def test_lbfgs_fits_faster_than_adam_per_epoch(frames):
    adam = PotentialTrainer(**dict(SMALL, dtype=torch.float64), epochs=15, random_state=0).fit(frames)
    lbfgs = PotentialTrainer(**LBFGS, epochs=15, random_state=0).fit(frames)
    assert lbfgs.summary_.epochs_run == [15]
    losses = [h["train_loss"] for h in lbfgs.history_]
    assert losses[-1] < 0.2 * losses[0]
    assert lbfgs.history_[-1]["train_loss"] < adam.history_[-1]["train_loss"]


def test_lbfgs_chunks_add_up_to_the_full_batch_gradient(frames):
    """The chunked closure gives the loss and gradient of one big batch (the slow, obvious version)."""
    from matsight.potentials._batch import collate, frame_features
    from matsight.potentials._model import NeuralPotential
    from matsight.potentials._optim import FullBatchObjective
    from matsight.potentials._members import member_params

    tr = PotentialTrainer(**LBFGS, epochs=1).fit(frames)  # fitted scalers
    model = tr.model_
    feats = [frame_features(model.descriptor, a, a.get_potential_energy(), a.get_forces(), store_dtype=torch.float64)
             for a in frames]
    params = member_params(model, 0)
    assert isinstance(model, NeuralPotential)

    def chunk_loss(batch, n_frames, n_components):
        return tr._loss(model, batch, 0, create_graph=True, n_frames=n_frames, n_components=n_components)[0]

    whole = FullBatchObjective(chunk_loss, params, [collate(feats, model)])
    l_whole = whole()
    g_whole = [p.grad.clone() for p in params]
    chunked = FullBatchObjective(chunk_loss, params, [collate(feats[k:k + 3], model) for k in range(0, len(feats), 3)])
    l_chunked = chunked()
    torch.testing.assert_close(l_chunked, l_whole, rtol=1e-12, atol=0)
    for p, g in zip(params, g_whole):
        torch.testing.assert_close(p.grad, g, rtol=1e-10, atol=1e-14)
    # a second call at the same point is served from the cache, not recomputed
    assert chunked() == l_chunked and chunked.n_evaluations == 1


def test_lbfgs_resumes_exactly(frames, tmp_path):
    cfg = dict(LBFGS, epochs=8, random_state=2)
    full = PotentialTrainer(**cfg).fit(frames)

    def stop(done, total, msg):
        if total is not None and done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        PotentialTrainer(**cfg).fit(frames, checkpoint=tmp_path / "c", progress=stop)
    state = json.loads((tmp_path / "c.member0.json").read_text())
    assert state["optimizer"]["layout"]["0"]["old_dirs"]["length"] > 0  # the curvature history was saved
    resumed = PotentialTrainer(**cfg).fit(frames, checkpoint=tmp_path / "c")
    assert resumed.summary_.resumed_from_epoch == 5
    assert [h["train_loss"] for h in resumed.history_] == pytest.approx([h["train_loss"] for h in full.history_], rel=1e-9)
    torch.testing.assert_close(_weights(resumed.model_), _weights(full.model_), rtol=1e-9, atol=1e-12)


def test_optimizer_state_round_trips_through_safetensors_layout():
    from matsight.potentials._optim import pack_state, unpack_state

    sd = {"state": {0: {"step": torch.tensor(3.0), "old_dirs": [torch.ones(4), torch.zeros(4)], "ro": [],
                        "t": 0.5, "n_iter": 7, "al": [None, None]}},
          "param_groups": [{"lr": 1.0, "params": [0]}]}
    tensors = {}
    packed = unpack_state(json.loads(json.dumps(pack_state(sd, tensors, "o"))), tensors, "o")
    st = packed["state"][0]
    assert torch.equal(st["step"], sd["state"][0]["step"]) and st["t"] == 0.5 and st["n_iter"] == 7
    assert [t.tolist() for t in st["old_dirs"]] == [[1.0] * 4, [0.0] * 4] and st["ro"] == [] and "al" not in st


def test_unknown_optimizer_is_refused(frames):
    with pytest.raises(MatsightError, match="optimizer must be 'adam' or 'lbfgs'"):
        PotentialTrainer(**dict(SMALL, optimizer="sgd"), epochs=2).fit(frames)


def test_lbfgs_trains_in_float64_and_adam_in_float32_by_default():
    assert PotentialTrainer(optimizer="lbfgs").config()["dtype"] == "float64"
    assert PotentialTrainer().config()["dtype"] == "float32"
    assert PotentialTrainer(optimizer="lbfgs", dtype=torch.float32).config()["dtype"] == "float32"


def test_weight_decay_adds_the_l2_penalty_to_the_training_loss_only(frames):
    """Chunked L-BFGS loss with decay = loss without + λ Σ W² (biases excluded); validation loss unchanged."""
    from matsight.potentials._batch import collate, frame_features
    from matsight.potentials._optim import FullBatchObjective
    from matsight.potentials._members import member_params

    lam = 1e-3
    plain = PotentialTrainer(**LBFGS, epochs=1).fit(frames)
    decayed = PotentialTrainer(**dict(LBFGS, weight_decay=lam), epochs=1)
    model = plain.model_
    feats = [frame_features(model.descriptor, a, a.get_potential_energy(), a.get_forces(), store_dtype=torch.float64)
             for a in frames]
    chunks = [collate(feats[k:k + 4], model) for k in range(0, len(feats), 4)]
    params = member_params(model, 0)

    def objective(tr):
        return FullBatchObjective(lambda b, nf, nc: tr._loss(model, b, 0, True, n_frames=nf, n_components=nc)[0],
                                  params, chunks)()

    # the slow, obvious penalty: every nn.Linear weight of the Cu network, squared and summed
    w2 = sum(float((m.weight.detach().double() ** 2).sum()) for m in model.networks["Cu"][0] if isinstance(m, torch.nn.Linear))
    assert float(objective(decayed)) == pytest.approx(float(objective(plain)) + lam * w2, rel=1e-12)
    whole = collate(feats, model)
    assert float(decayed._loss(model, whole, 0, False, no_grad=True)[0]) == float(plain._loss(model, whole, 0, False, no_grad=True)[0])


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_weight_decay_shrinks_the_weights(frames, optimizer):
    cfg = dict(LBFGS if optimizer == "lbfgs" else SMALL, epochs=15, random_state=1)
    norms = []
    for lam in (0.0, 1e-2):
        tr = PotentialTrainer(**cfg, weight_decay=lam).fit(frames)
        norms.append(sum(float((m.weight.detach() ** 2).sum()) for m in tr.model_.networks["Cu"][0] if isinstance(m, torch.nn.Linear)))
        assert tr.summary_.config["weight_decay"] == lam
    assert norms[1] < 0.8 * norms[0]


def test_negative_weight_decay_is_refused(frames):
    with pytest.raises(MatsightError, match="weight_decay must be non-negative"):
        PotentialTrainer(**dict(SMALL, weight_decay=-1.0), epochs=2).fit(frames)


def test_pseudo_huber_is_squared_error_inside_and_linear_outside():
    from matsight.potentials._train import _pseudo_huber

    x = torch.tensor([-3.0, -1e-4, 0.0, 2e-4, 0.5, 40.0], dtype=torch.float64)
    torch.testing.assert_close(_pseudo_huber(x, None), x**2, rtol=0, atol=0)
    delta = 0.1
    slow = 2 * delta**2 * (torch.sqrt(1 + (x / delta) ** 2) - 1)  # the textbook form
    torch.testing.assert_close(_pseudo_huber(x, delta), slow, rtol=1e-9, atol=1e-300)
    small = x.abs() < 1e-3
    torch.testing.assert_close(_pseudo_huber(x, delta)[small], x[small] ** 2, rtol=1e-5, atol=0)
    # far outside: 2 delta |x| - 2 delta**2, i.e. a linear, not quadratic, penalty
    assert _pseudo_huber(x, delta)[-1].item() == pytest.approx(2 * delta * 40.0 - 2 * delta**2, rel=1e-4)


def test_huber_losses_replace_the_squared_errors_and_chunks_still_add_up(frames):
    """Robust loss terms: the chunked closure equals the hand-written pseudo-Huber sums over all frames."""
    from matsight.potentials._batch import collate, energies_and_forces, frame_features
    from matsight.potentials._optim import FullBatchObjective
    from matsight.potentials._members import member_params

    d_e, d_f = 2.0, 0.05  # meV/atom, eV/Å
    plain = PotentialTrainer(**LBFGS, epochs=1).fit(frames)
    robust = PotentialTrainer(**dict(LBFGS, energy_huber_meV_per_atom=d_e, force_huber_eV_per_A=d_f), epochs=1)
    model = plain.model_
    feats = [frame_features(model.descriptor, a, a.get_potential_energy(), a.get_forces(), store_dtype=torch.float64)
             for a in frames]
    chunks = [collate(feats[k:k + 4], model) for k in range(0, len(feats), 4)]
    got = FullBatchObjective(lambda b, nf, nc: robust._loss(model, b, 0, True, n_frames=nf, n_components=nc)[0],
                             member_params(model, 0), chunks)()
    whole = collate(feats, model)
    e, f = energies_and_forces(model, whole)
    de = ((e[0] - whole.energy_eV) / whole.n_atoms).detach()
    df = (f - whole.forces_eV_per_A).detach().flatten()

    def rho(x, d):
        return (2 * d**2 * (np.sqrt(1 + (x.numpy() / d) ** 2) - 1)).mean()

    expected = robust.energy_weight * rho(de, d_e * 1e-3) + robust.force_weight * rho(df, d_f)
    assert float(got) == pytest.approx(expected, rel=1e-9)
    assert float(got) < float(plain._loss(model, whole, 0, False, no_grad=True)[0])  # pseudo-Huber <= squared
    assert robust.config()["force_huber_eV_per_A"] == d_f


@pytest.mark.parametrize("key", ["energy_huber_meV_per_atom", "force_huber_eV_per_A"])
def test_non_positive_huber_scale_is_refused(frames, key):
    with pytest.raises(MatsightError, match=f"{key} must be positive"):
        PotentialTrainer(**dict(SMALL, **{key: 0.0}), epochs=2).fit(frames)


def test_principal_component_inputs_train_a_smaller_network(frames):
    """``n_components``: the networks see that many principal components and still learn the forces."""
    full = PotentialTrainer(**LBFGS, epochs=30, random_state=0).fit(frames)
    tr = PotentialTrainer(**dict(LBFGS, n_components=6), epochs=30, random_state=0).fit(frames)
    model = tr.model_
    assert model.n_features == full.model_.n_features > model.n_inputs == 6
    assert model.networks["Cu"][0][0].in_features == 6
    assert tr.config()["n_components"] == 6
    f_ref = np.concatenate([a.get_forces() for a in frames])
    res = evaluate(model, frames)
    assert res.force_mae_meV_per_A < 0.5 * np.abs(f_ref).mean() * 1e3
    # the training summary (network inputs mapped once) agrees with the calculator's path
    assert tr.summary_.force_mae_meV_per_A_train == pytest.approx(
        evaluate(model, [frames[k] for k in range(len(frames))]).force_mae_meV_per_A, rel=0.3)


@pytest.mark.parametrize("n, match", [(0, "n_components must be at least 1"), (500, "exceeds the descriptor's")])
def test_bad_component_counts_are_refused(frames, n, match):
    with pytest.raises(MatsightError, match=match):
        PotentialTrainer(**dict(SMALL, n_components=n), epochs=2).fit(frames)


def test_validation_split_random_and_stratified():
    from matsight.potentials._train import validation_split

    groups = ["AIMD"] * 30 + ["Elastic"] * 12 + ["Surface"] * 5 + ["Vacancy"] * 3
    val, train = validation_split(groups, 0.2, False, torch.Generator().manual_seed(7))
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(7)).tolist()
    assert val == sorted(perm[:10]) and sorted(val + train) == list(range(50))  # the plain split is unchanged
    val, train = validation_split(groups, 0.2, True, torch.Generator().manual_seed(7))
    assert sorted(val + train) == list(range(50)) and not set(val) & set(train)
    counts = {g: sum(groups[k] == g for k in val) for g in set(groups)}
    assert counts == {"AIMD": 6, "Elastic": 2, "Surface": 1, "Vacancy": 1}  # round(0.2 n_g) per group
    again, _ = validation_split(groups, 0.2, True, torch.Generator().manual_seed(7))
    other, _ = validation_split(groups, 0.2, True, torch.Generator().manual_seed(8))
    assert again == val and other != val
    # at least one structure held out, at least one kept
    assert len(validation_split(["a", "b", "c"], 0.1, True, torch.Generator().manual_seed(0))[0]) == 1
    assert len(validation_split(["a", "b"], 0.9, True, torch.Generator().manual_seed(0))[1]) == 1


def test_stratified_validation_holds_out_every_group(frames):
    # 7 rattled + 7 strained: stratified, round(0.2 * 7) = 1 of each; at random, round(0.2 * 14) = 3
    tr = PotentialTrainer(**dict(SMALL, validation_fraction=0.2, stratify=True), epochs=2).fit(frames)
    assert tr.summary_.n_frames_validation == 2 and tr.config()["stratify"] is True
    plain = PotentialTrainer(**dict(SMALL, validation_fraction=0.2), epochs=2).fit(frames)
    assert plain.summary_.n_frames_validation == 3
