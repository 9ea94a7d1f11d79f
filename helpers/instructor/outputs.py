"""What grading writes for people: feedback pages, ``grades.csv``, the table, nbgrader's gradebook."""

from __future__ import annotations

import copy
import csv
import html
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

import nbformat
from wcwidth import wcswidth

from helpers import i18n, pages
from helpers.i18n import gettext as _
from helpers.instructor import feedback
from helpers.instructor import notebooks as nbu
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import Result
from helpers.paths import ASSIGNMENTS


def atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_feedback(settings: Settings, student: str, assignment: str, result: Result) -> Path:
    """feedback/<student>/<id>/<id>.html: :func:`feedback_page` of the graded notebook in autograded/."""
    notebook = settings.notebook("autograded", assignment, student)
    nb = nbformat.read(notebook, as_version=4) if notebook.is_file() else None
    out = settings.path("feedback", assignment, student) / f"{assignment}.html"
    atomic_write(out, feedback_page(student, assignment, result, nb))
    return out


def feedback_page(student: str, assignment: str, result: Result, nb=None) -> str:
    """The score table, then the graded notebook ``nb`` without hidden tests (the table alone without ``nb``).

    The one page a student gets, whoever asks for it: ``course grade``, or nbgrader's Generate Feedback
    (:mod:`helpers.instructor.nbgrader_hooks`). Its labels are in the language of the submitted notebook
    (``result.lang``).
    """
    with i18n.reading(result.lang):
        return _feedback_page(student, assignment, result, nb)


