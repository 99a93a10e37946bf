"""Reference labels (energies, forces, stress) from GFN2-xTB or EMT.

* GFN2-xTB through tblite's ASE calculator (Bannwarth, Ehlert & Grimme,
  J. Chem. Theory Comput. 15, 1652 (2019)); energies in eV, forces in eV/Å.
* EMT through :class:`ase.calculators.emt.EMT` (Jacobsen, Stoltze & Nørskov,
  Surf. Sci. 366, 394 (1996)); Al, Cu, Ag, Au, Ni, Pd, Pt (and H, C, N, O
  with crude parameters).
"""
from __future__ import annotations

import numpy as np

from ..errors import MatsightError

__all__ = ["label", "label_file", "METHODS"]

METHODS = ("GFN2-xTB", "GFN1-xTB", "EMT")
_EMT_ELEMENTS = {"Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt", "H", "C", "N", "O"}


def _calculator(method: str):
    if method == "EMT":
        from ase.calculators.emt import EMT

        return EMT()
    try:
        from tblite.ase import TBLite
    except ImportError:
        raise MatsightError(f"labelling with {method} needs tblite (pip install 'matsight[xtb]')") from None
    return TBLite(method=method, verbosity=0)


def _canonical(method: str) -> str:
    for m in METHODS:
        if method.strip().lower() == m.lower():
            return m
    raise MatsightError(f"unknown labelling method {method!r}; choose from {', '.join(METHODS)}")


def label(structures, method: str = "GFN2-xTB", progress=None) -> list:
    """Compute reference energies and forces for structures.

    Parameters
    ----------
    structures : path-like, str or list of ase.Atoms
        Structures to label (any ASE-readable file).
    method : {"GFN2-xTB", "GFN1-xTB", "EMT"}
    progress : callable, optional
        Called after each structure.

    Returns
    -------
    list of ase.Atoms
        Copies carrying a ``SinglePointCalculator`` with ``energy`` (eV),
        ``forces`` (eV/Å) and, for 3D-periodic cells, ``stress`` (eV/Å³);
        ``info["label_method"]`` names the method.
    """
    from ase.calculators.singlepoint import SinglePointCalculator

    from ._data import _read_ase, validate_atoms

    method = _canonical(method)
    images = list(structures) if isinstance(structures, (list, tuple)) else _read_ase(structures)
    if not images:
        raise MatsightError("there are no structures to label")
    out = []
    for k, atoms in enumerate(images):
        where = f"structure {k}"
        validate_atoms(atoms, where=where)
        if method == "EMT":
            bad = sorted(set(atoms.get_chemical_symbols()) - _EMT_ELEMENTS)
            if bad:
                raise MatsightError(f"{where} contains {', '.join(bad)}, which EMT does not parametrise "
                                    f"(EMT knows {', '.join(sorted(_EMT_ELEMENTS))})")
        a = atoms.copy()
        a.calc = _calculator(method)
        try:
            energy = float(a.get_potential_energy())
            forces = np.array(a.get_forces())
            stress = np.array(a.get_stress()) if np.all(a.pbc) else None
        except MatsightError:
            raise
        except Exception as exc:  # the electronic-structure code failed on this input
            raise MatsightError(f"{method} failed on {where}: {type(exc).__name__}: {exc}") from None
        res = {"energy": energy, "forces": forces}
        if stress is not None:
            res["stress"] = stress
        a.calc = SinglePointCalculator(a, **res)
        a.info["label_method"] = method
        out.append(a)
        if progress is not None:
            progress()
    return out


def label_file(structures, out, method: str = "GFN2-xTB", progress=None) -> list:
    """Label ``structures`` and write them to ``out`` (extended XYZ), atomically."""
    import ase.io

    from ..io import atomic_path

    labelled = label(structures, method, progress)
    with atomic_path(out) as tmp:
        ase.io.write(tmp, labelled, format="extxyz")
    return labelled
