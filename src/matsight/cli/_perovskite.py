"""``matsight perovskite``: Goldschmidt t, octahedral factor and Bartel's tau of ABX3 formulas.

Exit codes: 0 when at least one formula was handled (each failed formula gets
an ``{"formula", "error"}`` object under ``--json`` and one stderr line);
2 when every formula failed, or on a usage mistake (bad override, missing
column, nothing to do).
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import MatsightError
from ._common import console, err_console, print_json, progress_bar


def _fmt(v, nd=3):
    return "-" if v is None or v != v else f"{v:.{nd}f}"


def _table(results: list[dict]) -> None:
    from rich.table import Table

    from rich import box

    table = Table(title="Perovskite tolerance factors (Shannon radii in Å)", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("formula", "A B X", "charges", "r_A", "r_B", "r_X", "t", "mu", "tau", "P(tau)", "t:pv", "tau:pv"):
        table.add_column(col, justify="left" if col in ("formula", "A B X", "charges") else "right", no_wrap=True)
    yes = lambda b: "[green]yes[/]" if b else "[red]no[/]"  # noqa: E731
    for r in results:
        if "error" in r:
            continue
        ox = r["oxidation_states"]
        table.add_row(
            r["formula"], f"{r['A']} {r['B']} {r['X']}", f"{ox['A']:+d} {ox['B']:+d} {ox['X']:+d}",
            _fmt(r["r_A"]), _fmt(r["r_B"]), _fmt(r["r_X"]), _fmt(r["t"]), _fmt(r["mu"]),
            _fmt(r["tau"], 2), _fmt(r["tau_probability"], 2), yes(r["t_says_perovskite"]), yes(r["tau_says_perovskite"]),
        )
    # Piped output has no terminal width; do not squeeze the numbers into 80 columns then.
    from rich.console import Console

    out = console if console.is_terminal else Console(width=max(console.width, 110))
    out.print(table)
    notes = [f"{r['formula']}: {n}" for r in results if "error" not in r for n in r["notes"]]
    if notes and len(results) <= 10:
        console.print("[bold]Notes:[/] " + "; ".join(notes), highlight=False)
    elif notes:
        console.print(f"{len(notes)} radius fall-backs or spin choices; see --json (key 'notes').")
    console.print("t:pv = perovskite by 0.825 < t < 1.059; tau:pv = perovskite by tau < 4.18; "
                  "P(tau) = calibrated probability (Bartel et al., Sci. Adv. 5, eaav0693, 2019).")


def _reproduction(json_: bool, plot: Optional[Path]) -> None:
    from ..composition._bartel import plot_reproduction, reproduce_bartel

    with progress_bar("Table S1", total=576, enabled=not json_) as advance:
        rep = reproduce_bartel(on_item=advance)
    if plot is not None:
        plot_reproduction(rep, plot)
    if json_:
        print_json(rep.to_dict())
        return
    a, p, s = rep.accuracy_matsight, rep.accuracy_paper_columns, rep.accuracy_paper_stated
    console.print(f"[bold]Bartel et al. Table S1[/], {rep.n_compounds} compounds, {rep.n_handled} handled from the formula alone")
    console.print(f"accuracy of t:   paper states {100 * s['t']:.0f} %, paper's columns {100 * p['t']:.1f} %, matsight {100 * a['t']:.1f} %")
    console.print(f"accuracy of tau: paper states {100 * s['tau']:.0f} %, paper's columns {100 * p['tau']:.1f} %, matsight {100 * a['tau']:.1f} %")
    console.print(f"{len(rep.differences)} compounds differ from the paper: "
                  + ", ".join(f"{k} {v}" for k, v in rep.n_differences_by_reason.items() if v))
    for d in rep.differences:
        console.print(f"  {d['formula']:>10}  {d['reason']}: {d['detail']}", highlight=False)
    if plot is not None:
        console.print(f"wrote {plot}")


def perovskite_cmd(
    formulas: Optional[List[str]] = typer.Argument(None, help="ABX3 formulas, e.g. SrTiO3 CsPbI3."),
    csv: Optional[str] = typer.Option(None, "--csv", help="Also read formulas from this CSV (or bundled dataset name)."),
    formula_column: str = typer.Option("formula", "--formula-column", help="Column of --csv holding the formulas."),
    oxidation: Optional[str] = typer.Option(
        None, "--oxidation", help="Override the oxidation states, e.g. A=+2,B=+4,X=-2 (applied to every formula)."
    ),
    reproduce_bartel: bool = typer.Option(
        False, "--reproduce-bartel", help="Recompute Bartel et al.'s Table S1 (576 compounds) and compare."
    ),
    plot: Optional[Path] = typer.Option(None, "--plot", help="With --reproduce-bartel: write the tau-vs-t scatter to this PNG."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Goldschmidt t, octahedral factor mu and Bartel's tau (with its probability) of ABX3 formulas.

    Sites: X is the 3-fold anion; A is the larger cation. Oxidation states are
    pymatgen's most probable guess unless --oxidation is given; radii are
    Shannon's (A at CN XII, B and X at CN VI, nearest CN as fall-back).
    """
    if reproduce_bartel:
        if formulas or csv:
            raise MatsightError("--reproduce-bartel takes no formulas and no --csv")
        _reproduction(json_, plot)
        return
    if plot is not None:
        raise MatsightError("--plot is only for --reproduce-bartel")
    items = list(formulas or [])
    if csv is not None:
        from ..io import read_table, require_columns

        df = read_table(csv)
        require_columns(df, [formula_column], repr(csv))
        items += df[formula_column].tolist()
    if not items:
        raise MatsightError("no formula given: pass formulas such as SrTiO3, or --csv FILE --formula-column C")
    from ..composition._perovskite import parse_oxidation_override, screen_perovskites

    if oxidation is not None:
        parse_oxidation_override(oxidation)  # fail fast, before any work
    with progress_bar("perovskite", total=len(items), enabled=not json_ and len(items) > 50) as advance:
        results = screen_perovskites(items, oxidation_states=oxidation, on_item=advance)
    errors = [r for r in results if "error" in r]
    if json_:
        print_json(results)
    else:
        if len(errors) < len(results):
            _table(results)
    for r in errors:
        err_console.print(f"[bold red]error:[/] {r['error']}", highlight=False, soft_wrap=True)
    if errors and len(errors) == len(results):
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("perovskite")(perovskite_cmd)
