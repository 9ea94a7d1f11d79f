"""A small demo class: submissions made from the source and its wrong variants, then graded.

* ``reference_student`` hands in the source solutions;
* ``blank_student`` hands in the untouched release;
* ``partial_student`` hands in the solutions with the variants listed under ``partial_student`` in
  ``source/<id>/wrong_variants.json`` (realistic mistakes), so it earns exactly the points of the
  functions it got right.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from helpers.instructor import notebooks as nbu

STUDENTS = ("reference_student", "partial_student", "blank_student")


VARIANT_FILES = {"wrong": "wrong_variants.json", "correct": "correct_variants.json"}


def load_variants(root: Path, assignment: str, kind: str = "wrong") -> dict:
    """``source/<id>/wrong_variants.json`` (realistic mistakes) or ``correct_variants.json`` (correct
    answers written another way): edits of the source solutions, never released."""
    path = root / "source" / assignment / VARIANT_FILES[kind]
    return json.loads(path.read_text()) if path.is_file() else {"variants": [], "partial_student": []}


def _all_variants(root: Path, assignment: str) -> dict[str, dict]:
    found = {}
    for kind in VARIANT_FILES:
        for variant in load_variants(root, assignment, kind)["variants"]:
            found[variant["name"]] = dict(variant, fails=variant.get("fails", []))
    return found


def strip_markers(source: str) -> str:
    lines = [line for line in source.splitlines()
             if line.strip() not in (nbu.BEGIN_SOLUTION, nbu.END_SOLUTION)]
    return "\n".join(lines)


def apply_variant(assignment: str, answer: str, variant: dict) -> str:
    """A solution cell's answer (markers stripped) with the variant's edits: its ``source``, or its ``replace``."""
    text = variant["source"] if "source" in variant else answer
    for old, new in variant.get("replace", []):
        if old not in text:
            raise ValueError(f"{assignment}: variant {variant['name']!r} expects {old!r} in solution cell "
                             f"{variant['cell']!r}; update wrong_variants.json after editing the source.")
        text = text.replace(old, new)
    return text


def filled_notebook(root: Path, assignment: str, variant_names: list[str] = ()) -> nbformat.NotebookNode:
    """The release notebook with every solution cell answered as the source does, then the variants applied."""
    release = nbu.read_notebook(root / "release" / assignment / f"{assignment}.ipynb")
    source = nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    answers = {nbu.grade_id(c): strip_markers(c.source) for c in nbu.solution_cells(source)}
    variants = _all_variants(root, assignment)
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
    source = nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    variants = _all_variants(root, assignment)
    failing = {gid for name in variant_names for gid in variants[name]["fails"]}
    return sum(nbu.points(c) for c in nbu.test_cells(source) if nbu.grade_id(c) not in failing)


def write_submission(root: Path, student: str, assignment: str, nb: nbformat.NotebookNode) -> Path:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    return path


def create_demo_class(root: Path, assignments: list[str]) -> dict[tuple[str, str], float]:
    """Write the three demo students' submissions; returns the score each should get."""
    expected = {}
    for assignment in assignments:
        variants = load_variants(root, assignment)
        partial = list(variants.get("partial_student", []))
        release_nb = root / "release" / assignment / f"{assignment}.ipynb"
        blank_dir = root / "submitted" / "blank_student" / assignment
        blank_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(release_nb, blank_dir / f"{assignment}.ipynb")
        write_submission(root, "reference_student", assignment, filled_notebook(root, assignment))
        write_submission(root, "partial_student", assignment, filled_notebook(root, assignment, partial))
        full = expected_score(root, assignment, [])
        expected[("reference_student", assignment)] = full
        expected[("partial_student", assignment)] = expected_score(root, assignment, partial)
        expected[("blank_student", assignment)] = 0.0
    return expected
