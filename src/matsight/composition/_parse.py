"""Formula parsing with pymatgen, turning its failures into clear errors."""
from __future__ import annotations

import math
from functools import lru_cache

from ..errors import MatsightError

__all__ = ["parse_formula", "element_fractions"]


@lru_cache(maxsize=65536)
def _parse_cached(formula: str):
    import warnings

    from pymatgen.core import Composition

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comp = Composition(formula)
    return comp


def parse_formula(formula) -> "pymatgen.core.Composition":  # noqa: F821
    """Parse ``formula`` into a pymatgen ``Composition``.

    Parameters
    ----------
    formula : str
        A chemical formula such as ``"SrTiO3"``, ``"Li1F1"`` or ``"Ag(AuS)2"``.

    Raises
    ------
    MatsightError
        If the formula is empty, cannot be parsed, contains an unknown element,
        or has no positive amount.
    """
    if formula is None or (isinstance(formula, float) and math.isnan(formula)):
        raise MatsightError("empty formula (missing value)")
    text = str(formula).strip()
    if not text:
        raise MatsightError("empty formula ''")
    try:
        comp = _parse_cached(text)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        msg = str(exc).strip("'\" ")
        if "is not a valid Element" in msg or "not a valid" in msg.lower():
            raise MatsightError(f"formula {text!r} contains an unknown element ({msg})") from None
        raise MatsightError(f"cannot parse formula {text!r}: {msg or type(exc).__name__}") from None
    if len(comp) == 0 or comp.num_atoms <= 0:
        raise MatsightError(f"formula {text!r} has no atoms")
    for el, amt in comp.items():
        if type(el).__name__ != "Element":
            symbol = getattr(el, "symbol", str(el)).rstrip("0+-")
            raise MatsightError(f"formula {text!r} contains an unknown element {symbol!r}")
        if amt < 0:
            raise MatsightError(f"formula {text!r} has a negative amount of {el.symbol}")
    return comp


def element_fractions(formula) -> dict[str, float]:
    """Atomic fractions ``{symbol: fraction}`` of ``formula`` (they sum to 1)."""
    comp = parse_formula(formula)
    total = comp.num_atoms
    return {el.symbol: amt / total for el, amt in comp.items()}
