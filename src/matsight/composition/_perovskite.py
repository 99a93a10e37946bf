"""Perovskite descriptors of an ABX3 formula: Goldschmidt t, octahedral factor, Bartel's tau.

From the formula alone, :func:`perovskite_factors`

1. splits ABX3 into its sites. The formula must reduce to three elements in
   the ratio 1:1:3; X is the element with stoichiometry 3 and must be an anion
   (N, O, S, Se, Te, F, Cl, Br or I);
2. assigns oxidation states: the first of pymatgen's guesses
   (``Composition.oxi_state_guesses``, most probable first, over common
   oxidation states and, if none balances, over all known ones) in which X is
   negative, both cations positive and all three ions have a Shannon radius.
   An explicit override such as ``"A=+2,B=+4,X=-2"`` replaces the guess;
3. decides A versus B: the A-site cation is the *larger* one, i.e. the one
   with the larger six-fold Shannon radius; ties go to the larger twelve-fold
   radius, then to the lower oxidation state (this is the rule Bartel et al.
   applied in their code, reduced to its effect);
4. looks up Shannon ionic radii, A at CN XII, B at CN VI and X at CN VI, with
   the fall-backs of :mod:`matsight.composition._shannon` (nearest tabulated
   CN, high spin);
5. evaluates

   * Goldschmidt's tolerance factor ``t = (r_A + r_X) / (sqrt(2) (r_B + r_X))``
     (perovskite if 0.825 < t < 1.059, the optimal window of Bartel et al.),
   * the octahedral factor ``mu = r_B / r_X``,
   * Bartel's ``tau = r_X/r_B - n_A (n_A - (r_A/r_B) / ln(r_A/r_B))``
     (perovskite if tau < 4.18),
   * tau's calibrated probability of being a perovskite (see
     :func:`tau_probability`).

References
----------
V. M. Goldschmidt, Naturwissenschaften 14, 477 (1926).
C. J. Bartel et al., Sci. Adv. 5, eaav0693 (2019), doi:10.1126/sciadv.aav0693.
R. D. Shannon, Acta Cryst. A32, 751 (1976).
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from ..errors import MatsightError
from ._parse import parse_formula

__all__ = [
    "PerovskiteFactors",
    "perovskite_factors",
    "screen_perovskites",
    "parse_oxidation_override",
    "split_abx3",
    "goldschmidt_t",
    "octahedral_factor",
    "bartel_tau",
    "tau_probability",
    "T_WINDOW",
    "TAU_THRESHOLD",
    "ANIONS",
]

#: Goldschmidt window used by Bartel et al.: perovskite if T_WINDOW[0] < t < T_WINDOW[1].
T_WINDOW: tuple[float, float] = (0.825, 1.059)
#: Bartel's tau: perovskite if tau < TAU_THRESHOLD.
TAU_THRESHOLD: float = 4.18
#: Elements accepted on the X site.
ANIONS: tuple[str, ...] = ("N", "O", "S", "Se", "Te", "F", "Cl", "Br", "I")

#: Platt sigmoids ``(a, b)`` whose mean is P(perovskite | tau) = mean_k 1/(1+exp(a_k tau + b_k)).
#: Bartel et al. calibrated tau with scikit-learn's ``CalibratedClassifierCV(cv=3)``
#: (three Platt-scaled folds, averaged). The coefficients are not published; they were
#: recovered here by least squares on the 576 ``tau_prob`` values of their Table S1
#: (given to 2 decimals): max |error| 0.0064, RMS 0.0030 over the table.
#: The three thresholds (P = 0.5 per sigmoid) fall at tau = 4.17, 4.33 and 4.36.
_PLATT: tuple[tuple[float, float], ...] = (
    (3.150975, -13.135801),
    (1.604521, -6.943082),
    (1.058285, -4.617029),
)

_SITES = ("A", "B", "X")


def goldschmidt_t(r_A, r_B, r_X):
    """Goldschmidt's tolerance factor ``(r_A + r_X) / (sqrt(2) (r_B + r_X))``.

    Parameters
    ----------
    r_A, r_B, r_X : float or array_like
        Ionic radii in Å (A at CN XII, B and X at CN VI).

    Returns
    -------
    float or ndarray
        Dimensionless t; 1 for an ideal cubic perovskite.

    References
    ----------
    V. M. Goldschmidt, Naturwissenschaften 14, 477 (1926).
    """
    import numpy as np

    out = (np.asarray(r_A, float) + np.asarray(r_X, float)) / (math.sqrt(2.0) * (np.asarray(r_B, float) + np.asarray(r_X, float)))
    return float(out) if out.ndim == 0 else out


def octahedral_factor(r_B, r_X):
    """Octahedral factor ``mu = r_B / r_X`` (radii in Å; dimensionless)."""
    import numpy as np

    out = np.asarray(r_B, float) / np.asarray(r_X, float)
    return float(out) if out.ndim == 0 else out


def bartel_tau(r_A, r_B, r_X, n_A):
    """Bartel's tolerance factor ``tau = r_X/r_B - n_A (n_A - (r_A/r_B) / ln(r_A/r_B))``.

    Parameters
    ----------
    r_A, r_B, r_X : float or array_like
        Shannon ionic radii in Å (A at CN XII, B and X at CN VI).
    n_A : int or array_like
        Oxidation state of the A cation.

    Returns
    -------
    float or ndarray
        tau (dimensionless); NaN where ``r_A == r_B`` (the logarithm vanishes).
        Perovskite if ``tau < 4.18``.

    References
    ----------
    C. J. Bartel et al., Sci. Adv. 5, eaav0693 (2019), eq. 1.
    """
    import numpy as np

    r_A, r_B, r_X, n_A = (np.asarray(v, float) for v in (r_A, r_B, r_X, n_A))
    ratio = r_A / r_B
    with np.errstate(divide="ignore", invalid="ignore"):
        out = r_X / r_B - n_A * (n_A - ratio / np.log(ratio))
    out = np.where(np.isclose(ratio, 1.0, rtol=0, atol=1e-12) | ~np.isfinite(out), np.nan, out)
    return float(out) if out.ndim == 0 else out


def tau_probability(tau):
    """Calibrated probability that a compound with this tau is a perovskite.

    The mean of three Platt sigmoids ``1 / (1 + exp(a_k tau + b_k))``,
    reproducing the ``CalibratedClassifierCV(cv=3)`` calibration of Bartel et al.;
    the coefficients were fitted to the ``tau_prob`` column of their Table S1
    (max deviation 0.0064, i.e. rounding level).

    Parameters
    ----------
    tau : float or array_like
        Bartel's tau.

    Returns
    -------
    float or ndarray
        Probability in [0, 1]; NaN where tau is NaN.
    """
    import numpy as np

    tau = np.asarray(tau, float)
    with np.errstate(over="ignore"):
        p = sum(1.0 / (1.0 + np.exp(a * tau + b)) for a, b in _PLATT) / len(_PLATT)
    return float(p) if p.ndim == 0 else p


@dataclass
class PerovskiteFactors:
    """Descriptors of one ABX3 formula.

    Attributes
    ----------
    formula : str
        The formula as given.
    A, B, X : str
        Element symbols on each site.
    oxidation_states : dict
        ``{"A": n_A, "B": n_B, "X": n_X}`` (integers).
    r_A, r_B, r_X : float
        Shannon ionic radii in Å (A at CN XII, B and X at CN VI, or the fall-back).
    t, mu, tau, tau_probability : float
        Goldschmidt t, octahedral factor, Bartel's tau and P(perovskite | tau).
    t_says_perovskite, tau_says_perovskite : bool
        Verdicts of 0.825 < t < 1.059 and tau < 4.18.
    coordination : dict
        CN label actually used per site, e.g. ``{"A": "XII", "B": "VI", "X": "VI"}``.
    spin : dict
        Spin state used per site (``""`` when Shannon lists no spin).
    oxidation_source : str
        ``"pymatgen guess"``, ``"pymatgen guess (all oxidation states)"`` or ``"override"``.
    notes : list of str
        Fall-backs and choices made along the way.
    """

    formula: str
    A: str
    B: str
    X: str
    oxidation_states: dict
    r_A: float
    r_B: float
    r_X: float
    t: float
    mu: float
    tau: float
    tau_probability: float
    t_says_perovskite: bool
    tau_says_perovskite: bool
    coordination: dict = field(default_factory=dict)
    spin: dict = field(default_factory=dict)
    oxidation_source: str = "pymatgen guess"
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain-JSON dict; radii in Å."""
        return asdict(self)


