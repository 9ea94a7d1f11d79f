"""Structure of the course notebooks, and that generated folders are current and answer-free."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpers.instructor import notebooks as nbu
from helpers.paths import ASSIGNMENTS

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [a for a in ASSIGNMENTS if (ROOT / "source" / a / f"{a}.ipynb").is_file()]
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def source(assignment):
    return nbu.read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")


def test_the_first_assignment_exists():
    assert "cnn_step_by_step" in SOURCES


@pytest.mark.parametrize("assignment", SOURCES)
def test_source_has_no_outputs(assignment):
    for k, cell in enumerate(source(assignment).cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"cell {k} of {assignment} carries output: run `course release` (or `course normalize`)"
            )


@pytest.mark.parametrize("assignment", SOURCES)
def test_source_is_normalised(assignment):
    """nbformat 4.5, stable cell ids, no outputs, none of Lab's metadata: what `course normalize` writes."""
    from helpers.instructor.normalize import normalized_text

    path = ROOT / "source" / assignment / f"{assignment}.ipynb"
    assert path.read_text(encoding="utf-8") == normalized_text(path), (
        f"source/{assignment} is not in its normal form: run `course release` (or `course normalize`)"
    )


@pytest.mark.parametrize("assignment", SOURCES)
def test_grade_ids_unique_and_points_total_100(assignment):
    nb = source(assignment)
    ids = [nbu.grade_id(c) for c in nb.cells if nbu.grade_id(c)]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert sum(nbu.points(c) for c in nbu.test_cells(nb)) == 100


@pytest.mark.parametrize("assignment", SOURCES)
def test_solution_cells_follow_the_conventions(assignment):
    nb = source(assignment)
    solutions = nbu.solution_cells(nb)
    assert solutions
    for cell in solutions:
        text = cell.source
        gid = nbu.grade_id(cell)
        assert re.search(rf"^def {re.escape(gid)}\(", text, re.M), f"solution cell {gid} must define {gid}()"
        start, begin = text.index("### START CODE HERE ###"), text.index("### BEGIN SOLUTION")
        end, stop = text.index("### END SOLUTION"), text.index("### END CODE HERE ###")
        assert start < begin < end < stop, f"{gid}: markers out of order"
        assert not nbu.is_test(cell)


@pytest.mark.parametrize("assignment", SOURCES)
def test_test_cells_follow_the_conventions(assignment):
    nb = source(assignment)
    cells = nb.cells
    solution_ids = [nbu.grade_id(c) for c in nbu.solution_cells(nb)]
    tested_functions = set()
    for k, cell in enumerate(cells):
        if not nbu.is_test(cell):
            continue
        gid = nbu.grade_id(cell)
        meta = nbu.nbgrader_meta(cell)
        assert meta.get("locked"), f"{gid} must be locked"
        owner = next((f for f in sorted(solution_ids, key=len, reverse=True) if gid.startswith(f + "_")), None)
        assert owner, f"test cell {gid} must be named <function>_<property>"
        tested_functions.add(owner)
        heading = cells[k - 1]
        points = nbu.points(cell)
        assert heading.cell_type == "markdown" and re.match(
            rf"^#+ .*\({points:g} points?\)\s*$", heading.source.strip()
        ), f"{gid}: heading must state {points:g} points"
        assert nbu.docstring_line(cell.source), f"{gid}: first line must be a docstring saying what it checks"
        body = cell.source
        assert "### BEGIN HIDDEN TESTS" in body and "### END HIDDEN TESTS" in body, f"{gid} has no hidden tests"
        visible = body.split("### BEGIN HIDDEN TESTS")[0]
        assert "check." in visible, f"{gid}: visible checks come first"
    assert tested_functions == set(solution_ids), f"untested functions: {set(solution_ids) - tested_functions}"


@pytest.mark.parametrize("folder", ["release", "helpers", "notebooks"])
def test_no_answer_or_hidden_test_in_student_facing_folders(folder):
    leaks = []
    for path in (ROOT / folder).rglob("*"):
        if path.is_file() and path.suffix in (".ipynb", ".py", ".md", ".json", ".txt", ".html"):
            text = path.read_text(errors="replace")
            leaks += [f"{path.relative_to(ROOT)}: {m}" for m in MARKERS if m in text]
    assert leaks == []


@pytest.mark.parametrize("assignment", SOURCES)
def test_release_solutions_are_stubs(assignment):
    release = nbu.read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb")
    for cell in nbu.solution_cells(release):
        assert "raise NotImplementedError()" in cell.source
    original = {nbu.grade_id(c): c for c in source(assignment).cells if nbu.grade_id(c)}
    for cell in nbu.test_cells(release):
        assert cell.source == nbu.strip_hidden_tests(original[nbu.grade_id(cell)].source).rstrip(
            "\n"
        ) or cell.source == nbu.strip_hidden_tests(original[nbu.grade_id(cell)].source)


def test_release_is_current(tmp_path):
    """Regenerating release/ from the normalised source/ through nbgrader gives the committed files, byte for
    byte (so a source notebook Lab ran and saved still releases as committed)."""
    from helpers.instructor.release import normalize_sources

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source", course / "source")
    normalize_sources(course)
    env_path = str(Path(sys.executable).parent)
    import os

    env = dict(os.environ, PATH=env_path + os.pathsep + os.environ.get("PATH", ""))
    for assignment in SOURCES:
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force", "--log-level=ERROR"],
            cwd=course,
            env=env,
            check=True,
            capture_output=True,
        )
    committed = sorted(p.relative_to(ROOT / "release") for p in (ROOT / "release").rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(course / "release") for p in (course / "release").rglob("*") if p.is_file())
    assert committed == fresh, "release/ lists other files than a fresh release: run `course release`"
    for rel in committed:
        assert (ROOT / "release" / rel).read_bytes() == (course / "release" / rel).read_bytes(), (
            f"release/{rel} is stale: run `course release`"
        )