def _feedback_page(student: str, assignment: str, result: Result, nb=None) -> str:
    rows = "".join(
        f"<tr><td>{_html_escape(c.grade_id)}</td><td>{c.points:g} / {c.max_points:g}</td>"
        f"<td>{feedback.message_html(c.message) if c.points < c.max_points else ''}</td></tr>"
        for c in result.cells
    )
    note, flagged = _("Note:"), _("Flagged:")
    headings = "".join(f"<th>{text}</th>" for text in (_("test"), _("points"), _("why not full marks")))
    summary = (
        f"<h1>{assignment}: {result.score:g} / {result.max_score:g}</h1>"
        + (f"<p>{_html_escape(result.reason)}</p>" if result.reason else "")
        + "".join(f"<p>{note} {_html_escape(n)}</p>" for n in result.notes)
        + "".join(f"<p><strong>{flagged}</strong> {_html_escape(n)}</p>" for n in result.flags)
        + f"<table><tr>{headings}</tr>{rows}</table>"
    )
    if nb is None:
        return f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{summary}</body></html>"
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and nbu.is_test(cell):
            # Neither the hidden tests nor a traceback through them may reach the student.
            cell.source = nbu.strip_hidden_tests(cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
    return feedback.render(nb, f"{student}: {assignment}", summary, {c.grade_id: c for c in result.cells})


def _html_escape(text: str) -> str:
    return html.escape(text or "")


# A cell that begins with one of these is read by spreadsheets as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet shows as written, never runs as a formula.

    Text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    apostrophe; numbers, and text that is a plain decimal number (``-0.25``, ``1e-3``), stay numbers.

    >>> [spreadsheet_safe(v) for v in ("=2+5", "@SUM(A1)", "-0.25", -0.25, "alice")]
    ["'=2+5", "'@SUM(A1)", '-0.25', -0.25, 'alice']
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(rows) -> str:
    """``rows`` (lists of cells) as CSV text, every cell through :func:`spreadsheet_safe`.

    Every CSV file the course writes is made here (``grades.csv``, the class report's files).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([spreadsheet_safe(v) for v in row] for row in rows)
    return buffer.getvalue()


GRADES_HEADER = ["student", "assignment", "score", "max_score", "status", "reason", "flags"]


def _grades_row(r: Result) -> list:
    return [r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason, "; ".join(r.flags)]


def write_csv(settings: Settings, results: list[Result]) -> Path:
    path = settings.grades_csv
    atomic_write(path, csv_text([GRADES_HEADER] + [_grades_row(r) for r in results]))
    return path


def table(results: list[Result], lang: str | None = None) -> str:
    """Points per student (rows) and assignment (columns); the headings in ``lang`` (:func:`i18n.language`)."""
    students = sorted({r.student for r in results})
    assignments = [a for a in ASSIGNMENTS if any(r.assignment == a for r in results)]
    cell = {(r.student, r.assignment): r for r in results}
    student, total_heading = i18n.gettext("student", lang), i18n.gettext("total", lang)
    width = max([display_width(student)] + [display_width(s) for s in students])
    cols = [max(len(a), 9) for a in assignments]
    lines = [
        pad(student, width)
        + "  "
        + "  ".join(a.rjust(w) for a, w in zip(assignments, cols))
        + "  "
        + pad(total_heading, 9, right=True)
    ]
    for s in students:
        parts, total, total_max = [], 0.0, 0.0
        for a, w in zip(assignments, cols):
            r = cell.get((s, a))
            if r is None:
                parts.append("-".rjust(w))
                continue
            total += r.score
            total_max += r.max_score
            parts.append(f"{r.score:g}/{r.max_score:g}".rjust(w))
        lines.append(pad(s, width) + "  " + "  ".join(parts) + f"  {f'{total:g}/{total_max:g}':>9}")
    return "\n".join(lines)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide characters count two."""
    width = wcswidth(text)
    return width if width >= 0 else len(text)  # a control character: counted as one column each


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (on the left when ``right``)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


PASSED_MARK, FAILED_MARK = "\u2713 ok", "\u2717 FAIL"


def check_table(assignment: str, result: Result, owner: dict[str, str], lang: str | None = None) -> str:
    """What ``course check`` prints for a graded notebook: points per graded function, then each failure.

    One row per function (``owner`` maps a test's grade id to its function): name, points, and
    ``✓ ok`` or ``✗ FAIL``; under a failing row, each failed test with its message, the labelled
    parts of the message ("Likely mistake", "Hint", ...) indented under it. Columns are aligned in
    terminal columns, so a Chinese value keeps them straight. The table's own words are in ``lang``, the
    message labels' language by default (``result.lang``, the notebook's).
    """
    lang = lang or result.lang
    per_function: dict[str, list] = {}
    for c in result.cells:
        per_function.setdefault(owner.get(c.grade_id, c.grade_id), []).append(c)
    rows = []
    for function, cells in per_function.items():
        got, total = sum(c.points for c in cells), sum(c.max_points for c in cells)
        mark = i18n.gettext(PASSED_MARK if got >= total else FAILED_MARK, lang)
        rows.append((function, f"{got:g}", f"{total:g}", mark, cells))
    name_width, got_width, total_width = (max([display_width(r[k]) for r in rows] + [0]) for k in range(3))
    heading = i18n.message(
        "{assignment}: {score:g} / {max_score:g} points",
        lang,
        assignment=assignment,
        score=result.score,
        max_score=result.max_score,
    )
    lines = [heading, ""]
    for function, got, total, mark, cells in rows:
        points = f"{pad(got, got_width, right=True)} / {pad(total, total_width)}"
        lines.append(f"  {pad(function, name_width)}  {points}  {mark}")
        for c in cells:
            if c.points >= c.max_points:
                continue
            for k, (label, text) in enumerate(pages.message_parts(c.message or c.status)):
                head = f"{c.grade_id}: " if k == 0 else ""
                indent = " " * (6 if k == 0 else 10)
                named = i18n.gettext(label, lang)
                first, *rest = (f"{named}: {text}" if label else text).splitlines() or [""]
                lines.append(f"{indent}{head}{first}")
                lines += [f"{indent}{' ' * display_width(head)}{line.strip()}" for line in rest]
    lines += ["  " + i18n.message("note: {note}", lang, note=note) for note in result.notes]
    return "\n".join(lines)


def update_csv(settings: Settings, results: list[Result]) -> Path:
    """``grades.csv`` with the rows of these (student, assignment) pairs replaced or added, the others kept.

    For grading started from nbgrader (:mod:`helpers.instructor.nbgrader_hooks`), one student at a time.
    """
    path = settings.grades_csv
    fresh = {(r.student, r.assignment) for r in results}
    kept = []
    if path.is_file():  # the earlier rows, by column name: a column the file lacks stays empty
        with path.open(newline="") as handle:
            kept = [
                [row.get(column) or "" for column in GRADES_HEADER]
                for row in csv.DictReader(handle)
                if (row.get("student"), row.get("assignment")) not in fresh
            ]
    atomic_write(path, csv_text([GRADES_HEADER] + kept + [_grades_row(r) for r in results]))
    return path


# The files nbgrader's exchange puts beside a collected submission (submitted/<student>/<id>/). nbgrader's
# autograde copies them into autograded/, its generate_feedback from there into feedback/, where its
# release_feedback reads both: the time names the submission, the secret names the released page.
SUBMISSION_RECORDS = ("timestamp.txt", "submission_secret.txt")
MAX_RECORD_BYTES = 4096


def submission_record(settings: Settings, assignment: str, student: str, name: str) -> bytes | None:
    """One of :data:`SUBMISSION_RECORDS` of a submission; None if absent, not a plain file, or too large."""
    try:
        return nbu.read_plain_file(settings.path("submitted", assignment, student) / name, MAX_RECORD_BYTES)
    except nbu.NotebookError:
        return None


def submission_timestamp(settings: Settings, assignment: str, student: str):
    """When the submission was handed in (UTC, as nbgrader reads ``timestamp.txt``); None if unknown."""
    from nbgrader.utils import parse_utc  # nbgrader loads only where its records are written, not in workers

    data = submission_record(settings, assignment, student, "timestamp.txt")
    try:
        return parse_utc(data.decode().strip()) if data and data.strip() else None
    except (ValueError, OverflowError, TypeError, UnicodeDecodeError):
        return None  # a timestamp nbgrader cannot read: the submission counts as one without


def copy_submission_records(settings: Settings, assignment: str, student: str) -> None:
    """:data:`SUBMISSION_RECORDS` of the submission into its autograded/ and feedback/ folders (where they exist).

    A record the submission does not have (handed in without the exchange) is removed there, never left
    from an earlier submission.
    """
    for name in SUBMISSION_RECORDS:
        data = submission_record(settings, assignment, student, name)
        for step in ("autograded", "feedback"):
            folder = settings.path(step, assignment, student)
            if not folder.is_dir():
                continue
            if data is None:
                (folder / name).unlink(missing_ok=True)
            else:
                atomic_write(folder / name, data)


def sync_gradebook(settings: Settings, results: list[Result]) -> None:
    """nbgrader's records of every result, from this one process (Formgrader and exports see them).

    In ``gradebook.db``: the student, the submission with its time (``timestamp.txt``), and each test
    cell's points, flagged for manual grading only where a grader's own score overrides it (nbgrader's
    rule). Beside the graded notebook and the feedback page: :func:`copy_submission_records`.
    """
    from nbgrader.api import Gradebook, MissingEntry  # loads SQLAlchemy: only in the process that writes

    with warnings.catch_warnings(), Gradebook(settings.gradebook_url, course_id=settings.course_id) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notices from inside nbgrader
        known = {a.name for a in gb.assignments}
        for r in results:
            copy_submission_records(settings, r.assignment, r.student)
            if r.assignment not in known:
                continue  # not released yet from this folder: `course release` registers it
            gb.update_or_create_student(r.student)
            gb.update_or_create_submission(
                r.assignment, r.student, timestamp=submission_timestamp(settings, r.assignment, r.student)
            )
            for c in r.cells:
                try:
                    grade = gb.find_grade(c.grade_id, r.assignment, r.assignment, r.student)
                except MissingEntry:
                    continue
                grade.auto_score = c.points
                grade.needs_manual_grade = grade.manual_score is not None
            gb.db.commit()