def split_abx3(formula) -> tuple[list[str], str]:
    """Split an ABX3 formula into its two cations (formula order) and the anion X.

    Parameters
    ----------
    formula : str
        E.g. ``"SrTiO3"`` or ``"Sr2Ti2O6"`` (reduced first).

    Returns
    -------
    cations : list of str
        The two cation symbols in formula order (A/B not decided yet).
    X : str
        The anion symbol.

    Raises
    ------
    MatsightError
        If the formula does not parse, is not three elements in the ratio
        1:1:3, or its 3-fold element is not an anion.
    """
    comp = parse_formula(formula).reduced_composition
    amounts = {el.symbol: float(amt) for el, amt in comp.items()}
    if len(amounts) != 3 or sorted(round(a, 6) for a in amounts.values()) != [1.0, 1.0, 3.0]:
        ratio = ":".join(f"{a:g}" for a in amounts.values())
        raise MatsightError(
            f"formula {str(formula)!r} is not ABX3: it needs three elements in the ratio 1:1:3, "
            f"got {'-'.join(amounts)} in the ratio {ratio}"
        )
    X = next(s for s, a in amounts.items() if abs(a - 3.0) < 1e-6)
    if X not in ANIONS:
        raise MatsightError(
            f"formula {str(formula)!r} is not ABX3: its 3-fold element {X} is not an anion "
            f"({', '.join(ANIONS)})"
        )
    return [s for s in amounts if s != X], X


