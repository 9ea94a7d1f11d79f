"""What decides a grade, as digests: the key that lets ``course grade`` keep a stored result.

A stored ``grade.json`` is kept only while everything that decided it is unchanged: the submission
(:attr:`Result.submission_sha256`), the grader's version (:data:`~helpers.instructor.verdict.RESULT_VERSION`)
and :func:`judged_by` of its assignment, which this module computes once per run and assignment:

* ``code``: the grading code every assignment shares (:data:`GRADING_CODE`);
* ``checks``: the assignment's own check module and what only it uses (:data:`ASSIGNMENT_CODE`);
* ``reference``: its reference data, ``helpers/reference/<id>.*``;
* ``source``: its source notebook (solutions, hidden tests, points);
* ``catalogue``: its catalogue of likely mistakes, ``source/<id>/wrong_variants.json`` (the diagnosis text);
* ``settings``: the grading settings that can change a verdict (limits, timeouts, output caps).

Each part is stored per file (or per setting), so a rerun can say which file changed; the lists are
declared rather than the whole package hashed, so that e.g. a change to a report template regrades
nothing, and a fixed check regrades exactly its assignment's notebooks. ``tests/test_regrade.py``
reads the grading path's imports and fails on a module of ``helpers`` that is in neither
:data:`GRADING_CODE`, :data:`ASSIGNMENT_CODE` nor :data:`NOT_JUDGING`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from helpers.instructor.settings import Settings

# The folder `helpers` lives in: the key's file names are relative to it.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent

# Code on the grading path of every assignment that decides points, messages or the named mistake.
GRADING_CODE = (
    "helpers/calls.py",  # the calls a test cell makes and the stand-ins of dependencies
    "helpers/checks/__init__.py",  # shared checking code: reference data, solutions
    "helpers/compare.py",  # the comparator and its messages
    "helpers/i18n.py",  # the language a message is written in
    "helpers/locale/zh_CN/LC_MESSAGES/course.po",  # the Chinese messages
    "helpers/keras_graph.py",  # a student's Keras graph, rebuilt under limits
    "helpers/messages.py",  # the one builder of failure messages and their patterns
    "helpers/model_compare.py",  # layer-by-layer model comparison
    "helpers/notebook_cells.py",  # test cells, points, markers, solution code
    "helpers/solutions.py",  # the source solutions the expected values come from
    "helpers/wire.py",  # what comes back from the kernel, decoded and validated
    "helpers/instructor/deadline.py",  # the time limit of the grader's own work on a test cell
    "helpers/instructor/catalogue.py",  # applies the catalogue's edits for the diagnosis
    "helpers/instructor/diagnosis.py",  # the likely mistake named in a failed cell
    "helpers/instructor/execute.py",  # running the notebook: timeouts, restarts, budgets
    "helpers/instructor/grading.py",  # the pipeline from a file to a Result
    "helpers/instructor/judge.py",  # test cells run in the grader
    "helpers/instructor/merge.py",  # the notebook that is run, built from the submission
    "helpers/instructor/notebooks.py",  # helpers/notebook_cells.py under its instructor name
    "helpers/instructor/references.py",  # helpers/solutions.py under its instructor name
    "helpers/instructor/verdict.py",  # points per cell
)

# Code that decides the verdicts of one assignment only: its check module, and what only it uses.
ASSIGNMENT_CODE = {
    "cnn_step_by_step": ("helpers/checks/cnn_step_by_step.py",),
    "cnn_application": (
        "helpers/checks/cnn_application.py",
        "helpers/signs.py",
    ),  # its check trains on the SIGNS data with the course's mini-batches
    "residual_networks": ("helpers/checks/residual_networks.py",),
}

# Modules on the grading path that decide no verdict, and why.
NOT_JUDGING = {
    "helpers/__init__.py": "keeps TensorFlow's start-up lines out of outputs",
    "helpers/quiet_tensorflow.py": "keeps TensorFlow's start-up lines out of outputs",
    "helpers/paths.py": "where the course folder is",
    "helpers/instructor/batch.py": "schedules the jobs; the key is checked here",
    "helpers/instructor/feedback.py": "renders the feedback page of a result",
    "helpers/pages.py": "renders math, code and messages on the pages people read; no points",
    "helpers/instructor/grader_log.py": "the grader's log; it decides no points",
    "helpers/instructor/inert.py": "makes the autograded notebook safe to display; it decides no points",
    "helpers/instructor/outputs.py": "writes grades.csv, the gradebook and feedback",
    "helpers/instructor/provenance.py": "flags a submission the exchange says someone else made; no points",
    "helpers/instructor/sandbox.py": "isolates the kernel; its limits are settings, in the key",
    "helpers/instructor/kernel_forks.py": "starts the kernel from preloaded imports, in the same sandbox; no points",
    "helpers/instructor/settings.py": "reads the settings; the values that decide are in the key",
    "helpers/instructor/grade_key.py": "this module",
}

# Settings that say where things are or who runs them, never what a notebook earns; every other
# setting is in the key, so that one added later counts until it is named here.
SETTINGS_NOT_JUDGING = frozenset(
    {"root", "course_id", "db_url", "folders", "directory_structure", "sandbox_uid_base", "fork_kernels"}
)

CATALOGUE = "wrong_variants.json"

# How a rerun names each part (``{assignment}`` is filled in), in the order reasons are given.
PART_NAMES = {
    "checks": "the checks of {assignment}",
    "code": "the grading code",
    "reference": "the reference data of {assignment}",
    "source": "the source notebook of {assignment}",
    "catalogue": "the catalogue of mistakes of {assignment}",
    "settings": "the grading settings",
}


def _digest(path: Path) -> str:
    """The file's sha256; '' when there is no such file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return ""


