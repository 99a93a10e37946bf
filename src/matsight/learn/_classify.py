"""k-NN classification of materials from their composition, with honest cross-validation.

The workflow behind ``matsight classify``: a table with a formula column and
a label column becomes composition features (Magpie descriptors, standardised
inside each fold, or plain element fractions), and a k-nearest-neighbour
classifier is cross-validated by leave-one-out computed in one pass
(:mod:`matsight.learn._neighbors`).

Why group-LOO is the default when formulas repeat: composition features are
identical for all rows of one formula (e.g. polymorphs in different space
groups). Plain LOO then finds the held-out row's twin at distance 0 and
mostly copies its label, which measures memory rather than prediction.
Group-LOO by reduced formula leaves every row of the formula out together.

For the bundled ``topological`` dataset (Ma et al. 2023; labels trivial, TI,
TCI, semimetal) the label is mapped automatically to the binary task
``topological`` (TI, TCI or semimetal) versus ``trivial``, the task of the
paper, whose composition-only "topogivity" rule reaches about 80 % accuracy.

References
----------
A. Ma et al., Topogivity: A Machine-Learned Chemical Rule for Discovering
Topological Materials, Nano Lett. 23, 772 (2023), doi:10.1021/acs.nanolett.2c03307.
L. Ward et al., npj Comput. Mater. 2, 16028 (2016) (Magpie descriptors).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import MatsightError

__all__ = ["CV_CHOICES", "FEATURE_CHOICES", "MA_2023_ACCURACY", "ClassificationResult",
           "classify", "composition_features", "plot_accuracy_vs_k", "plot_confusion"]

CV_CHOICES = ("auto", "loo", "group-loo", "kfold")
FEATURE_CHOICES = ("magpie", "fractions")
STANDARDIZE_CHOICES = ("auto", "fold", "global", "none")
#: Accuracy of Ma et al.'s composition-only topogivity rule, as they report it (about 80 %).
MA_2023_ACCURACY = 0.80
MA_2023_CITATION = ("A. Ma et al., Topogivity: A Machine-Learned Chemical Rule for Discovering "
                    "Topological Materials, Nano Lett. 23, 772 (2023), doi:10.1021/acs.nanolett.2c03307")
TOPOLOGICAL_LABELS = frozenset({"trivial", "TI", "TCI", "semimetal"})


@dataclass
class ClassificationResult:
    """Cross-validated k-NN classification of a labelled formula table.

    Attributes
    ----------
    n : int
        Rows classified.
    n_groups : int
        Distinct reduced formulas.
    cv : str
        ``"loo"``, ``"group-loo"`` or ``"kfold"`` (the scheme actually used).
    neighbors : int
        k of the headline numbers.
    features : str
        ``"magpie"`` or ``"fractions"``; ``standardize`` says how they were scaled.
    classes : list of str
        Class names in the order of the confusion matrix (sorted).
    accuracy, balanced_accuracy : float
        Fraction correct, and the mean per-class recall.
    baseline_accuracy : float
        Accuracy of always predicting the most frequent class ``baseline_class``.
    confusion_matrix : ndarray of int, shape (n_classes, n_classes)
        Rows: true class; columns: predicted class.
    per_class : dict
        ``{class: {"precision", "recall", "support"}}`` (precision is NaN, i.e.
        null in JSON, for a class never predicted).
    accuracy_vs_k : dict
        ``{"k": [...], "accuracy": [...], "balanced_accuracy": [...]}``.
    comparison : dict
        ``{cv: {"accuracy", "balanced_accuracy", "accuracy_vs_k"}}`` for
        ``loo`` and ``group-loo`` side by side, when formulas repeat.
    y_true, y_pred : ndarray
        Class indices per row (not in ``to_dict``).
    """

    n: int
    n_groups: int
    cv: str
    neighbors: int
    features: str
    standardize: str
    target: str
    positive: list | None
    classes: list
    accuracy: float
    balanced_accuracy: float
    baseline_accuracy: float
    baseline_class: str
    confusion_matrix: np.ndarray
    per_class: dict
    accuracy_vs_k: dict
    comparison: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    seconds: float = 0.0
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None

    def to_dict(self) -> dict:
        return {
            "n": int(self.n), "n_groups": int(self.n_groups), "cv": self.cv,
            "neighbors": int(self.neighbors), "features": self.features, "standardize": self.standardize,
            "target": self.target, "positive": self.positive, "classes": [str(c) for c in self.classes],
            "accuracy": float(self.accuracy), "balanced_accuracy": float(self.balanced_accuracy),
            "baseline_accuracy": float(self.baseline_accuracy), "baseline_class": str(self.baseline_class),
            "confusion_matrix": np.asarray(self.confusion_matrix).tolist(), "per_class": self.per_class,
            "accuracy_vs_k": self.accuracy_vs_k, "comparison": self.comparison,
            "reference": self.reference, "notes": list(self.notes), "seconds": round(float(self.seconds), 3),
        }


# --------------------------------------------------------------------------- features
def _parse_rows(formulas, source: str):
    """Reduced formula and element fractions of every distinct formula; names the bad row."""
    from ..composition import parse_formula

    first_row: dict = {}
    for i, f in enumerate(formulas):
        first_row.setdefault(f, i)
    parsed = {}
    for f, i in first_row.items():
        try:
            comp = parse_formula(f)
        except MatsightError as exc:
            raise MatsightError(f"row {i} of {source}: {exc}") from None
        parsed[f] = comp
    return parsed


def composition_features(formulas, kind: str = "magpie"):
    """Composition feature matrix of ``formulas`` (identical rows for identical compositions).

    Parameters
    ----------
    formulas : sequence of str, shape (n,)
    kind : {"magpie", "fractions"}
        ``"magpie"``: the 132 Magpie descriptors of
        :class:`matsight.composition.CompositionFeaturizer` (Ward et al. 2016).
        ``"fractions"``: atomic fraction of every element present in any
        formula (columns ordered by atomic number; rows sum to 1).

    Returns
    -------
    X : ndarray of shape (n, n_features)
    names : list of str
    """
    from ..composition import element_fractions

    if kind not in FEATURE_CHOICES:
        raise MatsightError(f"unknown features {kind!r}; choose one of {', '.join(FEATURE_CHOICES)}")
    formulas = [str(f).strip() for f in formulas]
    uniq, inv = np.unique(np.asarray(formulas, dtype=object), return_inverse=True)
    if kind == "magpie":
        from ..composition import CompositionFeaturizer

        feat = CompositionFeaturizer().fit(list(uniq))
        Xu = feat.transform(list(uniq))
        names = [str(s) for s in feat.get_feature_names_out()]
    else:
        from pymatgen.core import Element

        fr = [element_fractions(f) for f in uniq]
        symbols = sorted({s for d in fr for s in d}, key=lambda s: Element(s).Z)
        col = {s: j for j, s in enumerate(symbols)}
        Xu = np.zeros((len(uniq), len(symbols)))
        for r, d in enumerate(fr):
            for s, v in d.items():
                Xu[r, col[s]] = v
        names = [f"fraction_{s}" for s in symbols]
    return np.asarray(Xu, dtype=np.float64)[inv.reshape(-1)], names


# --------------------------------------------------------------------------- labels
def _binary_labels(raw: np.ndarray, positive, target: str):
    values = [str(v) for v in raw]
    present = set(values)
    if isinstance(positive, str):
        positive = positive.split(",")
    if positive:
        pos = [str(p).strip() for p in positive if str(p).strip()]
        missing = [p for p in pos if p not in present]
        if missing:
            raise MatsightError(
                f"--positive value {', '.join(map(repr, missing))} does not occur in column {target!r} "
                f"(values: {', '.join(sorted(present)[:12])})"
            )
        topo = present <= TOPOLOGICAL_LABELS and present - set(pos) == {"trivial"}
        names = ("topological", "trivial") if topo else ("positive", "negative")
        return np.array([names[0] if v in pos else names[1] for v in values], dtype=object), pos
    return None, None


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int):
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    recall = np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)
    precision = np.where(predicted > 0, np.diag(cm) / np.maximum(predicted, 1), np.nan)
    acc = float(np.trace(cm) / cm.sum())
    bal = float(np.nanmean(recall[support > 0]))
    return cm, precision, recall, support, acc, bal


def _scores_vs_k(ind, y_codes, n_classes, ks):
    from ._neighbors import vote

    preds = vote(y_codes[ind], n_classes, ks)
    accs, bals = [], []
    for p in preds:
        _, _, _, _, a, b = _metrics(y_codes, p, n_classes)
        accs.append(a)
        bals.append(b)
    return preds, accs, bals


# --------------------------------------------------------------------------- workflow
def classify(data, target: str = "label", *, formula_column: str = "formula", neighbors: int = 5,
             cv: str = "auto", features: str = "magpie", standardize: str = "auto",
             positive=None, all_classes: bool = False, k_max: int = 15, n_folds: int = 5,
             compare: bool = True, random_state: int = 0, on_progress=None) -> ClassificationResult:
    """Cross-validate a k-NN classifier of ``target`` from the composition in ``formula_column``.

    Parameters
    ----------
    data : str, path-like or pandas.DataFrame
        A CSV/Parquet path, a bundled dataset name (e.g. ``"topological"``) or a table.
    target : str
        Label column.
    formula_column : str
        Column of chemical formulas.
    neighbors : int
        k of the headline numbers (uniform vote, Euclidean distance).
    cv : {"auto", "loo", "group-loo", "kfold"}
        ``"auto"``: ``group-loo`` when a reduced formula occurs more than once,
        else ``loo``. ``group-loo`` leaves out all rows of the held-out row's
        reduced formula; ``kfold``: shuffled ``n_folds``-fold (rows, not groups).
    features : {"magpie", "fractions"}
    standardize : {"auto", "fold", "global", "none"}
        ``"fold"`` standardises with the training fold's mean and variance
        (exactly a ``StandardScaler`` inside each fold); ``"global"`` fits it
        once on all rows (common practice; the held-out row then contributes
        1/n of the scaling statistics, a small, label-free leak); ``"auto"``
        is ``"fold"`` for Magpie and ``"none"`` for fractions.
    positive : sequence of str, optional
        Label values of the positive class; all other values become the
        negative class (binary task).
    all_classes : bool
        For the topological dataset, keep the four labels instead of the
        automatic topological-vs-trivial mapping.
    k_max : int
        Largest k of the accuracy-vs-k curve (at least ``neighbors``).
    n_folds : int
        Folds for ``cv="kfold"``.
    compare : bool
        When formulas repeat, also run the other LOO flavour for the side-by-side numbers.
    random_state : int
        Seed of the k-fold shuffle (LOO is deterministic).
    on_progress : callable, optional
        Called as ``on_progress(fraction)`` with the fraction of the neighbour
        searches just completed (they sum to 1; progress display).

    Returns
    -------
    ClassificationResult

    Raises
    ------
    MatsightError
        Missing column, bad formula (naming the row), a single class, k too
        large for the usable neighbours, unknown option.
    """
    from ..io import read_table, require_columns
    from ._neighbors import loo_kneighbors

    t0 = time.perf_counter()
    if cv not in CV_CHOICES:
        raise MatsightError(f"unknown --cv {cv!r}; choose one of {', '.join(CV_CHOICES)}")
    if features not in FEATURE_CHOICES:
        raise MatsightError(f"unknown --features {features!r}; choose one of {', '.join(FEATURE_CHOICES)}")
    if standardize not in STANDARDIZE_CHOICES:
        raise MatsightError(f"unknown --standardize {standardize!r}; choose one of {', '.join(STANDARDIZE_CHOICES)}")
    source = data if isinstance(data, str) else ("the table" if not hasattr(data, "__fspath__") else str(data))
    source = str(source)
    is_topological = False
    if isinstance(data, str):
        from .. import datasets

        is_topological = datasets.is_dataset(data) and datasets.resolve(data).name == "topological"
    df = read_table(data)
    require_columns(df, [formula_column, target], source)
    if len(df) < 3:
        raise MatsightError(f"{source} has {len(df)} rows; leave-one-out classification needs at least 3")
    raw = df[target].to_numpy()
    missing = np.flatnonzero(df[target].isna().to_numpy())
    if len(missing):
        raise MatsightError(f"row {missing[0]} of {source} has no value in the label column {target!r}")
    formulas = df[formula_column].to_numpy()
    nof = np.flatnonzero(df[formula_column].isna().to_numpy())
    if len(nof):
        raise MatsightError(f"row {nof[0]} of {source} has no formula in column {formula_column!r}")
    formulas = np.array([str(f).strip() for f in formulas], dtype=object)

    notes = []
    labels, pos = _binary_labels(raw, positive, target)
    if labels is None:
        auto_topo = (not all_classes and set(map(str, raw)) <= TOPOLOGICAL_LABELS and "trivial" in set(map(str, raw))
                     and len(set(map(str, raw))) > 2)
        if auto_topo:
            pos = sorted(set(map(str, raw)) - {"trivial"})
            labels = np.array(["trivial" if str(v) == "trivial" else "topological" for v in raw], dtype=object)
            notes.append(f"labels mapped to topological ({', '.join(pos)}) versus trivial; "
                         "pass all_classes (--all-classes) to keep them")
        else:
            labels = raw if np.issubdtype(np.asarray(raw).dtype, np.number) else np.array([str(v) for v in raw], dtype=object)
    classes, y = np.unique(labels, return_inverse=True)
    y = y.reshape(-1)
    if len(classes) < 2:
        raise MatsightError(f"the label column {target!r} of {source} has a single class {str(classes[0])!r}; "
                            "classification needs at least two")

    parsed = _parse_rows(list(formulas), source)
    import warnings

    with warnings.catch_warnings():       # pymatgen warns about elements without a Pauling value
        warnings.simplefilter("ignore")
        reduced = {f: c.reduced_formula for f, c in parsed.items()}
    groups_str = np.array([reduced[f] for f in formulas], dtype=object)
    _, groups = np.unique(groups_str, return_inverse=True)
    groups = groups.reshape(-1)
    n = len(y)
    n_groups = int(groups.max()) + 1
    repeats = n_groups < n
    if cv == "auto":
        cv = "group-loo" if repeats else "loo"

    X, _ = composition_features(list(formulas), features)
    if standardize == "auto":
        standardize = "fold" if features == "magpie" else "none"
    if standardize == "global":
        from sklearn.preprocessing import StandardScaler

        X = StandardScaler().fit_transform(X)

    neighbors = int(neighbors)
    largest = int(np.bincount(groups).max())
    if neighbors < 1:
        raise MatsightError(f"--neighbors must be at least 1, got {neighbors}")

    def usable_for(scheme):
        if scheme == "loo":
            return n - 1
        if scheme == "group-loo":
            return n - largest
        return n - int(np.ceil(n / n_folds))

    if cv == "kfold" and not 2 <= n_folds <= n:
        raise MatsightError(f"--folds must be between 2 and the number of rows ({n}), got {n_folds}")
    if neighbors > usable_for(cv):
        what = {"loo": "n - 1", "group-loo": f"n minus the largest formula group ({largest} rows)",
                "kfold": "the smallest training fold"}[cv]
        raise MatsightError(f"--neighbors {neighbors} is larger than the {usable_for(cv)} usable neighbours "
                            f"for --cv {cv} ({what}, n = {n})")

    other = "loo" if cv == "group-loo" else "group-loo"
    do_compare = compare and repeats and cv in ("loo", "group-loo") and neighbors <= usable_for(other)
    n_passes = 2 if do_compare else 1
    tick = None if on_progress is None else (lambda rows: on_progress(rows / (n * n_passes)))

    def run(scheme):
        kk = min(max(int(k_max), neighbors), usable_for(scheme))
        if scheme == "loo":
            g = None
        elif scheme == "group-loo":
            g = groups
        else:
            rng = np.random.default_rng(random_state)
            g = np.empty(n, dtype=np.intp)
            g[rng.permutation(n)] = np.arange(n) % n_folds
        _, ind = loo_kneighbors(X, kk, groups=g, standardize="fold" if standardize == "fold" else None,
                                on_chunk=tick)
        ks = list(range(1, kk + 1))
        preds, accs, bals = _scores_vs_k(ind, y, len(classes), ks)
        return preds[neighbors - 1], {"k": ks, "accuracy": accs, "balanced_accuracy": bals}

    y_pred, curve = run(cv)
    cm, precision, recall, support, acc, bal = _metrics(y, y_pred, len(classes))
    comparison = {}
    if do_compare:
        comparison[cv] = {"accuracy": acc, "balanced_accuracy": bal, "accuracy_vs_k": curve}
        p2, c2 = run(other)
        _, _, _, _, a2, b2 = _metrics(y, p2, len(classes))
        comparison[other] = {"accuracy": a2, "balanced_accuracy": b2, "accuracy_vs_k": c2}
    counts = np.bincount(y, minlength=len(classes))
    per_class = {str(c): {"precision": float(precision[j]), "recall": float(recall[j]), "support": int(support[j])}
                 for j, c in enumerate(classes)}
    reference = {}
    if is_topological or (pos is not None and set(map(str, raw)) <= TOPOLOGICAL_LABELS and len(classes) == 2):
        reference = {"ma_2023_accuracy": MA_2023_ACCURACY, "citation": MA_2023_CITATION,
                     "note": "Ma et al.'s composition-only topogivity rule; their split and "
                             "material selection differ, so the comparison is indicative."}
    if repeats and cv == "loo":
        notes.append(f"{n - n_groups} rows repeat a formula; plain LOO lets the held-out row see its "
                     "twin at distance 0 (use --cv group-loo for an honest estimate)")
    return ClassificationResult(
        n=n, n_groups=n_groups, cv=cv, neighbors=neighbors, features=features, standardize=standardize,
        target=target, positive=pos, classes=[str(c) for c in classes], accuracy=acc, balanced_accuracy=bal,
        baseline_accuracy=float(counts.max() / n), baseline_class=str(classes[int(counts.argmax())]),
        confusion_matrix=cm, per_class=per_class, accuracy_vs_k=curve, comparison=comparison,
        reference=reference, notes=notes, seconds=time.perf_counter() - t0, y_true=y, y_pred=y_pred,
    )


# --------------------------------------------------------------------------- figures
def plot_accuracy_vs_k(result: ClassificationResult, path) -> None:
    """Accuracy against k (every CV flavour computed), the baseline and Ma et al.'s ~80 %; PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..report._plots import save_figure

    curves = result.comparison or {result.cv: {"accuracy_vs_k": result.accuracy_vs_k}}
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    style = {"group-loo": ("C0", "o"), "loo": ("C1", "s"), "kfold": ("C2", "^")}
    for scheme, c in curves.items():
        color, marker = style.get(scheme, ("C3", "x"))
        curve = c["accuracy_vs_k"]
        ax.plot(curve["k"], curve["accuracy"], marker=marker, color=color, label=f"{scheme} accuracy")
    ax.axhline(result.baseline_accuracy, color="grey", ls="--",
               label=f"majority baseline ({result.baseline_class}) {result.baseline_accuracy:.3f}")
    if result.reference:
        ax.axhline(result.reference["ma_2023_accuracy"], color="k", ls=":", label="Ma et al. 2023 (~80 %)")
    ax.axvline(result.neighbors, color="0.8", lw=1)
    ax.set_xlabel("k (neighbours)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"k-NN on {result.features} features, n = {result.n}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110, fmt="png")
    plt.close(fig)


def plot_confusion(result: ClassificationResult, path) -> None:
    """Confusion matrix (rows true, columns predicted) as a PNG heat map."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..report._plots import save_figure

    cm = np.asarray(result.confusion_matrix)
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(cm), 1.2 + 1.0 * len(cm)))
    ax.imshow(cm, cmap="Blues")
    for i in range(len(cm)):
        for j in range(len(cm)):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xticks(range(len(cm)), result.classes, rotation=30)
    ax.set_yticks(range(len(cm)), result.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{result.cv}, k = {result.neighbors}")
    fig.tight_layout()
    save_figure(fig, path, dpi=110, fmt="png")
    plt.close(fig)