def parse_oxidation_override(text) -> dict[str, int]:
    """Parse an oxidation-state override such as ``"A=+2,B=+4,X=-2"``.

    Parameters
    ----------
    text : str or dict
        Comma-separated ``SITE=CHARGE`` pairs for all three sites A, B and X,
        or an already-parsed dict.

    Returns
    -------
    dict
        ``{"A": int, "B": int, "X": int}``.

    Raises
    ------
    MatsightError
        On bad syntax, a missing or repeated site, a non-integer charge, a
        non-positive cation or non-negative anion charge, or charges that do
        not balance (``n_A + n_B + 3 n_X != 0``).
    """
    if isinstance(text, dict):
        pairs = [(str(k), str(v)) for k, v in text.items()]
        shown = ",".join(f"{k}={v}" for k, v in pairs)
    else:
        shown = str(text)
        pairs = []
        for item in shown.split(","):
            if "=" not in item:
                raise MatsightError(
                    f"oxidation-state override {shown!r} is not of the form A=+2,B=+4,X=-2 (bad item {item.strip()!r})"
                )
            k, v = item.split("=", 1)
            pairs.append((k.strip(), v.strip()))
    states: dict[str, int] = {}
    for k, v in pairs:
        site = k.upper()
        if site not in _SITES:
            raise MatsightError(f"oxidation-state override {shown!r} names site {k!r}; sites are A, B and X")
        if site in states:
            raise MatsightError(f"oxidation-state override {shown!r} gives site {site} twice")
        if not re.fullmatch(r"[+-]?\d+", v):
            raise MatsightError(f"oxidation-state override {shown!r} gives {site} the non-integer charge {v!r}")
        states[site] = int(v)
    missing = [s for s in _SITES if s not in states]
    if missing:
        raise MatsightError(f"oxidation-state override {shown!r} lacks site {', '.join(missing)} (give A, B and X)")
    if states["A"] <= 0 or states["B"] <= 0 or states["X"] >= 0:
        raise MatsightError(f"oxidation-state override {shown!r} needs positive A and B and a negative X")
    if states["A"] + states["B"] + 3 * states["X"] != 0:
        raise MatsightError(
            f"oxidation-state override {shown!r} is not charge-balanced ({states['A']} + {states['B']} + 3*({states['X']}) != 0)"
        )
    return states


