"""Precomputing training data: the one-pass analytic Jacobian against one autograd backward per function.

Training on forces stores, for every structure, every symmetry function's
derivative with respect to every neighbour. matsight computes it in closed form
in one numba pass over the triplets (``_acsf_jacobian.pair_jacobian``); the
reference is what it replaced: autograd, one backward pass per function through
the numba kernels' analytic vector-Jacobian product. Same frames, same process,
one thread; prints the ratio and the largest difference.

    .venv/bin/python bench/bench_training_features.py            # mlearn Mo, bench recipe (93 functions)
    .venv/bin/python bench/bench_training_features.py --frames 40 --shells 2.3,2.75,3.2,3.65,4.1,4.55
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv=None) -> int:
    import torch
    from ase.io import read

    from bench_mlearn import DATA, trainer_for
    from matsight.potentials._batch import _frame_features_autograd, frame_features, torch_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--element", default="Mo")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--shells", default="", help="shell radii (Å) for shell-resolved angular functions")
    args = ap.parse_args(argv)
    shells = tuple(float(r) for r in args.shells.split(",") if r.strip())
    acsf = trainer_for(args.element, g5_shells=shells).descriptor
    frames = read(DATA / "mlearn_zuo_2020" / f"{args.element}_training.extxyz", f":{args.frames}")
    with torch_threads(1):
        frame_features(acsf, frames[0], fast=True)                      # compile both paths outside the timing
        _frame_features_autograd(acsf, frames[0], np.nan, None, "x", torch.float64, True)
        t0 = time.perf_counter()
        new = [frame_features(acsf, a, fast=True, store_dtype=torch.float64) for a in frames]
        t_new = time.perf_counter() - t0
        t0 = time.perf_counter()
        old = [_frame_features_autograd(acsf, a, np.nan, None, "x", torch.float64, True) for a in frames]
        t_old = time.perf_counter() - t0
    diff = max(float((a.jacobian - b.jacobian).abs().max()) for a, b in zip(new, old))
    scale = max(float(b.jacobian.abs().max()) for b in old)
    n_atoms = sum(len(a) for a in frames)
    print(f"{args.element}: {len(frames)} frames, {n_atoms} atoms, {acsf.n_features} functions, one thread")
    print(f"  analytic one pass   {t_new / n_atoms * 1e3:8.3f} ms/atom")
    print(f"  autograd per column {t_old / n_atoms * 1e3:8.3f} ms/atom")
    print(f"  speed-up {t_old / t_new:.1f}x; max |dJ| {diff:.2e} (max |J| {scale:.2e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
