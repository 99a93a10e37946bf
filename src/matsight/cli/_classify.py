"""``matsight classify``: k-NN classification from composition, with one-pass (group) leave-one-out."""
from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, print_json, progress_bar


def classify_cmd(
    data: str = typer.Argument(..., help="CSV/Parquet file or bundled dataset name (e.g. topological)."),
    target: str = typer.Option("label", "--target", "-t", help="Label column."),
    formula_column: str = typer.Option("formula", "--formula-column", "-f", help="Formula column."),
    neighbors: int = typer.Option(5, "--neighbors", "-k", help="k of the headline numbers."),
    cv: str = typer.Option("auto", "--cv", help="auto | loo | group-loo | kfold (auto: group-loo when formulas repeat)."),
    features: str = typer.Option("magpie", "--features", help="magpie | fractions."),
    standardize: str = typer.Option("auto", "--standardize", help="auto | fold | global | none (auto: fold for magpie)."),
    positive: str = typer.Option(None, "--positive", help="Comma-separated label values of the positive class (binary task)."),
    all_classes: bool = typer.Option(False, "--all-classes", help="Topological dataset: keep trivial/TI/TCI/semimetal."),
    k_max: int = typer.Option(15, "--k-max", help="Largest k of the accuracy-vs-k curve."),
    folds: int = typer.Option(5, "--folds", help="Folds for --cv kfold."),
    seed: int = typer.Option(0, "--seed", help="Random seed (k-fold shuffle)."),
    plot: Path = typer.Option(None, "--plot", help="Write the accuracy-vs-k figure to this PNG file."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Cross-validate a k-nearest-neighbour classifier of TARGET from the formulas' composition.

    For the bundled 'topological' dataset the labels become topological (TI, TCI,
    semimetal) versus trivial, and group leave-one-out by formula is the default.
    """
    from ..errors import MatsightError
    from ..learn._classify import classify, plot_accuracy_vs_k

    if plot is not None and plot.suffix.lower() != ".png":
        raise MatsightError(f"--plot {str(plot)!r} must be a .png file")
    with progress_bar("k-NN leave-one-out", total=1.0, enabled=not json_) as advance:
        result = classify(data, target, formula_column=formula_column, neighbors=neighbors, cv=cv,
                          features=features, standardize=standardize, positive=positive,
                          all_classes=all_classes, k_max=k_max, n_folds=folds, random_state=seed,
                          on_progress=advance)
    if plot is not None:
        plot_accuracy_vs_k(result, plot)
    if json_:
        print_json(result.to_dict())
        return
    _render(result, plot)


def _render(r, plot) -> None:
    from rich.table import Table

    console.print(f"[bold]k-NN classification[/] of {r.target!r}: n = {r.n} rows, {r.n_groups} distinct formulas, "
                  f"{r.features} features (standardize: {r.standardize}), k = {r.neighbors}, cv = [bold]{r.cv}[/]")
    for note in r.notes:
        console.print(f"[dim]note: {note}[/]")
    t = Table(title="scores")
    t.add_column("quantity")
    t.add_column("value", justify="right")
    t.add_row("accuracy", f"{r.accuracy:.4f}")
    t.add_row("balanced accuracy", f"{r.balanced_accuracy:.4f}")
    t.add_row(f"majority baseline ({r.baseline_class})", f"{r.baseline_accuracy:.4f}")
    for scheme, c in r.comparison.items():
        if scheme != r.cv:
            t.add_row(f"accuracy with {scheme} (comparison)", f"{c['accuracy']:.4f}")
    if r.reference:
        t.add_row("Ma et al. 2023, composition-only rule", f"~{r.reference['ma_2023_accuracy']:.2f}")
    console.print(t)
    cm = Table(title="confusion matrix (rows: true, columns: predicted)")
    cm.add_column("")
    for c in r.classes:
        cm.add_column(c, justify="right")
    cm.add_column("precision", justify="right")
    cm.add_column("recall", justify="right")
    for i, c in enumerate(r.classes):
        pc = r.per_class[c]
        prec = "n/a" if pc["precision"] != pc["precision"] else f"{pc['precision']:.3f}"
        cm.add_row(c, *[str(v) for v in r.confusion_matrix[i]], prec, f"{pc['recall']:.3f}")
    console.print(cm)
    curve = r.accuracy_vs_k
    console.print("accuracy vs k: " + "  ".join(f"{k}:{a:.3f}" for k, a in zip(curve["k"], curve["accuracy"])))
    if plot is not None:
        console.print(f"wrote {plot}")


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_cmd)
