"""Reusable invariance and finite-difference checks for descriptors and potentials.

Import from a test in tests/potentials/ (pytest runs with ``--import-mode=importlib``,
which does not put test folders on ``sys.path``)::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from checks import assert_rotation_invariant, fd_forces, ...
 Every function takes a callable ``fn(atoms)``
returning a numpy array (per-atom features ``(n_atoms, ...)`` or a scalar energy)
and raises ``AssertionError`` with a useful message when the property fails.
None of them mutates the ``atoms`` it is given.
"""
from __future__ import annotations

import numpy as np

__all__ = [
    "random_rotation", "random_system", "assert_translation_invariant", "assert_rotation_invariant",
    "assert_permutation_equivariant", "assert_image_invariant", "assert_supercell_repeats",
    "fd_forces", "fd_stress", "assert_gradients_match",
]


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random proper rotation matrix (3, 3) (QR of a Gaussian matrix)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def random_system(n_atoms, numbers, *, periodic=True, cell=None, min_dist=0.9, random_state=0):
    """Random ``ase.Atoms`` with atoms at least ``min_dist`` Å apart (minimum image if periodic).

    ``cell`` defaults to a triclinic cell of about 11 Å³ per atom. ``numbers`` is a
    list of atomic numbers drawn from uniformly.
    """
    from ase import Atoms

    rng = np.random.default_rng(random_state)
    if cell is None:
        a = (11.0 * n_atoms) ** (1 / 3)
        cell = a * np.array([[1.0, 0.0, 0.0], [0.28, 0.93, 0.0], [-0.19, 0.23, 0.97]])
    cell = np.asarray(cell, dtype=float)
    atoms = Atoms(numbers=rng.choice(numbers, n_atoms), cell=cell, pbc=periodic)
    pos = []
    tries = 0
    while len(pos) < n_atoms:
        tries += 1
        if tries > 100000:
            raise RuntimeError("could not place atoms; lower min_dist")
        x = rng.random(3) @ cell
        if pos:
            d = np.asarray(pos) - x
            if periodic:
                f = d @ np.linalg.inv(cell)
                d = (f - np.round(f)) @ cell
            if np.min(np.linalg.norm(d, axis=1)) < min_dist:
                continue
        pos.append(x)
    atoms.positions = np.asarray(pos)
    return atoms


def _close(a, b, rtol, atol, what):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f"{what}: shapes differ {a.shape} vs {b.shape}"
    err = np.abs(a - b)
    tol = atol + rtol * np.abs(b)
    if not np.all(err <= tol):
        k = np.unravel_index(np.argmax(err - tol), err.shape)
        raise AssertionError(f"{what}: max violation at {k}: {a[k]!r} vs {b[k]!r} (|diff|={err[k]:.3g})")


def assert_translation_invariant(fn, atoms, *, rtol=1e-9, atol=1e-10, random_state=0):
    """Rigid translation by a random vector leaves ``fn`` unchanged."""
    rng = np.random.default_rng(random_state)
    moved = atoms.copy()
    moved.positions = atoms.positions + rng.normal(scale=3.0, size=3)
    _close(fn(moved), fn(atoms), rtol, atol, "translation")


def assert_rotation_invariant(fn, atoms, *, rtol=1e-9, atol=1e-10, random_state=0):
    """A random rotation of positions and cell leaves ``fn`` unchanged."""
    rot = random_rotation(np.random.default_rng(random_state))
    moved = atoms.copy()
    moved.positions = atoms.positions @ rot.T
    moved.cell = atoms.cell.array @ rot.T
    _close(fn(moved), fn(atoms), rtol, atol, "rotation")


def assert_permutation_equivariant(fn, atoms, *, per_atom=True, rtol=1e-9, atol=1e-10, random_state=0):
    """Permuting atoms permutes per-atom rows (``per_atom``) or leaves a scalar unchanged."""
    perm = np.random.default_rng(random_state).permutation(len(atoms))
    out = np.asarray(fn(atoms))
    out_p = np.asarray(fn(atoms[perm]))
    _close(out_p, out[perm] if per_atom else out, rtol, atol, "permutation")


def assert_image_invariant(fn, atoms, *, rtol=1e-9, atol=1e-10, random_state=0):
    """Moving atoms by random lattice vectors, or wrapping them, leaves ``fn`` unchanged."""
    rng = np.random.default_rng(random_state)
    moved = atoms.copy()
    k = rng.integers(-2, 3, size=(len(atoms), 3)) * atoms.pbc
    moved.positions = atoms.positions + k @ atoms.cell.array
    ref = fn(atoms)
    _close(fn(moved), ref, rtol, atol, "lattice-vector shift")
    wrapped = moved.copy()
    wrapped.wrap()
    _close(fn(wrapped), ref, rtol, atol, "wrap")


def assert_supercell_repeats(fn, atoms, reps=(2, 1, 1), *, rtol=1e-9, atol=1e-10):
    """Per-atom output of ``atoms.repeat(reps)`` is the output of ``atoms`` tiled."""
    ref = np.asarray(fn(atoms))
    big = np.asarray(fn(atoms.repeat(reps)))
    n = int(np.prod(reps))
    _close(big, np.concatenate([ref] * n, axis=0), rtol, atol, f"supercell {reps}")


