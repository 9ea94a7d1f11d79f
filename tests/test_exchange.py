"""nbgrader's whole loop on one machine: setup, release, fetch, validate, submit, collect, `course grade`, then
nbgrader's Generate, Release and Fetch Feedback and its Autograde, which run the course's grader."""

from __future__ import annotations

import csv
import getpass
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import parse_utc
from traitlets.config.loader import PyFileConfigLoader

from conftest import ROOT, make_course_copy
from helpers.instructor import notebooks as nbu, outputs, release
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import Result

ASSIGNMENT = "cnn_step_by_step"
# What nbgrader prints when nbgrader_config.py holds something it does not understand.
CONFIG_WARNINGS = re.compile(r"not recognized by|is not absolute|Config option", re.I)


def _env(tmp_path: Path) -> dict[str, str]:
    # As when Lab is started as `.venv/bin/jupyter lab`: this Python's bin folder is not on PATH.
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if Path(p).resolve() != Path(sys.executable).parent.resolve())
    return dict(os.environ, PATH=path or "/usr/bin:/bin", COURSE_FAST="1", HOME=str(tmp_path / "home"),
                JUPYTER_DATA_DIR=str(tmp_path / "home" / "jupyter"))


def _run(args, cwd: Path, env, fails: bool = False) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert (proc.returncode != 0) == fails, f"{args} {'succeeded' if fails else 'failed'}:\n{out}"
    assert not CONFIG_WARNINGS.search(out), f"{args} warned about its configuration:\n{out}"
    return out


def nbgrader(*args, cwd: Path, env, fails: bool = False) -> str:
    return _run([sys.executable, "-m", "nbgrader", *args], cwd, env, fails)


def course(*args, root: Path, env) -> str:
    return _run([sys.executable, "-m", "helpers.cli", "--root", str(root), *args], root, env)


def _hidden_test_lines(root: Path) -> set[str]:
    """Every substantial line of the source notebook's hidden tests."""
    source = nbu.read_notebook(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    lines = set()
    for cell in source.cells:
        for region in re.findall(re.escape(nbu.BEGIN_HIDDEN) + r"(.*?)" + re.escape(nbu.END_HIDDEN), cell.source, re.S):
            lines |= {line.strip() for line in region.splitlines() if len(line.strip()) > 25}
    assert len(lines) > 10
    return lines


def _assert_student_page(page: str, hidden: set[str], score: str) -> None:
    """The course's feedback page: the score, no line of a hidden test, nothing that runs or loads."""
    assert f"{ASSIGNMENT}: {score}" in page, page[:500]
    leaked = [line for line in hidden if line in page]
    assert not leaked, leaked[:3]
    lowered = page.lower()
    assert not [tag for tag in ("<script", "<link", "<iframe", 'src="http', "src='http", "mathjax") if tag in lowered]


def _formgrader_api(root: Path) -> NbGraderAPI:
    """The object Formgrader's handlers call for every page and button, on this course folder."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _formgrader_scores(root: Path, student: str) -> dict[str, object]:
    """What Formgrader's pages show for the student."""
    api = _formgrader_api(root)
    [listed] = api.get_submissions(ASSIGNMENT)  # the assignment's submission list
    [own] = [s for s in api.get_student_submissions(student) if s["name"] == ASSIGNMENT]  # the student page
    [in_list] = [s for s in api.get_students() if s["id"] == student]  # the student list
    [notebook] = api.get_notebook_submissions(ASSIGNMENT, ASSIGNMENT)  # Manual Grading's list
    assert listed["autograded"] and own["autograded"], (listed, own)
    assert not listed["needs_manual_grade"] and not own["needs_manual_grade"] and not notebook["needs_manual_grade"]
    assert listed["display_timestamp"] and own["display_timestamp"]
    return {"submissions": listed["score"], "student page": own["score"], "students": in_list["score"],
            "manual grading": notebook["score"]}


def _gradebook_records(root: Path, student: str):
    """The submission's time and each graded cell's (points, needs_manual_grade) in gradebook.db."""
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="cnn-course") as gb:
        submission = gb.find_submission(ASSIGNMENT, student)
        cells = {g.name: (g.score, g.needs_manual_grade) for g in submission.notebooks[0].grades}
        return submission.timestamp, cells


