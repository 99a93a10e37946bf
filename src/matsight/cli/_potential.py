"""``matsight potential train|test|md|label``: Behler–Parrinello neural-network potentials."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ._common import console, print_json, progress_bar

potential_app = typer.Typer(help="Neural-network potentials: train, test, run MD, label structures.", no_args_is_help=True)


@potential_app.command("train")
def train_cmd(
    data: str = typer.Argument(..., help="Labelled structures (extxyz, ASE db, ...) with energies and forces."),
    out: Path = typer.Option(..., "--out", "-o", help="Model stem: writes OUT.safetensors and OUT.json."),
    epochs: int = typer.Option(200, "--epochs", help="Maximum epochs per ensemble member."),
    seed: int = typer.Option(0, "--seed", help="Random seed (split, initialisation, shuffling)."),
    r_cut: float = typer.Option(5.0, "--r-cut", help="Cutoff radius of the symmetry functions, Å."),
    n_g2: int = typer.Option(8, "--n-g2", help="Radial symmetry functions per element."),
    n_g4: int = typer.Option(8, "--n-g4", help="Angular symmetry functions per element pair."),
    g5_shells: str = typer.Option("", "--g5-shells",
                                  help="Shell radii in Å, comma-separated (e.g. a crystal's neighbour shells), for "
                                       "shell-resolved angular functions (8 per shell per element pair); default none."),
    power_spectrum: int = typer.Option(0, "--power-spectrum",
                                       help="Add a SOAP-like power spectrum of this many Gaussian radial functions "
                                            "(centred from --ps-r-min to r_cut - 0.3 Å, width 0.35 Å) times "
                                            "spherical harmonics up to --ps-l-max; default 0: none."),
    ps_r_min: float = typer.Option(1.5, "--ps-r-min", help="First radial centre of the power spectrum, Å."),
    ps_l_max: int = typer.Option(6, "--ps-l-max", help="Highest spherical-harmonic order of the power spectrum."),
    member_features: str = typer.Option("", "--member-features",
                                        help="With --ensemble and --power-spectrum: comma-separated 'acsf' (symmetry "
                                             "functions only) or 'all' per member, cycled, e.g. acsf,all."),
    hidden: str = typer.Option("24,24", "--hidden", help="Hidden layer widths, comma-separated."),
    force_weight: float = typer.Option(0.03, "--force-weight", help="Weight of the force term (eV/Å)² against energy (eV/atom)²."),
    weight_decay: float = typer.Option(0.0, "--weight-decay",
                                       help="L2 penalty on the network weights, added to the training loss "
                                            "(try 1e-7 with lbfgs)."),
    energy_huber: Optional[float] = typer.Option(None, "--energy-huber-meV",
                                                 help="Robust (pseudo-Huber) energy loss: quadratic below this error "
                                                      "in meV/atom, linear above."),
    force_huber: Optional[float] = typer.Option(None, "--force-huber",
                                                help="Robust (pseudo-Huber) force loss: quadratic below this error "
                                                     "in eV/Å, linear above."),
    components: Optional[int] = typer.Option(None, "--components",
                                             help="Feed the networks this many principal components of the "
                                                  "standardised symmetry functions (fewer inputs, faster force "
                                                  "training; default: all functions)."),
    stratify: bool = typer.Option(False, "--stratify",
                                  help="Hold out validation structures from each group (config_type) in proportion."),
    member_folds: bool = typer.Option(False, "--member-folds",
                                      help="With --ensemble: each member holds out its own validation fold "
                                           "(1/validation fraction folds) and trains on the rest, a "
                                           "cross-validation committee; the validation errors are out of fold."),
    keep: str = typer.Option("best", "--keep",
                             help="Weights each member ends with: best (lowest validation loss) or last (last epoch)."),
    optimizer: str = typer.Option("adam", "--optimizer",
                                  help="adam (mini-batches, learning-rate schedule) or lbfgs (full-batch L-BFGS, one "
                                       "iteration per epoch, float64; best on small data sets)."),
    learning_rate: float = typer.Option(5e-3, "--learning-rate", help="Adam learning rate (the initial one)."),
    schedule: str = typer.Option("plateau", "--schedule",
                                 help="Learning-rate schedule: plateau (halve when validation stalls) or exponential "
                                      "(decay to 1e-3 x the initial rate over --epochs)."),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes",
                                                help="Stop after this wall time, keeping the best weights."),
    batch_size: int = typer.Option(8, "--batch-size", help="Structures per mini-batch."),
    patience: int = typer.Option(50, "--patience", help="Early-stopping patience, epochs."),
    ensemble: int = typer.Option(1, "--ensemble", help="Train N members from N seeds; the calculator reports their spread."),
    jobs: int = typer.Option(1, "--jobs", help="Ensemble members trained at the same time, one core each "
                                               "(same weights as one after another)."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Train a potential; checkpoints next to OUT every epoch and resumes from them."""
    data_path = data
    from ..errors import MatsightError
    from ..potentials import ACSF, PotentialTrainer, read_frames, save

    try:
        widths = tuple(int(h) for h in hidden.split(",") if h.strip())
    except ValueError:
        raise MatsightError(f"--hidden {hidden!r} must be comma-separated integers, e.g. 24,24") from None
    if not widths or min(widths) < 1:
        raise MatsightError(f"--hidden {hidden!r} must list positive layer widths")
    try:
        shells = tuple(float(r) for r in g5_shells.split(",") if r.strip())
    except ValueError:
        raise MatsightError(f"--g5-shells {g5_shells!r} must be comma-separated radii in Å, e.g. 2.7,3.15") from None
    if any(not 0 <= r < r_cut for r in shells):
        raise MatsightError(f"--g5-shells {g5_shells!r}: every radius must be in [0, --r-cut={r_cut}) Å")
    if max_minutes is not None and max_minutes <= 0:
        raise MatsightError(f"--max-minutes must be positive, got {max_minutes}")
    descriptor = None
    if power_spectrum:
        frames = read_frames(data, require_energy=True)
        species = sorted({s for fr in frames for s in fr.atoms.get_chemical_symbols()})
        descriptor = ACSF.default_for(species, r_cut=r_cut, n_g2=n_g2, n_g4=n_g4, g5_shells=shells, n_ps=power_spectrum,
                                      ps_r_min=ps_r_min, ps_l_max=ps_l_max)
        data = frames
    kinds = tuple(k.strip() for k in member_features.split(",") if k.strip()) or None
    trainer = PotentialTrainer(descriptor=descriptor, member_features=kinds, r_cut=r_cut, n_g2=n_g2, n_g4=n_g4, hidden=widths, epochs=epochs, random_state=seed,
                               force_weight=force_weight, learning_rate=learning_rate, batch_size=batch_size,
                               patience=patience, ensemble=ensemble, schedule=schedule, optimizer=optimizer,
                               weight_decay=weight_decay, energy_huber_meV_per_atom=energy_huber,
                               force_huber_eV_per_A=force_huber, n_jobs=jobs, n_threads=max(1, jobs),
                               n_components=components, stratify=stratify, g5_shells=shells, member_folds=member_folds,
                               keep=keep,
                               max_seconds=None if max_minutes is None else 60.0 * max_minutes)
    stem = out.with_suffix("") if out.suffix in (".json", ".safetensors") else out
    with progress_bar("training", total=epochs * ensemble, enabled=not json_) as advance:
        state = {"done": 0}

        def progress(done, total, msg):
            if total is not None and done > state["done"]:
                advance(done - state["done"])
                state["done"] = done

        trainer.fit(data, checkpoint=str(stem) + ".ckpt", progress=progress)
    summary = trainer.summary_.to_dict()
    summary["data"] = str(data_path)
    save(trainer.model_.double(), stem, training=summary)
    result = {"model": str(stem), **summary}
    if json_:
        print_json(result)
        return
    s = trainer.summary_
    console.print(f"[bold]wrote[/] {stem}.safetensors and {stem}.json")
    console.print(f"{s.n_frames_train} training and {s.n_frames_validation} validation structures, "
                  f"{s.n_features} features, {s.n_parameters} parameters, epochs {s.epochs_run}")
    console.print(f"validation: energy MAE {s.energy_mae_meV_per_atom_validation:.2f} meV/atom, "
                  f"force MAE {s.force_mae_meV_per_A_validation:.0f} meV/Å")


