"""Training the members of an ensemble, one after another or several at once.

Each member is an independent optimisation of its own networks on the same
split (the shared scalers and reference energies are fitted before). Its
progress is checkpointed in its own pair of files, ``STEM.member{m}``
(safetensors with JSON metadata: current and best weights, optimizer and
scheduler state, random generator, epoch, history), written atomically after
every epoch, so members trained at the same time never write to the same
file and an interruption loses at most one epoch of each.

Members trained at the same time run in threads of one process: PyTorch
releases the GIL inside its kernels, so with one intra-op thread per member
two members keep two cores busy while sharing one copy of the precomputed
symmetry functions and Jacobians (often gigabytes). The result does not
depend on how many run at once: every member has its own generator and
optimizer, and the arithmetic of each is the same single-threaded sequence
(tested bit for bit).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import MatsightError
from ._optim import pack_state, unpack_state

__all__ = ["MemberRun", "train_members", "member_checkpoint"]


def _finite(obj):
    """Replace infinities by +-1e300 so that a state survives JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and math.isinf(obj):
        return math.copysign(1e300, obj)
    return obj


def init_member(model, member: int, gen: torch.Generator) -> None:
    """Xavier-uniform weights and zero biases for one member, from ``gen``."""
    with torch.no_grad():
        for sym in model.species:
            for layer in model.networks[sym][member]:
                if isinstance(layer, torch.nn.Linear):
                    fan_out, fan_in = layer.weight.shape
                    bound = math.sqrt(6.0 / (fan_in + fan_out))
                    layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen, dtype=torch.float64) * 2 * bound - bound)
                    layer.bias.zero_()


def member_params(model, member: int) -> list:
    return [p for sym in model.species for p in model.networks[sym][member].parameters()]


def member_state(model, member: int) -> dict:
    return {f"{sym}.{k}": v.detach().clone() for sym in model.species
            for k, v in model.networks[sym][member].state_dict().items()}


def set_member_state(model, member: int, state: dict) -> None:
    for sym in model.species:
        sub = {k[len(sym) + 1:]: v for k, v in state.items() if k.startswith(sym + ".")}
        model.networks[sym][member].load_state_dict(sub)


def member_checkpoint(stem, member: int) -> Path:
    """Checkpoint stem of one member: ``STEM.member{m}`` (``.safetensors`` + ``.json``)."""
    return Path(f"{stem}.member{member}")


@dataclass
class MemberRun:
    """What one member's training did."""

    member: int
    epochs_run: int = 0
    best_epoch: int = 0
    resumed_from_epoch: int | None = None
    history: list = field(default_factory=list)


class _Stopped(Exception):
    """A member stopped because another one failed or was interrupted."""


class _Progress:
    """Epoch counter over all members, for the ``progress`` callback (thread-safe).

    ``done`` counts a finished member as ``epochs`` and a running one as its
    current epoch, so one member after another gives ``m * epochs + epoch``.
    """

    def __init__(self, callback, n_members: int, epochs: int):
        self.callback, self.epochs = callback, epochs
        self.current = [0] * n_members
        self.lock = threading.Lock()

    def update(self, member: int, epoch: int, message: str, finished: bool = False) -> None:
        with self.lock:
            self.current[member] = self.epochs if finished else epoch
            if self.callback is not None and not finished:
                self.callback(sum(self.current), len(self.current) * self.epochs, message)


def _save(stem, model, run: MemberRun, epoch, opt, sched, gen, best_val, bad, best_state, config, fingerprint, done):
    from ._io import save_checkpoint

    m = run.member
    tensors = {f"net.{k}": v for k, v in member_state(model, m).items()}
    tensors.update({f"best.{k}": v for k, v in best_state.items()})
    tensors["rng"] = gen.get_state()
    state = {"member": m, "epoch": epoch, "best_val": best_val if math.isfinite(best_val) else 1e300,
             "bad_epochs": bad, "history": run.history, "best_epoch": run.best_epoch, "done": done,
             "config": config, "fingerprint": fingerprint}
    if opt is not None:
        state["optimizer"] = _finite(pack_state(opt.state_dict(), tensors, "optim"))
        state["scheduler"] = None if sched is None else _finite(sched.state_dict())
    save_checkpoint(member_checkpoint(stem, m), tensors, state)


