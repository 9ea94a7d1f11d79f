"""The committed ruff configuration (pyproject.toml's [tool.ruff]) holds for the whole tree: lint and format."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

RUFF = Path(sys.executable).parent / "ruff"


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_passes(command):
    assert RUFF.exists(), "ruff is one of the course's dependencies (pyproject.toml): reinstall with pip install -e ."
    proc = subprocess.run([str(RUFF), *command, "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (
        f"`ruff {' '.join(command)} .` failed (run `ruff check --fix .` and "
        f"`ruff format .`):\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    )