@pytest.mark.slow
def test_release_fetch_validate_submit_collect_then_course_grade(tmp_path):
    from helpers.instructor import demo

    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    (root / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / "nbgrader_config.py", root / "notebooks")
    env = _env(tmp_path)

    out = course("setup", root=root, env=env)
    assert "registered" in out and (root / "exchange").is_dir()
    assert (root / "exchange").stat().st_mode & 0o777 == 0o777
    # Manual Grading shows the points before anything is generated by hand.
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id="cnn-course") as gb:
        assert gb.find_assignment(ASSIGNMENT).max_score == 100

    nbgrader("release_assignment", ASSIGNMENT, cwd=root, env=env)
    student_dir = root / "notebooks"
    listing = nbgrader("list", cwd=student_dir, env=env)
    assert ASSIGNMENT in listing
    nbgrader("fetch_assignment", ASSIGNMENT, cwd=student_dir, env=env)
    fetched = student_dir / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert fetched.read_bytes() == (root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()

    # The student writes every function (the source solutions), validates and submits.
    import nbformat
    nbformat.write(demo.filled_notebook(ROOT, ASSIGNMENT), fetched)
    validated = nbgrader("validate", str(fetched), cwd=student_dir, env=env)
    assert "Success! Your notebook passes all the tests." in validated, validated
    nbgrader("submit", ASSIGNMENT, cwd=student_dir, env=env)

    nbgrader("collect", ASSIGNMENT, cwd=root, env=env)
    student = getpass.getuser()
    collected = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert collected.read_bytes() == fetched.read_bytes()

    course("grade", ASSIGNMENT, "--workers", "1", root=root, env=env)
    rows = list(csv.DictReader((root / "grades.csv").open()))
    assert [(r["student"], r["assignment"], float(r["score"])) for r in rows] == [(student, ASSIGNMENT, 100.0)], rows

    # nbgrader's records are whole: the submission's time, no cell waiting for a human, one score everywhere.
    submitted_at = parse_utc((collected.parent / "timestamp.txt").read_text().strip())
    timestamp, cells = _gradebook_records(root, student)
    assert timestamp == submitted_at
    assert sum(points for points, _ in cells.values()) == 100 and not any(flag for _, flag in cells.values()), cells
    assert set(_formgrader_scores(root, student).values()) == {100}

    # Generate Feedback (the command and Formgrader's button) writes the course's page, nothing else.
    hidden = _hidden_test_lines(root)
    feedback = root / "feedback" / student / ASSIGNMENT
    course_page = (feedback / f"{ASSIGNMENT}.html").read_text()
    _assert_student_page(course_page, hidden, "100 / 100")
    nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root, env=env)
    assert sorted(p.name for p in feedback.iterdir()) == sorted([f"{ASSIGNMENT}.html", "submission_secret.txt",
                                                                 "timestamp.txt"])
    assert (feedback / f"{ASSIGNMENT}.html").read_text() == course_page
    assert _formgrader_api(root).generate_feedback(ASSIGNMENT)["success"]
    assert (feedback / f"{ASSIGNMENT}.html").read_text() == course_page

    # Release Feedback, then the student's Fetch Feedback: the page that comes back is the course's.
    nbgrader("release_feedback", ASSIGNMENT, cwd=root, env=env)
    nbgrader("fetch_feedback", ASSIGNMENT, cwd=student_dir, env=env)
    [fetched_page] = (student_dir / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html")
    assert fetched_page.read_text() == course_page

    # nbgrader's Autograde (the command and Formgrader's button) grades with the course's grader.
    (root / "autograded" / student / ASSIGNMENT / "grade.json").unlink()
    graded = nbgrader("autograde", ASSIGNMENT, "--force", cwd=root, env=env)
    assert "with the course's grader" in graded and f"{student}/{ASSIGNMENT}: 100 / 100 (graded)" in graded, graded
    assert (root / "autograded" / student / ASSIGNMENT / "grade.json").is_file()
    rows = list(csv.DictReader((root / "grades.csv").open()))
    assert [(r["student"], r["assignment"], float(r["score"])) for r in rows] == [(student, ASSIGNMENT, 100.0)], rows
    timestamp, cells = _gradebook_records(root, student)
    assert timestamp == submitted_at and not any(flag for _, flag in cells.values()), cells
    assert set(_formgrader_scores(root, student).values()) == {100}
    _assert_student_page((feedback / f"{ASSIGNMENT}.html").read_text(), hidden, "100 / 100")

    # A submission the course's grader has not graded gets no page: the log says what to run.
    (root / "autograded" / student / ASSIGNMENT / "grade.json").unlink()
    refused = nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root, env=env, fails=True)
    assert f"course grade {ASSIGNMENT} --student {student}" in refused, refused
    assert not (feedback / f"{ASSIGNMENT}.html").exists()


