"""Shared fixtures: run the CLI in-process and capture its output."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """``cli(["regress", ...]) -> CliResult(code, out, err)``, run in-process."""
    from matsight.cli.main import main

    def _run(argv):
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run
