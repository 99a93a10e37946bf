"""Force contraction of stored Jacobians during training (private): numba kernels with an autograd rule.

A training epoch computes ``F_k = -sum_q [target_q = k] sum_f dE/dG_{owner_q, f}
J_{q, c, f}`` over every stored Jacobian entry ``q`` of every structure, and
its loss gradient needs the transpose, ``sum_{q: owner_q = a} sum_c J_{q, c, f}
w_{q, c}``. Both are matrix-vector products that read every stored entry once,
so their cost is memory traffic. As batched products (``torch.bmm`` of padded
per-centre blocks, the fallback in :mod:`._batch`) they took 80 % of an L-BFGS
evaluation on mlearn Mo; the plain loops here, over entries sorted by centre,
are 3-4x faster on one thread (bench/bench_training_epoch.py).

Entries must be sorted by ``owner`` and ``start[a]:start[a + 1]`` must hold
the entries of centre ``a``, so that the transpose is a race-free loop over
centres when it runs in parallel.
"""
from __future__ import annotations

import threading

import numpy as np
import torch

__all__ = ["contract_entries"]


def _kernel(name: str):
    from . import _contract_kernel

    return getattr(_contract_kernel, name)


def _parallel() -> bool:
    """Run the threaded loops only from the main thread with several torch threads.

    Ensemble members trained at once run in Python threads with one torch
    thread each; they get the serial loops (numba's thread pools are not all
    safe to enter from several threads at once).
    """
    return threading.current_thread() is threading.main_thread() and torch.get_num_threads() > 1


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


class _Forward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, de_dg, jac, owner, start):
        x = _np(de_dg)  # (n_atoms, width)
        out = np.empty((jac.shape[0], 3), dtype=x.dtype)  # (n_entries, 3)
        _kernel("forward_par" if _parallel() else "forward")(_np(jac), x, _np(owner), out)
        ctx.save_for_backward(jac, owner, start)
        ctx.width = x.shape[1]
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad_out):
        jac, owner, start = ctx.saved_tensors
        return _Transpose.apply(grad_out, jac, owner, start, ctx.width), None, None, None


class _Transpose(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w, jac, owner, start, width):
        x = _np(w)  # (n_entries, 3)
        out = np.empty((start.shape[0] - 1, width), dtype=x.dtype)  # (n_atoms, width)
        _kernel("transpose_par" if _parallel() else "transpose")(_np(jac), x, _np(start), out)
        ctx.save_for_backward(jac, owner, start)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx, grad_out):
        jac, owner, start = ctx.saved_tensors
        return _Forward.apply(grad_out, jac, owner, start), None, None, None, None


def contract_entries(de_dg: torch.Tensor, jacobian: torch.Tensor, owner: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """Per-entry force terms ``sum_f dE/dG_{owner_q, f} J_{q, :, f}`` (differentiable in ``de_dg``, twice).

    Parameters
    ----------
    de_dg : Tensor of shape (n_atoms, width)
        Energy derivative per centre and feature (eV per feature unit); ``width <=
        n_features``: only the leading ``width`` columns of the Jacobian are read.
    jacobian : Tensor of shape (n_entries, 3, n_features)
        ``dG_{owner_q} / dr_{target_q}`` (feature units per Å), sorted by owner;
        ``de_dg``'s dtype or float32 (the loops accumulate in ``de_dg``'s dtype).
    owner : Tensor of shape (n_entries,), int64
    start : Tensor of shape (n_atoms + 1,), int64
        Entries of centre ``a`` are ``start[a]:start[a + 1]``.

    Returns
    -------
    Tensor of shape (n_entries, 3)
        eV/Å; minus the forces once summed onto the targets.
    """
    return _Forward.apply(de_dg, jacobian, owner, start)
