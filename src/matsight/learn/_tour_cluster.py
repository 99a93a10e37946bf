"""Tour section "clustering": superalloy families with DBSCAN (Euclidean at %, auto-eps)."""
from __future__ import annotations

import html
from pathlib import Path


def section(out_dir: Path, random_state: int = 0):
    """Cluster the 422 distinct superalloy compositions and compare with the recorded precipitate and processing.

    Writes ``clustering_mds.png`` (MDS map coloured by cluster, noise as grey
    crosses) and ``clustering_kdistance.png`` (sorted k-distance curve with the
    knee eps) into ``out_dir``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report._plots import save_figure
    from ..report import Section
    from ._alloys import superalloy_compositions
    from ._clustering import cluster_compositions, plot_kdistance, plot_mds_map

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = superalloy_compositions()
    result = cluster_compositions(table)  # Euclidean on at %, min_samples=5, eps at the k-distance knee

    figures = []
    for name, draw, size in (
        ("clustering_mds.png", lambda ax: plot_mds_map(result, ax, random_state=random_state), (8, 6)),
        ("clustering_kdistance.png", lambda ax: plot_kdistance(result, ax), (6, 4.2)),
    ):
        fig, ax = plt.subplots(figsize=size)
        try:
            draw(ax)
            fig.tight_layout()
            save_figure(fig, out_dir / name, dpi=110, fmt="png")
        finally:
            plt.close(fig)
        figures.append(name)

    v = result.validation
    prec = v["strengthening_precipitate_phase"]
    powd = v["powder_processed"]
    summary = {
        "compositions": f"{len(table)} distinct (from {table.n_source_rows} rows)",
        "clusters": str(result.n_clusters),
        "noise": str(result.n_noise),
        "eps (knee)": f"{result.eps:.2f} at %",
        "ARI vs precipitate": f"{prec['ari']:.3f}",
        "ARI vs powder processing": f"{powd['ari']:.3f}",
    }
    rows = []
    for c in result.clusters:
        comp = " ".join(f"{el}&nbsp;{x:.1f}" for el, x in list(c.mean_composition.items())[:6])
        names = list(dict.fromkeys(n.split("; ")[0] for n in c.members))
        ex = ", ".join(names[:4]) + (f" (+{len(names) - 4})" if len(names) > 4 else "")
        refs = ", ".join(f"{k} {n}" for k, n in c.reference_counts.get("strengthening_precipitate_phase", {}).items())
        rows.append(
            f"<tr><td>{c.label}</td><td>{len(c.members)}</td><td>{c.n_core}</td><td>{comp}</td>"
            f"<td>{html.escape(ex)}</td><td>{html.escape(refs)}</td></tr>"
        )
    noise = list(dict.fromkeys(n for n, lab in zip(result.names, result.labels) if lab < 0))
    frag = (
        f"<p>The {table.n_source_rows} rows of the Conduit et al. (2017) superalloy data reduce to {len(table)} "
        f"distinct compositions (Ni as balance, wt % converted to at %). DBSCAN on the Euclidean at % distance "
        f"matrix with min_samples = {result.min_samples} and eps = {result.eps:.2f} at % (knee of the sorted "
        f"{result.min_samples - 1}-distance curve) finds <b>{result.n_clusters}</b> families and "
        f"<b>{result.n_noise}</b> noise compositions. Adjusted Rand index against the recorded strengthening "
        f"precipitate: <b>{prec['ari']:.3f}</b> ({prec['n_labelled']} labelled; {prec['ari_clustered_only']:.3f} "
        f"without noise); against powder processing: <b>{powd['ari']:.3f}</b> (composition does not tell a "
        f"powder-processed disk alloy from its cast or wrought sibling).</p>"
        "<table><tr><th>cluster</th><th>size</th><th>core</th><th>mean composition (at %)</th><th>alloys</th>"
        "<th>recorded precipitate</th></tr>" + "".join(rows) + "</table>"
        f"<p>Noise: {html.escape(', '.join(noise))}.</p>"
    )
    return Section(
        key="clustering",
        title="Superalloy families (DBSCAN)",
        summary=summary,
        figures=figures,
        html=frag,
        data=result.to_dict(),
    )
