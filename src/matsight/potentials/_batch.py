"""Precomputed symmetry functions and their local Jacobians, for fast training.

Training on forces needs ``dG_i/dr_k`` for every atom ``i`` and every atom
``k`` in its cutoff sphere. Following the practice of n2p2 and aenet, these
derivatives are computed once per structure and stored sparsely, so that an
epoch costs one network evaluation instead of a descriptor evaluation with
double backpropagation.

The Jacobian is obtained from the (autograd-differentiable) descriptor by
*unfolding* the structure: every neighbour entry ``(i, j, shift)`` becomes its
own atom at ``r_j + shift @ cell`` in a non-periodic system, so that each
centre's environment is made of private copies. The derivative of
``sum_i G_if`` with respect to the unfolded positions then holds
``dG_if/dr_copy`` without overlap between centres: ``n_features`` backward
passes give the whole sparse Jacobian, which is folded back onto the original
atoms in the force expression ``F_k = -sum_{i,f} dE/dG_if dG_if/dr_k``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["FrameFeatures", "Batch", "JacobianBucket", "JacobianEntries", "frame_features", "collate", "energies_and_forces"]


@dataclass
class FrameFeatures:
    """Symmetry functions, local Jacobian and labels of one structure.

    Attributes
    ----------
    features : Tensor (n_atoms, n_features)
    numbers : Tensor (n_atoms,)
    owner, target : Tensor (n_entries,)
        Entry ``q`` holds ``dG_{owner[q]} / dr_{target[q]}``.
    jacobian : Tensor (n_entries, n_features, 3)
    energy_eV : float
    forces_eV_per_A : Tensor (n_atoms, 3) or None
    group : str
    """

    features: torch.Tensor
    numbers: torch.Tensor
    owner: torch.Tensor
    target: torch.Tensor
    jacobian: torch.Tensor
    energy_eV: float
    forces_eV_per_A: torch.Tensor | None
    group: str

    @property
    def n_atoms(self) -> int:
        return int(self.features.shape[0])


def frame_features(descriptor, atoms, energy_eV=float("nan"), forces_eV_per_A=None, group: str = "all",
                   store_dtype=torch.float32, fast: bool = False) -> FrameFeatures:
    """Symmetry functions of ``atoms`` and their sparse Jacobian (computed in float64).

    With ``fast`` and an :class:`ACSF` (numba available), the Jacobian comes from
    :func:`._acsf_jacobian.pair_jacobian` in one pass; otherwise from one autograd
    backward per symmetry function.
    """
    from . import _acsf_fast
    from ._acsf import ACSF

    if fast and isinstance(descriptor, ACSF) and _acsf_fast.available():
        return _frame_features_analytic(descriptor, atoms, energy_eV, forces_eV_per_A, group, store_dtype)
    return _frame_features_autograd(descriptor, atoms, energy_eV, forces_eV_per_A, group, store_dtype, fast)


def _frame_features_autograd(descriptor, atoms, energy_eV, forces_eV_per_A, group, store_dtype, fast) -> FrameFeatures:
    """:func:`frame_features` with one autograd backward per symmetry function (any descriptor)."""
    n = len(atoms)
    i, j, shifts = descriptor.neighbor_pairs(atoms)
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    shifts = np.asarray(shifts, dtype=float)
    pos = np.asarray(atoms.positions, dtype=float)
    cell = np.asarray(atoms.cell.array, dtype=float)
    n_pairs = len(i)
    # unfolded system: the n centres, then one private copy per neighbour entry
    unfolded = np.concatenate([pos, pos[j] + shifts @ cell])  # (n + n_pairs, 3)
    numbers = np.concatenate([atoms.numbers, atoms.numbers[j]])  # (n + n_pairs,)
    copies = n + np.arange(n_pairs)  # (n_pairs,) index of each neighbour copy
    upos = torch.tensor(unfolded, dtype=torch.float64, requires_grad=True)
    args = (upos, torch.as_tensor(numbers), torch.zeros(3, 3, dtype=torch.float64),
            (i, copies, np.zeros((n_pairs, 3), dtype=np.int64)))
    g = _compute_first_order(descriptor, *args, fast=fast)[:n]  # (n, n_features)
    n_feat = g.shape[1]
    jac = torch.empty(n_feat, n + n_pairs, 3, dtype=torch.float64)  # (n_features, n + n_pairs, 3)
    for f in range(n_feat):
        (jac[f],) = torch.autograd.grad(g[:, f].sum(), upos, retain_graph=f < n_feat - 1, allow_unused=False)
    owner = torch.as_tensor(np.concatenate([np.arange(n), i]))  # (n + n_pairs,) centre of each entry
    target = torch.as_tensor(np.concatenate([np.arange(n), j]))  # (n + n_pairs,) original atom moved
    forces = None if forces_eV_per_A is None else torch.as_tensor(np.asarray(forces_eV_per_A), dtype=store_dtype)
    return FrameFeatures(
        features=g.detach().to(store_dtype),
        numbers=torch.as_tensor(np.asarray(atoms.numbers), dtype=torch.long),
        owner=owner,
        target=target,
        jacobian=jac.permute(1, 0, 2).contiguous().to(store_dtype),  # (n_entries, n_features, 3)
        energy_eV=float(energy_eV),
        forces_eV_per_A=forces,
        group=group,
    )


def _frame_features_analytic(acsf, atoms, energy_eV, forces_eV_per_A, group, store_dtype) -> FrameFeatures:
    """:func:`frame_features` from the closed-form pair Jacobian (same entries, same order of entries)."""
    from ._acsf_jacobian import pair_jacobian

    n = len(atoms)
    i, j, shifts = (np.asarray(x, dtype=np.int64) for x in acsf.neighbor_pairs(atoms))
    order = np.argsort(i, kind="stable")  # the kernel wants pairs sorted by centre; entries keep the list's order
    io, jo = i[order], j[order]
    cell = np.asarray(atoms.cell.array, dtype=float)
    vec = atoms.positions[jo] - atoms.positions[io] + shifts[order].reshape(-1, 3) @ cell  # (n_pairs, 3)
    feats, jp_sorted = pair_jacobian(acsf, vec, io, acsf._species_index(atoms.numbers)[jo], n)
    jp = torch.empty(jp_sorted.shape, dtype=torch.float64)  # (n_pairs, n_features, 3)
    jp[torch.as_tensor(order)] = torch.from_numpy(jp_sorted)
    # entries: the n centres (minus the sum of their pairs' derivatives), then one per pair
    jac = torch.cat([jp.new_zeros((n,) + tuple(jp.shape[1:])), jp])  # (n + n_pairs, n_features, 3)
    jac[:n].index_add_(0, torch.as_tensor(i), -jp)
    forces = None if forces_eV_per_A is None else torch.as_tensor(np.asarray(forces_eV_per_A), dtype=store_dtype)
    return FrameFeatures(
        features=torch.from_numpy(feats).to(store_dtype),
        numbers=torch.as_tensor(np.asarray(atoms.numbers), dtype=torch.long),
        owner=torch.as_tensor(np.concatenate([np.arange(n), i])),
        target=torch.as_tensor(np.concatenate([np.arange(n), j])),
        jacobian=jac.to(store_dtype),
        energy_eV=float(energy_eV),
        forces_eV_per_A=forces,
        group=group,
    )


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Temporarily use ``n`` threads in torch and in the numba kernels (``None``: leave as is).

    Both share one OpenMP runtime, and numba's OpenMP layer sets the
    runtime's thread count when it starts, which silently undid torch's: a
    "one-thread" training then ran torch on two threads (measured: 48 s of
    CPU in 25 s), and two trainings side by side on a 2-core machine ran about
    ten times slower per epoch. So numba is set (and started) first, torch last.
    """
    if n is None:
        yield
        return
    nb_old = _numba_threads(int(n))
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if nb_old is not None:
            _numba_threads(nb_old)
        torch.set_num_threads(old)


