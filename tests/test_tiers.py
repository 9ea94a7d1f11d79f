"""The test tiers (tests/conftest.py): the README's command leaves out the exhaustive tier, ``-m`` naming
``exhaustive`` selects it, and .ci/run runs both. Each case runs pytest on a two-test folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

TESTS = """import pytest

def test_fast():
    pass

@pytest.mark.exhaustive
def test_exhaustive():
    pass
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    shutil.copy2(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    exhaustive: the exhaustive tier\n")
    (tmp_path / "test_two.py").write_text(TESTS)
    return tmp_path


def _pytest(folder: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _ran(out: str) -> set[str]:
    # one process prints "test_two.py::test_fast PASSED", an xdist worker "PASSED test_two.py::test_fast"
    return {
        name
        for name in ("test_fast", "test_exhaustive")
        if f"::{name} PASSED" in out or f"PASSED test_two.py::{name}" in out
    }


@pytest.mark.parametrize("processes", [[], ["-n", "2"]], ids=["one process", "two xdist workers"])
def test_the_readme_command_leaves_out_the_exhaustive_tier_and_says_so(folder, processes):
    code, out = _pytest(folder, *processes)
    assert code == 0 and _ran(out) == {"test_fast"}, out
    assert "fast tier: 1 exhaustive test(s) left out; `python -m pytest -m exhaustive` runs them" in out


@pytest.mark.parametrize(
    "expression, ran",
    [
        ("exhaustive", {"test_exhaustive"}),
        ("exhaustive or not exhaustive", {"test_fast", "test_exhaustive"}),
        ("not slow", {"test_fast"}),  # another selection still leaves the exhaustive tier out
    ],
)
def test_the_marker_expression_decides_once_it_names_the_tier(folder, expression, ran):
    code, out = _pytest(folder, "-m", expression)
    assert code == 0 and _ran(out) == ran, out


def test_an_exhaustive_file_alone_selects_nothing_and_says_how_to_run_it(folder):
    code, out = _pytest(folder, "test_two.py::test_exhaustive")
    assert code == pytest.ExitCode.NO_TESTS_COLLECTED and "-m exhaustive` runs them" in out, out


SHARED = """import os
import pytest

@pytest.fixture(scope="module")
def made_once():
    with open(os.environ["MADE_LOG"], "a") as log:
        log.write("made\\n")

@pytest.mark.parametrize("k", range(8))
def test_shares(made_once, k):
    pass

@pytest.mark.parametrize("k", range(8))
def test_free(k):
    pass
"""


def test_two_workers_make_a_modules_fixture_once(folder, tmp_path):
    """Under `-n 2 --dist loadgroup` (pyproject.toml's addopts) the tests that share a module's fixture
    run in one worker, which makes it once."""
    (folder / "test_shared.py").write_text(SHARED)
    log = tmp_path / "made.log"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-n", "2", "--dist", "loadgroup"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MADE_LOG": str(log)},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "FixtureGroupScheduling" in out, out
    assert log.read_text() == "made\n", out
    workers = {line.split()[0] for line in out.splitlines() if "PASSED" in line and "test_shares" in line}
    assert len(workers) == 1, out


def test_ci_runs_the_readme_command_then_the_exhaustive_tier():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    exhaustive = next(k for k, line in enumerate(lines) if line.startswith(".venv/bin/python -m pytest -m exhaustive"))
    assert lines.index(".venv/bin/python -m pytest") < exhaustive
