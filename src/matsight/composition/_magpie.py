"""Vectorised Magpie composition descriptors (numpy only at import time).

The computation runs in two steps:

1. every formula is parsed once (:func:`matsight.composition.parse_formula`,
   memoised per distinct string) into a row of a sparse CSR matrix of element
   amounts, shape ``(n_formulas, 119)`` indexed by atomic number;
2. the six Magpie statistics of the 22 preset properties are computed for all
   rows at once with whole-array numpy operations: rows are ordered by their
   number of elements so that the k-th element of every formula is one
   contiguous block, and the statistics are accumulated over k.

The definitions are those of matminer's ``PropertyStats`` (Ward et al. 2016),
including its corner cases:

* ``mean`` and ``avg_dev`` are weighted by the element amounts,
  ``sum(a v) / sum(a)`` and ``sum(a |v - mean|) / sum(a)``;
* ``mode`` is the *smallest* value among the elements whose amount is within
  ``np.isclose`` (``rtol=1e-5``, ``atol=1e-8``, applied to the raw amounts) of
  the largest amount;
* a NaN property value makes ``minimum``, ``maximum``, ``range`` and ``mean``
  NaN (and ``mode`` when the NaN element is among the most abundant). With
  ``impute_nan=True`` (matminer's default) missing table entries are first
  replaced by the mean over the 118 elements, so no NaN occurs.

References
----------
L. Ward, A. Agrawal, A. Choudhary and C. Wolverton, npj Comput. Mater. 2,
16028 (2016), doi:10.1038/npjcompumats.2016.28.
L. Ward et al., matminer, Comput. Mater. Sci. 152, 60 (2018).
"""
from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import MatsightError
from ._parse import parse_formula

__all__ = [
    "EN_DIFFERENCE_LABEL",
    "EXTRAS",
    "MAGPIE_PROPERTIES",
    "MAGPIE_STATS",
    "P_NORMS",
    "compute_descriptor",
    "descriptor_names",
    "featurize",
]

#: The 22 elemental properties of matminer's ``ElementProperty.from_preset("magpie")``, in order.
MAGPIE_PROPERTIES: tuple[str, ...] = (
    "Number", "MendeleevNumber", "AtomicWeight", "MeltingT", "Column", "Row",
    "CovalentRadius", "Electronegativity", "NsValence", "NpValence", "NdValence",
    "NfValence", "NValence", "NsUnfilled", "NpUnfilled", "NdUnfilled", "NfUnfilled",
    "NUnfilled", "GSvolume_pa", "GSbandgap", "GSmagmom", "SpaceGroupNumber",
)
#: The six statistics of the preset, in matminer's order.
MAGPIE_STATS: tuple[str, ...] = ("minimum", "maximum", "range", "mean", "avg_dev", "mode")
#: Stoichiometry p-norms (matminer ``Stoichiometry`` defaults).
P_NORMS: tuple[int, ...] = (0, 2, 3, 5, 7, 10)
#: Column label of the Pauling electronegativity difference.
EN_DIFFERENCE_LABEL = "pauling_en_difference"
#: Extra descriptor groups and the labels they produce.
EXTRAS: dict[str, tuple[str, ...]] = {
    "en_difference": (EN_DIFFERENCE_LABEL,),
    "p_norms": tuple(f"{p}-norm" for p in P_NORMS),
}
_EXTRA_ALIASES = {"pauling_en_difference": "en_difference", "stoichiometry": "p_norms"}
_PRESETS = ("magpie",)
_N_Z = 119  # column 0 unused; columns 1..118 are atomic numbers


def magpie_labels(properties=MAGPIE_PROPERTIES) -> list[str]:
    """matminer's labels ``"MagpieData {stat} {property}"``, property-major."""
    return [f"MagpieData {stat} {prop}" for prop in properties for stat in MAGPIE_STATS]


# --------------------------------------------------------------------------- tables
@lru_cache(maxsize=2)
def magpie_table(impute_nan: bool = True) -> np.ndarray:
    """Elemental property table, shape ``(119, 22)``; row ``Z`` is element ``Z``.

    Read from the Magpie ``.table`` files carried in ``_tables/`` exactly as
    matminer's ``MagpieData`` reads them (a missing or non-numeric line is
    NaN). With ``impute_nan`` NaNs become the mean of the property over Z=1..118.
    Row 0 is NaN. The returned array is read-only.
    """
    table = np.full((_N_Z, len(MAGPIE_PROPERTIES)), np.nan)
    root = resources.files(__package__).joinpath("_tables")
    for j, prop in enumerate(MAGPIE_PROPERTIES):
        lines = root.joinpath(f"{prop}.table").read_text().splitlines()
        for z in range(1, 119):
            try:
                table[z, j] = float(lines[z - 1])
            except (ValueError, IndexError):
                pass
    if impute_nan:
        means = np.nanmean(table[1:], axis=0)
        rows, cols = np.nonzero(np.isnan(table[1:]))
        table[rows + 1, cols] = means[cols]
    table.setflags(write=False)
    return table


