"""``matsight tour``: the main job, every workflow on bundled data."""
from __future__ import annotations

from pathlib import Path

import typer

from ._common import console, err_console, print_json


def tour(
    out: Path = typer.Option(Path("tour-report"), "--out", "-o", help="Report folder (index.html, PNG figures, summary.json)."),
    only: list[str] = typer.Option(None, "--only", help="Run only these sections (repeatable)."),
    seed: int = typer.Option(0, "--seed", help="Random seed for every section."),
    json_: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Run every workflow on bundled data; write OUT/index.html and figures; print a summary."""
    from ..report import run_tour

    def announce(key: str) -> None:
        if not json_:
            err_console.print(f"[bold cyan]tour[/] running section [bold]{key}[/] ...")

    with console.status("running the tour", spinner="dots") if not json_ else _null():
        result = run_tour(out, only=only or None, random_state=seed, on_section=announce)
    if json_:
        print_json(result.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"matsight tour -> {out / 'index.html'}")
    table.add_column("workflow")
    table.add_column("quantity")
    table.add_column("value")
    for s in result.sections:
        for i, (k, v) in enumerate(s.summary.items()):
            table.add_row(s.title if i == 0 else "", k, str(v), end_section=i == len(s.summary) - 1)
    console.print(table)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def register(app: typer.Typer) -> None:
    app.command("tour")(tour)
