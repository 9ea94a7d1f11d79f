"""What grading writes for people: feedback pages, ``grades.csv``, the table, nbgrader's gradebook."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import tempfile
from pathlib import Path

import nbformat

from helpers.instructor import feedback, notebooks as nbu
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
    """feedback/<student>/<id>/<id>.html: the graded notebook without hidden tests, and the score table."""
    notebook = settings.notebook("autograded", assignment, student)
    out = settings.path("feedback", assignment, student) / f"{assignment}.html"
    rows = "".join(f"<tr><td>{c.grade_id}</td><td>{c.points:g} / {c.max_points:g}</td>"
                   f"<td>{_html_escape(c.message)}</td></tr>" for c in result.cells)
    summary = (f"<h1>{assignment}: {result.score:g} / {result.max_score:g}</h1>"
               + (f"<p>{_html_escape(result.reason)}</p>" if result.reason else "")
               + "".join(f"<p>Note: {_html_escape(n)}</p>" for n in result.notes)
               + "".join(f"<p><strong>Flagged:</strong> {_html_escape(n)}</p>" for n in result.flags)
               + f"<table><tr><th>test</th><th>points</th><th>why not full marks</th></tr>{rows}</table>")
    if notebook.is_file():
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and nbu.is_test(cell):
                # Neither the hidden tests nor a traceback through them may reach the student.
                cell.source = nbu.strip_hidden_tests(cell.source)
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        body = feedback.render(nb, f"{student}: {assignment}", summary)
    else:
        body = f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{summary}</body></html>"
    atomic_write(out, body)
    return out


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


def write_csv(settings: Settings, results: list[Result]) -> Path:
    path = settings.grades_csv
    rows = [["student", "assignment", "score", "max_score", "status", "reason", "flags"]]
    rows += [[r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason, "; ".join(r.flags)]
             for r in results]
    atomic_write(path, csv_text(rows))
    return path


def table(results: list[Result]) -> str:
    """Points per student (rows) and assignment (columns)."""
    students = sorted({r.student for r in results})
    assignments = [a for a in ASSIGNMENTS if any(r.assignment == a for r in results)]
    cell = {(r.student, r.assignment): r for r in results}
    width = max([len("student")] + [len(s) for s in students])
    cols = [max(len(a), 9) for a in assignments]
    lines = ["student".ljust(width) + "  " + "  ".join(a.rjust(w) for a, w in zip(assignments, cols)) + "      total"]
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
        lines.append(s.ljust(width) + "  " + "  ".join(parts) + f"  {f'{total:g}/{total_max:g}':>9}")
    return "\n".join(lines)


def sync_gradebook(settings: Settings, results: list[Result]) -> None:
    """Record every score in nbgrader's gradebook from this one process (formgrader and exports see them)."""
    from nbgrader.api import Gradebook, MissingEntry

    import warnings

    with warnings.catch_warnings(), Gradebook(settings.gradebook_url, course_id=settings.course_id) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notices from inside nbgrader
        known = {a.name for a in gb.assignments}
        for r in results:
            if r.assignment not in known:
                continue  # not released yet from this folder: `course release` registers it
            gb.update_or_create_student(r.student)
            try:
                gb.find_submission(r.assignment, r.student)
            except MissingEntry:
                gb.add_submission(r.assignment, r.student)
            for c in r.cells:
                try:
                    grade = gb.find_grade(c.grade_id, r.assignment, r.assignment, r.student)
                except MissingEntry:
                    continue
                grade.auto_score = c.points
            gb.db.commit()