def _load(stem, member: int, config, fingerprint):
    from ._io import _suffixed, load_checkpoint

    path = member_checkpoint(stem, member)
    resume = load_checkpoint(path)
    if resume is not None and (resume[1].get("config") != config or resume[1].get("fingerprint") != fingerprint):
        raise MatsightError(f"checkpoint {_suffixed(path, '.safetensors')} was written for other data or settings; "
                            "delete it or choose another output")
    return resume


def _validate(trainer, model, m, batches):
    """``(loss, energy MAE eV/atom, force MAE eV/Å)`` of member ``m`` over the validation chunks ``batches``."""
    n_frames = sum(b.n_frames for b in batches)
    n_components = sum(3 * int(b.force_mask.sum()) for b in batches)
    loss, e_sum, f_sum = 0.0, 0.0, 0.0
    for b in batches:
        part, e_mae, f_mae = trainer._loss(model, b, m, create_graph=False, no_grad=True, n_frames=n_frames,
                                           n_components=n_components or None)
        loss += float(part)
        e_sum += float(e_mae) * b.n_frames
        n_b = 3 * int(b.force_mask.sum())
        f_sum += float(f_mae) * n_b if n_b else 0.0
    return loss, e_sum / n_frames, (f_sum / n_components if n_components else math.nan)