@lru_cache(maxsize=1)
def pauling_table() -> np.ndarray:
    """Pauling electronegativities from pymatgen, shape ``(119,)``; NaN where pymatgen has none."""
    import warnings

    from pymatgen.core import Element

    out = np.full(_N_Z, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for z in range(1, 119):
            x = Element.from_Z(z).X
            out[z] = float(x) if x is not None else np.nan
    out.setflags(write=False)
    return out


# --------------------------------------------------------------------------- parsing
@lru_cache(maxsize=1)
def _pymatgen():
    from pymatgen.core import Composition, Element

    return Composition, Element


@lru_cache(maxsize=65536)
def _z_amounts(text: str) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Atomic numbers and amounts of ``text``, memoised.

    Fast path: pymatgen's ``Composition`` directly (the caller silences
    warnings once per batch). Anything unusual (a parse failure, no atoms,
    a non-element species) goes through :func:`parse_formula`, which raises
    its usual :class:`MatsightError`, so errors are exactly parse_formula's.
    """
    composition, element = _pymatgen()
    try:
        comp = composition(text)
        items = comp.items()
        fast = len(items) > 0 and all(type(el) is element for el in comp)
    except Exception:  # noqa: BLE001 - parse_formula below gives the proper error
        fast = False
    if not fast:
        items = parse_formula(text).items()
    return tuple(el.Z for el, _ in items), tuple(float(a) for _, a in items)


@dataclass
class AmountMatrix:
    """Element amounts of a batch of formulas in CSR form (rows = parsed formulas).

    Attributes
    ----------
    indptr : ndarray of int, shape (n_ok + 1,)
    z : ndarray of int, shape (nnz,)
        Atomic numbers.
    amount : ndarray of float, shape (nnz,)
        Amounts as written in the formula (not normalised).
    ok : ndarray of bool, shape (n,)
        Which input formulas parsed (all of them unless ``on_error="skip"``).
    errors : list of (int, str)
        ``(position, message)`` of every formula that failed.
    """

    indptr: np.ndarray
    z: np.ndarray
    amount: np.ndarray
    ok: np.ndarray
    errors: list

    def to_sparse(self):
        """The amounts as a ``scipy.sparse.csr_matrix`` of shape ``(n_ok, 119)``."""
        from scipy.sparse import csr_matrix

        return csr_matrix((self.amount, self.z, self.indptr), shape=(len(self.indptr) - 1, _N_Z))


def amount_matrix(formulas, on_error: str = "raise") -> AmountMatrix:
    """Parse ``formulas`` into an :class:`AmountMatrix`.

    Parameters
    ----------
    formulas : sequence of str
    on_error : {"raise", "skip"}
        ``"raise"``: the first bad formula raises :class:`MatsightError` naming its
        0-based position; ``"skip"``: bad formulas are left out and listed in ``errors``.
    """
    zs: list[int] = []
    amts: list[float] = []
    indptr = [0]
    ok = np.ones(len(formulas), dtype=bool)
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, f in enumerate(formulas):
            try:
                z, a = _z_amounts(f.strip()) if isinstance(f, str) else _z_amounts_any(f)
            except MatsightError as exc:
                if on_error == "raise":
                    raise MatsightError(f"row {i} (0-based) of the input: {exc}") from None
                ok[i] = False
                errors.append((i, str(exc)))
                continue
            zs.extend(z)
            amts.extend(a)
            indptr.append(len(zs))
    return AmountMatrix(np.asarray(indptr, dtype=np.intp), np.asarray(zs, dtype=np.intp),
                        np.asarray(amts, dtype=float), ok, errors)


def _z_amounts_any(formula):
    if formula is None or (isinstance(formula, float) and math.isnan(formula)):
        parse_formula(formula)  # raises the standard "empty formula" error
    return _z_amounts(str(formula).strip())


# --------------------------------------------------------------------------- statistics
def _segments(m: AmountMatrix):
    starts = m.indptr[:-1]
    row = np.repeat(np.arange(len(starts)), np.diff(m.indptr))
    total = np.add.reduceat(m.amount, starts) if len(starts) else np.zeros(0)
    return starts, row, total


def _magpie_stats(m: AmountMatrix, table: np.ndarray) -> np.ndarray:
    """Six statistics of the per-element ``table`` values (119, P) for every row -> (n, P, 6).

    Rows are sorted by their number of elements so that the k-th element of
    every row with at least k+1 elements forms one contiguous block; the
    statistics are then accumulated over k = 0 .. K-1 with whole-array numpy
    operations (K = largest number of elements in a formula).
    """
    counts = np.diff(m.indptr)
    n = len(counts)
    perm = np.argsort(-counts, kind="stable")
    sorted_counts = counts[perm]
    first = m.indptr[:-1][perm]
    n_elements = int(sorted_counts[0])
    # nk[k] = number of rows with more than k elements (a prefix of the sorted rows)
    nk = np.searchsorted(-sorted_counts, -np.arange(1, n_elements + 1), side="right")
    amounts = [m.amount[first[: nk[k]] + k] for k in range(n_elements)]
    values = [table[m.z[first[: nk[k]] + k]] for k in range(n_elements)]

    total = amounts[0].copy()
    amax = amounts[0].copy()
    vmin = values[0].copy()
    vmax = values[0].copy()
    wsum = amounts[0][:, None] * values[0]
    for k in range(1, n_elements):
        j = nk[k]
        total[:j] += amounts[k]
        np.maximum(amax[:j], amounts[k], out=amax[:j])
        np.minimum(vmin[:j], values[k], out=vmin[:j])
        np.maximum(vmax[:j], values[k], out=vmax[:j])
        wsum[:j] += amounts[k][:, None] * values[k]
    mean = wsum / total[:, None]
    # matminer: mode = min of the values whose amount is np.isclose to the largest amount
    tol = 1e-8 + 1e-5 * np.abs(amax)
    dev = np.zeros_like(mean)
    mode = np.full_like(mean, np.inf)
    for k in range(n_elements):
        j = nk[k]
        dev[:j] += amounts[k][:, None] * np.abs(values[k] - mean[:j])
        tie = np.abs(amounts[k] - amax[:j]) <= tol[:j]
        np.minimum(mode[:j], np.where(tie[:, None], values[k], np.inf), out=mode[:j])
    dev /= total[:, None]
    out = np.empty((n, table.shape[1], 6))
    out[perm] = np.stack([vmin, vmax, vmax - vmin, mean, dev, mode], axis=2)
    return out


def _en_difference(m: AmountMatrix, seg) -> np.ndarray:
    starts = seg[0]
    x = pauling_table()[m.z]
    return np.maximum.reduceat(x, starts) - np.minimum.reduceat(x, starts)


def _p_norms(m: AmountMatrix, seg, ps=P_NORMS) -> np.ndarray:
    starts, row, total = seg
    frac = m.amount / total[row]
    cols = []
    for p in ps:
        if p == 0:
            cols.append(np.diff(m.indptr).astype(float))
        else:
            cols.append(np.add.reduceat(frac**p, starts) ** (1.0 / p))
    return np.stack(cols, axis=1)


# --------------------------------------------------------------------------- public
def _check_extras(extras) -> tuple[str, ...]:
    if isinstance(extras, str):
        extras = (extras,)
    out = []
    for e in extras or ():
        key = _EXTRA_ALIASES.get(e, e)
        if key not in EXTRAS:
            raise MatsightError(f"unknown extra descriptor group {e!r} (known: {', '.join(EXTRAS)})")
        if key not in out:
            out.append(key)
    return tuple(out)


def _check_preset(preset):
    if preset is not None and preset not in _PRESETS:
        raise MatsightError(f"unknown preset {preset!r} (known: {', '.join(_PRESETS)}, or None)")


def descriptor_names(preset: str | None = "magpie", extras=()) -> list[str]:
    """Column labels produced by ``featurize(preset=..., extras=...)``, in order."""
    _check_preset(preset)
    extras = _check_extras(extras)
    names = magpie_labels() if preset == "magpie" else []
    for e in extras:
        names.extend(EXTRAS[e])
    if not names:
        raise MatsightError("no descriptors requested: give preset='magpie' and/or some extras")
    return names


def featurize_matrix(m: AmountMatrix, preset="magpie", extras=(), impute_nan=True) -> np.ndarray:
    """Descriptors of the parsed rows of ``m``, shape ``(n_ok, n_features)``."""
    extras = _check_extras(extras)
    n = len(m.indptr) - 1
    if n == 0:
        return np.zeros((0, len(descriptor_names(preset, extras))))
    seg = _segments(m)
    blocks = []
    if preset == "magpie":
        blocks.append(_magpie_stats(m, magpie_table(bool(impute_nan))).reshape(n, -1))
    for e in extras:
        if e == "en_difference":
            blocks.append(_en_difference(m, seg)[:, None])
        elif e == "p_norms":
            blocks.append(_p_norms(m, seg))
    return np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))


def featurize(formulas, preset: str | None = "magpie", extras=(), impute_nan: bool = True) -> np.ndarray:
    """Composition descriptors of ``formulas``.

    Parameters
    ----------
    formulas : sequence of str, shape (n,)
    preset : {"magpie", None}
        ``"magpie"``: the 132 features of matminer's
        ``ElementProperty.from_preset("magpie")`` (22 properties x 6 statistics).
    extras : iterable of {"en_difference", "p_norms"}
        Pauling electronegativity difference (max - min over the elements
        present, pymatgen values; NaN if an element has none, e.g. He, Ne, Ar)
        and stoichiometry p-norms ``(sum_i x_i^p)^(1/p)`` of the atomic
        fractions ``x_i`` for p = 0 (number of elements), 2, 3, 5, 7, 10.
    impute_nan : bool
        Replace missing Magpie table entries by the property's mean (matminer default).

    Returns
    -------
    ndarray of float64, shape (n, n_features)
        Columns in the order of :func:`descriptor_names`.

    Raises
    ------
    MatsightError
        On an empty input or a bad formula (the message names its 0-based row).
    """
    _check_preset(preset)
    descriptor_names(preset, extras)
    formulas = list(formulas)
    if not formulas:
        raise MatsightError("no formulas to featurize (empty input)")
    return featurize_matrix(amount_matrix(formulas), preset, extras, impute_nan)


def _resolve_name(name: str):
    if name in ("en_difference", EN_DIFFERENCE_LABEL):
        return ("en_difference", None)
    if name in EXTRAS["p_norms"]:
        return ("p_norm", P_NORMS[EXTRAS["p_norms"].index(name)])
    parts = name.split(" ") if isinstance(name, str) else []
    if len(parts) == 3 and parts[0] == "MagpieData" and parts[1] in MAGPIE_STATS and parts[2] in MAGPIE_PROPERTIES:
        return ("magpie", (MAGPIE_PROPERTIES.index(parts[2]), MAGPIE_STATS.index(parts[1])))
    valid = ["en_difference", EN_DIFFERENCE_LABEL, *EXTRAS["p_norms"], *magpie_labels()]
    close = difflib.get_close_matches(str(name), valid, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    raise MatsightError(
        f"unknown descriptor {name!r}: {hint}valid names are 'en_difference', "
        f"'{EN_DIFFERENCE_LABEL}', '0-norm' ... '10-norm' and the 132 Magpie labels such as "
        f"'MagpieData mean Number' or 'MagpieData range Electronegativity'"
    )


def compute_descriptor(name: str, formulas) -> np.ndarray:
    """One named descriptor for every formula.

    Parameters
    ----------
    name : str
        ``"en_difference"`` (alias of ``"pauling_en_difference"``, the Pauling
        electronegativity difference max - min over the elements present,
        dimensionless), a p-norm label ``"0-norm"`` ... ``"10-norm"``, or any
        Magpie label such as ``"MagpieData mean Electronegativity"``.
    formulas : sequence of str, shape (n,)

    Returns
    -------
    ndarray of float64, shape (n,)

    Raises
    ------
    MatsightError
        Unknown ``name`` (the message lists valid names), empty input or a bad
        formula (the message names its 0-based row and the formula).

    Examples
    --------
    >>> compute_descriptor("en_difference", ["NaCl", "Si"]).round(2).tolist()
    [2.23, 0.0]
    """
    kind, arg = _resolve_name(name)
    if isinstance(formulas, str):
        raise MatsightError(f"formulas must be a sequence of formulas, not the single string {formulas!r}")
    formulas = list(formulas)
    if not formulas:
        raise MatsightError(f"no formulas to compute {name!r} for (empty input)")
    m = amount_matrix(formulas)
    seg = _segments(m)
    if kind == "en_difference":
        return _en_difference(m, seg)
    if kind == "p_norm":
        return _p_norms(m, seg, (arg,))[:, 0]
    prop, stat = arg
    return _magpie_stats(m, magpie_table(True)[:, [prop]])[:, 0, stat]
