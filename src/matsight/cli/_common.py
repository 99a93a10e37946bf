"""Shared CLI helpers: consoles, JSON output, progress bars, option types."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from rich.console import Console

from ..io import to_jsonable

__all__ = ["console", "err_console", "print_json", "progress_bar"]

console = Console()
err_console = Console(stderr=True)


def print_json(obj) -> None:
    """Print ``obj`` as JSON on stdout (NaN becomes null; numpy types become plain numbers)."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


@contextmanager
def progress_bar(description: str, total: float | None, enabled: bool = True):
    """A rich progress bar on stderr; yields ``advance(n=1)``.

    Disabled (a no-op) when ``enabled`` is false, e.g. under ``--json``.
    """
    if not enabled:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
    ) as prog:
        task = prog.add_task(description, total=total)
        yield lambda n=1: prog.advance(task, n)