def assert_descriptor_invariances(fn, crystal, molecule, reps=(1, 2, 1)):
    """The invariance battery for a per-atom descriptor ``fn(atoms)``: translation, rotation and permutation
    (crystal and molecule), periodic images and supercells (crystal)."""
    for atoms in (crystal, molecule):
        assert_translation_invariant(fn, atoms)
        assert_rotation_invariant(fn, atoms)
        assert_permutation_equivariant(fn, atoms)
    assert_image_invariant(fn, crystal)
    assert_supercell_repeats(fn, crystal, reps)


def fd_forces(energy_fn, atoms, h=1e-4):
    """Central-difference forces ``-dE/dx`` (n_atoms, 3) of a scalar ``energy_fn(atoms)``."""
    f = np.zeros((len(atoms), 3))
    for a in range(len(atoms)):
        for d in range(3):
            e = []
            for s in (+1, -1):
                moved = atoms.copy()
                pos = moved.positions
                pos[a, d] += s * h
                moved.positions = pos
                e.append(float(energy_fn(moved)))
            f[a, d] = -(e[0] - e[1]) / (2 * h)
    return f


def fd_stress(energy_fn, atoms, h=1e-5):
    """Central-difference stress ``(1/V) dE/d(strain)`` (3, 3), ASE's sign convention.

    The strain ``eps`` (symmetric) deforms positions and cell as ``x -> x (1 + eps)``.
    """
    vol = atoms.get_volume()
    s = np.zeros((3, 3))
    for a in range(3):
        for b in range(a, 3):
            e = []
            for sign in (+1, -1):
                eps = np.zeros((3, 3))
                if a == b:
                    eps[a, a] = sign * h
                else:
                    eps[a, b] = eps[b, a] = sign * h / 2
                m = np.eye(3) + eps
                moved = atoms.copy()
                moved.set_cell(atoms.cell.array @ m, scale_atoms=False)
                moved.positions = atoms.positions @ m
                e.append(float(energy_fn(moved)))
            s[a, b] = s[b, a] = (e[0] - e[1]) / (2 * h) / vol
    return s


def assert_gradients_match(energy_fn, forces_fn, atoms, *, stress_fn=None, h=1e-4,
                           rtol=1e-6, atol=1e-7):
    """Compare analytic forces (and stress) with central differences of ``energy_fn``.

    ``forces_fn(atoms)`` returns (n_atoms, 3) ``-dE/dx``; ``stress_fn(atoms)``
    returns the (3, 3) stress ``(1/V) dE/d(strain)``.
    """
    _close(forces_fn(atoms), fd_forces(energy_fn, atoms, h), rtol, atol, "forces vs finite differences")
    if stress_fn is not None:
        _close(stress_fn(atoms), fd_stress(energy_fn, atoms, h / 10), rtol, atol,
               "stress vs finite differences")


def assert_descriptor_forces_and_stress(acsf, atoms, fast, *, rtol=1e-6, atol=1e-7):
    """Forces and stress of ``sum tanh(G) . w`` by autograd through ``acsf.compute`` against central differences."""
    import torch

    w = torch.tensor(np.random.default_rng(0).normal(size=acsf.n_features))
    nums = torch.tensor(atoms.numbers)

    def energy(pos, cell, pairs):
        return (torch.tanh(acsf.compute(pos, nums, cell, pairs, fast=fast)) @ w).sum()

    def energy_np(a):
        with torch.no_grad():
            return float(energy(torch.tensor(a.positions), torch.tensor(a.cell.array), acsf.neighbor_pairs(a)))

    pos = torch.tensor(atoms.positions, requires_grad=True)
    eps = torch.zeros(3, 3, dtype=torch.float64, requires_grad=True)
    strain = torch.eye(3, dtype=torch.float64) + eps
    e = energy(pos @ strain, torch.tensor(atoms.cell.array) @ strain, acsf.neighbor_pairs(atoms))
    g_pos, g_eps = torch.autograd.grad(e, [pos, eps])
    stress = g_eps.numpy() / atoms.get_volume()
    np.testing.assert_allclose(-g_pos.numpy(), fd_forces(energy_np, atoms, 1e-5), rtol=rtol, atol=atol)
    np.testing.assert_allclose(0.5 * (stress + stress.T), fd_stress(energy_np, atoms, 1e-6), rtol=rtol, atol=atol)
    assert np.abs(g_pos.numpy()).max() > 1e-2


def emt_frames(n=14, seed=0):
    """Rattled, strained Cu cells labelled with ASE's EMT (an independent reference)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator

    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        a = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
        a.set_cell(a.cell.array @ (np.eye(3) + rng.uniform(-0.02, 0.02, (3, 3))), scale_atoms=True)
        a.positions += rng.normal(scale=0.08, size=a.positions.shape)
        a.calc = EMT()
        e, f = a.get_potential_energy(), a.get_forces()
        a.calc = SinglePointCalculator(a, energy=e, forces=f)
        a.info["config_type"] = "rattled" if k % 2 else "strained"
        out.append(a)
    return out
