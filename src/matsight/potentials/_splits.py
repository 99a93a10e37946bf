"""Validation splits of a training set: one held-out set, or one fold per ensemble member."""
from __future__ import annotations

import torch

__all__ = ["validation_split", "fold_split"]


def validation_split(groups: list[str], fraction: float, stratify: bool, gen: torch.Generator):
    """``(validation indices, training indices)``, each sorted, from one random permutation drawn from ``gen``.

    Without ``stratify`` the first ``round(fraction * n)`` structures of the
    permutation are held out; with it, the first ``round(fraction * n_g)`` of
    each group ``g`` (in permutation order). At least one structure is held
    out when ``fraction > 0``, and at least one is kept for training.
    """
    n = len(groups)
    perm = torch.randperm(n, generator=gen).tolist()
    if not stratify:
        n_val = int(round(fraction * n))
        n_val = min(max(n_val, 1 if fraction > 0 else 0), n - 1)
        return sorted(perm[:n_val]), sorted(perm[n_val:])
    val: list[int] = []
    for g in sorted(set(groups)):
        members = [k for k in perm if groups[k] == g]  # (n_g,) in permutation order
        val += members[:int(round(fraction * len(members)))]
    if fraction > 0 and not val:
        val = perm[:1]
    if len(val) == n:
        val = val[:-1]
    held = set(val)
    return sorted(val), sorted(k for k in range(n) if k not in held)


def fold_split(groups: list[str], n_folds: int, stratify: bool, gen: torch.Generator) -> list[list[int]]:
    """A partition of the structures into ``n_folds`` folds (each sorted) from one random permutation drawn from ``gen``.

    Structures are dealt round robin in permutation order, so fold sizes
    differ by at most one; with ``stratify`` the permutation is first
    grouped by ``groups`` (sorted group names), so that every fold holds
    each group in proportion (to within one structure).
    """
    n = len(groups)
    perm = torch.randperm(n, generator=gen).tolist()
    order = [k for g in sorted(set(groups)) for k in perm if groups[k] == g] if stratify else perm
    folds: list[list[int]] = [[] for _ in range(n_folds)]
    for i, k in enumerate(order):
        folds[i % n_folds].append(k)
    return [sorted(f) for f in folds]
