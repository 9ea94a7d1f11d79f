"""A submission belongs to the student who made it: `course grade` flags one the exchange says someone else made.

On the course-local exchange (mode 0777) any local user can put a folder under another student's name
into inbound/, with a timestamp in the future so that `nbgrader collect --update` keeps it. Here such
folders are made as nbgrader submit makes them, owned by other Unix users (os.chown, as root), collected
by nbgrader itself, and graded: the forged notebook earns its points, and grades.csv, the class report's
problems, the feedback page and `course grade`'s own output flag it; an honest hand-in is not flagged.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import pwd
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT, make_course_copy
from helpers import cli
from helpers.instructor import class_report, demo, provenance
from helpers.instructor.settings import Settings

ASSIGNMENT = "cnn_step_by_step"
FUTURE = "2099-01-01 00:00:00.000000 UTC"


def _now_stamp(delta: dt.timedelta = dt.timedelta()) -> str:
    return (dt.datetime.now(dt.UTC) + delta).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def hand_in(root: Path, student: str, notebook: bytes, stamp: str, uid: int, tag: str = "a1") -> Path:
    """What `nbgrader submit` leaves in the exchange: inbound/<student>+<id>+<timestamp>+<random>/, owned by ``uid``."""
    folder = root / "exchange" / "cnn-course" / "inbound" / f"{student}+{ASSIGNMENT}+{stamp}+{tag}"
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_bytes(notebook)
    (folder / "timestamp.txt").write_text(stamp)
    for path in (folder, *folder.iterdir()):
        os.chown(path, uid, uid)
    return folder


def collected(root: Path, student: str, notebook: bytes, stamp: str) -> None:
    """submitted/<student>/<id>/ as nbgrader collect leaves it (a copy owned by whoever collected)."""
    folder = root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_bytes(notebook)
    (folder / "timestamp.txt").write_text(stamp)


@pytest.fixture
def course(tmp_path) -> Path:
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    (root / "exchange").mkdir(mode=0o777)
    return root


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="files owned by other users are made with os.chown, as root")
NOBODY = pwd.getpwnam("nobody").pw_uid
DAEMON = pwd.getpwnam("daemon").pw_uid


@needs_root
@pytest.mark.parametrize(
    "case, expected",
    [
        ("honest", []),
        ("by another user", ["by the Unix user daemon"]),
        ("by a uid no user has", ["by the Unix user uid 54321"]),
        ("future timestamp", [f"timestamp {FUTURE} lies in the future"]),
        ("future and another user", [f"timestamp {FUTURE} lies in the future", "by the Unix user daemon"]),
        ("a minute ahead: clock skew", []),
        ("the student's own copy beside a forged one", []),
        ("timestamp.txt is not a time", ["'yesterday-ish' is not a time"]),
        ("put into submitted/ by hand", []),
        ("inbound folder gone", []),
        ("owner check turned off", [f"timestamp {FUTURE} lies in the future"]),
    ],
)
def test_flags(course, case, expected):
    notebook = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    stamp, owner = (FUTURE if "future" in case or "turned off" in case else _now_stamp()), NOBODY
    if case == "a minute ahead: clock skew":
        stamp = _now_stamp(dt.timedelta(minutes=1))
    if "another user" in case or "turned off" in case:
        owner = DAEMON
    if case == "by a uid no user has":
        owner = 54321
    if case == "put into submitted/ by hand":
        folder = course / "submitted" / "nobody" / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").write_bytes(notebook)
    else:
        inbound = hand_in(course, "nobody", notebook, stamp, owner)
        collected(course, "nobody", notebook, "yesterday-ish" if "not a time" in case else stamp)
        if case == "the student's own copy beside a forged one":
            os.chown(inbound, DAEMON, DAEMON)
            hand_in(course, "nobody", notebook, _now_stamp(-dt.timedelta(hours=1)), NOBODY, tag="b2")
        if case == "inbound folder gone":
            os.chown(inbound, DAEMON, DAEMON)
            inbound.rename(inbound.with_name("elsewhere"))
    if case == "owner check turned off":
        with open(course / "nbgrader_config.py", "a") as config:
            config.write("\nc.ExchangeCollect.check_owner = False\n")
    found = provenance.flags(Settings.load(course), "nobody", ASSIGNMENT)
    assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found)), found


@needs_root
@pytest.mark.slow
@pytest.mark.exhaustive  # a grading run; every flag is tested in the fast tier (test_flags)
def test_forged_submission_earns_its_points_and_is_flagged(course, capsys):
    """Collected by nbgrader itself, graded by `course grade`, reported by `course class-report`."""
    solved = nbformat.writes(demo.filled_notebook(ROOT, ASSIGNMENT)).encode()
    release = (course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()
    hand_in(course, "nobody", release, _now_stamp(), NOBODY)  # nobody hands in the untouched release
    hand_in(course, "bin", solved, FUTURE, DAEMON)  # daemon, under bin's name, a full-marks notebook, dated 2099
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "collect", "--update", ASSIGNMENT],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cheating attempt?" in proc.stderr  # nbgrader only warns, and collects it
    assert (course / "submitted" / "bin" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes() == solved

    assert cli.main(["--root", str(course), "grade", ASSIGNMENT, "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    rows = {r["student"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert float(rows["bin"]["score"]) == 100 and rows["nobody"]["flags"] == ""
    assert "lies in the future" in rows["bin"]["flags"] and "by the Unix user daemon" in rows["bin"]["flags"]
    assert "bin/cnn_step_by_step: FLAGGED: handed in under the name bin by the Unix user daemon" in printed
    page = (course / "feedback" / "bin" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Flagged:" in page and "by the Unix user daemon" in page
    assert "Flagged:" not in (course / "feedback" / "nobody" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()

    data = class_report.load_class(Settings.load(course), ASSIGNMENT)
    flagged = [(s, why) for s, what, why in class_report.problems(data) if what == "flagged"]
    assert [s for s, _ in flagged] == ["bin", "bin"], flagged
    page = class_report.write_report(Settings.load(course), [ASSIGNMENT], course / "class_report")[0].read_text()
    assert "flagged" in page and "by the Unix user daemon" in page