def _files(root: Path, names) -> dict[str, str]:
    return {name: _digest(root / name) for name in names}


def judged_by(settings: Settings, assignment: str, package_root: Path | None = None) -> dict[str, dict]:
    """Everything that decides a grade of ``assignment``: part -> {file or setting: digest or value}.

    Computed once per run and assignment (:func:`helpers.instructor.batch.plan_grading`), stored in every
    ``grade.json`` (:attr:`Result.judged_by`) and compared with :func:`changes` on the next run.
    """
    package = Path(package_root or PACKAGE_ROOT)
    reference = package / "helpers" / "reference"
    course_source = settings.path("source", assignment)
    key = {
        "code": _files(package, GRADING_CODE),
        "checks": _files(package, ASSIGNMENT_CODE.get(assignment, (f"helpers/checks/{assignment}.py",))),
        "reference": {
            p.relative_to(package).as_posix(): _digest(p)
            for p in sorted(reference.glob(f"{assignment}.*"))
            if p.is_file()
        },
        "source": {
            _course_name(settings, course_source / f"{assignment}.ipynb"): _digest(
                course_source / f"{assignment}.ipynb"
            )
        },
        "catalogue": {_course_name(settings, course_source / CATALOGUE): _digest(course_source / CATALOGUE)},
        "settings": {
            f.name: getattr(settings, f.name)
            for f in dataclasses.fields(settings)
            if f.name not in SETTINGS_NOT_JUDGING
        },
    }
    return json.loads(json.dumps(key, default=str))  # as it reads back from grade.json, to compare like with like


def _course_name(settings: Settings, path: Path) -> str:
    try:
        return path.relative_to(settings.root).as_posix()
    except ValueError:
        return str(path)


def changes(stored: dict, current: dict) -> dict[str, list[str]]:
    """Part -> what changed in it between a stored key and the current one (files, or 'setting: old -> new')."""
    changed: dict[str, list[str]] = {}
    for part in PART_NAMES:
        before, now = (stored or {}).get(part) or {}, current.get(part) or {}
        if not isinstance(before, dict):
            before = {}
        names = [name for name in sorted(set(before) | set(now)) if before.get(name) != now.get(name)]
        if part == "settings":
            names = [f"{name}: {before.get(name, 'unset')} -> {now.get(name, 'unset')}" for name in names]
        if names:
            changed[part] = names
    return changed


def describe(changed: dict[str, list[str]], assignment: str, most: int = 3) -> str:
    """One phrase for a set of changes, e.g. 'the checks of cnn_application changed (helpers/checks/...)'."""
    parts = [PART_NAMES[part].format(assignment=assignment) for part in PART_NAMES if part in changed]
    names = [name for part in PART_NAMES for name in changed.get(part, [])]
    listed = ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
    subject = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{subject} changed ({listed})"