def _guesses(cations: list[str], X: str, formula: str):
    """Yield ``(states_by_element, source)`` from pymatgen's guesses, most probable first."""
    import warnings

    comp = parse_formula(formula).reduced_composition
    for all_states in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            guesses = comp.oxi_state_guesses(all_oxi_states=all_states)
        for g in guesses:
            if any(abs(v - round(v)) > 1e-8 for v in g.values()):
                continue
            g = {k: int(round(v)) for k, v in g.items()}
            if g[X] < 0 and all(g[c] > 0 for c in cations):
                yield g, "pymatgen guess" if not all_states else "pymatgen guess (all oxidation states)"


def _site_candidates(cations, X, states_by_el=None, site_states=None):
    """The two ways of putting the cations on A and B: ``[(A, nA, B, nB), ...]``."""
    c1, c2 = cations
    if states_by_el is not None:
        return [(c1, states_by_el[c1], c2, states_by_el[c2]), (c2, states_by_el[c2], c1, states_by_el[c1])]
    nA, nB = site_states["A"], site_states["B"]
    return [(c1, nA, c2, nB), (c2, nA, c1, nB)]


def _size_key(A, nA, B, nB):
    """Larger is better: A should be the bigger ion (VI radius, then XII radius, then lower charge)."""
    from ._shannon import shannon_radius

    return (
        round(shannon_radius(A, nA, "VI").radius_A - shannon_radius(B, nB, "VI").radius_A, 9),
        round(shannon_radius(A, nA, "XII").radius_A - shannon_radius(B, nB, "XII").radius_A, 9),
        nB - nA,
    )


class _NoRadius(MatsightError):
    """Shannon's table lacks one of the ions (``.ions``: labels such as ``"Sn2+"``)."""

    def __init__(self, formula, ions):
        self.ions = ions
        super().__init__(f"formula {formula!r}: Shannon's table has no radius for {', '.join(ions)}")


def _ion_label(el, n) -> str:
    return f"{el}{abs(int(n))}{'+' if n > 0 else '-'}"


def _build(formula, candidates, X, nX, source) -> PerovskiteFactors:
    from ._shannon import shannon_entries, shannon_radius

    usable = [c for c in candidates if shannon_entries(c[0], c[1]) and shannon_entries(c[2], c[3])]
    missing = [] if shannon_entries(X, nX) else [_ion_label(X, nX)]
    if not usable:
        A, nA, B, nB = candidates[0]
        missing = [_ion_label(el, n) for el, n in ((A, nA), (B, nB)) if not shannon_entries(el, n)] + missing
    if missing:
        raise _NoRadius(formula, missing)
    A, nA, B, nB = max(usable, key=lambda c: _size_key(*c))
    rA = shannon_radius(A, nA, "XII")
    rB = shannon_radius(B, nB, "VI")
    rX = shannon_radius(X, nX, "VI")
    t = goldschmidt_t(rA.radius_A, rB.radius_A, rX.radius_A)
    tau = bartel_tau(rA.radius_A, rB.radius_A, rX.radius_A, nA)
    notes = [n for n in (rA.note(f"A={A}{nA}+"), rB.note(f"B={B}{nB}+"), rX.note(f"X={X}{abs(nX)}-")) if n]
    if math.isnan(tau):
        notes.append("tau undefined: r_A == r_B")
    return PerovskiteFactors(
        formula=str(formula), A=A, B=B, X=X,
        oxidation_states={"A": nA, "B": nB, "X": nX},
        r_A=rA.radius_A, r_B=rB.radius_A, r_X=rX.radius_A,
        t=t, mu=octahedral_factor(rB.radius_A, rX.radius_A), tau=tau,
        tau_probability=tau_probability(tau),
        t_says_perovskite=bool(T_WINDOW[0] < t < T_WINDOW[1]),
        tau_says_perovskite=bool(tau < TAU_THRESHOLD),
        coordination={"A": rA.cn, "B": rB.cn, "X": rX.cn},
        spin={"A": rA.spin, "B": rB.spin, "X": rX.spin},
        oxidation_source=source, notes=notes,
    )


