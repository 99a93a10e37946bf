"""Loss terms of the potential training (private; used by :mod:`._train`)."""
from __future__ import annotations

import torch

__all__ = ["_pseudo_huber", "_weight_norm2"]


def _pseudo_huber(x: torch.Tensor, delta: float | None) -> torch.Tensor:
    """Elementwise ``x**2`` (``delta`` None) or ``2 x**2 / (1 + sqrt(1 + (x/delta)**2))``.

    The second form is ``2 delta**2 (sqrt(1 + (x/delta)**2) - 1)`` written
    without the cancellation at small ``x``; smooth everywhere, as L-BFGS
    needs (P. J. Huber, Ann. Math. Stat. 35, 73 (1964); the pseudo-Huber form
    of Charbonnier et al., ICIP 1994).
    """
    sq = x * x  # same shape as x
    if delta is None:
        return sq
    return 2.0 * sq / (1.0 + torch.sqrt(1.0 + sq / (delta * delta)))


def _weight_norm2(model, member: int) -> torch.Tensor:
    """Sum of squared entries of one member's weight matrices (biases excluded)."""
    return sum((layer.weight**2).sum() for sym in model.species for layer in model.networks[sym][member]
               if isinstance(layer, torch.nn.Linear))