def _numba_threads(n: int) -> int | None:
    """Set numba's thread count (capped at its maximum) if numba is installed; return the old one."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    old = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return old


def _compute_first_order(descriptor, *args, fast: bool = False):
    """``descriptor.compute``; with ``fast``, its numba path (first derivatives only).

    The numba kernels are much faster once compiled, but compiling them costs
    a minute or more in a fresh process, so the PyTorch path is the default.
    """
    if fast:
        try:
            return descriptor.compute(*args, fast=True)
        except TypeError:  # a descriptor without the fast option
            pass
    return descriptor.compute(*args)


@dataclass
class JacobianBucket:
    """Stored Jacobians of centres with about the same number of neighbour entries.

    Centre ``a = centres[m]`` holds ``dG_a/dr_{targets[m, k]}`` in rows
    ``3k:3k+3`` of ``jacobian[m]`` (padding rows are zero, their target 0),
    so that the force contributions of all its entries are one matrix-vector
    product with ``dE/dG_a``.
    """

    centres: torch.Tensor  # (m,)
    targets: torch.Tensor  # (m * k,)
    jacobian: torch.Tensor  # (m, 3 k, n_features)


@dataclass
class JacobianEntries:
    """Stored Jacobian entries of a batch, sorted by centre (the layout of the numba contraction).

    Entry ``q`` holds ``dG_{owner[q]} / dr_{target[q]}`` as ``jacobian[q]``
    (3 rows, one per Cartesian direction); the entries of centre ``a`` are
    ``start[a]:start[a + 1]``. ``narrow[w]`` is a contiguous copy of the leading
    ``w`` columns for members that read only those (``member_inputs``): the
    loops run 3x faster on it than over a slice of the full array (Mo, 141 of
    393 columns: 0.03 s against 0.08-0.09 s per pass).
    """

    owner: torch.Tensor  # (n_entries,)
    target: torch.Tensor  # (n_entries,)
    start: torch.Tensor  # (n_atoms + 1,)
    jacobian: torch.Tensor  # (n_entries, 3, n_features)
    narrow: dict = field(default_factory=dict)  # width -> (n_entries, 3, width)


def _entries(owner: torch.Tensor, target: torch.Tensor, jacobian: torch.Tensor, n_atoms: int,
             widths=()) -> JacobianEntries:
    """Sort entry-wise Jacobians ``(n_entries, n_features, 3)`` by centre into :class:`JacobianEntries`
    (with contiguous copies of the leading ``widths`` columns)."""
    order = torch.sort(owner, stable=True).indices  # (n_entries,)
    start = torch.zeros(n_atoms + 1, dtype=torch.long)  # (n_atoms + 1,)
    start[1:] = torch.cumsum(torch.bincount(owner, minlength=n_atoms), 0)
    jac = jacobian[order].transpose(1, 2).contiguous()  # (n_entries, 3, n_features)
    narrow = {w: jac[:, :, :w].contiguous() for w in sorted(set(widths)) if w < jac.shape[2]}
    return JacobianEntries(owner=owner[order].contiguous(), target=target[order].contiguous(), start=start,
                           jacobian=jac, narrow=narrow)


@dataclass
class Batch:
    """Several structures concatenated, with global atom indices."""

    features: torch.Tensor  # (n_atoms, n_features)
    species_idx: torch.Tensor  # (n_atoms,)
    frame_idx: torch.Tensor  # (n_atoms,)
    n_atoms: torch.Tensor  # (n_frames,)
    buckets: list[JacobianBucket]  # empty when ``entries`` holds the Jacobians
    energy_eV: torch.Tensor  # (n_frames,)
    forces_eV_per_A: torch.Tensor  # (n_atoms, 3), NaN where unknown
    force_mask: torch.Tensor  # (n_atoms,) bool
    prepared: bool = False  # features are the model's network inputs, Jacobians their derivatives
    entries: JacobianEntries | None = None  # the numba layout (``collate(layout="entries")``)
    layout: str = "buckets"  # "entries", "buckets" or "none" (no Jacobians: energies only)

    @property
    def n_frames(self) -> int:
        return int(self.n_atoms.shape[0])


# centres are grouped by their entry count rounded up to a multiple of this (padding below 10 % for
# bulk-like environments) so that few, large batched products do the force contraction
_BUCKET_STEP = 4


def _buckets(owner: torch.Tensor, target: torch.Tensor, jacobian: torch.Tensor, n_atoms: int) -> list[JacobianBucket]:
    """Regroup entry-wise Jacobians ``(n_entries, n_features, 3)`` into padded per-centre blocks."""
    n_feat = jacobian.shape[1]
    order = torch.sort(owner, stable=True).indices  # (n_entries,) entries grouped by centre
    counts = torch.bincount(owner, minlength=n_atoms)  # (n_atoms,)
    start = torch.cumsum(counts, 0) - counts  # (n_atoms,) first sorted entry of each centre
    slot = torch.empty_like(owner)  # (n_entries,) rank of each entry within its centre
    slot[order] = torch.arange(len(order)) - start[owner[order]]
    padded = (counts + _BUCKET_STEP - 1) // _BUCKET_STEP * _BUCKET_STEP  # (n_atoms,)
    row = torch.empty(n_atoms, dtype=torch.long)  # (n_atoms,) position of each centre in its bucket
    out = []
    for k in torch.unique(padded[padded > 0]).tolist():
        centres = torch.nonzero(padded == k).flatten()  # (m,)
        row[centres] = torch.arange(len(centres))
        sel = torch.nonzero(padded[owner] == k).flatten()  # (n_sel,) entries of these centres
        r, c = row[owner[sel]], slot[sel]  # (n_sel,), (n_sel,)
        jac = jacobian.new_zeros(len(centres), k, 3, n_feat)  # (m, k, 3, n_features)
        jac[r, c] = jacobian[sel].transpose(1, 2)
        tgt = torch.zeros(len(centres), k, dtype=torch.long)  # (m, k); padding points at atom 0 with zero rows
        tgt[r, c] = target[sel]
        out.append(JacobianBucket(centres=centres, targets=tgt.reshape(-1),
                                  jacobian=jac.reshape(len(centres), 3 * k, n_feat)))
    return out


def collate(frames: list[FrameFeatures], model, prepared: bool = False, layout: str | None = None,
            jacobian_dtype: torch.dtype | None = None) -> Batch:
    """Concatenate frames into one :class:`Batch` (atom indices offset per frame).

    With ``prepared`` the features are mapped to the model's network inputs
    once (:meth:`NeuralPotential.inputs`: standardised and, for a projected
    model, rotated onto fewer principal axes), and each stored Jacobian with
    the same linear map, so that a training epoch skips the standardisation
    and its force contraction runs over ``n_inputs`` instead of ``n_features``.
    The model's scalers (and projection) must be fitted first.

    ``layout`` stores the Jacobians for the force contraction:
    ``"entries"`` sorted by centre for the numba loops of :mod:`._contract`
    (3-4x faster; the default when numba is installed), ``"buckets"`` as
    padded per-centre blocks for ``torch.bmm``; ``"none"`` leaves them out
    (features and labels only). ``jacobian_dtype`` (entries layout): store
    them in this dtype; the loops accumulate in ``dE/dG``'s dtype, so
    float32 storage with float64 training is an exactly consistent loss and
    gradient for Jacobians rounded to 6e-8 relative, with half the memory
    traffic (the trainer's choice).
    """
    from . import _acsf_fast

    if layout is None:
        layout = "entries" if _acsf_fast.available() else "buckets"
    if layout not in ("entries", "buckets", "none"):
        raise ValueError(f"layout must be 'entries', 'buckets' or 'none', not {layout!r}")
    dtype = frames[0].features.dtype
    sizes = torch.tensor([f.n_atoms for f in frames])  # (n_frames,)
    offsets = torch.cumsum(sizes, 0) - sizes  # (n_frames,)
    forces = [f.forces_eV_per_A if f.forces_eV_per_A is not None else torch.full((f.n_atoms, 3), float("nan"), dtype=dtype)
              for f in frames]
    force_t = torch.cat(forces).to(dtype)  # (n_atoms, 3)
    owner = torch.cat([f.owner + o for f, o in zip(frames, offsets)])  # (n_entries,)
    target = torch.cat([f.target + o for f, o in zip(frames, offsets)])  # (n_entries,)
    jacobian = torch.cat([f.jacobian for f in frames]) if layout != "none" else None  # (n_entries, n_features, 3)
    features = torch.cat([f.features for f in frames])  # (n_atoms, n_features)
    species_idx = model.species_index(torch.cat([f.numbers for f in frames]).numpy())  # (n_atoms,)
    if prepared:
        with torch.no_grad():
            features = model.inputs(features.to(model.feature_mean.dtype), species_idx)  # (n_atoms, n_inputs)
    if prepared and jacobian is not None:
        with torch.no_grad():
            entry_species = species_idx[owner]  # (n_entries,)
            mapped = jacobian.new_zeros(jacobian.shape[0], model.n_inputs, 3)  # (n_entries, n_inputs, 3)
            for k in torch.unique(entry_species).tolist():
                sel = (entry_species == k).nonzero().flatten()  # (n_k,)
                matrix = model.input_matrix(k).to(jacobian.dtype)  # (n_features, n_inputs)
                mapped[sel] = torch.einsum("efc,fp->epc", jacobian[sel], matrix)
            jacobian = mapped
    return Batch(
        features=features,
        species_idx=species_idx,
        frame_idx=torch.repeat_interleave(torch.arange(len(frames)), sizes),
        n_atoms=sizes,
        buckets=_buckets(owner, target, jacobian, int(sizes.sum())) if layout == "buckets" else [],
        layout=layout,
        entries=_entries(owner, target, jacobian if jacobian_dtype is None else jacobian.to(jacobian_dtype),
                         int(sizes.sum()), getattr(model, "member_inputs", None) or ())
        if layout == "entries" else None,
        energy_eV=torch.tensor([f.energy_eV for f in frames], dtype=torch.float64),
        forces_eV_per_A=force_t,
        force_mask=~torch.isnan(force_t).any(1),
        prepared=prepared,
    )


def energies_and_forces(model, batch: Batch, member: int | None = None, create_graph: bool = False):
    """Energies (eV) and forces (eV/Å) of a batch from the stored Jacobians.

    ``F_k = -sum_{a, f} dE/dG_af dG_af/dr_k``: one pass of the numba loops
    over the stored entries (:func:`._contract.contract_entries`), or per
    centre ``a`` one matrix-vector product of its padded block with
    ``dE/dG_a``, batched over the centres of a bucket; then scattered onto the
    atoms moved.

    Returns
    -------
    energies : Tensor of shape (n_members, n_frames)
        One row per member (or one row for ``member``).
    forces : Tensor of shape (n_atoms, 3)
        Forces of the member-mean energy.
    """
    with torch.enable_grad():
        g = batch.features.detach().requires_grad_(True)  # (n_atoms, n_features or n_inputs)
        energies = model(g, batch.species_idx, batch.frame_idx, batch.n_frames, member=member,
                         prepared=batch.prepared)  # (n_members, n_frames)
        (de_dg,) = torch.autograd.grad(energies.mean(0).sum(), g, create_graph=create_graph)  # same shape as g
    if batch.layout == "none":
        raise ValueError("this batch was collated without Jacobians (layout='none'): no forces")
    forces = torch.zeros_like(batch.forces_eV_per_A)  # (n_atoms, 3)
    # a member that reads only the leading w features has dE/dG = 0 beyond them: contract those columns only
    w = de_dg.shape[1] if member is None else model.member_width(member)
    de_dg = de_dg[:, :w]  # (n_atoms, w)
    if batch.entries is not None:
        from ._contract import contract_entries

        ent = batch.entries
        jac = ent.narrow.get(w, ent.jacobian)  # (n_entries, 3, >= w): the loops read the leading w columns
        contrib = contract_entries(de_dg, jac, ent.owner, ent.start)  # (n_entries, 3)
        return energies, -forces.to(de_dg.dtype).index_add(0, ent.target, contrib)
    for b in batch.buckets:
        x = de_dg[b.centres].unsqueeze(2)  # (m, w, 1)
        contrib = torch.bmm(b.jacobian[:, :, :w], x).reshape(-1, 3)  # (m * k, 3)
        forces = forces.index_add(0, b.targets, contrib)
    return energies, -forces


def save_features(path, feats: list[FrameFeatures], key: str) -> None:
    """Cache precomputed frames as safetensors (``key`` identifies descriptor and data)."""
    import json

    from safetensors.torch import save_file

    from ..io import atomic_path

    tensors, meta = {}, []
    for k, f in enumerate(feats):
        for name in ("features", "numbers", "owner", "target", "jacobian"):
            tensors[f"{k}.{name}"] = getattr(f, name).contiguous()
        if f.forces_eV_per_A is not None:
            tensors[f"{k}.forces"] = f.forces_eV_per_A.contiguous()
        meta.append([f.energy_eV, f.group])
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"key": key, "frames": json.dumps(meta)})


def load_features(path, key: str) -> list[FrameFeatures] | None:
    """Frames cached by :func:`save_features`, or ``None`` if absent, unreadable or for another ``key``."""
    import json
    from pathlib import Path

    from safetensors import safe_open

    if not Path(path).is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata()
            if meta.get("key") != key:
                return None
            frames = json.loads(meta["frames"])
            keys = set(fh.keys())
            out = []
            for k, (energy, group) in enumerate(frames):
                t = {name: fh.get_tensor(f"{k}.{name}") for name in ("features", "numbers", "owner", "target", "jacobian")}
                forces = fh.get_tensor(f"{k}.forces") if f"{k}.forces" in keys else None
                out.append(FrameFeatures(energy_eV=energy, group=group, forces_eV_per_A=forces, **t))
    except Exception:  # a damaged cache is recomputed
        return None
    return out