def test_submission_records_are_read_safely_and_never_left_stale(tmp_path):
    """timestamp.txt and submission_secret.txt come from a student's folder: plain small files only."""
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    release.ensure_registered(root, [ASSIGNMENT])
    stamps = {"on_time": "2024-05-02 10:00:00.000000 UTC", "garbled": "the day before the deadline",
              "linked": None, "by_hand": None}
    outside = tmp_path / "instructor_notes.txt"
    outside.write_text("2024-01-01 00:00:00 UTC")
    for student, stamp in stamps.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy2(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
        if stamp:
            (folder / "timestamp.txt").write_text(stamp)
            (folder / "submission_secret.txt").write_text(f"secret-of-{student}")
        for step in ("autograded", "feedback"):
            (root / step / student / ASSIGNMENT).mkdir(parents=True)
    (root / "submitted" / "linked" / ASSIGNMENT / "timestamp.txt").symlink_to(outside)
    (root / "submitted" / "linked" / ASSIGNMENT / "submission_secret.txt").symlink_to(outside)
    (root / "feedback" / "by_hand" / ASSIGNMENT / "timestamp.txt").write_text("from an earlier submission")

    settings = Settings.load(root)
    outputs.sync_gradebook(settings, [Result(student=s, assignment=ASSIGNMENT, score=0.0, max_score=100.0,
                                             status="graded") for s in stamps])
    with Gradebook(settings.gradebook_url, course_id="cnn-course") as gb:
        recorded = {s: gb.find_submission(ASSIGNMENT, s).timestamp for s in stamps}
    assert recorded == {"on_time": parse_utc(stamps["on_time"]), "garbled": None, "linked": None, "by_hand": None}
    for step in ("autograded", "feedback"):
        assert (root / step / "on_time" / ASSIGNMENT / "timestamp.txt").read_text() == stamps["on_time"]
        assert (root / step / "on_time" / ASSIGNMENT / "submission_secret.txt").read_text() == "secret-of-on_time"
        for student in ("linked", "by_hand"):
            assert sorted(p.name for p in (root / step / student / ASSIGNMENT).iterdir()) == []


def test_update_csv_replaces_only_the_rows_graded(tmp_path):
    """Grading one student from nbgrader keeps the other rows of grades.csv."""
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    settings = Settings.load(root)
    results = [Result(student=s, assignment=ASSIGNMENT, score=p, max_score=100.0, status="graded")
               for s, p in (("ann", 40.0), ("bob", 55.0))]
    outputs.write_csv(settings, results)
    outputs.update_csv(settings, [Result(student="bob", assignment=ASSIGNMENT, score=100.0, max_score=100.0,
                                         status="graded"),
                                  Result(student="cy", assignment=ASSIGNMENT, score=0.0, max_score=100.0,
                                         status="missing", reason="=HYPERLINK(1)")])
    rows = list(csv.reader(settings.grades_csv.open()))
    assert rows[0] == outputs.GRADES_HEADER
    assert [row[:6] for row in rows[1:]] == [["ann", ASSIGNMENT, "40", "100", "graded", ""],
                                             ["bob", ASSIGNMENT, "100", "100", "graded", ""],
                                             ["cy", ASSIGNMENT, "0", "100", "missing", "'=HYPERLINK(1)"]]


@pytest.mark.slow
def test_nbgrader_autograde_and_feedback_of_a_notebook_that_cannot_be_read(tmp_path):
    """nbgrader's Autograde and Generate Feedback on a broken submission: the course's grade, no crash."""
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    release.ensure_registered(root, [ASSIGNMENT])
    folder = root / "submitted" / "broken" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_bytes(b'{"cells": [')
    env = _env(tmp_path)

    graded = nbgrader("autograde", ASSIGNMENT, cwd=root, env=env)
    assert f"broken/{ASSIGNMENT}: 0 / 100 (invalid" in graded, graded
    result = Result.from_json((root / "autograded" / "broken" / ASSIGNMENT / "grade.json").read_text())
    assert result.status == "invalid" and result.reason
    _, cells = _gradebook_records(root, "broken")
    assert cells and set(cells.values()) == {(0, False)}, cells
    page = root / "feedback" / "broken" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    written_by_the_grader = page.read_text()
    nbgrader("generate_feedback", ASSIGNMENT, "--force", cwd=root, env=env)
    assert page.read_text() == written_by_the_grader and "0 / 100" in written_by_the_grader
