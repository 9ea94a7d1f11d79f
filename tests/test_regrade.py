"""A stored grade is kept only while everything that decided it is unchanged (helpers/instructor/grade_key.py).

The key's unit tests edit copies (of the package and of the course folder), never the checkout; the
end-to-end test grades a class of two students, changes a check and grades it again.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, UNTOUCHED_RELEASE, make_course_copy, write_submissions
from helpers.compare import CheckFailure
from helpers.instructor import batch, demo, grade_key
from helpers.instructor.grading import sha256_file
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import RESULT_VERSION, Result
from helpers.paths import ASSIGNMENTS

STEP = "cnn_step_by_step"


def _package_copy(target: Path) -> Path:
    """The files the key reads from the package (``helpers/`` without caches) in a folder of their own."""
    shutil.copytree(ROOT / "helpers", target / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _edit(path: Path) -> None:
    with path.open("ab") as file:
        file.write(b"\n# edited\n")


# ------------------------------------------------------------------ the lists cover the grading path


def _module_file(name: str) -> Path | None:
    for candidate in (ROOT / (name.replace(".", "/") + ".py"), ROOT / name.replace(".", "/") / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _helpers_imports(path: Path) -> set[str]:
    """Every ``helpers`` module the file imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "helpers"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "helpers":
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if _module_file(submodule) else node.module)
    return found


def _reached(start: str) -> set[str]:
    """The files of ``start`` and of every ``helpers`` module it imports, transitively (repository-relative)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        path = _module_file(todo.pop())
        if path is None or path.relative_to(ROOT).as_posix() in seen:
            continue
        seen.add(path.relative_to(ROOT).as_posix())
        todo.extend(_helpers_imports(path))
    return seen


def test_every_module_on_the_grading_path_is_declared_judging_or_not():
    """A module added to the grading path must be named in the key's lists (or as not deciding a verdict)."""
    declared = set(grade_key.GRADING_CODE) | set(grade_key.NOT_JUDGING)
    declared |= {name for names in grade_key.ASSIGNMENT_CODE.values() for name in names}
    reached = _reached("helpers.instructor.grading")
    for assignment in ASSIGNMENTS:
        reached |= _reached(f"helpers.checks.{assignment}")
    assert reached - declared == set(), "add these to GRADING_CODE, ASSIGNMENT_CODE or NOT_JUDGING"
    assert [name for name in declared if not (ROOT / name).is_file()] == []
    assert set(grade_key.ASSIGNMENT_CODE) == set(ASSIGNMENTS)
    assert set(grade_key.GRADING_CODE).isdisjoint(grade_key.NOT_JUDGING)
    assert grade_key.SETTINGS_NOT_JUDGING <= {f.name for f in dataclasses.fields(Settings)}


# ------------------------------------------------------------------ the key


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """A copy of the package and of the course folder with all three assignments."""
    base = tmp_path_factory.mktemp("key")
    return _package_copy(base / "package"), make_course_copy(base / "course")


def _keys(package: Path, settings: Settings) -> dict[str, dict]:
    return {a: grade_key.judged_by(settings, a, package_root=package) for a in ASSIGNMENTS}


# (file edited in the package or course copy, the assignments whose key changes, the part named)
EDITS = [
    ("package", "helpers/checks/cnn_application.py", {"cnn_application"}, "checks"),
    ("package", "helpers/signs.py", {"cnn_application"}, "checks"),
    ("package", "helpers/compare.py", set(ASSIGNMENTS), "code"),
    ("package", "helpers/instructor/judge.py", set(ASSIGNMENTS), "code"),
    ("package", "helpers/reference/cnn_step_by_step.npz", {STEP}, "reference"),
    ("course", "source/residual_networks/wrong_variants.json", {"residual_networks"}, "catalogue"),
    ("course", "source/cnn_step_by_step/cnn_step_by_step.ipynb", {STEP}, "source"),
    ("package", "helpers/report/to_html.py", set(), None),
    ("package", "helpers/instructor/feedback.py", set(), None),
    ("package", "helpers/instructor/class_report.py", set(), None),
    ("package", "helpers/plotting.py", set(), None),
    ("course", "source/cnn_application/correct_variants.json", set(), None),
]


@pytest.mark.parametrize("where, name, changed, part", EDITS, ids=[e[1] for e in EDITS])
def test_the_key_changes_exactly_for_the_assignments_a_file_decides(copies, where, name, changed, part):
    package, course = copies
    settings = Settings.load(course)
    before = _keys(package, settings)
    target = (package if where == "package" else course) / name
    original = target.read_bytes()
    try:
        _edit(target)
        after = _keys(package, settings)
    finally:
        target.write_bytes(original)
    assert {a for a in ASSIGNMENTS if after[a] != before[a]} == changed
    for assignment in changed:
        assert grade_key.changes(before[assignment], after[assignment]) == {part: [name]}
    assert _keys(package, settings) == before  # and back


