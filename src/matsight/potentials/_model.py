"""The Behler–Parrinello neural-network potential.

The total energy is a sum of atomic energies, each the output of a small
multilayer perceptron of the element of that atom, fed with the atom's
standardised symmetry functions (Behler & Parrinello, Phys. Rev. Lett. 98,
146401 (2007); Behler, J. Chem. Phys. 134, 074106 (2011))::

    E = sum_i [ s * NN_{Z_i}(P_{Z_i}^T (G_i - mu_{Z_i}) / sigma_{Z_i}) + e_{Z_i} ]

with ``e_Z`` per-element reference energies fitted by least squares to the
training energies and ``s`` an energy scale (the spread of the residual
energies per atom). ``P_Z`` is the identity, or, with ``n_inputs``, the
leading principal axes of the standardised symmetry functions of element
``Z`` in the training set: symmetry-function sets are strongly correlated
(93 functions of Ge's training set span about 50 directions to 1e-7 of their
variance), and fewer inputs make the force term of training proportionally
cheaper. The networks live in a :class:`torch.nn.ModuleDict` keyed
by element symbol; the atomic energies are gathered into structures with
``index_add_`` (the layout of TorchANI, Gao et al., J. Chem. Inf. Model. 60,
3408 (2020)). An optional ensemble holds several independently trained
networks per element; their spread is the model's uncertainty.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import MatsightError

__all__ = ["NeuralPotential", "ACTIVATIONS"]

ACTIVATIONS = {"tanh": nn.Tanh, "silu": nn.SiLU, "softplus": nn.Softplus, "celu": nn.CELU}


def _mlp(n_in: int, hidden: tuple[int, ...], activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


class NeuralPotential(nn.Module):
    """Per-element atomic networks on symmetry functions.

    Parameters
    ----------
    descriptor : matsight.potentials.ACSF
        Atom-centred symmetry functions; ``descriptor.n_features`` inputs per atom.
    species : sequence of str
        Element symbols the model knows.
    hidden : tuple of int
        Widths of the hidden layers of every atomic network.
    activation : {"tanh", "silu", "softplus", "celu"}
    n_members : int
        Number of ensemble members (independent networks per element).
    n_inputs : int, optional
        Network inputs per atom: this many principal components of the
        standardised symmetry functions (set by :meth:`fit_projection`).
        Default: all ``descriptor.n_features`` functions, unrotated.
    member_inputs : sequence of int, optional
        Per member, how many of the leading features its networks see (a
        committee mixing descriptors: e.g. the symmetry functions alone
        for some members and with the power spectrum for others, see
        ``ACSF.n_power_spectrum``). Default: every member sees all. Not
        with ``n_inputs``.

    Attributes
    ----------
    networks : torch.nn.ModuleDict
        ``networks[symbol][member]`` is that element's MLP (``n_features -> 1``).
    feature_mean, feature_std : Tensor of shape (n_species, n_features)
        Standardisation of the inputs, per element.
    projection : Tensor of shape (n_species, n_features, n_inputs)
        Only with ``n_inputs``: orthonormal principal axes, per element.
    reference_energies : Tensor of shape (n_species,)
        Per-element reference energies in eV.
    energy_scale : Tensor of shape ()
        Scale of the network output, in eV.
    """

    def __init__(self, descriptor, species, hidden=(24, 24), activation: str = "tanh", n_members: int = 1,
                 n_inputs: int | None = None, member_inputs=None):
        super().__init__()
        from ase.data import atomic_numbers

        if activation not in ACTIVATIONS:
            raise MatsightError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
        species = [str(s) for s in species]
        unknown = [s for s in species if s not in atomic_numbers]
        if unknown or not species:
            raise MatsightError(f"invalid element symbols {unknown or species!r}")
        self.descriptor = descriptor
        self.species = tuple(sorted(set(species), key=lambda s: atomic_numbers[s]))
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation
        self.n_members = int(n_members)
        n_feat = int(descriptor.n_features)
        n_sp = len(self.species)
        if n_inputs is not None and not 1 <= int(n_inputs) <= n_feat:
            raise MatsightError(f"n_inputs must be between 1 and the descriptor's {n_feat} features, got {n_inputs}")
        self.projected = n_inputs is not None
        n_in = n_feat if n_inputs is None else int(n_inputs)
        self.member_inputs = None
        if member_inputs is not None:
            widths = [int(w) for w in member_inputs]
            if len(widths) != self.n_members or any(not 1 <= w <= n_feat for w in widths) or self.projected:
                raise MatsightError(f"member_inputs must give each of the {self.n_members} members a number of leading "
                                    f"features between 1 and {n_feat} (and needs n_inputs=None), got {member_inputs!r}")
            self.member_inputs = tuple(widths)
        self.networks = nn.ModuleDict(
            {s: nn.ModuleList([_mlp(self.member_width(m, n_in), self.hidden, activation) for m in range(self.n_members)])
             for s in self.species}
        )
        z_to_index = torch.full((119,), -1, dtype=torch.long)
        for k, s in enumerate(self.species):
            z_to_index[atomic_numbers[s]] = k
        self.register_buffer("z_to_index", z_to_index)  # (119,) atomic number -> species index
        self.register_buffer("feature_mean", torch.zeros(n_sp, n_feat))
        self.register_buffer("feature_std", torch.ones(n_sp, n_feat))
        self.register_buffer("reference_energies", torch.zeros(n_sp))
        self.register_buffer("energy_scale", torch.ones(()))
        if self.projected:  # the first n_in axes until fit_projection
            self.register_buffer("projection", torch.eye(n_feat, n_in).repeat(n_sp, 1, 1))  # (n_species, n_feat, n_in)

    @property
    def n_features(self) -> int:
        return int(self.descriptor.n_features)

    @property
    def n_inputs(self) -> int:
        """Network inputs per atom (``n_features`` unless projected)."""
        return int(self.projection.shape[2]) if self.projected else self.n_features

    def member_width(self, member: int, n_in: int | None = None) -> int:
        """Network inputs that ``member`` reads: the leading ``member_inputs[member]`` (default all)."""
        n_in = self.n_inputs if n_in is None else n_in
        return n_in if self.member_inputs is None else self.member_inputs[member]

    # ------------------------------------------------------------------ fitting helpers
    def species_index(self, numbers) -> torch.Tensor:
        """Species index of each atom, shape (n_atoms,); unknown elements raise."""
        z = torch.as_tensor(np.asarray(numbers), dtype=torch.long, device=self.z_to_index.device)
        idx = self.z_to_index[z]  # (n_atoms,)
        if (idx < 0).any():
            from ase.data import chemical_symbols

            bad = sorted({chemical_symbols[int(v)] for v in z[idx < 0]})
            raise MatsightError(
                f"the structure contains {', '.join(bad)}, which the model was not trained on "
                f"(it knows {', '.join(self.species)})"
            )
        return idx

    @torch.no_grad()
    def fit_scalers(self, features: torch.Tensor, species_idx: torch.Tensor) -> "NeuralPotential":
        """Set the per-element feature means and standard deviations.

        Parameters
        ----------
        features : Tensor of shape (n_atoms, n_features)
        species_idx : Tensor of shape (n_atoms,)
        """
        for k, s in enumerate(self.species):
            x = features[species_idx == k].to(self.feature_mean.dtype)  # (n_k, n_features)
            if len(x) == 0:
                continue
            self.feature_mean[k] = x.mean(0)
            std = x.std(0, unbiased=False) if len(x) > 1 else torch.ones_like(x[0])
            self.feature_std[k] = torch.where(std > 1e-8, std, torch.ones_like(std))
        return self

    @torch.no_grad()
    def fit_projection(self, features: torch.Tensor, species_idx: torch.Tensor) -> "NeuralPotential":
        """Principal axes of the standardised features, per element (call after :meth:`fit_scalers`).

        Keeps the ``n_inputs`` axes of largest variance (eigenvectors of the
        covariance, in float64), each with the sign that makes its largest
        component positive, so the projection does not depend on the
        eigensolver's sign choice.

        Parameters
        ----------
        features : Tensor of shape (n_atoms, n_features)
        species_idx : Tensor of shape (n_atoms,)
        """
        if not self.projected:
            return self
        n_in = self.n_inputs
        for k in range(len(self.species)):
            x = features[species_idx == k].double()  # (n_k, n_features)
            if len(x) < 2:
                continue
            z = (x - self.feature_mean[k].double()) / self.feature_std[k].double()  # (n_k, n_features)
            _, vecs = torch.linalg.eigh(z.T @ z / len(z))  # ascending eigenvalues; vecs (n_features, n_features)
            axes = vecs.flip(1)[:, :n_in]  # (n_features, n_in) largest variance first
            big = axes.abs().argmax(0)  # (n_in,)
            axes = axes * torch.sign(axes[big, torch.arange(n_in)])  # (n_features, n_in)
            self.projection[k] = axes.to(self.projection.dtype)
        return self

    def input_matrix(self, k: int) -> torch.Tensor:
        """``diag(1 / sigma_k) P_k``, shape (n_features, n_inputs): maps element ``k``'s stored Jacobians
        ``dG/dr`` to the derivatives of its network inputs (the inputs are ``(G - mu_k) @ matrix``)."""
        scale = 1.0 / self.feature_std[k]  # (n_features,)
        return torch.diag(scale) if not self.projected else scale[:, None] * self.projection[k]

    def inputs(self, features: torch.Tensor, species_idx: torch.Tensor) -> torch.Tensor:
        """Network inputs, shape (n_atoms, n_inputs): standardised (and projected) features."""
        x = (features - self.feature_mean[species_idx]) / self.feature_std[species_idx]  # (n_atoms, n_features)
        if not self.projected:
            return x
        out = x.new_zeros(x.shape[0], self.n_inputs)  # (n_atoms, n_inputs)
        for k in range(len(self.species)):
            sel = (species_idx == k).nonzero().flatten()  # (n_k,)
            if sel.numel():
                out = out.index_copy(0, sel, x.index_select(0, sel) @ self.projection[k])
        return out

    @torch.no_grad()
    def fit_reference_energies(self, counts: np.ndarray, energies_eV: np.ndarray) -> np.ndarray:
        """Least-squares per-element reference energies; sets ``energy_scale``.

        Parameters
        ----------
        counts : ndarray of shape (n_frames, n_species)
            Number of atoms of each element in each frame.
        energies_eV : ndarray of shape (n_frames,)

        Returns
        -------
        ndarray of shape (n_frames,)
            Residual energies per atom (eV/atom) after subtracting the references.
        """
        counts = np.asarray(counts, dtype=float)
        energies_eV = np.asarray(energies_eV, dtype=float)
        e_ref, *_ = np.linalg.lstsq(counts, energies_eV, rcond=None)  # (n_species,)
        resid = (energies_eV - counts @ e_ref) / counts.sum(1)  # (n_frames,)
        self.reference_energies.copy_(torch.as_tensor(e_ref))
        scale = float(np.std(resid)) if len(resid) > 1 else 0.0
        self.energy_scale.fill_(scale if scale > 1e-3 else 0.1)
        return resid

    # ------------------------------------------------------------------ evaluation
    def atomic_energies(self, features: torch.Tensor, species_idx: torch.Tensor, member: int | None = None,
                        prepared: bool = False) -> torch.Tensor:
        """Atomic energies in eV.

        Parameters
        ----------
        features : Tensor of shape (n_atoms, n_features)
            Raw (unscaled) symmetry functions, or with ``prepared`` the
            network inputs from :meth:`inputs`, shape (n_atoms, n_inputs).
        species_idx : Tensor of shape (n_atoms,)
        member : int, optional
            Only this ensemble member (default: all).
        prepared : bool
            ``features`` are already network inputs (training batches).

        Returns
        -------
        Tensor of shape (n_members, n_atoms), or (1, n_atoms) with ``member``.
        """
        members = range(self.n_members) if member is None else [member]
        x = features if prepared else self.inputs(features, species_idx)  # (n_atoms, n_inputs)
        out = features.new_zeros(len(members), features.shape[0])  # (n_members, n_atoms)
        for k, sym in enumerate(self.species):
            sel = (species_idx == k).nonzero().flatten()  # (n_k,) atoms of this element
            if sel.numel() == 0:
                continue
            xs = x.index_select(0, sel)  # (n_k, n_inputs)
            nets = self.networks[sym]
            e = torch.stack([nets[m](xs[:, :self.member_width(m)]).squeeze(-1) for m in members])  # (n_members, n_k)
            out = out.index_add(1, sel, e)
        return out * self.energy_scale + self.reference_energies[species_idx]  # (n_members, n_atoms)

    def forward(self, features: torch.Tensor, species_idx: torch.Tensor, frame_idx: torch.Tensor | None = None,
                n_frames: int | None = None, member: int | None = None, prepared: bool = False) -> torch.Tensor:
        """Total energies in eV.

        Parameters
        ----------
        features : Tensor of shape (n_atoms, n_features)
        species_idx : Tensor of shape (n_atoms,)
        frame_idx : Tensor of shape (n_atoms,), optional
            Structure of each atom (default: all in one structure).
        n_frames : int, optional
        member : int, optional
        prepared : bool
            See :meth:`atomic_energies`.

        Returns
        -------
        Tensor of shape (n_members, n_frames)
        """
        e_atom = self.atomic_energies(features, species_idx, member, prepared)  # (n_members, n_atoms)
        if frame_idx is None:
            return e_atom.sum(1, keepdim=True)  # (n_members, 1)
        n_frames = int(frame_idx.max()) + 1 if n_frames is None else n_frames
        energies = e_atom.new_zeros(e_atom.shape[0], n_frames)  # (n_members, n_frames)
        energies.index_add_(1, frame_idx, e_atom)
        return energies

    def compute(self, atoms, dtype=torch.float64, forces: bool = True, stress: bool = False, fast: bool = False):
        """Energy, forces and stress of one structure, by automatic differentiation.

        Parameters
        ----------
        atoms : ase.Atoms
        dtype : torch.dtype
            Precision of the computation (float64 by default).
        forces, stress : bool
            What to differentiate. ``stress`` needs a periodic cell.
        fast : bool
            Use the descriptor's compiled (numba) kernels if it has them.

        Returns
        -------
        dict
            ``energy`` (eV, ensemble mean), ``energies`` (eV, per member, shape
            (n_members,)), ``forces`` (eV/Å, shape (n_atoms, 3)), ``stress``
            (eV/Å³, Voigt (6,), ASE's sign convention).
        """
        idx = self.species_index(atoms.numbers)  # (n_atoms,)
        pairs = self.descriptor.neighbor_pairs(atoms)
        pos = torch.tensor(np.asarray(atoms.positions), dtype=dtype, requires_grad=forces)  # (n_atoms, 3)
        cell = torch.tensor(np.asarray(atoms.cell.array), dtype=dtype)  # (3, 3)
        numbers = torch.as_tensor(np.asarray(atoms.numbers), dtype=torch.long)
        strain = torch.zeros(3, 3, dtype=dtype, requires_grad=stress)  # (3, 3) symmetric displacement gradient
        if stress:
            deform = torch.eye(3, dtype=dtype) + 0.5 * (strain + strain.T)  # (3, 3)
            pos_s, cell_s = pos @ deform, cell @ deform  # (n_atoms, 3), (3, 3)
        else:
            pos_s, cell_s = pos, cell
        with torch.enable_grad():
            from ._batch import _compute_first_order

            g = _compute_first_order(self.descriptor, pos_s, numbers, cell_s, pairs, fast=fast)  # (n_atoms, n_features)
            e_members = self.forward(g.to(dtype), idx)[:, 0]  # (n_members,)
            energy = e_members.mean()
            wrt = [t for t, flag in ((pos, forces), (strain, stress)) if flag]
            grads = torch.autograd.grad(energy, wrt) if wrt else []
        out = {"energy": float(energy.detach()), "energies": e_members.detach().cpu().numpy().astype(float)}
        k = 0
        if forces:
            out["forces"] = -grads[k].detach().cpu().numpy().astype(float)
            k += 1
        if stress:
            volume = abs(float(np.linalg.det(np.asarray(atoms.cell.array))))
            s = grads[k].detach().cpu().numpy().astype(float) / volume  # (3, 3)
            out["stress"] = s[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        return out

    def extra_repr(self) -> str:
        inputs = f", n_inputs={self.n_inputs}" if self.projected else ""
        widths = "" if self.member_inputs is None else f", member_inputs={self.member_inputs}"
        return (f"species={self.species}, n_features={self.n_features}{inputs}, hidden={self.hidden}, "
                f"members={self.n_members}{widths}")
