"""Molecular dynamics with a neural-network potential (ASE integrators)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import MatsightError

__all__ = ["MDResult", "run_md", "energy_plot"]


@dataclass
class MDResult:
    """Outcome of an MD run.

    Attributes
    ----------
    n_atoms, steps : int
    timestep_fs, temperature_K : float
        Time step and target (initial) temperature.
    ensemble : str
    mean_temperature_K : float
        Over the second half of the run.
    energy_drift_meV_per_atom : float
        Total energy per atom, last step minus first (NVE: should be ~0).
    energy_drift_meV_per_atom_per_ps : float
        Slope of a straight-line fit of the total energy per atom.
    energy_fluctuation_meV_per_atom : float
        Standard deviation of the total energy per atom.
    seconds, ms_per_step : float
    time_fs, total_energy_eV_per_atom, potential_energy_eV_per_atom, temperature_series_K : ndarray
    """

    n_atoms: int
    steps: int
    timestep_fs: float
    temperature_K: float
    ensemble: str
    mean_temperature_K: float
    energy_drift_meV_per_atom: float
    energy_drift_meV_per_atom_per_ps: float
    energy_fluctuation_meV_per_atom: float
    seconds: float
    ms_per_step: float
    time_fs: np.ndarray = field(repr=False)
    total_energy_eV_per_atom: np.ndarray = field(repr=False)
    potential_energy_eV_per_atom: np.ndarray = field(repr=False)
    temperature_series_K: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        keys = ("n_atoms", "steps", "timestep_fs", "temperature_K", "ensemble", "mean_temperature_K",
                "energy_drift_meV_per_atom", "energy_drift_meV_per_atom_per_ps", "energy_fluctuation_meV_per_atom",
                "seconds", "ms_per_step")
        return {k: getattr(self, k) for k in keys}


def run_md(model, atoms, temperature_K: float = 300.0, steps: int = 1000, timestep_fs: float = 1.0,
           ensemble: str = "nve", friction_per_fs: float = 0.01, random_state: int = 0, progress=None,
           trajectory=None) -> MDResult:
    """Run NVE (velocity Verlet) or Langevin MD from Maxwell–Boltzmann velocities.

    Parameters
    ----------
    model : NeuralPotential, str or path-like
    atoms : ase.Atoms
        Starting structure (not modified: a copy is propagated).
    temperature_K : float
        Initial (NVE) or bath (Langevin) temperature.
    steps : int
    timestep_fs : float
    ensemble : {"nve", "langevin"}
    friction_per_fs : float
        Langevin friction.
    random_state : int
        Seed of the initial velocities and of the Langevin noise.
    progress : callable, optional
        Called after each step.
    trajectory : path-like, optional
        Write the frames (every 10 steps) as extended XYZ.

    Returns
    -------
    MDResult
    """
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    from ase.md.verlet import VelocityVerlet

    from ._calculator import Calculator
    from ._data import validate_atoms

    ensemble = ensemble.lower()
    if ensemble not in ("nve", "langevin"):
        raise MatsightError(f"unknown MD ensemble {ensemble!r}; choose nve or langevin")
    if steps < 1:
        raise MatsightError(f"steps must be at least 1, got {steps}")
    if not (timestep_fs > 0 and temperature_K >= 0):
        raise MatsightError("the time step must be positive and the temperature non-negative")
    a = atoms.copy()
    validate_atoms(a)
    a.calc = atoms.calc if isinstance(atoms.calc, Calculator) else Calculator(model)
    rng = np.random.default_rng(random_state)
    MaxwellBoltzmannDistribution(a, temperature_K=temperature_K, rng=rng, force_temp=True)
    Stationary(a)
    dt = timestep_fs * units.fs
    if ensemble == "nve":
        dyn = VelocityVerlet(a, timestep=dt)
    else:
        dyn = Langevin(a, timestep=dt, temperature_K=temperature_K, friction=friction_per_fs / units.fs, rng=rng,
                       fixcm=False)
    n = len(a)
    t_fs, e_tot, e_pot, temps = [], [], [], []
    frames = []

    def record():
        ep = a.get_potential_energy() / n
        ek = a.get_kinetic_energy() / n
        t_fs.append(dyn.get_number_of_steps() * timestep_fs)
        e_pot.append(ep)
        e_tot.append(ep + ek)
        temps.append(a.get_temperature())
        if trajectory is not None and dyn.get_number_of_steps() % 10 == 0:
            frames.append(a.copy())
        if progress is not None and dyn.get_number_of_steps() > 0:
            progress()

    dyn.attach(record, interval=1)
    t0 = time.perf_counter()
    record()
    dyn.run(steps)
    seconds = time.perf_counter() - t0
    t_fs, e_tot, e_pot, temps = map(np.asarray, (t_fs, e_tot, e_pot, temps))
    # ASE calls observers at step 0 of run() too; keep one value per step
    _, first = np.unique(t_fs, return_index=True)
    t_fs, e_tot, e_pot, temps = t_fs[first], e_tot[first], e_pot[first], temps[first]
    slope = np.polyfit(t_fs / 1000.0, e_tot, 1)[0] if len(t_fs) > 2 else float("nan")
    if trajectory is not None:
        import ase.io

        from ..io import atomic_path

        with atomic_path(trajectory) as tmp:
            ase.io.write(tmp, frames, format="extxyz")
    return MDResult(
        n_atoms=n, steps=int(steps), timestep_fs=float(timestep_fs), temperature_K=float(temperature_K),
        ensemble=ensemble, mean_temperature_K=float(np.mean(temps[len(temps) // 2:])),
        energy_drift_meV_per_atom=float(e_tot[-1] - e_tot[0]) * 1e3,
        energy_drift_meV_per_atom_per_ps=float(slope) * 1e3,
        energy_fluctuation_meV_per_atom=float(np.std(e_tot)) * 1e3,
        seconds=seconds, ms_per_step=seconds / steps * 1e3,
        time_fs=t_fs, total_energy_eV_per_atom=e_tot, potential_energy_eV_per_atom=e_pot, temperature_series_K=temps,
    )


def energy_plot(result: MDResult, path) -> None:
    """Total and potential energy per atom vs time, and the temperature, as PNG (atomic write)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report._plots import save_figure

    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    t_ps = result.time_fs / 1000.0
    ax1.plot(t_ps, (result.total_energy_eV_per_atom - result.total_energy_eV_per_atom[0]) * 1e3, label="total")
    ax1.plot(t_ps, (result.potential_energy_eV_per_atom - result.total_energy_eV_per_atom[0]) * 1e3, label="potential", alpha=0.6)
    ax1.set_ylabel("energy - E_tot(0) (meV/atom)")
    ax1.set_title(f"{result.ensemble.upper()} MD, {result.n_atoms} atoms: drift {result.energy_drift_meV_per_atom:+.3f} meV/atom")
    ax1.legend()
    ax2.plot(t_ps, result.temperature_series_K)
    ax2.set_xlabel("time (ps)")
    ax2.set_ylabel("temperature (K)")
    fig.tight_layout()
    save_figure(fig, path, dpi=110, fmt="png")
    plt.close(fig)
