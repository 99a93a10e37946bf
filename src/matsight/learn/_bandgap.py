"""One band gap per binary compound from the Strehlow & Cook (1973) compilation.

The compilation lists several measurements per formula (different methods,
temperatures, transitions and samples). :func:`prepare_band_gaps` reduces it to
one value per binary compound with a stated rule:

1. drop rows that are not measurements (``method`` "Estimated" and the
   band-structure calculations "SCOPW" and "APW");
2. parse every formula (pymatgen); drop formulas that cannot be parsed;
3. keep stoichiometric binary compounds: exactly two elements with integer
   amounts (solid solutions such as ``Ge0.93Si0.07`` are not compounds);
4. group by reduced formula (``V1O2`` and ``V2O4`` are the same compound);
5. the gap is the **median of the room-temperature measurements**
   (``250 K <= T <= 350 K``), or the median of all measurements of that compound
   when none was taken near room temperature.

Why the median: the measurements of one compound mix optical absorption,
reflection, photoconduction and thermal activation, direct, indirect and
excitonic thresholds, single crystals, films and amorphous samples. A few of
them sit far from the rest (an excitonic peak, a thermal-activation energy of
an impure sample); the median ignores such values where the mean would
follow them. Room temperature first because gaps shrink on heating (Varshni,
Physica 34, 149 (1967): typically a few tenths of an eV between 0 K and 300 K),
and most measurements were made there.

Reference
---------
W. H. Strehlow and E. L. Cook, J. Phys. Chem. Ref. Data 2, 163 (1973),
doi:10.1063/1.3253115.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import MatsightError

__all__ = ["BandGapData", "NON_MEASUREMENT_METHODS", "prepare_band_gaps"]

#: ``method`` values of the compilation that are estimates or calculations, not measurements.
NON_MEASUREMENT_METHODS: tuple[str, ...] = ("Estimated", "SCOPW", "APW")


@dataclass
class BandGapData:
    """Binary compounds with one band gap each.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per compound: ``formula`` (reduced), ``band_gap_eV``,
        ``n_measurements``, ``n_room_temperature``, ``rule``
        ("room-temperature median" or "all-measurement median"),
        ``source_formulas`` (as written in the compilation).
    counts : dict of str to int
        How many rows and formulas each step kept or dropped.
    rule : str
        The aggregation rule in words.
    room_temperature_K : tuple of float
        The window counted as room temperature.
    """

    table: "pandas.DataFrame"  # noqa: F821
    counts: dict[str, int] = field(default_factory=dict)
    rule: str = ""
    room_temperature_K: tuple[float, float] = (250.0, 350.0)
    dropped_formulas: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "dataset": "band_gaps",
            "rule": self.rule,
            "room_temperature_K": list(self.room_temperature_K),
            "excluded_methods": list(NON_MEASUREMENT_METHODS),
            "counts": {k: int(v) for k, v in self.counts.items()},
            "unparseable_formulas": list(self.dropped_formulas),
        }

    def summary(self) -> str:
        """One sentence: how many measurements and compounds remain."""
        c = self.counts
        return (
            f"band_gaps: {c['n_compounds']} binary compounds from {c['n_measurements_used']} of "
            f"{c['n_measurements_total']} measurements; gap = median of {self.room_temperature_K[0]:g}-"
            f"{self.room_temperature_K[1]:g} K measurements ({c['n_compounds_room_temperature']} compounds), "
            f"else median of all ({c['n_compounds_fallback']} compounds)"
        )


def prepare_band_gaps(df=None, room_temperature_K: tuple[float, float] = (250.0, 350.0)) -> BandGapData:
    """Reduce the Strehlow & Cook compilation to one gap per binary compound.

    Parameters
    ----------
    df : pandas.DataFrame, optional
        The compilation (columns ``formula``, ``band_gap_eV``, ``temperature_K``,
        ``method``); default: ``matsight.datasets.load("band_gaps")``. Not modified.
    room_temperature_K : (float, float)
        Inclusive temperature window, in kelvin, counted as room temperature.

    Returns
    -------
    BandGapData
        See the module docstring for the rule.
    """
    import pandas as pd

    from ..composition import parse_formula
    from ..io import require_columns

    if df is None:
        from .. import datasets

        df = datasets.load("band_gaps")
    lo, hi = (float(v) for v in room_temperature_K)
    if not lo <= hi:
        raise MatsightError(f"room-temperature window {room_temperature_K!r} must be (low, high) with low <= high")
    require_columns(df, ["formula", "band_gap_eV", "temperature_K"], "the band-gap table")
    d = df.copy()
    counts = {"n_measurements_total": len(d), "n_formulas_total": int(d["formula"].nunique())}
    d["band_gap_eV"] = pd.to_numeric(d["band_gap_eV"], errors="coerce")
    d["temperature_K"] = pd.to_numeric(d["temperature_K"], errors="coerce")
    if "method" in d.columns:
        non = d["method"].isin(NON_MEASUREMENT_METHODS)
        counts["n_not_measurements"] = int(non.sum())
        d = d[~non]
    missing = d["band_gap_eV"].isna()
    counts["n_missing_gap"] = int(missing.sum())
    d = d[~missing]

    reduced: dict[str, str | None] = {}
    dropped: list[str] = []
    kinds = {"unparseable": 0, "element": 0, "ternary_or_more": 0, "non_stoichiometric": 0}
    for f in d["formula"].astype(str).unique():
        try:
            comp = parse_formula(f)
        except MatsightError:
            dropped.append(f)
            kinds["unparseable"] += 1
            reduced[f] = None
            continue
        if len(comp) == 1:
            kinds["element"] += 1
            reduced[f] = None
        elif len(comp) > 2:
            kinds["ternary_or_more"] += 1
            reduced[f] = None
        elif any(abs(a - round(a)) > 1e-8 for a in comp.values()):
            kinds["non_stoichiometric"] += 1
            reduced[f] = None
        else:
            reduced[f] = comp.reduced_formula
    for k, v in kinds.items():
        counts[f"n_formulas_{k}"] = v
    d = d.assign(compound=d["formula"].astype(str).map(reduced))
    counts["n_measurements_unparseable"] = int(d["formula"].astype(str).isin(dropped).sum())
    d = d[d["compound"].notna()]
    counts["n_measurements_used"] = len(d)
    if len(d) == 0:
        raise MatsightError("the band-gap table has no measurement of a binary compound")

    room = d["temperature_K"].between(lo, hi)
    rows = []
    for comp, g in d.groupby("compound", sort=True):
        g_room = g[room.loc[g.index]]
        use = g_room if len(g_room) else g
        rows.append({
            "formula": comp,
            "band_gap_eV": float(np.median(use["band_gap_eV"].to_numpy())),
            "n_measurements": len(g),
            "n_room_temperature": len(g_room),
            "rule": "room-temperature median" if len(g_room) else "all-measurement median",
            "source_formulas": ";".join(sorted(g["formula"].astype(str).unique())),
        })
    table = pd.DataFrame(rows)
    counts["n_compounds"] = len(table)
    counts["n_compounds_room_temperature"] = int((table["n_room_temperature"] > 0).sum())
    counts["n_compounds_fallback"] = int((table["n_room_temperature"] == 0).sum())
    rule = (
        f"median of the measurements taken at {lo:g}-{hi:g} K, else median of all measurements of the compound; "
        f"estimates and calculations ({', '.join(NON_MEASUREMENT_METHODS)}) excluded; binary = exactly two "
        "elements with integer amounts, grouped by reduced formula"
    )
    return BandGapData(table=table, counts=counts, rule=rule, room_temperature_K=(lo, hi), dropped_formulas=dropped)
