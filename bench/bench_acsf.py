"""ACSF speed: matsight vs DScribe on a 1000-atom periodic cell, plus the cost of an MD step.

Run:  .venv/bin/python bench/bench_acsf.py [--repeats 7] [--json]

Prints, for a 1000-atom Si diamond supercell (5x5x5 conventional cells, random
displacements of 0.05 Å, r_cut = 6 Å, 8 G2 + 8 G4 per element combination) and a
1000-atom two-element (Si/Ge) version of it:

* DScribe ``ACSF.create`` time (single-threaded), matsight ``ACSF.create`` time (both
  including the neighbour search) and their ratio (median over interleaved repeats),
  with matsight's numba kernels on 1 thread and on numba's default thread count;
* the full cost of descriptors + energy + forces in µs per atom per MD step, with a
  per-element MLP (2 hidden layers of 24 tanh units, torch.nn) on top: the fast
  inference path (numba kernels, analytic gradients) and the training path (pure
  PyTorch, double-backward capable), in float64 and float32.

The machine this was written on is shared, so timings are noisy: the script takes
medians of interleaved repeats.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def _cell(two_elements: bool, random_state: int = 0):
    from ase.build import bulk

    atoms = bulk("Si", "diamond", 5.43, cubic=True).repeat((5, 5, 5))
    rng = np.random.default_rng(random_state)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    if two_elements:
        numbers = atoms.numbers.copy()
        numbers[rng.random(len(atoms)) < 0.3] = 32
        atoms.numbers = numbers
    atoms.wrap()
    return atoms


def _median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def descriptor_ratio(two_elements: bool, repeats: int, threads: int | None = None) -> dict:
    """DScribe vs matsight ``create``; ``threads`` numba threads for matsight (None: numba's default)."""
    import numba
    from dscribe.descriptors import ACSF as DscribeACSF

    from matsight.potentials._acsf import ACSF

    default_threads = numba.get_num_threads()
    numba.set_num_threads(threads or default_threads)

    atoms = _cell(two_elements)
    species = ["Si", "Ge"] if two_elements else ["Si"]
    ours = ACSF.default_for(species, r_cut=6.0, n_g2=8, n_g4=8)
    ref = DscribeACSF(species=species, r_cut=6.0, g2_params=ours._g2, g4_params=ours._g4, periodic=True)
    a, b = ref.create(atoms), ours.create(atoms)          # warm-up (numba compile / cache load)
    rel = float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
    i, _, _ = ours.neighbor_pairs(atoms)
    counts = np.bincount(i, minlength=len(atoms))
    t_ref, t_ours, ratios = [], [], []
    for _ in range(repeats):                               # interleaved: same load for both
        tr = _median_time(lambda: ref.create(atoms), 1)
        to = _median_time(lambda: ours.create(atoms), 3)
        t_ref.append(tr)
        t_ours.append(to)
        ratios.append(tr / to)
    numba.set_num_threads(default_threads)
    return {
        "system": f"{len(atoms)}-atom {'Si/Ge' if two_elements else 'Si'} diamond, periodic, r_cut 6 A",
        "matsight_threads": threads or default_threads,
        "n_features": ours.n_features,
        "n_pairs": int(len(i)),
        "n_triplets": int(np.sum(counts * (counts - 1) // 2)),
        "max_rel_diff_vs_dscribe": rel,
        "dscribe_ms": 1e3 * float(np.median(t_ref)),
        "matsight_ms": 1e3 * float(np.median(t_ours)),
        "ratio_median": float(np.median(ratios)),
        "ratios": [round(r, 2) for r in ratios],
    }


def _mlp_energy(species, n_features, dtype):
    import torch

    torch.manual_seed(0)
    nets = torch.nn.ModuleList(
        torch.nn.Sequential(torch.nn.Linear(n_features, 24), torch.nn.Tanh(), torch.nn.Linear(24, 24),
                            torch.nn.Tanh(), torch.nn.Linear(24, 1)) for _ in species).to(dtype)

    def energy(features, species_index):
        e = features.new_zeros(())
        for s, net in enumerate(nets):
            mask = species_index == s
            if mask.any():
                e = e + net(features[mask]).sum()
        return e
    return energy


def md_step_cost(repeats: int, threads: int = 1) -> dict:
    """µs per atom per step: neighbour list + descriptors + energy + forces (+ stress), on ``threads``."""
    import numba
    import torch

    from matsight.potentials._acsf import ACSF

    old = numba.get_num_threads(), torch.get_num_threads()
    numba.set_num_threads(threads)
    torch.set_num_threads(threads)

    atoms = _cell(True)
    species = ["Si", "Ge"]
    acsf = ACSF.default_for(species, r_cut=6.0, n_g2=8, n_g4=8)
    sidx = torch.as_tensor(acsf._species_index(atoms.numbers))
    numbers = torch.as_tensor(atoms.numbers)
    out = {}
    for dtype in (torch.float64, torch.float32):
        energy = _mlp_energy(species, acsf.n_features, dtype)
        for fast in (True, False):
            def step():
                pairs = acsf.neighbor_pairs(atoms)
                pos = torch.tensor(atoms.positions, dtype=dtype, requires_grad=True)
                cell = torch.tensor(atoms.cell.array, dtype=dtype, requires_grad=True)
                g = acsf.compute(pos, numbers, cell, pairs, fast=fast)
                e = energy(g, sidx)
                f, v = torch.autograd.grad(e, [pos, cell])
                return -f, v
            step()
            t = _median_time(step, repeats)
            key = f"{'fast' if fast else 'torch'}_{str(dtype).split('.')[-1]}"
            out[key + "_us_per_atom_step"] = 1e6 * t / len(atoms)
    numba.set_num_threads(old[0])
    torch.set_num_threads(old[1])
    out["threads"] = threads
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    res = {"descriptors": [descriptor_ratio(False, args.repeats, 1), descriptor_ratio(True, args.repeats, 1),
                           descriptor_ratio(False, args.repeats), descriptor_ratio(True, args.repeats)],
           "md_step": md_step_cost(max(3, args.repeats // 2))}
    if args.json:
        print(json.dumps(res, indent=2))
        return
    for r in res["descriptors"]:
        print(f"{r['system']}: {r['n_features']} features, {r['n_pairs']} pairs, {r['n_triplets']} triplets, "
              f"matsight on {r['matsight_threads']} thread(s), DScribe on 1")
        print(f"  DScribe {r['dscribe_ms']:.1f} ms   matsight {r['matsight_ms']:.1f} ms   "
              f"ratio (median) {r['ratio_median']:.1f}x   ratios {r['ratios']}   "
              f"max rel. diff {r['max_rel_diff_vs_dscribe']:.1e}")
    print(f"MD step (neighbours + descriptors + MLP energy + forces + virial), 1000-atom Si/Ge, "
          f"{res['md_step']['threads']} thread:")
    for k, v in res["md_step"].items():
        if k != "threads":
            print(f"  {k:34s} {v:8.1f} us/atom/step")


if __name__ == "__main__":
    main()
