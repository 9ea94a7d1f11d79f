"""A small demo class: submissions made from the source and its wrong variants, then graded.

* ``reference_student`` hands in the source solutions;
* ``blank_student`` hands in the untouched release;
* ``partial_student`` hands in the solutions with the variants listed under ``partial_student`` in
  ``source/<id>/wrong_variants.json`` (realistic mistakes; :mod:`helpers.instructor.catalogue`), so it
  earns exactly the points of the functions it got right.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from helpers.instructor import notebooks as nbu
from helpers.instructor.catalogue import all_variants, apply_variant, load_variants, strip_markers
from helpers.instructor.settings import course_paths

STUDENTS = ("reference_student", "partial_student", "blank_student")


def filled_notebook(root: Path, assignment: str, variant_names: list[str] = ()) -> nbformat.NotebookNode:
    """The release notebook with every solution cell answered as the source does, then the variants applied."""
    paths = course_paths(root)
    release = nbu.read_notebook(paths.notebook("release", assignment))
    source = nbu.read_notebook(paths.notebook("source", assignment))
    answers = {nbu.grade_id(c): strip_markers(c.source) for c in nbu.solution_cells(source)}
    variants = all_variants(root, assignment)
    for name in variant_names:
        if name not in variants:
            raise KeyError(f"{assignment}: no variant named {name!r} in wrong_variants.json or correct_variants.json")
        variant = variants[name]
        answers[variant["cell"]] = apply_variant(assignment, answers[variant["cell"]], variant)
    for cell in release.cells:
        if nbu.is_solution(cell) and nbu.grade_id(cell) in answers:
            cell.source = answers[nbu.grade_id(cell)]
    return release


def expected_score(root: Path, assignment: str, variant_names: list[str]) -> float:
    """Full marks minus the points of every test cell the variants are declared to fail."""
    source = nbu.read_notebook(course_paths(root).notebook("source", assignment))
    variants = all_variants(root, assignment)
    failing = {gid for name in variant_names for gid in variants[name]["fails"]}
    return sum(nbu.points(c) for c in nbu.test_cells(source) if nbu.grade_id(c) not in failing)


def write_submission(root: Path, student: str, assignment: str, nb: nbformat.NotebookNode) -> Path:
    path = course_paths(root).notebook("submitted", assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def create_demo_class(root: Path, assignments: list[str]) -> dict[tuple[str, str], float]:
    """Write the three demo students' submissions; returns the score each should get."""
    expected = {}
    for assignment in assignments:
        variants = load_variants(root, assignment)
        partial = list(variants.get("partial_student", []))
        blank = course_paths(root).notebook("submitted", assignment, "blank_student")
        blank.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(course_paths(root).notebook("release", assignment), blank)
        write_submission(root, "reference_student", assignment, filled_notebook(root, assignment))
        write_submission(root, "partial_student", assignment, filled_notebook(root, assignment, partial))
        full = expected_score(root, assignment, [])
        expected[("reference_student", assignment)] = full
        expected[("partial_student", assignment)] = expected_score(root, assignment, partial)
        expected[("blank_student", assignment)] = 0.0
    return expected
