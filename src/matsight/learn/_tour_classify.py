"""Tour section "classification": topological vs trivial from composition, by k-NN.

Runs :func:`matsight.learn._classify.classify` on the bundled ``topological``
dataset (Ma et al. 2023) with Magpie descriptors standardised inside every
fold, group leave-one-out by formula (the default) and plain leave-one-out
side by side, and k = 1..15 from one neighbour search per scheme.
"""
from __future__ import annotations

import html
from pathlib import Path


def section(out_dir: Path, random_state: int = 0):
    """Build the classification section of ``matsight tour``.

    Parameters
    ----------
    out_dir : pathlib.Path
        Report folder; the figures ``classification_accuracy_vs_k.png`` and
        ``classification_confusion.png`` are written there.
    random_state : int
        Unused by leave-one-out (deterministic); kept for the section signature.

    Returns
    -------
    matsight.report.Section
    """
    from ..report import Section
    from ._classify import classify, plot_accuracy_vs_k, plot_confusion

    out_dir = Path(out_dir)
    r = classify("topological", features="magpie", neighbors=5, cv="group-loo", random_state=random_state)
    figs = ["classification_accuracy_vs_k.png", "classification_confusion.png"]
    plot_accuracy_vs_k(r, out_dir / figs[0])
    plot_confusion(r, out_dir / figs[1])
    loo = r.comparison.get("loo", {})
    best_k = max(zip(r.accuracy_vs_k["accuracy"], r.accuracy_vs_k["k"]))
    summary = {
        "task": "topological (TI, TCI, semimetal) vs trivial, from composition",
        "rows / distinct formulas": f"{r.n} / {r.n_groups}",
        f"accuracy, group-LOO, k={r.neighbors}": f"{r.accuracy:.3f}",
        f"balanced accuracy, group-LOO, k={r.neighbors}": f"{r.balanced_accuracy:.3f}",
        f"accuracy, plain LOO (leaky), k={r.neighbors}": f"{loo.get('accuracy', float('nan')):.3f}",
        "best group-LOO accuracy over k=1..15": f"{best_k[0]:.3f} (k={best_k[1]})",
        "majority baseline": f"{r.baseline_accuracy:.3f} ({r.baseline_class})",
        "Ma et al. 2023, composition-only rule": "~0.80",
    }
    rows = "".join(
        f"<tr><td>{html.escape(c)}</td>" + "".join(f"<td>{v}</td>" for v in r.confusion_matrix[i])
        + f"<td>{r.per_class[c]['precision']:.3f}</td><td>{r.per_class[c]['recall']:.3f}</td></tr>"
        for i, c in enumerate(r.classes)
    )
    head = "".join(f"<th>{html.escape(c)}</th>" for c in r.classes)
    frag = (
        f"<p>k-nearest-neighbour classification (k = {r.neighbors}, uniform vote) of the {r.n} "
        f"materials of Ma et al. (2023), {r.n_groups} distinct formulas, labelled by symmetry indicators. "
        "Features: the 132 Magpie composition descriptors, standardised inside each training fold. "
        "The same formula occurs in several space groups, sometimes with different labels, so plain "
        "leave-one-out lets a material see its own formula at distance 0; group leave-one-out "
        "by formula (the default) removes it.</p>"
        f"<p><b>group-LOO accuracy {r.accuracy:.3f}</b> (balanced {r.balanced_accuracy:.3f}); "
        f"plain LOO {loo.get('accuracy', float('nan')):.3f}; majority baseline {r.baseline_accuracy:.3f}; "
        "Ma et al. report about 0.80 for their composition-only topogivity rule (a different split "
        "and material selection, so the comparison is indicative).</p>"
        f"<table><tr><th>true \\ predicted</th>{head}<th>precision</th><th>recall</th></tr>{rows}</table>"
        "<p>Leave-one-out reuses one neighbour search for all samples and all k "
        "(predictions identical to scikit-learn's n refits wherever its answer is not decided by a "
        "distance tie); see <code>bench/bench_knn_loo.py</code>.</p>"
    )
    return Section(key="classification", title="Classification: topological materials (k-NN)",
                   summary=summary, figures=figs, html=frag, data=r.to_dict())
