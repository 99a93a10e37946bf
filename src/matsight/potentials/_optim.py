"""Optimisers of :class:`PotentialTrainer`: mini-batch Adam and full-batch L-BFGS.

Full-batch L-BFGS (with a strong-Wolfe line search) is how aenet trains
Behler–Parrinello networks, and, like the Kalman filter of n2p2 used by
Zuo et al. (2020), it uses curvature information that Adam lacks. On the
mlearn Si set it reaches Adam's 5-minute force error in about 2 minutes
(measured, see NOTES.md). Its gradient is exact over all training
structures; they are processed in chunks so that memory stays bounded, and
the loss and gradient at the last point are cached, because
``torch.optim.LBFGS`` re-evaluates the point its line search accepted at the
start of every ``step``.

Optimiser states go into checkpoints as safetensors tensors plus JSON, never
pickles: :func:`pack_state` and :func:`unpack_state` flatten the lists of
tensors that L-BFGS keeps (its curvature history).
"""
from __future__ import annotations

import torch

__all__ = ["FullBatchObjective", "pack_state", "unpack_state"]


class FullBatchObjective:
    """Closure for ``torch.optim.LBFGS``: the loss over all chunks, gradients accumulated.

    Parameters
    ----------
    chunk_loss : callable
        ``chunk_loss(batch, n_frames, n_components)`` returns the chunk's
        share of the full-batch loss (sums divided by the global counts),
        with a graph to the parameters.
    params : list of Tensor
        The parameters being optimised.
    chunks : list of Batch
        The training structures, collated once.
    """

    def __init__(self, chunk_loss, params, chunks):
        self.chunk_loss = chunk_loss
        self.params = list(params)
        self.chunks = list(chunks)
        self.n_frames = sum(b.n_frames for b in self.chunks)
        self.n_components = sum(3 * int(b.force_mask.sum()) for b in self.chunks)
        self.n_evaluations = 0
        self._x = None
        self._loss = None
        self._grads = None

    def _flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])  # (n_params,)

    def __call__(self) -> torch.Tensor:
        x = self._flat()
        if self._x is not None and torch.equal(x, self._x):
            for p, g in zip(self.params, self._grads):
                p.grad = g.clone()
            return self._loss.clone()
        for p in self.params:
            p.grad = None
        total = torch.zeros((), dtype=x.dtype)
        for b in self.chunks:
            loss = self.chunk_loss(b, self.n_frames, self.n_components)
            loss.backward()
            total = total + loss.detach()
        self.n_evaluations += 1
        self._x = x
        self._loss = total
        self._grads = [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in self.params]
        return total.clone()


def pack_state(sd: dict, tensors: dict, prefix: str) -> dict:
    """Put the tensors of an optimiser ``state_dict`` into ``tensors``; return the JSON rest.

    Values that are tensors are stored as ``prefix.{pid}.{key}``; lists of
    tensors (L-BFGS history) are stacked as ``prefix.{pid}.{key}`` with their
    length in the JSON (0 for an empty list); plain numbers stay in the JSON.
    """
    layout = {}
    for pid, st in sd["state"].items():
        entry = {}
        for k, v in st.items():
            name = f"{prefix}.{pid}.{k}"
            if k == "al":  # L-BFGS scratch space, rewritten before it is read
                continue
            if torch.is_tensor(v):
                tensors[name] = v
                entry[k] = {"kind": "tensor"}
            elif isinstance(v, (list, tuple)):
                if v:
                    tensors[name] = torch.stack([torch.as_tensor(t) for t in v])
                entry[k] = {"kind": "list", "length": len(v)}
            else:
                entry[k] = {"kind": "value", "value": v}
        layout[str(pid)] = entry
    return {"param_groups": sd["param_groups"], "layout": layout}


def unpack_state(packed: dict, tensors: dict, prefix: str) -> dict:
    """Inverse of :func:`pack_state`: an optimiser ``state_dict``."""
    state = {}
    for pid, entry in packed["layout"].items():
        st = {}
        for k, spec in entry.items():
            name = f"{prefix}.{pid}.{k}"
            if spec["kind"] == "tensor":
                st[k] = tensors[name]
            elif spec["kind"] == "list":
                st[k] = list(tensors[name].unbind(0)) if spec["length"] else []
            else:
                st[k] = spec["value"]
        state[int(pid)] = st
    return {"state": state, "param_groups": packed["param_groups"]}
