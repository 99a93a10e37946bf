"""Reproduction of Bartel et al.'s Table S1 from the formulas alone.

:func:`reproduce_bartel` runs :func:`~matsight.composition._perovskite.perovskite_factors`
on each of the 576 ``ABX3`` formulas of the bundled ``perovskites`` dataset,
scores t and tau against the experimental labels, and lists every compound
where matsight's sites, oxidation states or radii differ from the paper's,
with the reason.

Reference
---------
C. J. Bartel et al., Sci. Adv. 5, eaav0693 (2019), Table S1; the paper reports
74 % accuracy for t and 92 % for tau on these 576 compounds.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..errors import MatsightError

__all__ = ["BartelReproduction", "reproduce_bartel", "plot_reproduction", "PAPER_ACCURACY", "DIFFERENCE_REASONS"]

#: Accuracies stated in the paper (fractions) for the 576 compounds.
PAPER_ACCURACY = {"t": 0.74, "tau": 0.92}

#: Radii in Table S1 are given to 2 decimals; a difference up to this is rounding.
_RADIUS_TOL_A = 0.0051

#: Reason categories, in report order.
DIFFERENCE_REASONS = (
    "Shannon table lacks the ion",
    "not handled",
    "oxidation states differ",
    "A and B swapped",
    "coordination fall-back differs",
    "spin state differs",
    "radius not in pymatgen's Shannon table",
)


@dataclass
class BartelReproduction:
    """Accuracy of t and tau on Table S1, the paper's and matsight's, and the differences.

    Attributes
    ----------
    n_compounds : int
        Rows of the table (576).
    n_handled : int
        Formulas matsight could turn into descriptors.
    accuracy_paper_stated : dict
        ``{"t": 0.74, "tau": 0.92}`` as printed in the paper.
    accuracy_paper_columns : dict
        Accuracy of the table's own ``t_pred`` / ``tau_pred`` columns against ``exp_label``.
    accuracy_matsight : dict
        Accuracy of matsight's verdicts over all compounds (an unhandled one counts as wrong).
    accuracy_matsight_handled : dict
        matsight's accuracy over the compounds it handled only.
    accuracy_matsight_test : dict
        The same as ``accuracy_matsight`` on the paper's test split (``is_train == -1``).
    n_differences_by_reason : dict
        Count of differing compounds per reason.
    differences : list of dict
        One entry per differing compound: formula, reason, detail, the paper's and
        matsight's (A, B, nA, nB, rA, rB, rX, t, tau), whether the t and tau verdicts
        changed (None when matsight could not handle the formula) and whether each
        tau verdict agrees with experiment (``tau_correct``).
    rows : list of dict
        Per compound: formula, exp_label, t and tau (paper and matsight) for plotting.
    """

    n_compounds: int
    n_handled: int
    accuracy_paper_stated: dict
    accuracy_paper_columns: dict
    accuracy_matsight: dict
    accuracy_matsight_handled: dict
    accuracy_matsight_test: dict
    n_differences_by_reason: dict
    differences: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    def to_dict(self, include_rows: bool = False) -> dict:
        """Plain-JSON dict (per-compound ``rows`` only on request)."""
        out = {
            "n_compounds": self.n_compounds,
            "n_handled": self.n_handled,
            "accuracy_paper_stated": self.accuracy_paper_stated,
            "accuracy_paper_columns": self.accuracy_paper_columns,
            "accuracy_matsight": self.accuracy_matsight,
            "accuracy_matsight_handled": self.accuracy_matsight_handled,
            "accuracy_matsight_test": self.accuracy_matsight_test,
            "n_differences": len(self.differences),
            "n_differences_by_reason": self.n_differences_by_reason,
            "n_verdicts_changed": {
                "t": sum(bool(d["t_verdict_changed"]) for d in self.differences),
                "tau": sum(bool(d["tau_verdict_changed"]) for d in self.differences),
            },
            "differences": self.differences,
        }
        if include_rows:
            out["rows"] = self.rows
        return out


def _ion(el, n):
    return f"{el}{abs(int(n))}{'+' if n > 0 else '-'}"


def _explain_radius(site, el, n, paper_r, ours):
    """Why a radius differs although the ion is the same: which Shannon entry gives the paper's value."""
    from ._shannon import shannon_entries

    matches = [
        (cn, spin)
        for cn, spins in shannon_entries(el, n).items()
        for spin, r in spins.items()
        if abs(r - paper_r) <= _RADIUS_TOL_A
    ]
    ion = _ion(el, n)
    if not matches:
        return (
            "radius not in pymatgen's Shannon table",
            f"{site}={ion}: paper {paper_r:.2f} Å matches no Shannon entry of {ion}; matsight {ours['r']:.3f} Å (CN {ours['cn']})",
        )
    same_cn = [m for m in matches if m[0] == ours["cn"]]
    if same_cn:
        spin = same_cn[0][1] or "no spin label"
        return (
            "spin state differs",
            f"{site}={ion}: paper {paper_r:.2f} Å = {spin} at CN {ours['cn']}; matsight used {ours['spin'] or 'no spin label'} ({ours['r']:.3f} Å)",
        )
    cn, spin = matches[0]
    return (
        "coordination fall-back differs",
        f"{site}={ion}: paper {paper_r:.2f} Å = CN {cn}{' ' + spin if spin else ''}; matsight used CN {ours['cn']} ({ours['r']:.3f} Å)",
    )


