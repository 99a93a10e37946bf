"""Input and output helpers shared by every workflow.

* :func:`atomic_write` writes through a temporary file and a rename, so a
  crash never leaves a half-written output.
* :func:`read_table` reads a CSV path *or* the name of a bundled dataset.
* :func:`require_columns` checks that a table has the columns a command needs.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from .errors import MatsightError

__all__ = ["atomic_write", "write_json", "read_table", "require_columns", "to_jsonable"]


def _default_mode() -> int:
    """Permissions a plain ``open(..., "w")`` would give (0o666 less the umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a temporary file next to ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its folder is created if missing.
    mode : {"w", "wb"}
        Text or binary.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    For writers that want a file name rather than a handle (matplotlib,
    pandas' parquet writer, safetensors).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def to_jsonable(obj):
    """Turn numpy scalars/arrays, NaN and paths into plain JSON values (NaN -> None)."""
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path) as fh:
        json.dump(to_jsonable(obj), fh, indent=2)
        fh.write("\n")


def read_table(source, **read_csv_kwargs):
    """Read a table from a CSV/Parquet path or a bundled dataset name.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        A path to ``.csv``/``.csv.gz``/``.parquet``, or the name of a bundled
        dataset (see ``matsight data list``), with or without ``.csv``.
        A DataFrame is returned as a copy.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    MatsightError
        If the file does not exist, is empty, or cannot be parsed.
    """
    import pandas as pd

    from . import datasets

    if isinstance(source, pd.DataFrame):
        return source.copy()
    text = str(source)
    path = Path(text)
    if not path.exists():
        if datasets.is_dataset(text):
            return datasets.load(text)
        raise MatsightError(
            f"{text!r} is neither an existing file nor a bundled dataset "
            f"(bundled: {', '.join(datasets.names())})"
        )
    if path.is_dir():
        raise MatsightError(f"{text!r} is a folder, not a table file")
    if path.stat().st_size == 0:
        raise MatsightError(f"{text!r} is empty")
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        else:
            df = pd.read_csv(path, **read_csv_kwargs)
    except pd.errors.EmptyDataError:
        raise MatsightError(f"{text!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise MatsightError(f"could not read {text!r} as a table: {exc}") from None
    if len(df) == 0:
        raise MatsightError(f"{text!r} has a header but no rows")
    return df


def require_columns(df, columns: Iterable[str], source: str = "the table") -> None:
    """Raise :class:`MatsightError` naming every column of ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MatsightError(
            f"{source} has no column {', '.join(repr(c) for c in missing)} "
            f"(columns: {', '.join(map(str, df.columns[:20]))}{' ...' if len(df.columns) > 20 else ''})"
        )
