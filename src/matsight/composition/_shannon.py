"""Shannon effective ionic radii from pymatgen's tables, with documented fall-backs.

The radii are R. D. Shannon's *ionic* radii (Acta Cryst. A32, 751 (1976)) as
shipped with pymatgen (``Element(symbol).data["Shannon radii"]``), in Å.

Fall-back rules (the ones Bartel et al. used to build their Table S1):

* **Coordination.** When the requested coordination number (CN) is not
  tabulated for the ion, the tabulated CN *nearest* to it is used; on a tie
  (e.g. V and VII around VI) the lower CN is taken. Square-planar (``SQ``)
  and pyramidal (``PY``) variants count as their plain CN and are used only
  when the plain entry is missing.
* **Spin.** When both a high-spin and a low-spin radius are tabulated, the
  high-spin one is used. (Bartel et al. chose high spin for d4 to d7 ions and
  low spin otherwise; every ion with both entries in Shannon's table is d4 to
  d7, so the two rules agree.)
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import MatsightError

__all__ = ["ShannonRadius", "shannon_radius", "shannon_entries", "roman_to_int"]

_ROMAN = {"I": 1, "V": 5, "X": 10}


def roman_to_int(label: str) -> int:
    """Coordination number of a Shannon CN label (``"XII"`` -> 12, ``"IVSQ"`` -> 4)."""
    core = label.upper().replace("SQ", "").replace("PY", "")
    total, prev = 0, 0
    for ch in reversed(core):
        val = _ROMAN.get(ch)
        if val is None:
            raise ValueError(f"not a Roman numeral: {label!r}")
        total += -val if val < prev else val
        prev = max(prev, val)
    return total


def _int_to_roman(n: int) -> str:
    out = []
    for val, sym in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= val:
            out.append(sym)
            n -= val
    return "".join(out)


@dataclass(frozen=True)
class ShannonRadius:
    """One looked-up radius and how it was found.

    Attributes
    ----------
    radius_A : float
        Shannon ionic radius in Å.
    cn : str
        Coordination label actually used (e.g. ``"XII"``, ``"VIII"``, ``"IVSQ"``).
    cn_requested : str
        Coordination label that was asked for.
    spin : str
        ``""``, ``"High Spin"`` or ``"Low Spin"``.
    """

    radius_A: float
    cn: str
    cn_requested: str
    spin: str = ""

    @property
    def fell_back(self) -> bool:
        """True when the requested coordination was not tabulated."""
        return roman_to_int(self.cn) != roman_to_int(self.cn_requested) or self.cn != self.cn_requested

    def note(self, ion: str) -> str | None:
        """A one-line human note on the fall-back or spin choice, or None."""
        parts = []
        if self.fell_back:
            parts.append(f"{ion}: no CN {self.cn_requested} radius, used CN {self.cn}")
        if self.spin:
            parts.append(f"{ion}: {self.spin.lower()} radius at CN {self.cn}")
        return "; ".join(parts) or None


@lru_cache(maxsize=None)
def _table(symbol: str) -> dict:
    from pymatgen.core import Element

    try:
        return Element(symbol).data.get("Shannon radii", {}) or {}
    except (ValueError, KeyError):
        raise MatsightError(f"unknown element {symbol!r}") from None


def shannon_entries(symbol: str, oxidation_state: int) -> dict[str, dict[str, float]]:
    """All tabulated ionic radii of one ion: ``{cn_label: {spin: radius_A}}`` (empty if none)."""
    table = _table(symbol).get(str(int(oxidation_state)), {})
    return {cn: {spin: vals["ionic_radius"] for spin, vals in spins.items()} for cn, spins in table.items()}


def shannon_radius(symbol: str, oxidation_state: int, cn: str) -> ShannonRadius:
    """Shannon ionic radius of ``symbol`` in ``oxidation_state`` at coordination ``cn``.

    Parameters
    ----------
    symbol : str
        Element symbol, e.g. ``"Ti"``.
    oxidation_state : int
        Formal charge, e.g. ``4``.
    cn : str
        Requested coordination as a Roman numeral, e.g. ``"VI"`` or ``"XII"``.

    Returns
    -------
    ShannonRadius
        The radius in Å, with the CN and spin actually used (see the module
        docstring for the fall-back rules).

    Raises
    ------
    MatsightError
        If Shannon's table has no radius for this ion at any coordination.

    References
    ----------
    R. D. Shannon, Acta Cryst. A32, 751 (1976).
    """
    entries = shannon_entries(symbol, oxidation_state)
    if not entries:
        charge = f"{abs(int(oxidation_state))}{'+' if oxidation_state > 0 else '-'}"
        raise MatsightError(f"Shannon's table has no radius for {symbol}{charge}")
    target = roman_to_int(cn)

    def key(label: str):
        n = roman_to_int(label)
        plain = label.upper() == _int_to_roman(n)
        return (abs(n - target), n, not plain)

    chosen = min(entries, key=key)
    spins = entries[chosen]
    if "High Spin" in spins:
        spin = "High Spin"
    elif "" in spins:
        spin = ""
    else:
        spin = next(iter(spins))
    return ShannonRadius(radius_A=float(spins[spin]), cn=chosen, cn_requested=cn, spin=spin)
