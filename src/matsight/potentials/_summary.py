"""The record of a training run (private; re-exported by :mod:`._train`)."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TrainSummary"]


@dataclass
class TrainSummary:
    """What a training run did, in the units its names state."""

    n_frames_train: int
    n_frames_validation: int
    n_atoms_train: int
    species: list
    n_features: int
    n_parameters: int
    epochs_run: list
    best_epoch: list
    energy_mae_meV_per_atom_validation: float
    force_mae_meV_per_A_validation: float
    energy_mae_meV_per_atom_train: float
    force_mae_meV_per_A_train: float
    seconds: float
    featurize_seconds: float
    resumed_from_epoch: int | None
    config: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)
