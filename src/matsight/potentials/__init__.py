"""Behler–Parrinello neural-network potentials.

* :class:`ACSF`: atom-centred symmetry functions (Behler 2011).
* :class:`NeuralPotential`: per-element networks summed into a total energy.
* :class:`PotentialTrainer`: training on energies and forces, with
  checkpoints, early stopping and ensembles.
* :func:`load` / :func:`save`: model files (``X.safetensors`` + ``X.json``);
  ``load("si-mlearn")`` gives the shipped silicon model.
* :class:`Calculator`: an ASE calculator (float64) for MD and relaxations.
* :func:`evaluate`: test errors (meV/atom, meV/Å) by structure group.
* :func:`label`: reference energies and forces from GFN2-xTB or EMT.

Importing this sub-package imports torch; ``import matsight`` does not.
"""
from __future__ import annotations

from ._acsf import ACSF
from ._calculator import Calculator
from ._data import LabelledFrame, read_frames, validate_atoms
from ._evaluate import TestResult, evaluate
from ._io import load_model as load
from ._io import pretrained_names, save_model as save
from ._label import label
from ._model import NeuralPotential
from ._train import PotentialTrainer, TrainSummary

__all__ = [
    "ACSF", "NeuralPotential", "PotentialTrainer", "TrainSummary", "Calculator", "load", "save",
    "pretrained_names", "evaluate", "TestResult", "read_frames", "LabelledFrame", "validate_atoms", "label",
]
