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


@pytest.fixture
def course_copy(tmp_path) -> Path:
    return make_course_copy(tmp_path / "course", ["cnn_step_by_step"])


@pytest.fixture(scope="session")
def real_signs_test_file() -> Path:
    if not SHARED_SIGNS.is_file():
        pytest.skip(f"{SHARED_SIGNS} is not present (reference data lives outside the repository)")
    return SHARED_SIGNS