@potential_app.command("test")
def test_cmd(
    model: str = typer.Argument(..., help="Model file stem or shipped name (e.g. si-mlearn)."),
    data: str = typer.Argument(..., help="Labelled test structures (or bundled Si_test)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write energy and force parity plots to this PNG."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Energy (meV/atom) and force (meV/Å) errors, overall and by group."""
    from ..potentials import evaluate, load, read_frames
    from ..potentials._evaluate import parity_plot

    m = load(model)
    frames = read_frames(data)
    with progress_bar("evaluating", total=len(frames), enabled=not json_) as advance:
        result = evaluate(m, frames, progress=advance)
    if plot is not None:
        parity_plot(result, plot, title=f"{model} on {Path(data).name}")
    out = result.to_dict()
    if json_:
        print_json(out)
        return
    from rich.table import Table

    table = Table(title=f"{model} on {data}")
    for col in ("group", "frames", "E MAE (meV/atom)", "E RMSE (meV/atom)", "F MAE (meV/Å)", "F RMSE (meV/Å)"):
        table.add_column(col)
    rows = [("all", out)] + list(out["by_group"].items())
    for g, d in rows:
        table.add_row(g, str(d["n_frames"]), f"{d['energy_mae_meV_per_atom']:.2f}", f"{d['energy_rmse_meV_per_atom']:.2f}",
                      f"{d['force_mae_meV_per_A']:.0f}", f"{d['force_rmse_meV_per_A']:.0f}")
    console.print(table)
    if plot is not None:
        console.print(f"parity plot: {plot}")


@potential_app.command("md")
def md_cmd(
    model: str = typer.Argument(..., help="Model file stem or shipped name."),
    structure: str = typer.Argument(..., help="Starting structure (first frame of an ASE-readable file)."),
    temperature_K: float = typer.Option(300.0, "--temperature-K", help="Initial (NVE) or bath (Langevin) temperature, K."),
    steps: int = typer.Option(1000, "--steps", help="Number of MD steps."),
    timestep_fs: float = typer.Option(1.0, "--timestep-fs", help="Time step, fs."),
    ensemble: str = typer.Option("nve", "--ensemble", help="nve (velocity Verlet) or langevin."),
    repeat: str = typer.Option("1,1,1", "--repeat", help="Supercell repetitions, e.g. 2,2,2."),
    seed: int = typer.Option(0, "--seed", help="Seed of the initial velocities and Langevin noise."),
    trajectory: Optional[Path] = typer.Option(None, "--trajectory", help="Write every 10th frame as extxyz."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Energy and temperature vs time, PNG."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Molecular dynamics with ASE; prints the total-energy drift."""
    from ..errors import MatsightError
    from ..potentials import load
    from ..potentials._data import _read_ase
    from ..potentials._md import energy_plot, run_md

    try:
        reps = tuple(int(r) for r in repeat.split(","))
    except ValueError:
        reps = ()
    if len(reps) != 3 or min(reps) < 1:
        raise MatsightError(f"--repeat {repeat!r} must be three positive integers, e.g. 2,2,2")
    atoms = _read_ase(structure)[0]
    atoms.calc = None
    atoms = atoms.repeat(reps)
    m = load(model)
    with progress_bar("MD", total=steps, enabled=not json_) as advance:
        result = run_md(m, atoms, temperature_K=temperature_K, steps=steps, timestep_fs=timestep_fs,
                        ensemble=ensemble, random_state=seed, progress=advance, trajectory=trajectory)
    if plot is not None:
        energy_plot(result, plot)
    out = result.to_dict()
    if json_:
        print_json(out)
        return
    console.print(f"{result.ensemble.upper()} MD of {result.n_atoms} atoms, {steps} steps of {timestep_fs} fs "
                  f"({result.ms_per_step:.1f} ms/step)")
    console.print(f"mean temperature (second half): {result.mean_temperature_K:.0f} K")
    console.print(f"total-energy drift: {result.energy_drift_meV_per_atom:+.4f} meV/atom "
                  f"(fit {result.energy_drift_meV_per_atom_per_ps:+.4f} meV/atom/ps, "
                  f"fluctuation {result.energy_fluctuation_meV_per_atom:.4f} meV/atom)")


@potential_app.command("label")
def label_cmd(
    structures: str = typer.Argument(..., help="Structures to label (any ASE-readable file)."),
    method: str = typer.Option("GFN2-xTB", "--method", help="GFN2-xTB, GFN1-xTB (tblite) or EMT (ASE)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output extxyz with energies and forces."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Compute reference energies and forces and write them as extxyz."""
    from ..potentials._data import _read_ase
    from ..potentials._label import label_file

    images = _read_ase(structures)
    with progress_bar("labelling", total=len(images), enabled=not json_) as advance:
        labelled = label_file(images, out, method=method, progress=advance)
    energies = [a.get_potential_energy() for a in labelled]
    result = {"out": str(out), "method": labelled[0].info["label_method"], "n_structures": len(labelled),
              "energies_eV": energies}
    if json_:
        print_json(result)
        return
    console.print(f"labelled {len(labelled)} structures with {result['method']}: {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(potential_app, name="potential")
