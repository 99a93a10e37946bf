"""Tour section "descriptors": Bartel et al.'s Table S1 recomputed from the formulas alone."""
from __future__ import annotations

import html
from pathlib import Path

__all__ = ["section"]


def _pct(x) -> str:
    return f"{100 * x:.1f} %"


def section(out_dir: Path, random_state: int = 0):
    """Reproduce the t and tau accuracies of Bartel et al. (2019) and list the differences.

    Parameters
    ----------
    out_dir : pathlib.Path
        Report folder; the figure ``descriptors_tau_vs_t.png`` is written there.
    random_state : int
        Unused (the workflow is deterministic); kept for the tour's signature.

    Returns
    -------
    matsight.report.Section
    """
    from ..report import Section
    from ._bartel import plot_reproduction, reproduce_bartel
    from ._perovskite import perovskite_factors

    out_dir = Path(out_dir)
    rep = reproduce_bartel()
    fig = "descriptors_tau_vs_t.png"
    plot_reproduction(rep, out_dir / fig)
    a, p, s = rep.accuracy_matsight, rep.accuracy_paper_columns, rep.accuracy_paper_stated
    h, te = rep.accuracy_matsight_handled, rep.accuracy_matsight_test
    examples = [perovskite_factors(f) for f in ("SrTiO3", "BaTiO3", "CsPbI3")]

    parts = [
        "<p>Goldschmidt's t and Bartel's tau recomputed for the 576 ABX3 solids of Table S1 of "
        "C. J. Bartel et al., <i>Sci. Adv.</i> 5, eaav0693 (2019), starting from the formula alone: "
        "X is the 3-fold anion, oxidation states are pymatgen's most probable guess, the larger cation "
        "goes on A, radii are Shannon's (A at CN XII, B and X at CN VI, nearest tabulated CN otherwise, "
        "high spin). t says perovskite if 0.825 &lt; t &lt; 1.059, tau if tau &lt; 4.18.</p>",
        "<table><tr><th>accuracy vs experiment</th><th>t</th><th>tau</th></tr>",
        f"<tr><td>stated in the paper</td><td>{_pct(s['t'])}</td><td>{_pct(s['tau'])}</td></tr>",
        f"<tr><td>paper's own t_pred / tau_pred columns</td><td>{_pct(p['t'])}</td><td>{_pct(p['tau'])}</td></tr>",
        f"<tr><td>matsight, all {rep.n_compounds} (unhandled count as wrong)</td><td>{_pct(a['t'])}</td><td>{_pct(a['tau'])}</td></tr>",
        f"<tr><td>matsight, the {h['n']} it handles</td><td>{_pct(h['t'])}</td><td>{_pct(h['tau'])}</td></tr>",
        f"<tr><td>matsight, paper's test split ({te['n']})</td><td>{_pct(te['t'])}</td><td>{_pct(te['tau'])}</td></tr>",
        "</table>",
        "<p>Examples: "
        + "; ".join(
            f"{html.escape(e.formula)}: t = {e.t:.3f}, tau = {e.tau:.2f}, P(perovskite) = {e.tau_probability:.2f}"
            for e in examples
        )
        + ".</p>",
        f"<p>{len(rep.differences)} of {rep.n_compounds} compounds differ from the paper in sites, oxidation states "
        "or radii (radii compared to the table's 2 decimals): "
        + ", ".join(f"{html.escape(k)}: {v}" for k, v in rep.n_differences_by_reason.items())
        + ". The tau verdict changes for "
        f"{sum(bool(d['tau_verdict_changed']) for d in rep.differences)} of them: matsight's tau is right on "
        f"{sum(bool(d['tau_correct']['matsight']) for d in rep.differences)} of the {len(rep.differences)}, "
        f"the paper's on {sum(d['tau_correct']['paper'] for d in rep.differences)}.</p>",
        "<table><tr><th>formula</th><th>experiment</th><th>reason</th><th>detail</th>"
        "<th>tau paper</th><th>tau matsight</th><th>tau verdict changed</th><th>tau right (paper / matsight)</th></tr>",
    ]
    def yn(v):
        return "-" if v is None else ("yes" if v else "no")

    for d in rep.differences:
        ours = d["matsight"]
        tau_ours = "-" if ours is None or ours["tau"] is None or ours["tau"] != ours["tau"] else f"{ours['tau']:.2f}"
        parts.append(
            f"<tr><td>{html.escape(d['formula'])}</td><td>{'perovskite' if d['exp_label'] == 1 else 'not'}</td>"
            f"<td>{html.escape(d['reason'])}</td><td>{html.escape(d['detail'])}</td>"
            f"<td>{d['paper']['tau']:.2f}</td><td>{tau_ours}</td><td>{yn(d['tau_verdict_changed'])}</td>"
            f"<td>{yn(d['tau_correct']['paper'])} / {yn(d['tau_correct']['matsight'])}</td></tr>"
        )
    parts.append("</table>")
    return Section(
        key="descriptors",
        title="Perovskite descriptors: Bartel's tau and Goldschmidt's t",
        summary={
            "t accuracy (paper / matsight)": f"{_pct(p['t'])} / {_pct(a['t'])}",
            "tau accuracy (paper / matsight)": f"{_pct(p['tau'])} / {_pct(a['tau'])}",
            "compounds differing from the paper": f"{len(rep.differences)} of {rep.n_compounds}",
        },
        figures=[fig],
        html="\n".join(parts),
        data={**rep.to_dict(), "examples": [e.to_dict() for e in examples]},
    )
