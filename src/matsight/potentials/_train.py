"""Training Behler–Parrinello potentials on energies and forces.

The loss is a weighted sum of the mean squared error of the energy per atom
(eV/atom) and of the force components (eV/Å)::

    L = w_E * mean_frames((E - E_ref)^2 / N^2) + w_F * mean_components((F - F_ref)^2) + λ * sum(W^2)

(the last term, an L2 penalty on the networks' weight matrices, is off by
default and never enters the validation loss)

minimised with Adam on mini-batches of structures (with a learning-rate
schedule: reduce on plateau, or an exponential decay over the planned
epochs) or with full-batch L-BFGS (one iteration per epoch), with a
held-out validation split and early stopping on the validation loss (the
best weights are kept). A checkpoint per member (weights, optimizer,
scheduler, random generator and epoch, as safetensors with JSON metadata) is
written atomically after every epoch, so interrupting the training loses at
most one epoch; ``fit`` resumes from it when it exists.
An ensemble trains ``ensemble`` members from seeds ``random_state + m``,
one after another or ``n_jobs`` at a time (``_members.py``).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ..errors import MatsightError
from ..units import MEV_TO_EV
from ._splits import fold_split, validation_split  # noqa: F401  (re-exported)
from ._loss_terms import _pseudo_huber, _weight_norm2  # noqa: F401  (_pseudo_huber: tests)
from ._summary import TrainSummary

__all__ = ["PotentialTrainer", "TrainSummary"]

_LBFGS_HISTORY = 100  # curvature pairs kept by L-BFGS
_LBFGS_LINE_SEARCH = 25  # most loss evaluations in one line search


class PotentialTrainer:
    """Fit a :class:`~matsight.potentials.NeuralPotential` to energies and forces.

    Parameters
    ----------
    r_cut : float
        Cutoff radius of the symmetry functions, Å.
    n_g2, n_g4 : int
        Radial and angular symmetry functions per element (pair); passed to
        ``ACSF.default_for``. Ignored when ``descriptor`` is given.
    g5_shells : tuple of float
        Shell radii in Å for shell-resolved angular functions
        (``ACSF.default_for(..., g5_shells=...)``, e.g. the crystal's neighbour
        shells); empty: none. Ignored when ``descriptor`` is given.
    descriptor : ACSF, optional
        A ready descriptor.
    hidden : tuple of int
        Hidden layer widths of each atomic network.
    activation : str
    epochs : int
        Maximum number of epochs per ensemble member.
    batch_size : int
        Structures per mini-batch.
    learning_rate : float
    energy_weight, force_weight : float
        Loss weights of the per-atom energy (eV/atom)² and force (eV/Å)² terms.
    validation_fraction : float
        Fraction of structures held out for early stopping.
    keep : {"best", "last"}
        Weights each member ends with: those of its best validation loss, or
        its last epoch's (Mo's test forces kept improving past that optimum).
    stratify : bool
        Draw the validation structures from each group (``config_type``:
        AIMD, Elastic, Surface, ...) in proportion to its size, as mlearn's
        own test split is drawn, instead of from all structures at once, so
        that model selection sees every kind of structure in proportion.
    member_features : sequence of {"all", "acsf"}, optional
        A committee of two descriptors: member ``m`` reads all features
        (``"all"``) or all but the descriptor's power spectrum (``"acsf"``),
        the entries cycled over the members; needs a descriptor with
        ``power_spectrum`` and no ``n_components``. Members that see
        different inputs make different errors (mlearn Mo: README).
    member_folds : bool
        Give every ensemble member its own validation structures (a
        cross-validation committee): the structures are split into
        ``K = round(1 / validation_fraction)`` folds (stratified with
        ``stratify``) and member ``m`` holds out fold ``m % K``, trains on the
        rest and stops early on its fold. The members then differ in their
        data as well as their initialisation, and together they have seen
        every structure. The scalers, principal axes and reference energies
        are fitted on all structures; ``summary_``'s validation errors are
        out of fold (each held-out structure predicted by the members that
        did not train on it). Default ``False``: one split shared by all.
    patience : int
        Epochs without validation improvement before stopping.
    ensemble : int
        Number of independently initialised members.
    random_state : int
        Seed of the split, the initialisation and the shuffling.
    dtype : torch.dtype, optional
        Training precision; default float32 with Adam (faster) and float64
        with L-BFGS (its line search needs exact losses). The calculator
        always computes in float64.
    max_seconds : float, optional
        Stop (keeping the best weights) after this wall time, counted from the
        start of ``fit``; what is left after the featurization is shared
        equally by the ensemble members (by rounds of ``n_jobs`` members
        when several train at once).
    n_threads : int or None
        Torch threads during training (default 1: the tensors are small, and
        several threads only spin on a busy machine); ``None`` leaves torch's
        setting alone. Members trained at once (``n_jobs``) share them.
    n_jobs : int
        Ensemble members trained at the same time, each in its own thread of
        this process, sharing one copy of the features (``n_threads=2,
        n_jobs=2``: two members on one core each). The weights do not depend
        on it; the time budget (``max_seconds``) is then split into rounds of
        ``n_jobs`` members instead of one share per member.
    fast_features : bool
        Compute the symmetry functions and their Jacobians in one numba pass
        with closed-form derivatives (an :class:`ACSF` and numba; about 10x
        faster, compiled in a few seconds once per machine). ``False``: one
        pure-PyTorch autograd backward per symmetry function (same numbers
        to ~1e-12).
    optimizer : {"adam", "lbfgs"}
        ``"adam"``: mini-batches of ``batch_size`` structures. ``"lbfgs"``:
        full-batch L-BFGS with a strong-Wolfe line search, one iteration per
        epoch (``learning_rate`` and ``schedule`` are then unused, and
        ``batch_size`` only sets how many structures are processed at once).
        L-BFGS converges in far fewer passes over small data sets such as
        mlearn's; use it with ``dtype=torch.float64``.
    schedule : {"plateau", "exponential"}
        ``"plateau"`` halves the learning rate when the validation loss has
        not improved for ``patience // 4`` epochs; ``"exponential"`` multiplies
        it by a constant every epoch so that it reaches ``min_learning_rate``
        after ``epochs`` (use a large ``patience`` with it).
    min_learning_rate : float, optional
        Lower bound of the schedule (default ``1e-3 * learning_rate``).
    weight_decay : float
        λ of an L2 penalty ``λ * sum(W**2)`` on the weight matrices (not the
        biases) of the networks, added to the training loss (not to the
        validation loss), in eV²/atom² like the energy term. It lets L-BFGS
        run longer before the networks overfit: on mlearn Mo (28 minutes,
        two threads) 1e-7 lowered the test energy MAE from 2.06 to
        1.68 meV/atom (NOTES.md).
    energy_huber_meV_per_atom, force_huber_eV_per_A : float, optional
        Make that loss term robust: each squared error ``x**2`` becomes the
        pseudo-Huber ``2 x**2 / (1 + sqrt(1 + (x/delta)**2))``, equal to
        ``x**2`` for ``|x| << delta`` and growing like ``2 delta |x|`` beyond
        it, so that a few badly described structures or atoms (surfaces,
        the hottest liquid frames) pull less on the fit and the typical
        error, which MAE measures, gets more of it. ``None`` (default): plain
        squared errors. The validation loss uses the same form.
    n_components : int, optional
        Feed the networks this many principal components of each element's
        standardised symmetry functions (fitted on the training split)
        instead of all ``n_features`` functions. Symmetry functions are
        strongly correlated, so little is lost (Ge, 93 functions: 50
        components hold all but 1.4e-7 of the variance), while the force
        term, the cost of training, shrinks in proportion. ``None``
        (default): all functions, unrotated.

    Attributes
    ----------
    model_ : NeuralPotential
    history_ : list of dict
        Per epoch: member, epoch, train and validation losses, learning rate.
    summary_ : TrainSummary

    References
    ----------
    J. Behler, "Atom-centered symmetry functions for constructing
    high-dimensional neural network potentials", J. Chem. Phys. 134, 074106 (2011).
    """

    def __init__(self, r_cut: float = 5.0, n_g2: int = 8, n_g4: int = 8, descriptor=None, hidden=(24, 24),
                 activation: str = "tanh", epochs: int = 200, batch_size: int = 8, learning_rate: float = 5e-3,
                 energy_weight: float = 1.0, force_weight: float = 0.03, validation_fraction: float = 0.1,
                 patience: int = 50, ensemble: int = 1, random_state: int = 0, dtype=None,
                 max_seconds: float | None = None, n_threads: int | None = 1,
                 fast_features: bool = True, schedule: str = "plateau", min_learning_rate: float | None = None,
                 optimizer: str = "adam", weight_decay: float = 0.0, energy_huber_meV_per_atom: float | None = None,
                 force_huber_eV_per_A: float | None = None, n_jobs: int = 1, n_components: int | None = None,
                 stratify: bool = False, g5_shells=(), member_folds: bool = False, keep: str = "best",
                 member_features=None):
        self.r_cut = r_cut
        self.n_g2 = n_g2
        self.n_g4 = n_g4
        self.descriptor = descriptor
        self.hidden = hidden
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.energy_weight = energy_weight
        self.force_weight = force_weight
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.ensemble = ensemble
        self.random_state = random_state
        self.dtype = dtype
        self.max_seconds = max_seconds
        self.n_threads = n_threads
        self.fast_features = fast_features
        self.schedule = schedule
        self.min_learning_rate = min_learning_rate
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.energy_huber_meV_per_atom = energy_huber_meV_per_atom
        self.force_huber_eV_per_A = force_huber_eV_per_A
        self.n_jobs = n_jobs
        self.n_components = n_components
        self.stratify = stratify
        self.keep = keep
        self.g5_shells = g5_shells
        self.member_folds = member_folds
        self.member_features = member_features

    def _check(self) -> None:
        checks = [
            (self.r_cut > 0, f"r_cut must be positive, got {self.r_cut}"),
            (int(self.epochs) >= 1, f"epochs must be at least 1, got {self.epochs}"),
            (int(self.ensemble) >= 1, f"ensemble must be at least 1, got {self.ensemble}"),
            (int(self.n_jobs) >= 1, f"n_jobs must be at least 1, got {self.n_jobs}"),
            (self.n_components is None or int(self.n_components) >= 1,
             f"n_components must be at least 1 or None, got {self.n_components}"),
            (int(self.batch_size) >= 1, f"batch_size must be at least 1, got {self.batch_size}"),
            (self.keep in ("best", "last"), f"keep must be 'best' or 'last', got {self.keep!r}"),
            (self.member_features is None or (len(self.member_features) and set(self.member_features) <= {"all", "acsf"}
                                              and self.n_components is None),
             f"member_features must list 'all' or 'acsf' per member, without n_components; got {self.member_features!r}"),
            (0 <= self.validation_fraction < 1, f"validation_fraction must be in [0, 1), got {self.validation_fraction}"),
            (not self.member_folds or 0 < self.validation_fraction <= 0.5,
             f"member_folds needs a validation_fraction in (0, 0.5], got {self.validation_fraction}"),
            (self.force_weight >= 0 and self.energy_weight >= 0, "loss weights must be non-negative"),
            (self.force_weight + self.energy_weight > 0, "at least one loss weight must be positive"),
            (self.weight_decay >= 0, f"weight_decay must be non-negative, got {self.weight_decay}"),
            (self.energy_huber_meV_per_atom is None or self.energy_huber_meV_per_atom > 0,
             f"energy_huber_meV_per_atom must be positive or None, got {self.energy_huber_meV_per_atom}"),
            (self.force_huber_eV_per_A is None or self.force_huber_eV_per_A > 0,
             f"force_huber_eV_per_A must be positive or None, got {self.force_huber_eV_per_A}"),
            (self.max_seconds is None or self.max_seconds > 0,
             f"max_seconds must be positive, got {self.max_seconds}"),
            (self.schedule in ("plateau", "exponential"),
             f"schedule must be 'plateau' or 'exponential', got {self.schedule!r}"),
            (self.optimizer in ("adam", "lbfgs"), f"optimizer must be 'adam' or 'lbfgs', got {self.optimizer!r}"),
            (self.min_learning_rate is None or 0 < self.min_learning_rate <= self.learning_rate,
             f"min_learning_rate must be in (0, learning_rate], got {self.min_learning_rate}"),
        ]
        for ok, msg in checks:
            if not ok:
                raise MatsightError(msg)

    def config(self) -> dict:
        return {
            "r_cut": self.r_cut, "n_g2": self.n_g2, "n_g4": self.n_g4, "g5_shells": [float(r) for r in self.g5_shells],
            "hidden": list(self.hidden),
            "activation": self.activation, "epochs": int(self.epochs), "batch_size": int(self.batch_size),
            "learning_rate": self.learning_rate, "energy_weight": self.energy_weight,
            "force_weight": self.force_weight, "validation_fraction": self.validation_fraction,
            "patience": int(self.patience), "ensemble": int(self.ensemble), "random_state": int(self.random_state),
            "dtype": str(self._dtype()).replace("torch.", ""), "schedule": self.schedule,
            "min_learning_rate": self._min_lr(), "optimizer": self.optimizer,
            "weight_decay": float(self.weight_decay), "energy_huber_meV_per_atom": self.energy_huber_meV_per_atom,
            "force_huber_eV_per_A": self.force_huber_eV_per_A, "n_components": self.n_components,
            "stratify": bool(self.stratify), "member_folds": bool(self.member_folds), "keep": self.keep,
            **({} if self.member_features is None else {"member_features": list(self.member_features)}),
        }

    def _dtype(self) -> torch.dtype:
        if self.dtype is not None:
            return self.dtype
        return torch.float64 if self.optimizer == "lbfgs" else torch.float32

    def _min_lr(self) -> float:
        return float(self.learning_rate * 1e-3 if self.min_learning_rate is None else self.min_learning_rate)

    def _optimizer(self, model, member, chunks):
        """``(optimizer, scheduler or None, closure or None)`` for one member (``chunks``: the collated training set)."""
        from ._members import member_params
        from ._optim import FullBatchObjective

        params = member_params(model, member)
        if self.optimizer == "adam":
            opt = torch.optim.Adam(params, lr=self.learning_rate)
            return opt, self._scheduler(opt), None
        # max_eval must be set: its default (max_iter * 5 // 4 = 1) leaves the line search no evaluation
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=1 + _LBFGS_LINE_SEARCH, history_size=_LBFGS_HISTORY,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=0.0)
        def chunk_loss(batch, n_frames, n_components):
            return self._loss(model, batch, member, create_graph=self.force_weight > 0,
                              n_frames=n_frames, n_components=n_components)[0]

        return opt, None, FullBatchObjective(chunk_loss, params, chunks)

    def _scheduler(self, opt):
        """Plateau: halve the rate when validation stalls; exponential: decay to the minimum over ``epochs``."""
        if self.schedule == "exponential":
            gamma = (self._min_lr() / self.learning_rate) ** (1.0 / max(1, int(self.epochs)))
            return torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=max(2, int(self.patience) // 4),
                                                          min_lr=self._min_lr())

    # ------------------------------------------------------------------
    def fit(self, data, checkpoint=None, progress=None, feature_cache=None) -> "PotentialTrainer":
        """Train on ``data``.

        Parameters
        ----------
        data : path-like, str or list
            An ASE-readable file, a bundled name, a list of ``ase.Atoms`` with
            energies, or a list of :class:`LabelledFrame`.
        checkpoint : path-like, optional
            Stem of the checkpoint (``X.safetensors`` + ``X.json``); resumed
            from when it exists, deleted after a successful fit.
        progress : callable, optional
            ``progress(n_epochs_done, total, message)`` after every epoch.
        feature_cache : path-like, optional
            Keep the precomputed symmetry functions and Jacobians in this
            safetensors file (reused when descriptor and data match). By
            default they are cached next to the checkpoint and deleted with it.

        Returns
        -------
        self
        """
        from ._batch import torch_threads

        with torch_threads(self.n_threads):
            return self._fit(data, checkpoint, progress, feature_cache)

    def _fit(self, data, checkpoint, progress, feature_cache) -> "PotentialTrainer":
        from . import ACSF
        from ._batch import collate, frame_features, load_features, save_features, torch_threads
        from ._data import LabelledFrame, read_frames
        from ._members import member_checkpoint, train_members
        from ._model import NeuralPotential

        self._check()
        t_start = time.perf_counter()
        if isinstance(data, (list, tuple)) and data and isinstance(data[0], LabelledFrame):
            frames = list(data)
        else:
            frames = read_frames(data, require_energy=True)
        if len(frames) < 2:
            raise MatsightError(f"training needs at least 2 structures with energies, got {len(frames)}")
        species = sorted({s for fr in frames for s in fr.atoms.get_chemical_symbols()})
        descriptor = self.descriptor or ACSF.default_for(species, r_cut=self.r_cut, n_g2=self.n_g2, n_g4=self.n_g4,
                                                         g5_shells=tuple(self.g5_shells))
        n_members = int(self.ensemble)
        if self.n_components is not None and int(self.n_components) > descriptor.n_features:
            raise MatsightError(f"n_components={self.n_components} exceeds the descriptor's {descriptor.n_features} "
                                "symmetry functions")
        widths = None
        if self.member_features is not None:
            if not descriptor.n_power_spectrum:
                raise MatsightError("member_features needs a descriptor with a power spectrum (ACSF power_spectrum)")
            kinds = [self.member_features[m % len(self.member_features)] for m in range(n_members)]
            widths = [descriptor.n_features - (descriptor.n_power_spectrum if k == "acsf" else 0) for k in kinds]
        model = NeuralPotential(descriptor, species, tuple(self.hidden), self.activation, n_members,
                                n_inputs=None if self.n_components is None else int(self.n_components),
                                member_inputs=widths)

        t0 = time.perf_counter()
        key = hashlib.sha256(json.dumps([descriptor.to_dict(), str(self._dtype()), len(frames),
                                         sum(fr.energy_eV for fr in frames), sum(len(fr.atoms) for fr in frames)],
                                        default=str).encode()).hexdigest()
        cache = None if checkpoint is None else Path(str(checkpoint) + ".features.safetensors")
        if feature_cache is not None:
            cache = Path(feature_cache)
        feats = load_features(cache, key) if cache is not None else None
        if feats is None:
            feats = []
            for k, fr in enumerate(frames):
                feats.append(frame_features(descriptor, fr.atoms, fr.energy_eV, fr.forces_eV_per_A, fr.group, self._dtype(),
                                            fast=self.fast_features))
                if progress is not None:
                    progress(0, None, f"features {k + 1}/{len(frames)}")
            if cache is not None:
                save_features(cache, feats, key)
        featurize_seconds = time.perf_counter() - t0

        # split: one validation set shared by all members, or a fold per member
        n = len(feats)
        gen = torch.Generator().manual_seed(int(self.random_state))
        groups = [f.group for f in feats]
        if self.member_folds:
            n_folds = min(n, max(2, int(round(1.0 / self.validation_fraction))))
            folds = fold_split(groups, n_folds, self.stratify, gen)
            held_out = [folds[m % n_folds] for m in range(n_members)]  # validation indices per member
            fit_idx = list(range(n))  # scalers and references from every structure
        else:
            val_idx, fit_idx = validation_split(groups, self.validation_fraction, self.stratify, gen)
            folds, held_out = [val_idx, fit_idx], [val_idx] * n_members
        train = [feats[k] for k in fit_idx]

        # scalers, principal axes and reference energies from the training split (every structure with folds)
        all_train = collate(train, model, layout="none")  # for the scalers: no Jacobians
        model.fit_scalers(all_train.features.double(), all_train.species_idx)
        model.fit_projection(all_train.features.double(), all_train.species_idx)
        counts = np.zeros((len(train), len(model.species)))
        for r, f in enumerate(train):
            np.add.at(counts[r], model.species_index(f.numbers.numpy()).numpy(), 1)
        model.fit_reference_energies(counts, np.array([f.energy_eV for f in train]))
        model.to(self._dtype())
        prepared = model.projected  # a projected model's batches hold network inputs: a cheaper force term
        jac32 = torch.float32  # Jacobians stored in float32, contracted in the training dtype (see collate)
        bs = int(self.batch_size)

        def chunked(idx):
            return [collate([feats[k] for k in idx[b:b + bs]], model, prepared, jacobian_dtype=jac32)
                    for b in range(0, len(idx), bs)]

        # every set collated once (each fold, or the validation and training sets) and shared by the members
        collated = {tuple(idx): (chunked(idx) if (self.optimizer == "lbfgs" or tuple(idx) in map(tuple, held_out))
                                 else None) for idx in folds}
        member_data = []
        for m in range(n_members):
            val = tuple(held_out[m])
            rest = [idx for idx in folds if tuple(idx) != val]
            member_data.append(([feats[k] for idx in rest for k in idx],  # training frames
                                None if self.optimizer != "lbfgs" else [c for idx in rest for c in collated[tuple(idx)]],
                                collated[val] if val else None))  # validation chunks
        config = self.config()
        fingerprint = [n, float(sum(f.energy_eV for f in frames)), int(sum(f.n_atoms for f in feats))]
        budget = None if self.max_seconds is None else max(0.0, self.max_seconds - (time.perf_counter() - t_start))
        n_jobs = min(int(self.n_jobs), n_members)
        # members trained at once share the threads (one each by default): n_threads=2, n_jobs=2 -> 2 x 1
        per_member = None if self.n_threads is None or n_jobs == 1 else max(1, int(self.n_threads) // n_jobs)
        with torch_threads(per_member):
            runs = train_members(self, model, member_data, budget, checkpoint, config, fingerprint,
                                 progress, n_jobs=n_jobs)
        history = sorted((h for r in runs for h in r.history), key=lambda h: (h["member"], h["epoch"]))
        resumed = next((r.resumed_from_epoch for r in runs if r.resumed_from_epoch is not None), None)
        model.eval()

        def _maes(idx, members=None):
            """Energy (meV/atom) and force (meV/Å) MAE over ``feats[idx]`` of the mean of ``members`` (None: all)."""
            e_err, f_err, n_f = [], 0.0, 0
            ready = collated.get(tuple(idx))  # the chunks training used, when collated already
            batches = ready if ready is not None else (
                collate([feats[k] for k in idx[b:b + bs]], model, prepared, jacobian_dtype=jac32)
                for b in range(0, len(idx), bs))  # one chunk at a time
            for batch in batches:
                e, f = self._predict(model, batch, members)
                e_err.append(((e - batch.energy_eV.to(e.dtype)) / batch.n_atoms.to(e.dtype)).abs())
                f_err += float((f - batch.forces_eV_per_A)[batch.force_mask].abs().sum())
                n_f += 3 * int(batch.force_mask.sum())
            return e_err, f_err, n_f

        def _mean(parts):
            e_err = [e for p in parts for e in p[0]]
            f_err, n_f = sum(p[1] for p in parts), sum(p[2] for p in parts)
            if not e_err:
                return math.nan, math.nan
            return float(torch.cat(e_err).mean()) * 1e3, (f_err / n_f * 1e3 if n_f else math.nan)

        # out of fold: each held-out set predicted by the members that held it out
        val_sets = {tuple(v): [m for m in range(n_members) if tuple(held_out[m]) == tuple(v)] for v in held_out}
        va_e, va_f = _mean([_maes(list(v), ms) for v, ms in val_sets.items() if v])
        tr_e, tr_f = _mean([_maes(idx) for idx in folds] if self.member_folds else [_maes(fit_idx)])
        val = [k for v in val_sets for k in v]
        self.model_ = model
        self.history_ = history
        self.summary_ = TrainSummary(
            n_frames_train=len(member_data[0][0]), n_frames_validation=len(val),
            n_atoms_train=int(sum(f.n_atoms for f in member_data[0][0])),
            species=list(model.species), n_features=model.n_features,
            n_parameters=sum(p.numel() for p in model.parameters()), epochs_run=[r.epochs_run for r in runs], best_epoch=[r.best_epoch for r in runs],
            energy_mae_meV_per_atom_validation=va_e, force_mae_meV_per_A_validation=va_f,
            energy_mae_meV_per_atom_train=tr_e, force_mae_meV_per_A_train=tr_f,
            seconds=time.perf_counter() - t_start, featurize_seconds=featurize_seconds, resumed_from_epoch=resumed,
            config=config,
        )
        if checkpoint is not None:
            for m in range(n_members):
                for suffix in (".safetensors", ".json"):
                    Path(str(member_checkpoint(checkpoint, m)) + suffix).unlink(missing_ok=True)
            Path(str(checkpoint) + ".features.safetensors").unlink(missing_ok=True)
        return self

    # ------------------------------------------------------------------
    def _loss(self, model, batch, member, create_graph, no_grad=False, n_frames=None, n_components=None):
        """``(loss, energy MAE eV/atom, force MAE eV/Å)`` of a batch.

        The squared errors are summed and divided by ``n_frames`` and
        ``n_components`` (default: the batch's own counts, i.e. means), so
        that chunks of one full batch add up to its loss; the weight penalty
        is shared in proportion to the chunk's frames for the same reason.
        With ``no_grad`` (validation) the penalty is left out.
        """
        from ._batch import energies_and_forces

        e, f = energies_and_forces(model, batch, member=member, create_graph=create_graph and not no_grad)
        e = e[0]  # (n_frames,)
        n_at = batch.n_atoms.to(e.dtype)  # (n_frames,)
        de = (e - batch.energy_eV.to(e.dtype)) / n_at  # (n_frames,) eV/atom
        e_delta = None if self.energy_huber_meV_per_atom is None else self.energy_huber_meV_per_atom * MEV_TO_EV  # eV/atom
        loss = self.energy_weight * _pseudo_huber(de, e_delta).sum() / (n_frames or de.numel())
        f_mae = torch.tensor(math.nan)
        if batch.force_mask.any():
            df = (f - batch.forces_eV_per_A)[batch.force_mask]  # (n_known, 3)
            loss = loss + self.force_weight * _pseudo_huber(df, self.force_huber_eV_per_A).sum() / (n_components or df.numel())
            f_mae = df.abs().mean()
        if self.weight_decay > 0 and not no_grad:
            share = batch.n_frames / (n_frames or batch.n_frames)
            loss = loss + self.weight_decay * share * _weight_norm2(model, member)
        if no_grad:
            return loss.detach(), de.abs().mean().detach(), f_mae.detach()
        return loss, de.abs().mean(), f_mae

    @staticmethod
    def _predict(model, batch, members=None):
        """Energies (n_frames,) and forces (n_atoms, 3) of the mean of ``members`` (None: all of them)."""
        from ._batch import energies_and_forces

        if members is None:
            e, f = energies_and_forces(model, batch)
            return e.mean(0).detach(), f.detach()
        parts = [energies_and_forces(model, batch, member=m) for m in members]
        e = torch.stack([p[0][0] for p in parts]).mean(0)  # (n_frames,)
        f = torch.stack([p[1] for p in parts]).mean(0)  # (n_atoms, 3): forces are linear in the energy
        return e.detach(), f.detach()
