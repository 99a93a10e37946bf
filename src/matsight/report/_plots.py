"""Reusable figure helpers (matplotlib, Agg backend, atomic saves).

Every function takes plain arrays, draws on a fresh :class:`matplotlib.figure.Figure`
(no pyplot global state, so it is safe in tests and threads) and writes the
PNG atomically with :func:`matsight.io.atomic_path`. matplotlib is imported
inside the functions.

* :func:`new_figure` / :func:`save_figure`: the figure plumbing.
* :func:`fit_plot`: data, fitted curve, confidence band and prediction band.
* :func:`parity_plot`: predicted against observed with the ``y = x`` line.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["fit_plot", "new_figure", "parity_plot", "save_figure"]


def new_figure(figsize: tuple[float, float] = (6.0, 4.5)):
    """Return ``(fig, ax)``: a Figure with an Agg canvas and one Axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    return fig, ax


def save_figure(fig, path: str | os.PathLike, dpi: int | None = 120, fmt: str | None = None) -> Path:
    """Save ``fig`` to ``path`` atomically.

    ``fmt`` forces the image format; by default it follows the suffix (PNG without one).
    ``dpi=None`` keeps matplotlib's default resolution.
    """
    from ..io import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi if dpi is not None else "figure", format=fmt or (path.suffix.lstrip(".") or "png"))
    return path


def _annotate(ax, x, y, labels, max_labels: int, score=None) -> None:
    """Label the ``max_labels`` points with the largest ``score`` (default: distance from the cloud's centre)."""
    if labels is None or max_labels <= 0 or len(x) == 0:
        return
    labels = np.asarray(labels, dtype=object)
    if score is None:
        score = np.abs((x - np.mean(x)) / (np.std(x) or 1.0)) + np.abs((y - np.mean(y)) / (np.std(y) or 1.0))
    score = np.where(np.isfinite(score), score, -np.inf)
    for i in np.argsort(-score)[:max_labels]:
        ax.annotate(str(labels[i]), (x[i], y[i]), fontsize=7, xytext=(3, 3), textcoords="offset points", alpha=0.8)


def fit_plot(
    path,
    x,
    y,
    x_line,
    y_line,
    confidence_band=None,
    prediction_band=None,
    *,
    xlabel: str = "x",
    ylabel: str = "y",
    title: str | None = None,
    level: float = 0.95,
    labels=None,
    max_labels: int = 12,
    log: bool = False,
    text: str | None = None,
) -> Path:
    """Scatter ``(x, y)`` with a fitted curve and its bands; write a PNG.

    Parameters
    ----------
    path : path-like
        Output file (``.png``).
    x, y : array (n,)
        Data.
    x_line, y_line : array (m,)
        The fitted curve on an increasing grid.
    confidence_band, prediction_band : (array (m,), array (m,)), optional
        Lower and upper limits of the band of the mean and of a new observation.
    labels : array (n,) of str, optional
        Point labels (e.g. formulas); the ``max_labels`` points farthest from the
        curve are annotated.
    log : bool
        Log-log axes (for power laws).
    text : str, optional
        A note in the upper-left corner (e.g. the fitted equation).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    fig, ax = new_figure()
    pct = f"{100 * level:g} %"
    if prediction_band is not None:
        ax.fill_between(x_line, prediction_band[0], prediction_band[1], color="tab:orange", alpha=0.18, lw=0,
                        label=f"{pct} prediction band")
    if confidence_band is not None:
        ax.fill_between(x_line, confidence_band[0], confidence_band[1], color="tab:blue", alpha=0.35, lw=0,
                        label=f"{pct} confidence band")
    ax.scatter(x, y, s=14, color="0.25", alpha=0.7, lw=0, label=f"data (n = {len(x)})")
    ax.plot(x_line, y_line, color="tab:blue", lw=2, label="fit")
    # label the points farthest from the curve: the ones a reader asks about
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            resid = np.log(y) - np.interp(np.log(x), np.log(x_line), np.log(y_line))
    else:
        resid = y - np.interp(x, x_line, y_line)
    _annotate(ax, x, y, labels, max_labels, score=np.abs(resid))
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    return _finish(fig, ax, path, xlabel, ylabel, title, text)


def _finish(fig, ax, path, xlabel, ylabel, title, text) -> Path:
    """Labels, title, corner note and legend shared by the plots; save atomically."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    if text:
        ax.text(0.02, 0.98, text, transform=ax.transAxes, va="top", ha="left", fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path)


def parity_plot(
    path,
    observed,
    predicted,
    *,
    xlabel: str = "observed",
    ylabel: str = "predicted (leave-one-out)",
    title: str | None = None,
    labels=None,
    max_labels: int = 10,
    text: str | None = None,
    log: bool = False,
) -> Path:
    """Predicted against observed, with the ``y = x`` line; write a PNG.

    Parameters
    ----------
    observed, predicted : array (n,)
        Same units; NaN pairs are skipped.
    labels : array (n,) of str, optional
        The ``max_labels`` worst-predicted points are annotated.
    text : str, optional
        A note (e.g. ``"LOO MAE = 0.9 eV"``) in the upper-left corner.
    """
    o, p = np.asarray(observed, float), np.asarray(predicted, float)
    ok = np.isfinite(o) & np.isfinite(p)
    fig, ax = new_figure((5.0, 5.0))
    ax.scatter(o[ok], p[ok], s=14, color="tab:blue", alpha=0.6, lw=0, label=f"n = {int(ok.sum())}")
    both = np.concatenate([o[ok], p[ok]])
    lo, hi = (both.min(), both.max()) if both.size else (0.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    lims = (lo / 1.2, hi * 1.2) if log else (lo - pad, hi + pad)
    ax.plot(lims, lims, color="0.3", lw=1, ls="--", label="y = x")
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_aspect("equal", adjustable="box")
    labels_ok = None if labels is None else np.asarray(labels, dtype=object)[ok]
    with np.errstate(divide="ignore", invalid="ignore"):
        miss = np.abs(np.log(p[ok]) - np.log(o[ok])) if log else np.abs(p[ok] - o[ok])
    _annotate(ax, o[ok], p[ok], labels_ok, max_labels, score=miss)
    return _finish(fig, ax, path, xlabel, ylabel, title, text)
