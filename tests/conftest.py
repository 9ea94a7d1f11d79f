"""Shared fixtures: the repository, a throwaway course folder, the reference SIGNS file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_SIGNS = ROOT.parent / "shared" / "signs" / "test_signs.h5"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


def make_course_copy(target: Path, assignments: list[str] | None = None) -> Path:
    """A course folder with the config, source/ and release/ of the repository, nothing graded yet."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", target / "nbgrader_config.py")
    for folder in ("source", "release"):
        for assignment_dir in sorted((ROOT / folder).iterdir()):
            if assignment_dir.is_dir() and (assignments is None or assignment_dir.name in assignments):
                shutil.copytree(assignment_dir, target / folder / assignment_dir.name)
    return target


UNTOUCHED_RELEASE = "hand in the untouched release"


def write_submissions(root: Path, assignment: str, submissions: dict) -> None:
    """submitted/<student>/<assignment>/: a notebook, raw bytes, UNTOUCHED_RELEASE, or None for a missing notebook."""
    import nbformat

    for student, content in submissions.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{assignment}.ipynb"
        if isinstance(content, str) and content == UNTOUCHED_RELEASE:
            shutil.copy2(root / "release" / assignment / f"{assignment}.ipynb", target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif content is not None:
            nbformat.write(content, target)


def grade_reference_blank_and_variants(target: Path, assignment: str) -> tuple[Path, dict]:
    """Grade the source answers, the untouched release, every wrong and every correct variant in one run.

    Returns the course copy and the results by student ("reference", "blank", and each variant's name).
    """
    import os

    from helpers.instructor import batch, demo
    from helpers.instructor.settings import Settings

    root = make_course_copy(target, [assignment])
    submissions = {"reference": demo.filled_notebook(ROOT, assignment), "blank": UNTOUCHED_RELEASE}
    for kind in ("wrong", "correct"):
        for variant in demo.load_variants(ROOT, assignment, kind)["variants"]:
            submissions[variant["name"]] = demo.filled_notebook(ROOT, assignment, [variant["name"]])
    write_submissions(root, assignment, submissions)
    jobs = [batch.Job(student, assignment) for student in submissions]
    results = batch.grade_all(Settings.load(root), jobs, workers=max(1, min(2, os.cpu_count() or 1)),
                                force=True, progress=False)
    return root, {r.student: r for r in results}


def variant_names(assignment: str, kind: str) -> list[str]:
    """The names of ``source/<assignment>/{wrong,correct}_variants.json`` (for parametrize)."""
    from helpers.instructor import demo

    return [v["name"] for v in demo.load_variants(ROOT, assignment, kind)["variants"]]


def declared_variant(assignment: str, name: str) -> dict:
    from helpers.instructor import demo

    for kind in ("wrong", "correct"):
        for variant in demo.load_variants(ROOT, assignment, kind)["variants"]:
            if variant["name"] == name:
                return dict(variant, fails=variant.get("fails", []))
    raise KeyError(name)


MIN_CORPUS = 10  # correct alternatives, and realistic mistakes, per assignment


def assert_blank_earns_zero(result) -> None:
    """The untouched release: graded, 0 points, every test cell an error, and no kernel crash on the way."""
    assert result.status == "graded" and result.score == 0
    assert all(c.status == "error" for c in result.cells), [(c.grade_id, c.status) for c in result.cells]
    assert not any("restarted" in note for note in result.notes), result.notes


def assert_variant_loses_exactly(result, assignment: str, variant: dict) -> None:
    """A wrong variant fails exactly its declared test cells and scores the rest; a correct one scores 100."""
    from helpers.instructor import demo

    assert result.status == "graded"
    failed = {c.grade_id for c in result.cells if c.points < c.max_points}
    assert failed == set(variant["fails"]), {c.grade_id: c.message for c in result.cells if c.message}
    assert result.score == demo.expected_score(ROOT, assignment, [variant["name"]])
    assert_diagnosed_as_itself(result, variant)


def assert_diagnosed_as_itself(result, variant: dict) -> None:
    """A catalogue entry is named, and only it, in its failed cells; a correct variant is named nothing."""
    named = {c.mistake for c in result.cells if c.mistake}
    assert named == ({variant["name"]} if variant.get("fails") else set()), \
        {c.grade_id: c.message for c in result.cells if c.points < c.max_points}


@pytest.fixture
def course_copy(tmp_path) -> Path:
    return make_course_copy(tmp_path / "course", ["cnn_step_by_step"])


@pytest.fixture(scope="session")
def real_signs_test_file() -> Path:
    if not SHARED_SIGNS.is_file():
        pytest.skip(f"{SHARED_SIGNS} is not present (reference data lives outside the repository)")
    return SHARED_SIGNS
