"""``matsight cluster``: families of alloy compositions with DBSCAN."""
from __future__ import annotations

from typing import Optional

import typer

from ._common import console, print_json, progress_bar


def cluster_cmd(
    data: str = typer.Argument(
        ...,
        help="CSV with a name column and wt_El (weight %) or at_El (atomic %) columns, or a bundled dataset "
        "name (e.g. superalloys; its rows are merged to distinct compositions automatically).",
    ),
    distance: str = typer.Option("euclidean", "--distance", "-d", help="euclidean (at %), aitchison (CLR) or emd (Mendeleev-number scale)."),
    eps: Optional[float] = typer.Option(None, "--eps", help="DBSCAN neighbourhood radius, in the distance's units."),
    auto_eps: bool = typer.Option(False, "--auto-eps", help="Choose eps at the knee of the k-distance curve (the default when --eps is not given)."),
    min_samples: int = typer.Option(5, "--min-samples", "-m", help="DBSCAN min_samples, the point itself included."),
    delta: float = typer.Option(1e-5, "--delta", help="Zero replacement (atomic fraction) for the aitchison distance."),
    plot: Optional[str] = typer.Option(None, "--plot", help="Write the MDS map and the k-distance curve to this PNG file."),
    random_state: int = typer.Option(0, "--random-state", help="Seed of the MDS map."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Group compositions into families with DBSCAN on a composition distance matrix.

    Prints each cluster (members, mean composition in at %), the noise points,
    and, where the data records them, the adjusted Rand index against the
    strengthening precipitate and powder processing.
    """
    from ..errors import MatsightError
    from ..learn._alloys import read_compositions
    from ..learn._clustering import DISTANCES, cluster_compositions, plot_clustering

    if eps is not None and auto_eps:
        raise MatsightError("give either --eps or --auto-eps, not both")
    if distance not in DISTANCES:
        raise MatsightError(f"unknown --distance {distance!r}; choose one of {', '.join(DISTANCES)}")
    if plot is not None and not plot.lower().endswith(".png"):
        raise MatsightError(f"--plot {plot!r} must name a .png file")
    table = read_compositions(data, source=data)
    result = cluster_compositions(table, distance=distance, eps=eps, min_samples=min_samples, delta=delta)
    if plot is not None:
        with progress_bar("MDS map", total=1, enabled=not json_) as advance:
            plot_clustering(result, plot, random_state=random_state)
            advance()
    if json_:
        out = result.to_dict()
        if plot is not None:
            out["plot"] = plot
        print_json(out)
        return
    _render(result, table, plot)


def _render(result, table, plot) -> None:
    from rich.table import Table

    for note in table.notes:
        console.print(f"[dim]{note}[/]", highlight=False, soft_wrap=True)
    how = "knee of the k-distance curve" if result.auto_eps else "given"
    d = result.to_dict()
    console.print(
        f"[bold]{result.distance}[/] distance ({d['distance_unit']}), eps = {result.eps:.4g} ({how}), "
        f"min_samples = {result.min_samples}: [bold]{result.n_clusters}[/] clusters, "
        f"{d['n_core']} core, {d['n_border']} border, {result.n_noise} noise",
        highlight=False,
        soft_wrap=True,
    )
    t = Table(title="Clusters (mean composition in at %)")
    for col in ("label", "size", "core", "mean composition", "examples"):
        t.add_column(col)
    ref_cols = list(table.labels)
    for col in ref_cols:
        t.add_column(col.replace("_", " "))
    for c in result.clusters:
        comp = " ".join(f"{el}{v:.1f}" for el, v in list(c.mean_composition.items())[:6])
        names = list(dict.fromkeys(n.split("; ")[0] for n in c.members))
        examples = ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
        refs = [", ".join(f"{k} {v}" for k, v in c.reference_counts.get(col, {}).items()) for col in ref_cols]
        t.add_row(str(c.label), str(len(c.members)), str(c.n_core), comp, examples, *refs)
    console.print(t)
    noise = [n for n, lab in zip(result.names, result.labels) if lab < 0]
    if noise:
        shown = list(dict.fromkeys(noise))
        console.print(f"[bold]noise ({len(noise)}):[/] " + ", ".join(shown[:25]) + (" ..." if len(shown) > 25 else ""), highlight=False, soft_wrap=True)
    for col, v in result.validation.items():
        console.print(
            f"adjusted Rand index vs {col}: {v['ari']:.3f} ({v['n_labelled']} labelled compositions, noise as one group); "
            f"{v['ari_clustered_only']:.3f} without noise",
            highlight=False,
            soft_wrap=True,
        )
    if plot is not None:
        console.print(f"wrote {plot}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("cluster")(cluster_cmd)
