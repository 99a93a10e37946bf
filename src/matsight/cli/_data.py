"""``matsight data list|show``: the bundled datasets and their provenance."""
from __future__ import annotations

import typer

from ._common import console, print_json

data_app = typer.Typer(help="Bundled datasets and their provenance.", no_args_is_help=True)


@data_app.command("list")
def list_cmd(json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON.")) -> None:
    """List the bundled datasets with their rows, licence and citation."""
    from .. import datasets

    infos = datasets.list_datasets()
    if json_:
        print_json([d.to_dict() for d in infos])
        return
    from rich.table import Table

    table = Table(title="Bundled datasets")
    for col in ("name", "rows", "licence", "source"):
        table.add_column(col)
    for d in infos:
        table.add_row(d.name, str(d.rows), d.licence, d.citation.split(",")[0] + f" (doi:{d.doi})")
    console.print(table)


@data_app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="Dataset name, e.g. band_gaps."),
    rows: int = typer.Option(5, "--rows", "-n", help="How many rows to preview."),
    json_: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Show one dataset's provenance, columns and first rows."""
    from .. import datasets

    d = datasets.resolve(name)
    df = datasets.load(name)
    if json_:
        out = d.to_dict()
        out["shape"] = list(df.shape)
        out["head"] = df.head(rows).to_dict(orient="records")
        print_json(out)
        return
    console.print(f"[bold]{d.name}[/]  ({d.file}, {len(df)} rows x {df.shape[1]} columns)")
    console.print(d.description)
    console.print(f"[bold]Citation:[/] {d.citation}")
    console.print(f"[bold]DOI:[/] {d.doi}    [bold]Licence:[/] {d.licence}")
    console.print(f"[bold]Columns:[/] {', '.join(map(str, df.columns))}")
    console.print(df.head(rows).to_string(max_cols=12))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