def _compare(row, res) -> dict | None:
    """The difference entry for one compound, or None when matsight agrees with the paper."""
    from ._perovskite import TAU_THRESHOLD, T_WINDOW

    paper = {
        "A": row["A"], "B": row["B"], "nA": int(row["nA"]), "nB": int(row["nB"]),
        "rA": float(row["rA (Ang)"]), "rB": float(row["rB (Ang)"]), "rX": float(row["rX (Ang)"]),
        "t": float(row["t"]), "tau": float(row["tau"]),
    }
    base = {"formula": row["ABX3"], "exp_label": int(row["exp_label"]), "paper": paper}
    if isinstance(res, MatsightError):
        msg = str(res)
        m = re.search(r"Shannon's table has no radius for (.+?), which", msg)
        if m:
            reason = "Shannon table lacks the ion"
            detail = (f"pymatgen's Shannon table has no {m.group(1)}; the paper used A={_ion(paper['A'], paper['nA'])} "
                      f"{paper['rA']:.2f} Å, B={_ion(paper['B'], paper['nB'])} {paper['rB']:.2f} Å")
        else:
            reason, detail = "not handled", msg
        return {**base, "reason": reason, "detail": detail, "matsight": None,
                "t_verdict_changed": None, "tau_verdict_changed": None,
                "tau_correct": {"paper": bool((1 if paper["tau"] < TAU_THRESHOLD else -1) == base["exp_label"]), "matsight": None}}
    ours = {
        "A": res.A, "B": res.B, "nA": res.oxidation_states["A"], "nB": res.oxidation_states["B"],
        "rA": res.r_A, "rB": res.r_B, "rX": res.r_X, "t": res.t, "tau": res.tau,
    }
    t_paper = T_WINDOW[0] < paper["t"] < T_WINDOW[1]
    entry = {
        **base, "matsight": ours,
        "t_verdict_changed": bool(t_paper != res.t_says_perovskite),
        "tau_verdict_changed": bool((paper["tau"] < TAU_THRESHOLD) != res.tau_says_perovskite),
        "tau_correct": {
            "paper": bool((1 if paper["tau"] < TAU_THRESHOLD else -1) == base["exp_label"]),
            "matsight": bool((1 if res.tau_says_perovskite else -1) == base["exp_label"]),
        },
    }
    paper_ions = {paper["A"]: paper["nA"], paper["B"]: paper["nB"]}
    our_ions = {res.A: ours["nA"], res.B: ours["nB"]}
    swapped = (res.A, res.B) == (paper["B"], paper["A"])
    if paper_ions != our_ions:
        return {**entry, "reason": "oxidation states differ",
                "detail": f"paper A={_ion(paper['A'], paper['nA'])}, B={_ion(paper['B'], paper['nB'])}; "
                          f"pymatgen guessed A={_ion(res.A, ours['nA'])}, B={_ion(res.B, ours['nB'])}"
                          + (" (so the larger ion, now on A, is the other cation)" if swapped else "")}
    if swapped:
        return {**entry, "reason": "A and B swapped",
                "detail": f"same ions; paper A={_ion(paper['A'], paper['nA'])}, B={_ion(paper['B'], paper['nB'])}; "
                          f"matsight puts the larger ion {_ion(res.A, ours['nA'])} on A"}
    reasons = []
    for site, key, el, n in (("A", "rA", res.A, ours["nA"]), ("B", "rB", res.B, ours["nB"]), ("X", "rX", res.X, res.oxidation_states["X"])):
        if abs(ours[key] - paper[key]) > _RADIUS_TOL_A:
            info = {"r": ours[key], "cn": res.coordination[site], "spin": res.spin[site]}
            reasons.append(_explain_radius(site, el, n, paper[key], info))
    if not reasons:
        return None
    return {**entry, "reason": reasons[0][0], "detail": "; ".join(d for _, d in reasons)}


