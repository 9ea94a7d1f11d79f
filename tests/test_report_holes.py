"""A report never has silent holes: when Run All stopped at a failing cell, the cells below it never ran,
and ``course report`` runs a private copy from the top and says so, on the page and on the command line.

The run is a stand-in (the cells as if run, as in test_report.py), so no kernel is needed.
"""

from __future__ import annotations

import nbformat
import pytest
from test_report import ASSIGNMENT, DATE, make, run_notebook, stand_in_check, student  # noqa: F401 - a fixture

from helpers.instructor import notebooks as nbu
from helpers.report import labels, run, to_docx, to_html

STOPPED_AT = "conv_forward_values"  # the test cell where Run All stopped


def stop_at(nb, grade_id: str):
    """``nb`` as Run All leaves it when the cell ``grade_id`` raised: that cell shows the error, every
    code cell below it has no output and no execution count."""
    nb = nbformat.from_dict(nb)
    index = next(k for k, c in enumerate(nb.cells) if nbu.grade_id(c) == grade_id)
    nb.cells[index].outputs = [nbformat.v4.new_output("error", ename="CheckFailure", evalue="Z differs", traceback=[])]
    for cell in nb.cells[index + 1 :]:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb, index


def recording_run(calls: list):
    def execute(nb, path):
        calls.append(path)
        return run_notebook(nb)

    return execute


@pytest.fixture
def stopped(student):  # noqa: F811 - the fixture imported above
    course, path = student
    nb, index = stop_at(nbformat.read(path, as_version=4), STOPPED_AT)
    nbformat.write(nb, path)
    below = [c for c in nb.cells[index + 1 :] if c.cell_type == "code" and run._has_code(c.source)]
    return course, path, len(below)


def test_cells_that_never_ran_are_found(stopped):
    _, path, below = stopped
    nb = nbformat.read(path, as_version=4)
    assert below > 5 and len(run.never_ran(nb)) == below
    assert run.never_ran(run_notebook(nb)) == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_notebook_stopped_at_a_failing_cell_is_run_on_a_copy_and_the_report_says_so(stopped, lang):
    course, path, below = stopped
    before = path.read_bytes()
    calls = []
    report = make(course, path, lang=lang, execute=recording_run(calls))
    assert calls == [path] and path.read_bytes() == before
    assert report.ran_fast and report.run_reason == "holes" and report.never_ran == below
    assert report.never_ran_from  # the heading of the step where the holes start
    # no step below the stop is left without what it printed
    assert all(step.outputs or step.self_checks or step.function for step in report.steps)
    later = [s for s in report.graded_steps if s.function in ("pool_forward", "conv_backward", "pool_backward")]
    assert later and all(s.self_checks for s in later)
    note = labels.run_note(report)
    assert str(below) in note and report.never_ran_from in note
    assert to_html.html.escape(note) in to_html.render(report)
    assert note[:20].encode("utf-8") in _docx_text(to_docx.render(report))


def test_a_fully_run_notebook_keeps_its_own_outputs(student):  # noqa: F811
    course, path = student
    calls = []
    report = make(course, path, execute=recording_run(calls))
    assert calls == [] and not report.ran_fast and labels.run_note(report) == ""


def test_course_report_says_on_the_command_line_that_it_ran_a_copy(stopped, capsys, monkeypatch):
    from helpers.cli import main
    from helpers.instructor import grading

    course, path, below = stopped
    check = stand_in_check()
    monkeypatch.setattr(
        grading, "check_private_copy", lambda settings, assignment, notebook: check(course, assignment, notebook)
    )
    monkeypatch.setattr(run, "execute", recording_run([]))
    code = main(
        [
            "--root",
            str(course),
            "report",
            str(path),
            "--to",
            "html",
            "--out",
            str(course / "out.html"),
            "--date",
            DATE.isoformat(),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    # course report speaks the report's language (Chinese here, the default) on the command line too
    assert f"有 {below} 个代码单元格从未运行" in err and "快速模式（COURSE_FAST=1）" in err
    assert f"本笔记本有 {below} 个代码单元格从未运行" in (course / "out.html").read_text()


def _docx_text(data: bytes) -> bytes:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("word/document.xml")
