"""User-facing errors.

Every mistake a user can make (a bad formula, an unknown element, a missing
column, an empty file, ...) raises :class:`MatsightError` with one sentence
that names the input and the problem. The CLI prints that sentence on stderr
and exits with code 2, without a traceback.
"""
from __future__ import annotations

__all__ = ["MatsightError"]


class MatsightError(ValueError):
    """A user mistake, explained in one line.

    Subclasses :class:`ValueError` so that scikit-learn style code that
    catches ``ValueError`` keeps working.
    """
