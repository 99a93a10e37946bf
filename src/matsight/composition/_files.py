"""Featurize a table of formulas chunk by chunk, writing CSV or Parquet atomically."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

from ..errors import MatsightError
from ..io import atomic_path, atomic_write
from ._magpie import amount_matrix, descriptor_names, featurize_matrix

__all__ = ["FeaturizeFileResult", "count_rows", "featurize_file"]

_CSV_SUFFIXES = (".csv",)
_PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass
class FeaturizeFileResult:
    """Summary of :func:`featurize_file`.

    Attributes
    ----------
    rows : int
        Rows written to ``out``.
    features : int
        Feature columns appended to the input columns.
    out : str
        The output file.
    skipped_rows : int
        Rows left out because of a bad formula (``on_error="skip"``), else 0.
    chunks : int
        Chunks read.
    seconds : float
        Wall time of the whole run, in seconds.
    """

    rows: int
    features: int
    out: str
    skipped_rows: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def _source_name(source) -> str:
    import pandas as pd

    return "the DataFrame" if isinstance(source, pd.DataFrame) else repr(str(source))


def _is_csv_file(source) -> bool:
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return False
    path = Path(str(source))
    return path.is_file() and path.stat().st_size > 0 and path.suffix.lower() not in _PARQUET_SUFFIXES


_TYPE_PASS_ROWS = 100_000


def _csv_dtypes(path, formula_column: str) -> dict | None:
    """One streaming pass over a CSV to find column types that hold for the whole file.

    pandas infers types block by block, so a column can be int64 in one chunk
    and float64 (a missing value) or object in the next, which a Parquet file
    with one schema cannot take. This pass reads blocks of a fixed
    ``_TYPE_PASS_ROWS`` rows (so the result does not depend on ``--chunk-size``)
    and merges their types: the common type if all blocks agree, float64 for
    int/float, nullable ``Int64``/``boolean`` when a block has gaps, str
    otherwise. Returns None if the file cannot be read (the main pass then
    reports the problem).
    """
    import pandas as pd
    from pandas.api import types as pt

    kinds: dict[str, set] = {}
    nulls: dict[str, bool] = {}
    try:
        for chunk in pd.read_csv(path, chunksize=_TYPE_PASS_ROWS, dtype={formula_column: str}):
            for col in chunk.columns:
                series = chunk[col]
                nulls[col] = nulls.get(col, False) or bool(series.isna().any())
                kinds.setdefault(col, set())
                if series.isna().all():
                    continue  # an all-empty block says nothing about the type
                dt = series.dtype
                if pt.is_bool_dtype(dt) or (dt == object and pt.infer_dtype(series, skipna=True) == "boolean"):
                    kinds[col].add("bool")
                elif pt.is_integer_dtype(dt):
                    kinds[col].add("int")
                elif pt.is_float_dtype(dt):
                    kinds[col].add("float")
                else:
                    kinds[col].add("str")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError):
        return None
    out = {}
    for col, ks in kinds.items():
        if ks == {"int"}:
            out[col] = "Int64" if nulls[col] else "int64"
        elif ks == {"bool"}:
            out[col] = "boolean" if nulls[col] else "bool"
        elif ks and ks <= {"int", "float"}:
            out[col] = "float64"
        else:
            out[col] = str
    return out


def _iter_chunks(source, chunk_size: int, formula_column: str, dtypes: dict | None = None) -> Iterator:
    """Yield DataFrame chunks of ``source`` (a path, a dataset name or a DataFrame)."""
    import pandas as pd

    from .. import datasets

    if isinstance(source, pd.DataFrame):
        frame = source
    else:
        text = str(source)
        path = Path(text)
        if not path.exists():
            if not datasets.is_dataset(text):
                raise MatsightError(
                    f"{text!r} is neither an existing file nor a bundled dataset "
                    f"(bundled: {', '.join(datasets.names())})"
                )
            frame = datasets.load(text)
        elif path.is_dir():
            raise MatsightError(f"{text!r} is a folder, not a table file")
        elif path.stat().st_size == 0:
            raise MatsightError(f"{text!r} is empty")
        elif path.suffix.lower() in _PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            try:
                pfile = pq.ParquetFile(path)
            except Exception as exc:  # pyarrow raises several types
                raise MatsightError(f"could not read {text!r} as Parquet: {exc}") from None
            for batch in pfile.iter_batches(batch_size=chunk_size):
                yield batch.to_pandas()
            return
        else:
            try:
                reader = pd.read_csv(path, chunksize=chunk_size, dtype={**(dtypes or {}), formula_column: str})
                yield from reader
            except pd.errors.EmptyDataError:
                raise MatsightError(f"{text!r} is empty") from None
            except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
                raise MatsightError(f"could not read {text!r} as a CSV table: {exc}") from None
            return
    for start in range(0, len(frame), chunk_size):
        yield frame.iloc[start:start + chunk_size]


def count_rows(source) -> int | None:
    """Number of data rows of ``source`` for a progress bar (None when not cheap to know)."""
    import pandas as pd

    from .. import datasets

    if isinstance(source, pd.DataFrame):
        return len(source)
    path = Path(str(source))
    if not path.exists():
        return datasets.info(str(source)).rows if datasets.is_dataset(str(source)) else None
    if path.is_dir():
        return None
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        except Exception:
            return None
    if path.suffix.lower() != ".csv":
        return None
    n = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
    return max(n - 1, 0)


def featurize_file(
    source,
    out,
    formula_column: str = "formula",
    chunk_size: int = 50_000,
    on_error: str = "fail",
    preset: str | None = "magpie",
    extras=(),
    progress: Callable[[int], None] | None = None,
) -> FeaturizeFileResult:
    """Append composition descriptors to every row of a table, in bounded memory.

    The input is read ``chunk_size`` rows at a time (pandas ``chunksize`` for
    CSV, ``iter_batches`` for Parquet); each chunk is featurized and appended
    to a temporary file that is renamed onto ``out`` only when all rows are
    done, so a failure never leaves a partial ``out``.

    Parameters
    ----------
    source : path-like, str or pandas.DataFrame
        A ``.csv``/``.csv.gz``/``.parquet`` file, a bundled dataset name
        (e.g. ``"mp_e_form"``) or a DataFrame (not modified).
    out : path-like
        ``.csv`` or ``.parquet``; the input columns, then one column per feature
        (matminer's labels for the Magpie block).
    formula_column : str
        Column holding the formulas.
    chunk_size : int
        Rows per chunk (> 0); results do not depend on it.
    on_error : {"fail", "skip"}
        ``"fail"``: a bad formula raises :class:`MatsightError` naming its row
        (1-based, counting data rows, so line N+1 of a CSV with a header) and
        the formula; ``"skip"``: such rows are left out and counted.
    preset, extras
        As for :func:`matsight.composition.featurize`.
    progress : callable, optional
        Called with the number of rows done after each chunk.

    Returns
    -------
    FeaturizeFileResult
    """
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    if on_error not in ("fail", "skip"):
        raise MatsightError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    if int(chunk_size) <= 0:
        raise MatsightError(f"chunk size must be a positive number of rows, got {chunk_size}")
    names = descriptor_names(preset, extras)
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in _CSV_SUFFIXES + _PARQUET_SUFFIXES:
        raise MatsightError(f"output {str(out)!r} must end in .csv or .parquet")
    src = _source_name(source)

    # CSV -> Parquet: fix the column types over the whole file first (one extra streaming pass)
    dtypes = _csv_dtypes(source, formula_column) if (
        suffix in _PARQUET_SUFFIXES and _is_csv_file(source)) else None
    rows = skipped = chunks = 0
    seen = 0
    writer = None
    ctx = atomic_write(out, "w", newline="") if suffix in _CSV_SUFFIXES else atomic_path(out)
    with ctx as target:
        try:
            for chunk in _iter_chunks(source, int(chunk_size), formula_column, dtypes):
                if chunks == 0:
                    if formula_column not in chunk.columns:
                        raise MatsightError(
                            f"{src} has no formula column {formula_column!r} (columns: "
                            f"{', '.join(map(str, chunk.columns[:20]))}); use --formula-column"
                        )
                    clash = [c for c in names if c in chunk.columns]
                    if clash:
                        raise MatsightError(
                            f"{src} already has feature columns such as {clash[0]!r}; "
                            "featurize the original table instead"
                        )
                chunks += 1
                m = amount_matrix(chunk[formula_column].tolist(), on_error="skip")
                if m.errors:
                    i, msg = m.errors[0]
                    if on_error == "fail":
                        raise MatsightError(f"row {seen + i + 1} of {src}: {msg}")
                    skipped += len(m.errors)
                values = featurize_matrix(m, preset, extras)
                kept = chunk.iloc[np.flatnonzero(m.ok)] if m.errors else chunk
                frame = pd.concat(
                    [kept.reset_index(drop=True), pd.DataFrame(values, columns=names)], axis=1
                )
                seen += len(chunk)
                rows += len(frame)
                if suffix in _CSV_SUFFIXES:
                    frame.to_csv(target, header=chunks == 1, index=False)
                else:
                    writer = _write_parquet(frame, target, writer, src)
                if progress is not None:
                    progress(len(chunk))
            if chunks == 0 or seen == 0:
                raise MatsightError(f"{src} has a header but no rows")
        finally:
            if writer is not None:
                writer.close()
    return FeaturizeFileResult(rows=rows, features=len(names), out=str(out), skipped_rows=skipped,
                               chunks=chunks, seconds=round(time.perf_counter() - t0, 3))


def _write_parquet(frame, path, writer, src):
    """Append ``frame`` to the Parquet ``writer`` (opened on the first chunk)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if writer is None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema])
        table = table.cast(schema)
        writer = pq.ParquetWriter(path, schema)
    else:
        try:
            table = pa.Table.from_pandas(frame, schema=writer.schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise MatsightError(
                f"a column of {src} changes type between chunks ({exc}); use a larger --chunk-size "
                "or write CSV"
            ) from None
    writer.write_table(table)
    return writer
