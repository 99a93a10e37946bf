"""Tour section "regression": band gap against electronegativity difference.

Strehlow & Cook (1973) band gaps, reduced to one gap per binary compound, fitted
against the Pauling electronegativity difference: a straight line with 95 %
intervals, its leave-one-out error, prediction intervals for two compounds
absent from the compilation, and the power law ``Eg = a * dX ** b``; then a
power law with a known answer: Goldschmidt's tolerance factor against the
Shannon radii of Bartel et al. (2019).
"""
from __future__ import annotations

import html
from pathlib import Path

__all__ = ["section"]

#: Binary compounds that are not in the compilation, predicted in the tour.
NEW_COMPOUNDS = ("MgS", "SrF2")
#: Shannon radii columns of the perovskites dataset (Bartel et al. 2019, Table S1).
RADII = ("rA (Ang)", "rB (Ang)", "rX (Ang)")


def _ci(e: dict, fmt: str = ".3g") -> str:
    return f"{e['value']:{fmt}} [{e['ci_low']:{fmt}}, {e['ci_high']:{fmt}}]"


def section(out_dir: Path, random_state: int = 0):
    """Run the regression workflow on bundled data; write figures into ``out_dir``.

    ``random_state`` is accepted for the tour's uniform signature; least
    squares is deterministic.
    """
    import warnings

    from ..report import Section
    from ._regress_table import regress

    out_dir = Path(out_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lin = regress("band_gaps", descriptors=["en_difference"], predict_formulas=NEW_COMPOUNDS)
        pl = regress("band_gaps", descriptors=["en_difference"], power_law=True, predict_formulas=NEW_COMPOUNDS)
        gold = regress("perovskites", target="t", features=list(RADII), power_law=True)
    figs = {
        "regression_bandgap_fit.png": lambda p: lin.plot_fit(
            p, title="Binary band gaps vs Pauling EN difference\n(Strehlow & Cook 1973)",
            xlabel="Pauling electronegativity difference ΔX", ylabel="band gap (eV)"),
        "regression_bandgap_parity.png": lambda p: lin.plot_parity(p, title="Linear fit: leave-one-out prediction"),
        "regression_powerlaw_fit.png": lambda p: pl.plot_fit(
            p, title="Power law Eg = a * ΔX^b (log-log, compounds with ΔX > 0)",
            xlabel="Pauling electronegativity difference ΔX", ylabel="band gap (eV)"),
    }
    for name, draw in figs.items():
        draw(out_dir / name)

    d, p, g = lin.to_dict(), pl.to_dict(), gold.to_dict()
    from .. import datasets

    per = datasets.load("perovskites")
    rA, rB, rX = (per[c] for c in RADII)
    elastic = [float(v) for v in (
        (rA / (rA + rX)).mean(), -(rB / (rB + rX)).mean(), (rX / (rA + rX) - rX / (rB + rX)).mean())]
    gold_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_ci(g['exponents'][k])}</td><td>{e:.3f}</td></tr>" for k, e in zip(RADII, elastic)
    )
    c = d["preparation"]["counts"]
    slope = d["coefficients"]["en_difference"]
    expo = p["exponents"]["en_difference"]
    summary = {
        "binary compounds (measurements)": f"{c['n_compounds']} ({c['n_measurements_used']} of {c['n_measurements_total']})",
        "slope, eV per unit EN difference (95 % CI)": _ci(slope),
        "intercept, eV (95 % CI)": _ci(d["intercept"]),
        "R²": f"{d['r2']:.3f}",
        "LOO MAE, eV (no-feature baseline)": f"{d['loo_mae']:.3f} ({d['loo_mae_baseline']:.3f})",
        "power-law exponent b (95 % CI)": _ci(expo),
    }
    pred_rows = "".join(
        f"<tr><td>{html.escape(q['formula'])}</td><td>{q['en_difference']:.2f}</td><td>{q['value']:.2f}</td>"
        f"<td>[{q['ci_low']:.2f}, {q['ci_high']:.2f}]</td><td>[{q['pi_low']:.2f}, {q['pi_high']:.2f}]</td></tr>"
        for q in d["predictions"]
    )
    body = f"""
<p>Data: {html.escape(lin.notes[0])}. Rule: {html.escape(d['preparation']['rule'])}. The median is used
because the measurements of one compound mix methods (absorption, reflection, thermal activation),
direct/indirect/excitonic thresholds and sample qualities; it ignores the few far-off values where a mean
would follow them.</p>
<p>Ordinary least squares, <code>{html.escape(lin.equation())}</code>: slope {_ci(slope)} eV per unit of
Pauling electronegativity difference, intercept {_ci(d['intercept'])} eV (95 % t intervals),
R² = {d['r2']:.3f}, leave-one-out MAE = {d['loo_mae']:.3f} eV against {d['loo_mae_baseline']:.3f} eV for
predicting the mean. Ionicity explains about {100 * d['r2']:.0f} % of the variance: light-element
fluorides, chlorides and oxides (BeO, LiF, SiO2, MgF2) lie far above the line, narrow-gap oxides of
transition metals and rare earths (Tb4O7, PrO, Ti2O3, V2O3, VO2) far below it.</p>
<table><tr><th>new compound</th><th>EN difference</th><th>predicted gap (eV)</th>
<th>95 % confidence interval</th><th>95 % prediction interval</th></tr>{pred_rows}</table>
<p>The prediction interval (a single new compound) is about ±{(d['predictions'][0]['pi_high'] - d['predictions'][0]['pi_low']) / 2:.1f} eV
wide: the electronegativity difference alone cannot pin down a gap. It is a Gaussian, constant-variance
interval and can dip below 0 eV.</p>
<p>Power law <code>{html.escape(pl.equation())}</code> fitted in log space on the {p['n']} compounds with
ΔX &gt; 0: exponent b = {_ci(expo)}, prefactor a = {_ci(p['prefactor'])} eV, R² (of log Eg) = {p['r2']:.3f},
leave-one-out MAE = {p['loo_mae']:.3f} eV (baseline {p['loo_mae_baseline']:.3f} eV). The exponent is
clearly below 1, but that is no square-root law: in log space a factor of ten between 0.02 and 0.2 eV
counts as much as one between 1 and 10 eV, so the many narrow-gap compounds shape the fit, and in eV the
power law does not beat the straight line.</p>
<p>A power law with a known answer, on the {g['n']} perovskites of Bartel et al. (2019): Goldschmidt's
t = (rA + rX) / (√2 (rB + rX)) is not a power law, but its log-linear approximation
<code>{html.escape(gold.equation())}</code> (R² of log t = {g['r2']:.3f}) should have exponents near the
mean elasticities d ln t / d ln r of the exact formula:</p>
<table><tr><th>radius</th><th>fitted exponent (95 % CI)</th><th>mean elasticity of t</th></tr>{gold_rows}</table>
"""
    return Section(
        key="regression",
        title="Band-gap regression",
        summary=summary,
        figures=list(figs),
        html=body,
        data={"linear": d, "power_law": p, "goldschmidt_power_law": {**g, "mean_elasticities": dict(zip(RADII, elastic))}},
    )
