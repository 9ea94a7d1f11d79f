"""Shared fixtures: the repository, a throwaway course folder, the reference SIGNS file."""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=None)  # read once per assignment: every variant's assertion asks for its pack
def variant_packs(assignment: str) -> tuple[tuple[str, ...], ...]:
    """Every wrong and correct variant of the catalogues, packed into as few notebooks as they allow.

    A pack holds at most one variant per solution cell, and wrong variants whose declared failing cells
    do not overlap, so each test cell has at most one variant that can fail it and the mistake named
    there says which. The test cells check each function on the course's own inputs, so a variant
    loses in a pack what it loses alone: a pack grades as the union of its members' declarations,
    and any cross-talk between cells would show as a pack that does not. First fit in catalogue order
    (wrong, then correct): the same packs every run. Grading ~15 notebooks instead of ~50 per assignment
    is most of what keeps the test suite short.
    """
    from helpers.instructor import demo

    packs: list[tuple[list[str], set[str], set[str]]] = []  # names, solution cells, failing test cells
    for kind in ("wrong", "correct"):
        for variant in demo.load_variants(ROOT, assignment, kind)["variants"]:
            fails = set(variant.get("fails", []))
            for names, cells, failing in packs:
                if variant["cell"] not in cells and not fails & failing:
                    names.append(variant["name"])
                    cells.add(variant["cell"])
                    failing |= fails
                    break
            else:
                packs.append(([variant["name"]], {variant["cell"]}, fails))
    return tuple(tuple(names) for names, _, _ in packs)


def pack_student(k: int) -> str:
    return f"pack_{k + 1:02d}"


def pack_of(assignment: str, name: str) -> tuple[str, tuple[str, ...]]:
    """The student who hands in variant ``name``'s pack, and the pack's variants."""
    return next((pack_student(k), names) for k, names in enumerate(variant_packs(assignment)) if name in names)


def grade_reference_blank_and_variants(target: Path, assignment: str) -> tuple[Path, dict]:
    """Grade the source answers, the untouched release and every variant (in packs) in one run.

    Returns the course copy and the results: "reference", "blank", and for each variant's name the
    result of its pack (``result.student`` says which; :func:`variant_packs` lists the packs).
    """
    import os

    from helpers.instructor import batch, demo
    from helpers.instructor.settings import Settings

    root = make_course_copy(target, [assignment])
    packs = variant_packs(assignment)
    submissions = {"reference": demo.filled_notebook(ROOT, assignment), "blank": UNTOUCHED_RELEASE}
    for k, names in enumerate(packs):
        submissions[pack_student(k)] = demo.filled_notebook(ROOT, assignment, names)
    write_submissions(root, assignment, submissions)
    jobs = [batch.Job(student, assignment) for student in submissions]
    results = batch.grade_all(Settings.load(root), jobs, workers=max(1, min(2, os.cpu_count() or 1)),
                                force=True, progress=False)
    by_student = {r.student: r for r in results}
    for k, names in enumerate(packs):
        for name in names:
            by_student[name] = by_student[pack_student(k)]
    return root, by_student


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


def assert_variant_loses_exactly(result, assignment: str, name: str) -> None:
    """The pack holding variant ``name`` fails exactly its members' declared cells and scores the rest;
    the cells each member fails name its mistake and no other, and passing cells name none."""
    from helpers.instructor import demo

    _, pack = pack_of(assignment, name)
    owner = {gid: member for member in pack for gid in declared_variant(assignment, member)["fails"]}
    assert result.status == "graded", (pack, result.status, result.reason)
    failed = {c.grade_id: c.mistake for c in result.cells if c.points < c.max_points}
    messages = {c.grade_id: c.message for c in result.cells if c.message}
    assert set(failed) == set(owner), (pack, messages)
    named = {}  # the mistakes named in each member's cells
    for gid, mistake in failed.items():
        named.setdefault(owner[gid], set()).update({mistake} - {None})
    assert named == {member: {member} for member in set(owner.values())}, (pack, messages)
    assert not any(c.mistake for c in result.cells if c.points == c.max_points), (pack, messages)
    assert result.score == demo.expected_score(ROOT, assignment, pack)


@pytest.fixture
def course_copy(tmp_path) -> Path:
    return make_course_copy(tmp_path / "course", ["cnn_step_by_step"])


@pytest.fixture(scope="session")
def real_signs_test_file() -> Path:
    if not SHARED_SIGNS.is_file():
        pytest.skip(f"{SHARED_SIGNS} is not present (reference data lives outside the repository)")
    return SHARED_SIGNS
