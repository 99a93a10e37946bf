"""``matsight featurize``: Magpie composition descriptors of a table of formulas."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._common import console, print_json, progress_bar


def featurize_cmd(
    source: str = typer.Argument(..., metavar="IN", help="A .csv/.parquet file or a bundled dataset name (e.g. mp_e_form)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .csv or .parquet (by suffix), written atomically."),
    formula_column: str = typer.Option("formula", "--formula-column", help="Column holding the formulas."),
    chunk_size: int = typer.Option(50_000, "--chunk-size", help="Rows read and featurized at a time (bounds memory)."),
    on_error: str = typer.Option("fail", "--on-error", help="A bad formula: 'fail' (name its row and stop) or 'skip' the row."),
    extra: Optional[List[str]] = typer.Option(None, "--extra", help="Add 'en_difference' and/or 'p_norms' after the 132 Magpie columns (repeatable)."),
    json_: bool = typer.Option(False, "--json", help="Print a JSON summary {rows, features, out, ...}."),
) -> None:
    """Append the 132 Magpie descriptors (matminer labels) to every row of IN.

    Rows are numbered from 1, counting data rows only (row N is line N+1 of a
    CSV with a header). With --on-error fail (the default) a bad formula stops
    the run and OUT is not written.
    """
    from ..composition._files import count_rows, featurize_file

    total = count_rows(source)
    with progress_bar("featurizing", total, enabled=not json_) as advance:
        result = featurize_file(
            source, out, formula_column=formula_column, chunk_size=chunk_size,
            on_error=on_error, extras=tuple(extra or ()), progress=advance,
        )
    if json_:
        print_json(result.to_dict())
        return
    msg = f"wrote {result.rows} rows x {result.features} features to {result.out} in {result.seconds:.2f} s"
    if result.skipped_rows:
        msg += f" ({result.skipped_rows} rows with a bad formula skipped)"
    console.print(msg, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("featurize")(featurize_cmd)
