"""Numba loops behind :mod:`._contract` (private; imported lazily, compiled once and cached).

``forward``: ``out[q, c] = sum_f jac[q, c, f] de_dg[owner[q], f]``.
``transpose``: ``out[a, f] = sum_{q in start[a]:start[a+1]} sum_c jac[q, c, f] w[q, c]``.
``f`` runs over ``de_dg``'s (``out``'s) columns, which may be fewer than ``jac``'s: a
member that reads only the leading features contracts those, from the same array.
The ``_par`` variants split entries (centres) over numba's threads; every
output element is written by one thread. ``fastmath`` lets the dot products
use SIMD (a reassociated sum: the same result on every call, within ~1e-16
relative of the serial order). The serial and parallel bodies are written
out twice on purpose: one Python function compiled by two dispatchers may
collide in numba's on-disk cache (``cache=True`` names entries after the function, not
its ``parallel`` flag; not verified, so not risked).
"""
from __future__ import annotations

import numba as nb

_OPTS = dict(cache=True, nogil=True, fastmath=True)


@nb.njit(**_OPTS)
def forward(jac, de_dg, owner, out):
    for q in range(jac.shape[0]):
        a = owner[q]
        for c in range(3):
            s = 0.0
            for f in range(de_dg.shape[1]):
                s += jac[q, c, f] * de_dg[a, f]
            out[q, c] = s


@nb.njit(parallel=True, **_OPTS)
def forward_par(jac, de_dg, owner, out):
    for q in nb.prange(jac.shape[0]):
        a = owner[q]
        for c in range(3):
            s = 0.0
            for f in range(de_dg.shape[1]):
                s += jac[q, c, f] * de_dg[a, f]
            out[q, c] = s


@nb.njit(**_OPTS)
def transpose(jac, w, start, out):
    for a in range(start.shape[0] - 1):
        for f in range(out.shape[1]):
            out[a, f] = 0.0
        for q in range(start[a], start[a + 1]):
            for c in range(3):
                wc = w[q, c]
                for f in range(out.shape[1]):
                    out[a, f] += jac[q, c, f] * wc


@nb.njit(parallel=True, **_OPTS)
def transpose_par(jac, w, start, out):
    for a in nb.prange(start.shape[0] - 1):
        for f in range(out.shape[1]):
            out[a, f] = 0.0
        for q in range(start[a], start[a + 1]):
            for c in range(3):
                wc = w[q, c]
                for f in range(out.shape[1]):
                    out[a, f] += jac[q, c, f] * wc
