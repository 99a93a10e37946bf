"""``matsight tour``: run every workflow on bundled data and write a report.

Each capability contributes one section function with the signature
``section(out_dir: pathlib.Path, random_state: int = 0) -> Section``; the
functions are listed in :data:`SECTIONS` as import strings so that this
module imports nothing heavy. A section writes its PNG figures into
``out_dir`` and returns a :class:`Section` describing them.
"""
from __future__ import annotations

import html
import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..io import atomic_write, write_json

__all__ = ["SECTIONS", "Section", "TourResult", "run_tour"]

#: (key, "module:function") of every section, in report order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("regression", "matsight.learn._tour_regression:section"),
    ("descriptors", "matsight.composition._tour:section"),
    ("classification", "matsight.learn._tour_classify:section"),
    ("clustering", "matsight.learn._tour_cluster:section"),
    ("potential", "matsight.potentials._tour:section"),
)


@dataclass
class Section:
    """One workflow's part of the tour report.

    Attributes
    ----------
    key, title : str
        Identifier and heading.
    summary : dict of str to str
        A few headline numbers, already formatted, for the summary table.
    figures : list of str
        PNG file names, relative to the report folder.
    html : str
        An HTML fragment (paragraphs, tables) describing the result.
    data : dict
        The result's ``to_dict()``, saved in ``summary.json``.
    """

    key: str
    title: str
    summary: dict[str, str] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    html: str = ""
    data: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class TourResult:
    out_dir: Path
    sections: list[Section]

    def to_dict(self) -> dict:
        return {
            "out_dir": str(self.out_dir),
            "sections": {
                s.key: {"title": s.title, "summary": s.summary, "figures": s.figures, "seconds": round(s.seconds, 2), "data": s.data}
                for s in self.sections
            },
        }


def _load(spec: str):
    mod, func = spec.split(":")
    return getattr(importlib.import_module(mod), func)


def run_tour(out_dir, only: list[str] | None = None, random_state: int = 0, on_section=None) -> TourResult:
    """Run the tour and write ``out_dir/index.html``, figures and ``summary.json``.

    Parameters
    ----------
    out_dir : path-like
        Report folder (created if missing).
    only : list of str, optional
        Section keys to run (default: all available).
    random_state : int
        Seed passed to every section.
    on_section : callable, optional
        Called as ``on_section(key)`` before each section (progress display).
    """
    from ..errors import MatsightError

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    keys = [k for k, _ in SECTIONS]
    if only:
        unknown = [k for k in only if k not in keys]
        if unknown:
            raise MatsightError(f"unknown tour section {', '.join(unknown)}; sections are: {', '.join(keys)}")
    sections: list[Section] = []
    for key, spec in SECTIONS:
        if only and key not in only:
            continue
        func = _load(spec)
        if on_section is not None:
            on_section(key)
        t0 = time.perf_counter()
        sec = func(out_dir, random_state=random_state)
        sec.seconds = time.perf_counter() - t0
        sections.append(sec)
    result = TourResult(out_dir=out_dir, sections=sections)
    write_json(out_dir / "summary.json", result.to_dict())
    with atomic_write(out_dir / "index.html") as fh:
        fh.write(render_html(result))
    return result


def render_html(result: TourResult) -> str:
    """The tour's ``index.html``: a summary table, then one section per workflow."""
    from .. import __version__

    rows = []
    for s in result.sections:
        for k, v in s.summary.items():
            rows.append(f"<tr><td>{html.escape(s.title)}</td><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>matsight tour</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.45}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
        "img{max-width:100%;border:1px solid #eee;margin:6px 0}h2{border-bottom:2px solid #369}</style></head><body>",
        f"<h1>matsight tour</h1><p>matsight {html.escape(__version__)}: every workflow run on bundled, real data.</p>",
        "<h2>Summary</h2><table><tr><th>workflow</th><th>quantity</th><th>value</th></tr>",
        *rows,
        "</table>",
    ]
    for s in result.sections:
        parts.append(f"<h2 id='{html.escape(s.key)}'>{html.escape(s.title)}</h2>")
        parts.append(s.html)
        for fig in s.figures:
            parts.append(f"<figure><img src='{html.escape(fig)}' alt='{html.escape(fig)}'></figure>")
        parts.append(f"<p><small>{s.seconds:.1f} s</small></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
