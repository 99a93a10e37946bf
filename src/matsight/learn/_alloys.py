"""Alloy compositions from tables: wt % or at % columns, closure, wt -> at %.

Two entry points:

* :func:`read_compositions` turns any table with ``wt_El`` (weight per cent)
  or ``at_El`` (atomic per cent) columns into a :class:`CompositionTable`
  (names, elements, at % rows that sum to 100).
* :func:`superalloy_compositions` prepares the bundled Conduit et al. (2017)
  superalloy data: one row per distinct alloy composition, Ni as the balance,
  the alloy names of every row that shares the composition, and the
  strengthening precipitate and powder processing recorded for it.

Conventions (documented in the README):

* A blank composition cell means the element was not reported: it counts as 0.
* The superalloy table marks a few "varied" amounts with a trailing ``*``
  (``"2*"``, note ``*indicatesvaried%``); the number before the star is used.
* Each row is closed to 100 % (divided by its own total) before and after the
  wt -> at conversion, ``x_i = (w_i / M_i) / sum_j (w_j / M_j)`` with the
  standard atomic masses ``M`` of pymatgen.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import MatsightError

__all__ = [
    "CompositionTable",
    "read_compositions",
    "superalloy_compositions",
    "wt_to_at_percent",
    "is_superalloy_table",
]

_SUPERALLOY_COLUMNS = ("name", "strengthening_precipitate_phase", "powder_processed")
_COLUMN_RE = re.compile(r"^(wt|at)_(.+)$")


@dataclass
class CompositionTable:
    """Compositions in atomic per cent, one row per alloy.

    Attributes
    ----------
    names : list of str, length n
        Row names (for the superalloys: every alloy name sharing the composition, joined by ``"; "``).
    elements : list of str, length k
        Element symbols, in column order.
    at_percent : ndarray of shape (n, k)
        Atomic per cent; each row sums to 100.
    basis : {"wt", "at"}
        The unit of the input columns.
    source : str
        Where the table came from.
    labels : dict of str to list
        Optional per-row reference labels (e.g. ``strengthening_precipitate_phase``), None where unknown.
    n_source_rows : int
        Rows of the input table (before merging duplicate compositions).
    notes : list of str
        What was done to the data (balance, merging, off-100 rows).
    """

    names: list
    elements: list
    at_percent: np.ndarray
    basis: str = "at"
    source: str = "the table"
    labels: dict = field(default_factory=dict)
    n_source_rows: int = 0
    notes: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "basis": self.basis,
            "n_compositions": len(self.names),
            "n_source_rows": self.n_source_rows,
            "elements": list(self.elements),
            "notes": list(self.notes),
        }


def _atomic_masses(elements, source: str) -> np.ndarray:
    from pymatgen.core import Element

    masses = []
    for el in elements:
        try:
            masses.append(float(Element(el).atomic_mass))
        except (ValueError, KeyError, AttributeError):
            raise MatsightError(f"{source}: column for {el!r} does not name a chemical element") from None
    return np.asarray(masses)


def _check_elements(elements, source: str) -> None:
    from pymatgen.core import Element

    for el in elements:
        if not Element.is_valid_symbol(el):
            raise MatsightError(f"{source}: composition column suffix {el!r} is not a chemical element symbol")


def wt_to_at_percent(wt_percent, elements) -> np.ndarray:
    """Convert weight per cent to atomic per cent.

    Parameters
    ----------
    wt_percent : array-like of shape (n, k) or (k,)
        Non-negative weight fractions (any total; each row is closed).
    elements : sequence of str, length k
        Element symbols of the columns.

    Returns
    -------
    ndarray, same shape
        Atomic per cent, ``100 (w_i / M_i) / sum_j (w_j / M_j)``, with ``M``
        the IUPAC standard atomic masses (g/mol) tabulated by pymatgen.

    References
    ----------
    Any metallurgy text, e.g. W. D. Callister, *Materials Science and
    Engineering*, eq. 4.6 (weight to atom per cent conversion).
    """
    w = np.asarray(wt_percent, dtype=float)
    masses = _atomic_masses(list(elements), "wt_to_at_percent")
    moles = w / masses
    total = moles.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise MatsightError("wt_to_at_percent: a composition has no positive amount")
    return 100.0 * moles / total


def _composition_columns(df, source: str):
    cols = [(c, _COLUMN_RE.match(str(c))) for c in df.columns]
    cols = [(c, m.group(1), m.group(2)) for c, m in cols if m]
    if not cols:
        raise MatsightError(
            f"{source} has no composition columns: name them wt_El (weight %) or at_El (atomic %), e.g. wt_Ni, at_Cr"
        )
    bases = {b for _, b, _ in cols}
    if len(bases) > 1:
        raise MatsightError(f"{source} mixes wt_ and at_ composition columns; use one basis only")
    elements = [el for _, _, el in cols]
    _check_elements(elements, source)
    dup = sorted({e for e in elements if elements.count(e) > 1})
    if dup:
        raise MatsightError(f"{source} has several columns for element {', '.join(dup)}")
    return [c for c, _, _ in cols], bases.pop(), elements


def _numeric_block(df, columns, names, source: str) -> np.ndarray:
    """Composition cells as floats: blank -> 0, trailing '*' stripped, anything else is an error."""
    import pandas as pd

    out = np.zeros((len(df), len(columns)))
    for j, col in enumerate(columns):
        raw = df[col]
        if raw.dtype.kind in "fiub":
            vals = raw.to_numpy(dtype=float)
        else:
            text = raw.astype("string").str.strip().str.rstrip("*")
            vals = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
            bad = np.isnan(vals) & raw.notna().to_numpy() & (text.fillna("") != "").to_numpy()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise MatsightError(f"{source}: row {names[i]!r} has a non-numeric {col} value {raw.iloc[i]!r}")
        vals = np.where(np.isnan(vals), 0.0, vals)
        if np.any(~np.isfinite(vals)) or np.any(vals < 0):
            i = int(np.flatnonzero(~np.isfinite(vals) | (vals < 0))[0])
            raise MatsightError(f"{source}: row {names[i]!r} has a negative or infinite {col} value")
        out[:, j] = vals
    return out


def _row_names(df, comp_cols) -> list:
    from pandas.api.types import is_numeric_dtype

    if "name" in df.columns:
        col = "name"
    else:
        others = [c for c in df.columns if c not in comp_cols and not is_numeric_dtype(df[c])]
        col = others[0] if others else None
    if col is None:
        return [f"row {i + 1}" for i in range(len(df))]
    return [str(v) if v == v else f"row {i + 1}" for i, v in enumerate(df[col].tolist())]


def read_compositions(data, source: str | None = None) -> CompositionTable:
    """Read compositions from a table with ``wt_El`` or ``at_El`` columns.

    Parameters
    ----------
    data : str, path-like or pandas.DataFrame
        CSV/Parquet path, bundled dataset name, or a DataFrame (not modified).
        Row names come from a ``name`` column, else the first text column,
        else ``"row 1"``, ``"row 2"``, ...
    source : str, optional
        How to name the input in error messages.

    Returns
    -------
    CompositionTable
        Rows in input order, at % closed to 100. The bundled superalloy table
        (or a copy of it) is recognised and reduced with
        :func:`superalloy_compositions`.

    Raises
    ------
    MatsightError
        No composition columns, mixed wt_/at_ columns, an unknown element,
        a non-numeric or negative cell, or a row whose total is not positive.
    """
    from ..io import read_table

    source = source or (str(data) if not hasattr(data, "columns") else "the table")
    df = read_table(data)
    if is_superalloy_table(df):
        return superalloy_compositions(df, source=source)
    cols, basis, elements = _composition_columns(df, source)
    names = _row_names(df, cols)
    x = _numeric_block(df, cols, names, source)
    _check_totals(x, names, source)
    at = wt_to_at_percent(x, elements) if basis == "wt" else 100.0 * x / x.sum(axis=1, keepdims=True)
    notes = [f"{len(names)} rows read from {source} ({basis} %), blank cells counted as 0, each row closed to 100 at %"]
    return CompositionTable(names, elements, at, basis=basis, source=source, n_source_rows=len(df), notes=notes)


def _check_totals(x, names, source):
    total = x.sum(axis=1)
    bad = np.flatnonzero(~(total > 0))
    if bad.size:
        raise MatsightError(f"{source}: the composition of row {names[bad[0]]!r} does not sum to a positive total")


def is_superalloy_table(df) -> bool:
    """True if ``df`` has the layout of the bundled superalloy data (name, wt_ columns, precipitate, powder)."""
    return all(c in df.columns for c in _SUPERALLOY_COLUMNS) and any(str(c).startswith("wt_") for c in df.columns)


def _mode(values):
    vals = [v for v in values if v is not None and v == v and str(v).strip() != ""]
    if not vals:
        return None
    uniq, counts = np.unique(np.asarray(vals, dtype=str), return_counts=True)
    return str(uniq[np.argmax(counts)])


def superalloy_compositions(data=None, balance: str | None = "Ni", decimals: int = 4, source: str | None = None) -> CompositionTable:
    """One row per distinct alloy composition of the Conduit et al. superalloy data.

    Parameters
    ----------
    data : DataFrame, path or dataset name, optional
        Default: the bundled ``superalloys`` dataset (2800 rows).
    balance : str or None
        Element taken as the balance: its wt % is replaced by ``100 - sum(others)``.
        In the data Ni is listed as the balance for most rows (1767 of 2800 sum
        to 100 +- 0.05 wt %, 2541 to 100 +- 1 wt %); the others list a nominal
        Ni or omit minor elements (41 rows are off by more than 5 wt %, e.g.
        Inconel 718 with Ni 60.1 and a total of 105.4 wt %, Unnamedalloy28
        with 126.8 wt %), so the difference is put on Ni. ``None`` keeps the
        listed values and only closes each row to 100 %.
    decimals : int
        wt % are rounded to this many decimals before compositions are compared.
    source : str, optional
        How to name the input in error messages.

    Returns
    -------
    CompositionTable
        Rows sorted by first appearance in the data; ``names`` joins every
        distinct alloy name of the merged rows with ``"; "``; ``labels`` holds
        ``strengthening_precipitate_phase`` and ``powder_processed``, each the
        most frequent non-blank value among the merged rows (None if all blank).

    References
    ----------
    B. D. Conduit, N. G. Jones, H. J. Stone and G. J. Conduit, Materials &
    Design 131, 358 (2017), doi:10.1016/j.matdes.2017.06.007.
    """
    from ..io import read_table

    if data is None:
        data, source = "superalloys", source or "superalloys"
    source = source or (str(data) if not hasattr(data, "columns") else "the superalloy table")
    df = read_table(data).reset_index(drop=True)
    cols, basis, elements = _composition_columns(df, source)
    if basis != "wt":
        raise MatsightError(f"{source}: the superalloy table must give weight per cent (wt_El columns)")
    raw_names = [str(v) for v in df["name"].tolist()]
    w = _numeric_block(df, cols, raw_names, source)
    notes = [f"{len(df)} rows of {source}; blank wt cells counted as 0; '*'-marked (varied) amounts read as the number"]
    if balance is not None:
        if balance not in elements:
            raise MatsightError(f"{source} has no wt_{balance} column to use as the balance")
        j = elements.index(balance)
        others = w.sum(axis=1) - w[:, j]
        off = np.abs(w.sum(axis=1) - 100.0) > 0.05
        bad = np.flatnonzero(others >= 100.0)
        if bad.size:
            raise MatsightError(
                f"{source}: row {raw_names[bad[0]]!r} has {others[bad[0]]:.2f} wt % besides {balance}, no room for a balance"
            )
        w = w.copy()
        w[:, j] = 100.0 - others
        notes.append(f"{balance} taken as balance (100 - other wt %); {int(off.sum())} rows did not sum to 100 +- 0.05 wt %")
    else:
        notes.append("listed wt % kept; each row closed to 100 %")
    _check_totals(w, raw_names, source)
    key_matrix = np.round(w, decimals)
    _, first, inverse = np.unique(key_matrix, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    order = np.argsort(first)  # groups in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    group = rank[inverse]
    n = order.size
    names, label_cols = [], [c for c in _SUPERALLOY_COLUMNS[1:] if c in df.columns]
    labels = {c: [] for c in label_cols}
    for g in range(n):
        rows = np.flatnonzero(group == g)
        seen = list(dict.fromkeys(raw_names[i] for i in rows))
        names.append("; ".join(seen))
        for c in label_cols:
            labels[c].append(_mode(df[c].iloc[rows].tolist()))
    w_unique = w[first[order]]
    at = wt_to_at_percent(w_unique, elements)
    notes.append(f"{n} distinct compositions (wt % rounded to {decimals} decimals) from {len(df)} rows")
    return CompositionTable(
        names, elements, at, basis="wt", source=source, labels=labels, n_source_rows=len(df), notes=notes
    )
