"""``matsight regress`` and ``matsight bandgap``: least squares with confidence intervals."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._common import console, print_json


def _fmt(x) -> str:
    import math

    return "nan" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _render(run, figures: list[str]) -> None:
    """A readable rich summary of a :class:`matsight.learn.RegressionRun`."""
    from rich.markup import escape
    from rich.table import Table

    d = run.to_dict()
    pct = f"{100 * d['confidence']:g} %"
    power = d["model"] == "power_law"
    console.print(escape(f"{'power law (least squares on log y)' if power else 'ordinary least squares'}: {run.equation()}"),
                  highlight=False, soft_wrap=True)
    table = Table()
    for col in ("parameter", "value", f"{pct} CI low", f"{pct} CI high"):
        table.add_column(col, justify="right" if col != "parameter" else "left")
    if power:
        rows = [("prefactor", d["prefactor"])] + [(f"exponent of {k}", v) for k, v in d["exponents"].items()]
    else:
        rows = [("intercept", d["intercept"])] + [(f"slope of {k}", v) for k, v in d["coefficients"].items()]
    for name, e in rows:
        table.add_row(escape(name), _fmt(e["value"]), _fmt(e["ci_low"]), _fmt(e["ci_high"]))
    console.print(table)
    r2 = f"R² (log space) = {d['r2']:.4f}" if power else f"R² = {d['r2']:.4f} (adjusted {d['adj_r2']:.4f})"
    console.print(
        escape(f"n = {d['n']}   {r2}   leave-one-out MAE = {_fmt(d['loo_mae'])} {d['target']} "
               f"(no-feature baseline {_fmt(d['loo_mae_baseline'])})"), highlight=False, soft_wrap=True,
    )
    if d["predictions"]:
        pt = Table(title=f"predictions with {pct} prediction intervals (new compounds)", title_justify="left")
        for col in ("formula", *run.descriptors, d["target"], "PI low", "PI high", "CI low", "CI high"):
            pt.add_column(escape(col), justify="left" if col == "formula" else "right")
        for p in d["predictions"]:
            pt.add_row(escape(p["formula"]), *[_fmt(p[k]) for k in run.descriptors],
                       *[_fmt(p[k]) for k in ("value", "pi_low", "pi_high", "ci_low", "ci_high")])
        console.print(pt)
    for note in d["notes"]:
        console.print(f"[dim]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    for f in figures:
        console.print(f"wrote {escape(f)}", highlight=False)


def _run_and_show(run, plot: Optional[Path], parity_plot: Optional[Path], json_: bool) -> None:
    figures: list[str] = []
    if plot is not None:
        if run.X.shape[1] == 1:
            run.plot_fit(plot)
        else:
            run.notes.append(f"{run.X.shape[1]} features: --plot wrote a parity plot (a fit line needs one feature)")
            run.plot_parity(plot)
        figures.append(str(plot))
    if parity_plot is not None:
        run.plot_parity(parity_plot)
        figures.append(str(parity_plot))
    if json_:
        d = run.to_dict()
        d["figures"] = figures
        print_json(d)
    else:
        _render(run, figures)


def regress_cmd(
    data: str = typer.Argument(..., metavar="DATA", help="A .csv/.parquet file or a bundled dataset name (e.g. band_gaps, perovskites)."),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="Response column (default band_gap_eV for band_gaps)."),
    feature: Optional[List[str]] = typer.Option(None, "--feature", "-f", help="Numeric feature column (repeatable)."),
    descriptor: Optional[List[str]] = typer.Option(None, "--descriptor", "-d", help="Composition descriptor computed from the formula column, e.g. en_difference (repeatable)."),
    formula_column: str = typer.Option("formula", "--formula-column", help="Column holding formulas (for --descriptor)."),
    power_law: bool = typer.Option(False, "--power-law", help="Fit y = a * prod(x_i ** b_i) by least squares in log space."),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of every interval."),
    raw: bool = typer.Option(False, "--raw", help="band_gaps only: fit the raw measurement rows instead of one gap per binary compound."),
    predict: Optional[List[str]] = typer.Option(None, "--predict", help="Predict this new formula with a prediction interval (descriptor models; repeatable)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="PNG: data, fit, confidence and prediction bands (one feature) or a parity plot."),
    parity_plot: Optional[Path] = typer.Option(None, "--parity-plot", help="PNG: leave-one-out predicted against observed."),
    json_: bool = typer.Option(False, "--json", help="Print n, r2, loo_mae, intercept, coefficients (or prefactor, exponents) as JSON."),
) -> None:
    """Least-squares fit of a target column with 95 % confidence intervals, R² and leave-one-out MAE.

    With DATA = band_gaps the compilation is first reduced to one gap per
    binary compound (median of the 250-350 K measurements, else of all) and
    the target defaults to band_gap_eV: `matsight regress band_gaps
    --descriptor en_difference` is the band gap against electronegativity
    difference fit. Rows with missing values are dropped and reported.
    """
    import warnings

    from ..learn import regress

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dropped rows are reported as notes
        run = regress(
            data, target=target, features=feature or (), descriptors=descriptor or (), formula_column=formula_column,
            power_law=power_law, confidence=confidence, aggregate_band_gaps=not raw, predict_formulas=predict or (),
        )
    _run_and_show(run, plot, parity_plot, json_)


def bandgap_cmd(
    power_law: bool = typer.Option(False, "--power-law", help="Fit Eg = a * dX ** b (compounds with dX > 0) instead of a line."),
    room_temperature: tuple[float, float] = typer.Option((250.0, 350.0), "--room-temperature-K", help="Temperature window (K) whose measurements are preferred."),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of every interval."),
    predict: Optional[List[str]] = typer.Option(None, "--predict", help="Predict the gap of this formula with a prediction interval (repeatable)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="PNG: gaps, fit, confidence and prediction bands."),
    parity_plot: Optional[Path] = typer.Option(None, "--parity-plot", help="PNG: leave-one-out predicted against observed gap."),
    json_: bool = typer.Option(False, "--json", help="Print the fit as JSON (same keys as regress --json)."),
) -> None:
    """Band gap of binary compounds against Pauling electronegativity difference (Strehlow & Cook 1973).

    Same as `matsight regress band_gaps --descriptor en_difference`, with the
    room-temperature window as an option.
    """
    from ..learn import regress

    run = regress(
        "band_gaps", descriptors=["en_difference"], power_law=power_law, confidence=confidence,
        room_temperature_K=tuple(room_temperature), predict_formulas=predict or (),
    )
    _run_and_show(run, plot, parity_plot, json_)


def register(app: typer.Typer) -> None:
    app.command("regress")(regress_cmd)
    app.command("bandgap")(bandgap_cmd)
