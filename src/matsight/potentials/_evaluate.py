"""Test errors of a potential on labelled structures, and parity plots."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import MatsightError

__all__ = ["TestResult", "evaluate", "parity_plot"]


def _errors(e_ref, e_pred, f_ref, f_pred) -> dict:
    de = (np.asarray(e_pred) - np.asarray(e_ref)) * 1e3  # meV/atom
    out = {
        "n_frames": int(len(de)),
        "energy_mae_meV_per_atom": float(np.mean(np.abs(de))) if len(de) else float("nan"),
        "energy_rmse_meV_per_atom": float(np.sqrt(np.mean(de**2))) if len(de) else float("nan"),
    }
    if f_ref is not None and len(f_ref):
        df = (np.asarray(f_pred) - np.asarray(f_ref)).ravel() * 1e3  # meV/Å per component
        out["force_mae_meV_per_A"] = float(np.mean(np.abs(df)))
        out["force_rmse_meV_per_A"] = float(np.sqrt(np.mean(df**2)))
    else:
        out["force_mae_meV_per_A"] = float("nan")
        out["force_rmse_meV_per_A"] = float("nan")
    return out


@dataclass
class TestResult:
    """Errors of a potential on a test set.

    Energy errors are per atom (meV/atom); force errors are over Cartesian
    components (meV/Å), the convention of Zuo et al. (2020).

    Attributes
    ----------
    n_frames, n_atoms : int
    energy_mae_meV_per_atom, energy_rmse_meV_per_atom : float
    force_mae_meV_per_A, force_rmse_meV_per_A : float
    by_group : dict
        The same keys (and ``n_frames``) for every ``group``/``config_type``.
    energy_per_atom_ref_eV, energy_per_atom_pred_eV : ndarray (n_frames,)
    forces_ref_eV_per_A, forces_pred_eV_per_A : ndarray (n_force_atoms, 3)
    groups : list of str, one per frame
    energy_std_eV_per_atom : ndarray (n_frames,) or None
        Ensemble spread, when the model is an ensemble.
    """

    n_frames: int
    n_atoms: int
    energy_mae_meV_per_atom: float
    energy_rmse_meV_per_atom: float
    force_mae_meV_per_A: float
    force_rmse_meV_per_A: float
    by_group: dict
    energy_per_atom_ref_eV: np.ndarray = field(repr=False)
    energy_per_atom_pred_eV: np.ndarray = field(repr=False)
    forces_ref_eV_per_A: np.ndarray = field(repr=False)
    forces_pred_eV_per_A: np.ndarray = field(repr=False)
    groups: list = field(repr=False, default_factory=list)
    energy_std_eV_per_atom: np.ndarray | None = field(repr=False, default=None)

    def to_dict(self) -> dict:
        out = {
            "n_frames": self.n_frames,
            "n_atoms": self.n_atoms,
            "energy_mae_meV_per_atom": self.energy_mae_meV_per_atom,
            "energy_rmse_meV_per_atom": self.energy_rmse_meV_per_atom,
            "force_mae_meV_per_A": self.force_mae_meV_per_A,
            "force_rmse_meV_per_A": self.force_rmse_meV_per_A,
            "by_group": self.by_group,
        }
        if self.energy_std_eV_per_atom is not None:
            out["mean_energy_std_meV_per_atom"] = float(np.mean(self.energy_std_eV_per_atom) * 1e3)
        return out


def evaluate(model, data, progress=None) -> TestResult:
    """Energy and force errors of ``model`` on labelled structures.

    Every structure is evaluated with the :class:`Calculator` (float64
    autograd), independently of the training code path.

    Parameters
    ----------
    model : NeuralPotential, str or path-like
        A model, model file or shipped name.
    data : path-like, str or list
        Labelled structures (see :func:`read_frames`).
    progress : callable, optional
        Called with no argument after each structure.

    Returns
    -------
    TestResult
    """
    from ._calculator import Calculator
    from ._data import LabelledFrame, read_frames

    if isinstance(data, (list, tuple)) and data and isinstance(data[0], LabelledFrame):
        frames = list(data)
    else:
        frames = read_frames(data, require_energy=True)
    calc = Calculator(model)
    e_ref, e_pred, e_std, groups, f_ref, f_pred, f_group = [], [], [], [], [], [], []
    for k, fr in enumerate(frames):
        atoms = fr.atoms.copy()
        try:
            calc.calculate(atoms, ["energy", "forces"])
        except MatsightError as exc:
            raise MatsightError(str(exc).replace("the structure", f"frame {k}", 1)) from None
        n = len(atoms)
        e_ref.append(fr.energy_eV / n)
        e_pred.append(calc.results["energy"] / n)
        e_std.append(calc.results.get("energy_std", np.nan) / n)
        groups.append(fr.group)
        if fr.forces_eV_per_A is not None:
            f_ref.append(np.asarray(fr.forces_eV_per_A))
            f_pred.append(calc.results["forces"])
            f_group += [fr.group] * n
        if progress is not None:
            progress()
    e_ref, e_pred = np.array(e_ref), np.array(e_pred)
    fr_all = np.concatenate(f_ref) if f_ref else np.zeros((0, 3))
    fp_all = np.concatenate(f_pred) if f_pred else np.zeros((0, 3))
    groups_arr, f_group = np.array(groups), np.array(f_group)
    by_group = {}
    for g in sorted(set(groups)):
        m, mf = groups_arr == g, f_group == g
        by_group[g] = _errors(e_ref[m], e_pred[m], fr_all[mf] if mf.any() else None, fp_all[mf])
    head = _errors(e_ref, e_pred, fr_all if len(fr_all) else None, fp_all)
    ensemble = calc.model.n_members > 1
    return TestResult(
        n_frames=len(frames), n_atoms=int(sum(len(f.atoms) for f in frames)),
        energy_mae_meV_per_atom=head["energy_mae_meV_per_atom"], energy_rmse_meV_per_atom=head["energy_rmse_meV_per_atom"],
        force_mae_meV_per_A=head["force_mae_meV_per_A"], force_rmse_meV_per_A=head["force_rmse_meV_per_A"],
        by_group=by_group, energy_per_atom_ref_eV=e_ref, energy_per_atom_pred_eV=e_pred,
        forces_ref_eV_per_A=fr_all, forces_pred_eV_per_A=fp_all, groups=groups,
        energy_std_eV_per_atom=np.array(e_std) if ensemble else None,
    )


def parity_plot(result: TestResult, path, title: str = "") -> None:
    """Energy and force parity plots (reference vs predicted), written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report._plots import save_figure

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    groups = np.array(result.groups)
    ax = axes[0]
    for g in sorted(set(result.groups)):
        m = groups == g
        ax.scatter(result.energy_per_atom_ref_eV[m], result.energy_per_atom_pred_eV[m], s=14, label=g)
    lo = min(result.energy_per_atom_ref_eV.min(), result.energy_per_atom_pred_eV.min())
    hi = max(result.energy_per_atom_ref_eV.max(), result.energy_per_atom_pred_eV.max())
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("reference energy (eV/atom)")
    ax.set_ylabel("predicted energy (eV/atom)")
    ax.set_title(f"energy: MAE {result.energy_mae_meV_per_atom:.2f} meV/atom")
    ax.legend(fontsize=8)
    ax = axes[1]
    if len(result.forces_ref_eV_per_A):
        x, y = result.forces_ref_eV_per_A.ravel(), result.forces_pred_eV_per_A.ravel()
        ax.scatter(x, y, s=3, alpha=0.4)
        lim = max(abs(x).max(), abs(y).max())
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax.set_xlabel("reference force component (eV/Å)")
    ax.set_ylabel("predicted force component (eV/Å)")
    ax.set_title(f"forces: MAE {result.force_mae_meV_per_A:.0f} meV/Å")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=110, fmt="png")
    plt.close(fig)