def perovskite_factors(formula, oxidation_states=None) -> PerovskiteFactors:
    """Tolerance factors of an ABX3 formula, from the formula alone.

    Parameters
    ----------
    formula : str
        An ABX3 formula, e.g. ``"SrTiO3"``, ``"CsPbI3"``.
    oxidation_states : str or dict, optional
        Override of the oxidation states, ``"A=+2,B=+4,X=-2"`` or
        ``{"A": 2, "B": 4, "X": -2}``. The cations are still placed on A and B
        by size (the larger ion, at these charges, goes on A).

    Returns
    -------
    PerovskiteFactors
        Sites, oxidation states, radii (Å), t, mu, tau, P(perovskite | tau)
        and the two verdicts.

    Raises
    ------
    MatsightError
        If the formula is not ABX3, contains an unknown element, does not
        parse, if the override is malformed, or if no oxidation-state guess
        gives three ions with Shannon radii.

    References
    ----------
    C. J. Bartel et al., Sci. Adv. 5, eaav0693 (2019).

    Examples
    --------
    >>> f = perovskite_factors("SrTiO3")
    >>> f.A, f.B, round(f.t, 3), round(f.tau, 2)
    ('Sr', 'Ti', 1.002, 3.8)
    """
    cations, X = split_abx3(formula)
    text = str(formula).strip()
    if oxidation_states is not None:
        states = parse_oxidation_override(oxidation_states)
        return _build(text, _site_candidates(cations, X, site_states=states), X, states["X"], "override")
    missing: list[str] = []
    n_tried = 0
    for g, source in _guesses(cations, X, text):
        n_tried += 1
        try:
            return _build(text, _site_candidates(cations, X, states_by_el=g), X, g[X], source)
        except _NoRadius as exc:
            missing += [m for m in exc.ions if m not in missing]
    if n_tried == 0:
        raise MatsightError(
            f"formula {text!r}: pymatgen finds no charge-balanced oxidation states with positive "
            f"{' and '.join(cations)} and negative {X}; give them with an override such as A=+2,B=+4,X=-2"
        )
    raise MatsightError(
        f"formula {text!r}: Shannon's table has no radius for {', '.join(missing)}, which every one of "
        f"pymatgen's {n_tried} oxidation-state guesses needs"
    )


def screen_perovskites(
    formulas: Iterable, oxidation_states=None, on_item: Callable[[], None] | None = None
) -> list[dict]:
    """:func:`perovskite_factors` for many formulas, keeping the failures.

    Parameters
    ----------
    formulas : iterable of str
        ABX3 formulas.
    oxidation_states : str or dict, optional
        One override applied to every formula.
    on_item : callable, optional
        Called after each formula (progress display).

    Returns
    -------
    list of dict
        In input order: :meth:`PerovskiteFactors.to_dict` for each formula that
        could be handled, ``{"formula": ..., "error": "..."}`` for each that could not.

    Raises
    ------
    MatsightError
        Only for a malformed override (checked once, before any formula).
    """
    if oxidation_states is not None:
        oxidation_states = parse_oxidation_override(oxidation_states)
    out = []
    for f in formulas:
        try:
            out.append(perovskite_factors(f, oxidation_states).to_dict())
        except MatsightError as exc:
            missing = f is None or (isinstance(f, float) and math.isnan(f))
            out.append({"formula": "" if missing else str(f), "error": str(exc)})
        if on_item is not None:
            on_item()
    return out