@pytest.mark.parametrize(
    "setting, value, decides",
    [
        ("timeout", 7, True),
        ("memory_mb", 1024, True),
        ("max_output_chars", 10, True),
        ("notebook_timeout", 60, True),
        ("course_id", "another-course", False),
        ("sandbox_uid_base", 62000, False),
        ("db_url", "sqlite:///x.db", False),
    ],
)
def test_only_settings_that_can_change_a_verdict_are_in_the_key(copies, setting, value, decides):
    package, course = copies
    settings = Settings.load(course)
    before = grade_key.judged_by(settings, STEP, package_root=package)
    after = grade_key.judged_by(dataclasses.replace(settings, **{setting: value}), STEP, package_root=package)
    assert (after != before) == decides
    if decides:
        said = grade_key.describe(grade_key.changes(before, after), STEP)
        assert said == f"the grading settings changed ({setting}: {getattr(settings, setting)} -> {value})"


def test_the_key_reads_back_from_grade_json_unchanged(copies):
    package, course = copies
    key = grade_key.judged_by(Settings.load(course), STEP, package_root=package)
    stored = Result.from_json(
        Result(student="s", assignment=STEP, score=0, max_score=0, status="graded", judged_by=key).to_json()
    )
    assert grade_key.changes(stored.judged_by, key) == {}


# ------------------------------------------------------------------ the plan: what is kept, what is graded and why


def _store(settings: Settings, student: str, assignment: str, key: dict, **fields) -> Path:
    """A grade.json as the grader writes it, for the current submission (no kernel)."""
    nb = settings.notebook("submitted", assignment, student)
    result = Result(
        student=student,
        assignment=assignment,
        score=1.0,
        max_score=100.0,
        status="graded",
        submission_sha256=sha256_file(nb),
        judged_by=key,
        **fields,
    )
    path = settings.path("autograded", assignment, student) / batch.GRADE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(result.to_json())
    return path


def test_the_plan_says_what_it_grades_and_why(tmp_path, monkeypatch):
    package = _package_copy(tmp_path / "package")
    monkeypatch.setattr(grade_key, "PACKAGE_ROOT", package)
    root = make_course_copy(tmp_path / "course", [STEP, "cnn_application"])
    students = ["ann", "ben", "cat", "dan", "eve"]
    write_submissions(root, STEP, {s: UNTOUCHED_RELEASE for s in students})
    settings = Settings.load(root)
    jobs = batch.find_jobs(settings, [STEP, "cnn_application"])
    plan = batch.plan_grading(settings, jobs)
    assert plan.summary() == f"10 notebooks to grade: 10 {batch.NEW}"

    for job in jobs:
        _store(settings, job.student, job.assignment, plan.keys[job.assignment])
    assert (
        batch.plan_grading(settings, jobs).summary()
        == "nothing to grade: 10 notebooks kept from earlier runs (--force grades them again)"
    )
    assert (
        batch.plan_grading(settings, jobs, force=True).summary()
        == "10 notebooks to grade: 10 because --force was given"
    )

    _edit(package / "helpers/checks/cnn_step_by_step.py")
    _edit(settings.notebook("submitted", STEP, "ann"))  # handed in again
    old = _store(settings, "ben", STEP, {})
    old.write_text(json.dumps({**json.loads(old.read_text()), "version": RESULT_VERSION - 1}))
    (settings.path("autograded", STEP, "cat") / batch.GRADE_FILE).write_text('{"cells": [')
    plan = batch.plan_grading(settings, jobs)
    reasons = {jobs[k].student: why for k, why in plan.reasons.items()}
    assert {jobs[k].assignment for k in plan.kept} == {"cnn_application"}
    assert reasons == {
        "ann": batch.NEW,
        "ben": "graded by an older version of the grader",
        "cat": "the earlier grade.json cannot be read",
        "dan": "because the checks of cnn_step_by_step changed (helpers/checks/cnn_step_by_step.py)",
        "eve": "because the checks of cnn_step_by_step changed (helpers/checks/cnn_step_by_step.py)",
    }
    assert plan.summary() == (
        "5 notebooks to grade: 1 new or handed in again, 1 graded by an older version of the grader, "
        "1 the earlier grade.json cannot be read, 2 because the checks of cnn_step_by_step changed "
        "(helpers/checks/cnn_step_by_step.py); 5 notebooks kept from earlier runs"
    )


