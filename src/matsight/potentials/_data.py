"""Reading labelled structures (energies, forces, stress) and validating atoms.

Any file ASE can read (extended XYZ, an ASE database, VASP OUTCAR, ...) is
accepted. Energies, forces and stresses are taken from the calculator ASE
attaches while reading (a ``SinglePointCalculator``); failing that, from the
``info`` keys ``energy``/``free_energy``/``Energy`` and the per-atom array
``forces``. The frame's group (used to break test errors down) is its
``info["group"]`` or ``info["config_type"]``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MatsightError

__all__ = ["LabelledFrame", "read_frames", "frames_from_atoms", "validate_atoms", "frame_group", "bundled_data_path"]

#: Atoms closer than this (in Å) are reported as overlapping.
MIN_DISTANCE_A: float = 0.5
_ENERGY_KEYS = ("energy", "free_energy", "Energy", "total_energy", "dft_energy", "REF_energy")
_FORCE_KEYS = ("forces", "force", "REF_forces", "dft_forces")
_STRESS_KEYS = ("stress", "REF_stress", "virial_stress")


@dataclass
class LabelledFrame:
    """One structure with its reference labels.

    Attributes
    ----------
    atoms : ase.Atoms
        A copy of the structure, without calculator.
    energy_eV : float
        Total energy in eV.
    forces_eV_per_A : ndarray of shape (n_atoms, 3) or None
    stress_eV_per_A3 : ndarray of shape (6,) or None
        Voigt order xx, yy, zz, yz, xz, xy (ASE's convention).
    group : str
        ``info["group"]`` or ``info["config_type"]``, else ``"all"``.
    """

    atoms: object
    energy_eV: float
    forces_eV_per_A: np.ndarray | None
    stress_eV_per_A3: np.ndarray | None
    group: str


def bundled_data_path(name: str) -> Path:
    """Path of a bundled structure file (``Si_test``/``Si_training``), gzip or plain."""
    folder = Path(__file__).parent / "data"
    for cand in (f"{name}.extxyz.gz", f"{name}.extxyz", name):
        p = folder / cand
        if p.is_file():
            return p
    raise MatsightError(f"no bundled structure file named {name!r} (bundled: Si_test, Si_training)")


def frame_group(atoms) -> str:
    """The frame's group label: ``info['group']``, ``info['config_type']`` or ``'all'``."""
    for key in ("group", "config_type"):
        val = atoms.info.get(key)
        if val is not None and str(val).strip():
            return str(val)
    return "all"


def _read_ase(source) -> list:
    import ase.io

    text = str(source)
    path = Path(text)
    if not path.exists():
        try:
            path = bundled_data_path(text)
        except MatsightError:
            raise MatsightError(f"structure file {text!r} does not exist") from None
    if path.is_dir():
        raise MatsightError(f"{text!r} is a folder, not a structure file")
    if path.stat().st_size == 0:
        raise MatsightError(f"structure file {text!r} is empty")
    try:
        if path.name.endswith(".gz"):
            import gzip
            import io

            with gzip.open(path, "rt") as fh:
                frames = ase.io.read(io.StringIO(fh.read()), index=":", format="extxyz")
        else:
            frames = ase.io.read(path, index=":")
    except MatsightError:
        raise
    except Exception as exc:  # ASE raises many kinds of errors for bad files
        raise MatsightError(f"could not read {text!r} as structures with ASE: {type(exc).__name__}: {exc}") from None
    if not isinstance(frames, list):
        frames = [frames]
    if not frames:
        raise MatsightError(f"structure file {text!r} holds no structures")
    return frames


def _labels(atoms, where: str):
    energy = forces = stress = None
    calc = atoms.calc
    if calc is not None and getattr(calc, "results", None):
        res = calc.results
        energy = res.get("energy", res.get("free_energy"))
        forces = res.get("forces")
        stress = res.get("stress")
    if energy is None:
        for k in _ENERGY_KEYS:
            if k in atoms.info:
                energy = atoms.info[k]
                break
    if forces is None:
        for k in _FORCE_KEYS:
            if k in atoms.arrays:
                forces = atoms.arrays[k]
                break
    if stress is None:
        for k in _STRESS_KEYS:
            if k in atoms.info:
                stress = atoms.info[k]
                break
    if energy is not None:
        try:
            energy = float(energy)
        except (TypeError, ValueError):
            raise MatsightError(f"{where}: the energy {energy!r} is not a number") from None
        if not np.isfinite(energy):
            raise MatsightError(f"{where}: the energy is {energy}")
    if forces is not None:
        forces = np.array(forces, dtype=float)
        if forces.shape != (len(atoms), 3):
            raise MatsightError(f"{where}: forces have shape {forces.shape}, expected ({len(atoms)}, 3)")
        if not np.all(np.isfinite(forces)):
            raise MatsightError(f"{where}: the forces contain NaN or infinite values")
    if stress is not None:
        stress = np.array(stress, dtype=float)
        if stress.shape == (3, 3):
            stress = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        if stress.shape != (6,) or not np.all(np.isfinite(stress)):
            stress = None
    return energy, forces, stress


def frames_from_atoms(images, source: str = "the structures", require_energy: bool = True,
                      require_forces: bool = False) -> list[LabelledFrame]:
    """Extract labels from a list of ``ase.Atoms`` (copies; the inputs are not modified).

    Raises
    ------
    MatsightError
        If a frame has no energy (when ``require_energy``) or invalid labels.
    """
    out = []
    for k, atoms in enumerate(images):
        where = f"{source}, frame {k}"
        energy, forces, stress = _labels(atoms, where)
        if energy is None and require_energy:
            raise MatsightError(
                f"{where} has no energy: store it through a calculator or info['energy'] "
                "(extxyz: energy=... in the comment line)"
            )
        if forces is None and require_forces:
            raise MatsightError(f"{where} has no forces (per-atom array 'forces')")
        validate_atoms(atoms, where=where)
        clean = atoms.copy()
        clean.calc = None
        out.append(LabelledFrame(clean, energy if energy is not None else float("nan"), forces, stress, frame_group(atoms)))
    return out


def read_frames(source, require_energy: bool = True, require_forces: bool = False) -> list[LabelledFrame]:
    """Read every frame of an ASE-readable file with its energy, forces and stress.

    Parameters
    ----------
    source : path-like, str or list of ase.Atoms
        A file (extxyz, ``.extxyz.gz``, ASE ``.db``, anything ``ase.io.read``
        understands), the name of a bundled file (``"Si_test"``,
        ``"Si_training"``) or a list of structures.
    require_energy, require_forces : bool
        Raise when a frame lacks that label.

    Returns
    -------
    list of LabelledFrame

    Raises
    ------
    MatsightError
        Missing, empty or unreadable files, frames without energy, invalid atoms.
    """
    if isinstance(source, (list, tuple)):
        if not source:
            raise MatsightError("the list of structures is empty")
        return frames_from_atoms(source, "the structures", require_energy, require_forces)
    frames = _read_ase(source)
    return frames_from_atoms(frames, os.fspath(source) if not isinstance(source, str) else source, require_energy, require_forces)


def validate_atoms(atoms, species=None, where: str = "the structure", min_distance_A: float = MIN_DISTANCE_A) -> None:
    """Check that a structure can be given to a potential.

    Parameters
    ----------
    atoms : ase.Atoms
    species : sequence of str, optional
        Elements the model knows; any other element is named in the error.
    where : str
        How to name the structure in messages.
    min_distance_A : float
        Two atoms closer than this (Å) are reported as overlapping.

    Raises
    ------
    MatsightError
        Empty structure, NaN/infinite positions, periodic axes without a cell
        vector, unknown elements, overlapping atoms.
    """
    n = len(atoms)
    if n == 0:
        raise MatsightError(f"{where} is empty (no atoms)")
    pos = np.asarray(atoms.positions, dtype=float)
    if not np.all(np.isfinite(pos)):
        bad = int(np.argwhere(~np.isfinite(pos))[0, 0])
        raise MatsightError(f"{where}: atom {bad} has a NaN or infinite position")
    cell = np.asarray(atoms.cell.array, dtype=float)
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if not np.all(np.isfinite(cell)):
        raise MatsightError(f"{where}: the cell contains NaN or infinite values")
    if pbc.any():
        lengths = np.linalg.norm(cell, axis=1)
        if np.any(lengths[pbc] < 1e-8):
            axes = ", ".join("xyz"[a] for a in np.flatnonzero(pbc & (lengths < 1e-8)))
            raise MatsightError(f"{where} is periodic along {axes} but has no cell vector there (pbc=True without a cell)")
        if pbc.all() and abs(np.linalg.det(cell)) < 1e-6:
            raise MatsightError(f"{where} is periodic but its cell has zero volume")
    if species is not None:
        known = set(species)
        unknown = sorted(set(atoms.get_chemical_symbols()) - known)
        if unknown:
            raise MatsightError(
                f"{where} contains {', '.join(unknown)}, which the model was not trained on "
                f"(it knows {', '.join(sorted(known))})"
            )
    if n > 1 or pbc.any():
        import vesin

        per = bool(pbc.all())
        box = cell if per else np.zeros((3, 3))
        p = pos
        if pbc.any() and not per:
            # mixed periodicity: fall back to ASE's neighbour list
            from ase.neighborlist import neighbor_list

            i, j, d = neighbor_list("ijd", atoms, min_distance_A)
        else:
            i, j, d = vesin.NeighborList(cutoff=min_distance_A, full_list=False).compute(
                points=p, box=box, periodic=per, quantities="ijd")
        if len(i):
            k = int(np.argmin(d))
            a, b = sorted((int(i[k]), int(j[k])))
            if a == b:
                raise MatsightError(f"{where}: atom {a} overlaps its own periodic image ({d[k]:.3f} Å); the cell is too small")
            raise MatsightError(
                f"{where}: atoms {a} ({atoms[a].symbol}) and {b} ({atoms[b].symbol}) overlap: "
                f"they are {d[k]:.3f} Å apart (minimum {min_distance_A} Å)"
            )
