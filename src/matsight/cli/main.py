"""Entry point of the ``matsight`` command.

Every user mistake surfaces as :class:`matsight.MatsightError`; :func:`main`
prints it as one line on stderr and returns exit code 2, never a traceback.
Each command module registers its commands with ``register(app)`` and imports
its heavy dependencies inside the command body, so ``matsight --help`` is fast.
"""
from __future__ import annotations

import importlib
import sys

import typer
from typer.exceptions import Abort as _Abort
from typer.exceptions import Exit as _Exit

try:  # typer >= 0.2x vendors click; older releases depend on it
    from typer.exceptions import TyperException as _UsageBase
except ImportError:  # pragma: no cover
    from click import ClickException as _UsageBase

from ..errors import MatsightError
from ._common import err_console

app = typer.Typer(
    name="matsight",
    help="Machine learning for materials science, on real data, validated against independent references.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# One module per capability; each defines register(app).
_COMMAND_MODULES = (
    "_data",
    "_featurize",
    "_perovskite",
    "_regress",
    "_classify",
    "_cluster",
    "_potential",
    "_tour",
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    """matsight: machine learning for materials science."""
    if version:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(f".{name}", __package__).register(app)


_register_all()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    try:
        rv = app(args=argv, prog_name="matsight", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except MatsightError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except _Exit as exc:
        return exc.exit_code
    except _UsageBase as exc:
        if hasattr(exc, "show"):
            exc.show()
        else:  # pragma: no cover
            err_console.print(f"error: {exc.format_message()}")
        return int(getattr(exc, "exit_code", 2))
    except (_Abort, KeyboardInterrupt):
        err_console.print("interrupted")
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