def test_the_key_is_computed_once_per_assignment_not_per_student(tmp_path, monkeypatch):
    root = make_course_copy(tmp_path / "course", [STEP, "cnn_application"])
    write_submissions(root, STEP, {f"s{k}": None for k in range(6)})
    settings = Settings.load(root)
    computed = []
    honest = grade_key.judged_by
    monkeypatch.setattr(grade_key, "judged_by", lambda s, a, **kw: computed.append(a) or honest(s, a, **kw))
    batch.plan_grading(settings, batch.find_jobs(settings))
    assert sorted(computed) == sorted([STEP, "cnn_application"])


# ------------------------------------------------------------------ end to end: a fixed check regrades its notebooks


@pytest.mark.slow
@pytest.mark.exhaustive  # two grading runs; the key and the plan are tested in the fast tier
def test_a_changed_check_regrades_exactly_its_assignments_notebooks(tmp_path, monkeypatch, capsys):
    from helpers.checks import cnn_step_by_step as step_checks
    from helpers.commands.grade import grade_class

    package = _package_copy(tmp_path / "package")
    monkeypatch.setattr(grade_key, "PACKAGE_ROOT", package)
    root = make_course_copy(tmp_path / "course", [STEP, "cnn_application"])
    # Two students hand in cnn_step_by_step (full marks, blank); nobody hands in cnn_application.
    write_submissions(root, STEP, {"alice": demo.filled_notebook(root, STEP), "bob": UNTOUCHED_RELEASE})
    settings = Settings.load(root)

    def grade_json(student, assignment):
        return settings.path("autograded", assignment, student) / batch.GRADE_FILE

    def grade() -> str:
        capsys.readouterr()
        grade_class(root, [STEP, "cnn_application"], workers=1, force=False, timeout=None)
        return capsys.readouterr().err

    said = grade()
    assert "4 notebooks to grade: 4 new or handed in again" in said
    scores = {
        r["student"] + "/" + r["assignment"]: float(r["score"]) for r in csv.DictReader(open(root / "grades.csv"))
    }
    assert scores == {
        "alice/cnn_step_by_step": 100,
        "bob/cnn_step_by_step": 0,
        "alice/cnn_application": 0,
        "bob/cnn_application": 0,
    }
    stamps = {(s, a): grade_json(s, a).stat().st_mtime_ns for s in ("alice", "bob") for a in (STEP, "cnn_application")}

    # A check made stricter: zero_pad's visible check now fails everything, and its module's file changed.
    def stricter_zero_pad(zero_pad):
        raise CheckFailure("zero_pad: the stricter check fails every function")

    monkeypatch.setattr(step_checks, "zero_pad", stricter_zero_pad)
    _edit(package / "helpers/checks/cnn_step_by_step.py")
    said = grade()
    assert (
        "2 notebooks to grade: 2 because the checks of cnn_step_by_step changed "
        "(helpers/checks/cnn_step_by_step.py); 2 notebooks kept from earlier runs"
    ) in said
    regraded = {job for job, stamp in stamps.items() if grade_json(*job).stat().st_mtime_ns != stamp}
    assert regraded == {("alice", STEP), ("bob", STEP)}
    alice = Result.from_json(grade_json("alice", STEP).read_text())
    assert alice.score == 95 and "stricter check" in next(
        c.message for c in alice.cells if c.grade_id == "zero_pad_values"
    )

    assert "nothing to grade: 4 notebooks kept from earlier runs" in grade()


def test_an_older_grade_json_is_regraded_with_the_reason(tmp_path, monkeypatch):
    """A grade.json of an earlier format (version 5: no key) is graded again, and the plan says why."""
    monkeypatch.setattr(grade_key, "PACKAGE_ROOT", _package_copy(tmp_path / "package"))  # the checkout may change
    root = make_course_copy(tmp_path / "course", [STEP])
    write_submissions(root, STEP, {"ann": None})
    settings = Settings.load(root)
    jobs = batch.find_jobs(settings, [STEP])
    batch.grade_all(settings, jobs, progress=False)  # a missing notebook: graded without a kernel
    path = settings.path("autograded", STEP, "ann") / batch.GRADE_FILE
    assert batch.plan_grading(settings, jobs).summary().startswith("nothing to grade")
    stored = json.loads(path.read_text())
    del stored["judged_by"]
    path.write_text(json.dumps({**stored, "version": 5}))
    assert (
        batch.plan_grading(settings, jobs).summary()
        == "1 notebook to grade: 1 graded by an older version of the grader"
    )
    batch.grade_all(settings, jobs, progress=False)
    assert json.loads(path.read_text())["version"] == RESULT_VERSION
