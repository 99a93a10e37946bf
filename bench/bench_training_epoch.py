"""One training evaluation (loss and gradient over all structures): numba contraction vs ``torch.bmm``.

A full-batch L-BFGS epoch evaluates the loss over all training structures
once or more; most of that time is the force contraction of the stored
Jacobians (``F = -J . dE/dG`` and its transpose in the backward pass). This
times one evaluation with the Jacobians in each of ``collate``'s layouts on the
same mlearn frames, bench recipe, same process, and prints the ratio and the
largest difference in loss and gradient. ``entries32`` is what the trainer
uses: Jacobians stored in float32, contracted in float64.

    .venv/bin/python bench/bench_training_epoch.py                      # Mo, 64 frames, 93 functions, 1 thread
    .venv/bin/python bench/bench_training_epoch.py --element Si --frames 64 --threads 2
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

    from bench_mlearn import COMPONENTS, DATA, trainer_for
    from matsight.potentials._batch import collate, frame_features, torch_threads
    from matsight.potentials._model import NeuralPotential

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--element", default="Mo")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    el = args.element
    trainer = trainer_for(el)
    acsf = trainer.descriptor
    frames = read(DATA / "mlearn_zuo_2020" / f"{el}_training.extxyz", f":{args.frames}")
    with torch_threads(args.threads):
        feats = [frame_features(acsf, a, a.get_potential_energy(), a.get_forces(), "bench", torch.float64, fast=True)
                 for a in frames]
        model = NeuralPotential(acsf, [el], tuple(trainer.hidden), trainer.activation, 1, n_inputs=COMPONENTS.get(el))
        full = collate(feats, model, layout="entries")
        model.fit_scalers(full.features, full.species_idx).fit_projection(full.features, full.species_idx)
        model.fit_reference_energies(np.array([[f.n_atoms] for f in feats], float), np.array([f.energy_eV for f in feats]))
        model.to(torch.float64)
        params = [p for p in model.parameters() if p.requires_grad]
        out = {}
        for layout, jdt in (("buckets", None), ("entries", None), ("entries32", torch.float32)):
            chunks = [collate(feats[b:b + trainer.batch_size], model, model.projected, layout=layout[:7],
                              jacobian_dtype=jdt)
                      for b in range(0, len(feats), trainer.batch_size)]
            times = []
            for _ in range(args.repeats + 1):
                t0 = time.perf_counter()
                for p in params:
                    p.grad = None
                total = 0.0
                for c in chunks:
                    loss, _, _ = trainer._loss(model, c, 0, create_graph=True)
                    loss.backward()
                    total += float(loss.detach())
                times.append(time.perf_counter() - t0)
            grad = torch.cat([p.grad.reshape(-1) for p in params])
            out[layout] = (min(times[1:]), total, grad)  # the first call compiles (entries) / warms up
    n_atoms = sum(f.n_atoms for f in feats)
    n_entries = sum(len(f.owner) for f in feats)
    print(f"{el}: {len(feats)} frames, {n_atoms} atoms, {n_entries} Jacobian entries, {model.n_inputs} network inputs, "
          f"{args.threads} thread(s)")
    for layout, (t, _, _) in out.items():
        print(f"  {layout:8s} {1e3 * t:8.1f} ms per evaluation ({1e6 * t / n_atoms:.1f} us/atom)")
    tb, lb, gb = out["buckets"]
    for layout in ("entries", "entries32"):
        te, le, ge = out[layout]
        print(f"  ratio bmm / {layout}: {tb / te:.2f}x; |d loss| {abs(lb - le):.1e} of {lb:.3e}; "
              f"max |d grad| {float((gb - ge).abs().max()):.1e} of {float(gb.abs().max()):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