def reproduce_bartel(table="perovskites", on_item=None) -> BartelReproduction:
    """Recompute Table S1 of Bartel et al. from the formulas and compare.

    Parameters
    ----------
    table : str, path-like or DataFrame
        The table (default: the bundled ``perovskites`` dataset); needs the
        columns of Table S1.
    on_item : callable, optional
        Called after each compound (progress display).

    Returns
    -------
    BartelReproduction

    References
    ----------
    C. J. Bartel et al., Sci. Adv. 5, eaav0693 (2019), Table S1.
    """
    import numpy as np

    from ..io import read_table, require_columns
    from ._perovskite import perovskite_factors

    df = read_table(table)
    cols = ["ABX3", "exp_label", "is_train", "A", "B", "nA", "nB", "rA (Ang)", "rB (Ang)", "rX (Ang)", "t", "tau", "t_pred", "tau_pred"]
    require_columns(df, cols, "the Bartel table")
    y = df["exp_label"].to_numpy(int)
    test = df["is_train"].to_numpy(int) == -1
    t_ok, tau_ok, diffs, rows = [], [], [], []
    for _, row in df.iterrows():
        try:
            res = perovskite_factors(row["ABX3"])
        except MatsightError as exc:
            res = exc
        d = _compare(row, res)
        if d is not None:
            diffs.append(d)
        label = int(row["exp_label"])
        if isinstance(res, MatsightError):
            t_ok.append(False)
            tau_ok.append(False)
            rows.append({"formula": row["ABX3"], "exp_label": label, "t": None, "tau": None,
                         "t_paper": float(row["t"]), "tau_paper": float(row["tau"])})
        else:
            t_ok.append((1 if res.t_says_perovskite else -1) == label)
            tau_ok.append((1 if res.tau_says_perovskite else -1) == label)
            rows.append({"formula": row["ABX3"], "exp_label": label, "t": res.t, "tau": res.tau,
                         "t_paper": float(row["t"]), "tau_paper": float(row["tau"])})
        if on_item is not None:
            on_item()
    t_ok, tau_ok = np.array(t_ok), np.array(tau_ok)
    handled = np.array([r["t"] is not None for r in rows])
    counts = Counter(d["reason"] for d in diffs)
    order = {r: i for i, r in enumerate(DIFFERENCE_REASONS)}
    diffs.sort(key=lambda d: (order.get(d["reason"], 99), d["formula"]))
    return BartelReproduction(
        n_compounds=len(df),
        n_handled=int(handled.sum()),
        accuracy_paper_stated=dict(PAPER_ACCURACY),
        accuracy_paper_columns={
            "t": float(np.mean(df["t_pred"].to_numpy(int) == y)),
            "tau": float(np.mean(df["tau_pred"].to_numpy(int) == y)),
        },
        accuracy_matsight={"t": float(t_ok.mean()), "tau": float(tau_ok.mean())},
        accuracy_matsight_handled={"t": float(t_ok[handled].mean()), "tau": float(tau_ok[handled].mean()), "n": int(handled.sum())},
        accuracy_matsight_test={"t": float(t_ok[test].mean()), "tau": float(tau_ok[test].mean()), "n": int(test.sum())},
        n_differences_by_reason={r: counts.get(r, 0) for r in DIFFERENCE_REASONS},
        differences=diffs,
        rows=rows,
    )


def plot_reproduction(rep: BartelReproduction, path) -> None:
    """Scatter tau against t, coloured by the experimental label, with both rules' thresholds.

    Parameters
    ----------
    rep : BartelReproduction
        The result of :func:`reproduce_bartel`.
    path : path-like
        PNG file to write (atomically).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..report._plots import save_figure
    from ._perovskite import TAU_THRESHOLD, T_WINDOW

    rows = [r for r in rep.rows if r["t"] is not None and r["tau"] is not None and np.isfinite(r["tau"]) and r["tau"] > 0]
    t = np.array([r["t"] for r in rows])
    tau = np.array([r["tau"] for r in rows])
    y = np.array([r["exp_label"] for r in rows])
    fig, ax = plt.subplots(figsize=(7.5, 5.2), dpi=110)
    for label, colour, name in ((1, "tab:blue", "perovskite (experiment)"), (-1, "tab:red", "non-perovskite (experiment)")):
        m = y == label
        ax.scatter(t[m], tau[m], s=12, alpha=0.6, color=colour, label=f"{name}, n={m.sum()}", edgecolor="none")
    ax.axhline(TAU_THRESHOLD, color="k", lw=1.2, ls="--", label=f"tau = {TAU_THRESHOLD}")
    for v in T_WINDOW:
        ax.axvline(v, color="gray", lw=1.2, ls=":")
    ax.axvspan(*T_WINDOW, color="gray", alpha=0.08, label=f"{T_WINDOW[0]} < t < {T_WINDOW[1]}")
    ax.set_yscale("log")
    ax.set_xlabel("Goldschmidt t")
    ax.set_ylabel("Bartel tau (log scale)")
    acc = rep.accuracy_matsight
    ax.set_title(f"Bartel Table S1 from formulas: accuracy t {100 * acc['t']:.1f} %, tau {100 * acc['tau']:.1f} %", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    save_figure(fig, path, dpi=None, fmt="png")
    plt.close(fig)