def _train_one(trainer, model, m, data, deadline, checkpoint, config, fingerprint, progress, stop, resume):
    """Train member ``m`` until its epochs, patience or ``deadline`` run out; keep its best weights.

    ``data``: the member's ``(training frames, training chunks or None, validation chunks or None)``;
    ``resume``: its loaded checkpoint ``(tensors, state)``, or None.
    """
    from ._batch import collate

    train, chunks, val_batches = data
    epochs = int(trainer.epochs)
    run = MemberRun(member=m)
    gen = torch.Generator().manual_seed(int(trainer.random_state) + 1000 * m + 1)
    if resume is not None and resume[1]["done"]:
        tensors, state = resume
        set_member_state(model, m, {k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        run.history, run.best_epoch, run.epochs_run = state["history"], state["best_epoch"], state["epoch"]
        progress.update(m, state["epoch"], "", finished=True)
        return run
    if resume is None:
        init_member(model, m, gen)
    opt, sched, objective = trainer._optimizer(model, m, chunks)
    best_val, bad, best_state, epoch = math.inf, 0, member_state(model, m), 0
    if resume is not None:
        tensors, state = resume
        set_member_state(model, m, {k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        gen.set_state(tensors["rng"])
        opt.load_state_dict(unpack_state(state["optimizer"], tensors, "optim"))
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        best_val, bad, epoch = state["best_val"], state["bad_epochs"], state["epoch"]
        best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        run.history, run.best_epoch, run.resumed_from_epoch = state["history"], state["best_epoch"], epoch
    while epoch < epochs and bad < int(trainer.patience):
        if stop.is_set():
            raise _Stopped
        if deadline is not None and time.perf_counter() > deadline:
            break
        if objective is not None:  # one full-batch L-BFGS iteration
            opt.step(objective)
            # the accepted point: served from the cache when the line search ended there,
            # otherwise evaluated now and reused by the next step's first evaluation
            train_loss = float(objective())
        else:
            order = torch.randperm(len(train), generator=gen).tolist()
            losses = []
            for b in range(0, len(order), int(trainer.batch_size)):
                batch = collate([train[k] for k in order[b:b + int(trainer.batch_size)]], model, model.projected,
                                jacobian_dtype=torch.float32)
                opt.zero_grad()
                loss, _, _ = trainer._loss(model, batch, m, create_graph=trainer.force_weight > 0)
                loss.backward()
                opt.step()
                losses.append(loss.item() * batch.n_frames)
            train_loss = sum(losses) / len(train)
        if val_batches:
            val_loss, e_mae, f_mae = _validate(trainer, model, m, val_batches)
        else:
            val_loss, e_mae, f_mae = train_loss, math.nan, math.nan
        if sched is not None and trainer.schedule == "plateau":
            sched.step(val_loss)
        elif sched is not None:
            sched.step()
        epoch += 1
        if val_loss < best_val * (1 - 1e-4):
            best_val, bad, best_state = val_loss, 0, member_state(model, m)
            run.best_epoch = epoch
        else:
            bad += 1
        run.history.append({"member": m, "epoch": epoch, "train_loss": train_loss, "validation_loss": val_loss,
                            "validation_energy_mae_meV_per_atom": e_mae * 1e3,
                            "validation_force_mae_meV_per_A": f_mae * 1e3, "learning_rate": opt.param_groups[0]["lr"]})
        if checkpoint is not None:
            _save(checkpoint, model, run, epoch, opt, sched, gen, best_val, bad, best_state, config, fingerprint, False)
        progress.update(m, epoch, f"member {m + 1}/{model.n_members} epoch {epoch}: "
                                  f"val E {e_mae * 1e3:.2f} meV/atom, F {f_mae * 1e3:.0f} meV/Å")
    if trainer.keep == "best":
        set_member_state(model, m, best_state)
    run.epochs_run = epoch
    if checkpoint is not None:
        _save(checkpoint, model, run, epoch, None, None, gen, best_val, bad, best_state, config, fingerprint, True)
    progress.update(m, epoch, "", finished=True)
    return run


def train_members(trainer, model, member_data, budget_s, checkpoint, config, fingerprint, progress_cb,
                  n_jobs: int = 1) -> list[MemberRun]:
    """Train every member of ``model``; ``n_jobs`` of them at a time, each in its own thread.

    ``member_data[m]``: member ``m``'s ``(training frames, collated training
    chunks (L-BFGS) or None, collated validation chunks or None)``; members
    share the collated chunks they have in common.

    The time budget (seconds, or None) is split into rounds of ``n_jobs``
    members still to train; members already finished in a checkpoint do not
    count. The first error of any member (including ``KeyboardInterrupt`` from
    a progress callback) stops the others after their current epoch, with
    their checkpoints written, and is raised.
    """
    n_members = model.n_members
    progress = _Progress(progress_cb, n_members, int(trainer.epochs))
    stop = threading.Event()
    resumes = [None if checkpoint is None else _load(checkpoint, m, config, fingerprint) for m in range(n_members)]
    # members a checkpoint marks finished take no share of the time budget
    todo = [m for m in range(n_members) if not (resumes[m] is not None and resumes[m][1]["done"])]
    n_jobs = max(1, min(int(n_jobs), len(todo) or 1))
    n_rounds = max(1, math.ceil(len(todo) / n_jobs))
    t0 = time.perf_counter()

    def deadline(m):
        if budget_s is None:
            return None
        rnd = todo.index(m) // n_jobs if m in todo else 0
        return t0 + budget_s * (rnd + 1) / n_rounds

    def job(m):
        try:
            return _train_one(trainer, model, m, member_data[m], deadline(m), checkpoint, config, fingerprint,
                              progress, stop, resumes[m])
        except BaseException:
            stop.set()
            raise

    if n_jobs == 1:
        return [job(m) for m in range(n_members)]

    from concurrent.futures import ThreadPoolExecutor, wait

    pool = ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="matsight-member")
    futures = [pool.submit(job, m) for m in range(n_members)]
    try:
        wait(futures)
    except BaseException:  # e.g. Ctrl-C in the main thread: let the members stop after their current epoch
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    for f in futures:  # the first real failure, not the members it stopped
        exc = f.exception()
        if exc is not None and not isinstance(exc, _Stopped):
            raise exc
    return [f.result() for f in futures]
