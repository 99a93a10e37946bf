"""Tour section "potential": the shipped Si model on the mlearn test set, and NVE MD."""
from __future__ import annotations

import html
from pathlib import Path

__all__ = ["section"]

#: Zuo et al., J. Phys. Chem. A 124, 731 (2020): Si test MAE, energy meV/atom and force meV/Å.
PUBLISHED_SI = {"GAP": (2.91, 70.0), "MTP": (2.21, 60.0)}


def _training_line(info: dict) -> str:
    """``"3 networks, 1500 L-BFGS iterations each"`` from a model file's training summary."""
    cfg = info.get("config", {})
    n = int(cfg.get("ensemble", 1))
    iterations = max(info.get("epochs_run") or [0])
    unit = "L-BFGS iterations" if cfg.get("optimizer") == "lbfgs" else "epochs"
    return f"{n} networks, {iterations} {unit} each" if n > 1 else f"{iterations} {unit}"


def section(out_dir: Path, random_state: int = 0, md_steps: int = 600):
    """Test errors of ``si-mlearn`` on the bundled Si test set, and a short NVE run.

    Parameters
    ----------
    out_dir : pathlib.Path
        Report folder; ``potential_parity.png`` and ``potential_md.png`` are written there.
    random_state : int
        Seed of the initial MD velocities.
    md_steps : int
        NVE steps of 1 fs on 64 atoms of diamond Si, started at 600 K from the
        perfect lattice (equipartition brings it to about 300 K).

    Returns
    -------
    matsight.report.Section
    """
    from ase.build import bulk

    from ..report import Section
    from . import evaluate, load
    from ._data import bundled_data_path
    from ._evaluate import parity_plot
    from ._md import energy_plot, run_md

    out_dir = Path(out_dir)
    model = load("si-mlearn")
    test = evaluate(model, bundled_data_path("Si_test"))
    parity_plot(test, out_dir / "potential_parity.png", title="si-mlearn on mlearn Si_test (25 DFT structures)")
    si = bulk("Si", "diamond", a=5.468, cubic=True).repeat(2)
    md = run_md(model, si, temperature_K=600.0, steps=md_steps, timestep_fs=1.0, ensemble="nve", random_state=random_state)
    energy_plot(md, out_dir / "potential_md.png")

    info = model.metadata.get("training", {})
    rows = [("matsight BPNN (si-mlearn)", test.energy_mae_meV_per_atom, test.force_mae_meV_per_A)]
    rows += [(f"{k} (Zuo et al. 2020)", e, f) for k, (e, f) in PUBLISHED_SI.items()]
    table = ["<table><tr><th>model</th><th>energy MAE (meV/atom)</th><th>force MAE (meV/Å)</th></tr>"]
    table += [f"<tr><td>{html.escape(n)}</td><td>{e:.2f}</td><td>{f:.0f}</td></tr>" for n, e, f in rows]
    table.append("</table>")
    groups = ["<table><tr><th>group</th><th>structures</th><th>energy MAE (meV/atom)</th><th>force MAE (meV/Å)</th></tr>"]
    groups += [f"<tr><td>{html.escape(g)}</td><td>{d['n_frames']}</td><td>{d['energy_mae_meV_per_atom']:.2f}</td>"
               f"<td>{d['force_mae_meV_per_A']:.0f}</td></tr>" for g, d in test.by_group.items()]
    groups.append("</table>")
    text = [
        "<p>A Behler–Parrinello network potential (per-element MLP on atom-centred symmetry functions) "
        f"shipped as <code>si-mlearn</code>: {model.n_features} symmetry functions within "
        f"{model.descriptor.r_cut} Å"
        f"{f' (the networks take their {model.n_inputs} leading principal components)' if model.projected else ''}, "
        f"hidden layers {list(model.hidden)}, trained by "
        "<code>bench/train_si_mlearn.py</code> on the 214 DFT (PBE) structures of the mlearn Si training set "
        "(Y. Zuo et al., <i>J. Phys. Chem. A</i> 124, 731 (2020)), "
        f"{_training_line(info)}. Below: errors on the 25 held-out test structures, "
        "next to the published GAP and MTP figures on the same split.</p>",
        *table, *groups,
        f"<p>NVE molecular dynamics (velocity Verlet, 1 fs) of {md.n_atoms} atoms of diamond Si started at "
        f"600 K from the perfect lattice (mean temperature {md.mean_temperature_K:.0f} K over the second half), "
        f"{md.steps} steps: total-energy change {md.energy_drift_meV_per_atom:+.4f} meV/atom, "
        f"fluctuation {md.energy_fluctuation_meV_per_atom:.4f} meV/atom, {md.ms_per_step:.0f} ms per step.</p>",
    ]
    return Section(
        key="potential",
        title="Neural-network potential (Behler–Parrinello, Si)",
        summary={
            "Si test energy MAE": f"{test.energy_mae_meV_per_atom:.2f} meV/atom (GAP 2.91)",
            "Si test force MAE": f"{test.force_mae_meV_per_A:.0f} meV/Å (GAP 70)",
            "NVE energy drift": f"{md.energy_drift_meV_per_atom:+.4f} meV/atom over {md.steps * md.timestep_fs / 1000:.1f} ps",
        },
        figures=["potential_parity.png", "potential_md.png"],
        html="\n".join(text),
        data={"test": test.to_dict(), "md": md.to_dict(), "published_si": PUBLISHED_SI},
    )
