"""The grading steps that need no kernel, on tiny notebooks built here (as nbgrader's preprocessor tests do).

``merge.merge_submission`` builds the notebook that runs from the source and a student's notebook;
``verdict.score_cells`` turns the judge's statuses into points. Both run in milliseconds.
"""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers.instructor import merge, verdict
from helpers.instructor import notebooks as nbu


def _solution(gid: str, source: str):
    return new_code_cell(
        source, metadata={"nbgrader": {"grade_id": gid, "solution": True, "grade": False, "locked": False}}
    )


def _test(gid: str, source: str, points: float):
    return new_code_cell(
        source,
        metadata={"nbgrader": {"grade_id": gid, "solution": False, "grade": True, "locked": True, "points": points}},
    )


def _prose(gid: str, text: str):
    return new_markdown_cell(
        text, metadata={"nbgrader": {"grade_id": gid, "solution": False, "grade": False, "locked": True}}
    )


def _source():
    return new_notebook(
        cells=[
            _prose("intro", "# Two functions"),
            _solution("double", "def double(x):\n    return 2 * x"),
            _test("double_values", '"""double doubles."""\nassert double(2) == 4', 3),
            _solution("square", "def square(x):\n    return x * x"),
            _test(
                "square_values",
                '"""square squares."""\nassert square(3) == 9\n### BEGIN HIDDEN TESTS\n'
                "assert square(4) == 16\n### END HIDDEN TESTS",
                2,
            ),
        ]
    )


def _release():
    nb = _source()
    for cell in nbu.solution_cells(nb):
        cell.source = cell.source.split("\n")[0] + "\n    raise NotImplementedError()"
    nb.cells[4].source = nbu.strip_hidden_tests(nb.cells[4].source)
    return nb


def _student(**answers):
    nb = _release()
    for cell in nbu.solution_cells(nb):
        if nbu.grade_id(cell) in answers:
            cell.source = answers[nbu.grade_id(cell)]
    return nb


def _ids(nb) -> list:
    return [nbu.grade_id(c) or c.source for c in nb.cells]


# ------------------------------------------------------------------ merge_submission


def test_answers_go_in_by_grade_id_and_everything_else_comes_from_the_source():
    student = _student(double="def double(x):\n    return x + x")
    student.cells[2].source = "pass  # the student emptied the test"
    student.cells[0].source = "# My notes"
    merged, notes = merge.merge_submission(_source(), _release(), student)
    assert notes == []
    cells = {nbu.grade_id(c): c for c in merged.cells}
    assert cells["double"].source == "def double(x):\n    return x + x"
    assert cells["square"].source.endswith("raise NotImplementedError()")  # the student's own stub
    assert cells["double_values"].source == _source().cells[2].source  # edited test restored
    assert "### BEGIN HIDDEN TESTS" in cells["square_values"].source  # the hidden tests run
    assert cells["intro"].source == "# Two functions"  # a locked cell comes from the source
    assert all(c.outputs == [] for c in merged.cells if c.cell_type == "code")
    assert merged.metadata["kernelspec"]["name"] == "python3"


def test_deleted_and_reordered_tests_are_restored_with_notes():
    student = _student()
    del student.cells[2]  # double_values deleted
    student.cells[1], student.cells[2] = student.cells[2], student.cells[1]  # square before double
    merged, notes = merge.merge_submission(_source(), _release(), student)
    assert _ids(merged) == _ids(_source())
    assert "test cells restored from the source: double_values" in notes
    assert "cells were reordered; the source order was restored" in notes


def test_a_missing_solution_cell_is_the_release_stub_and_said():
    student = _student(double="def double(x):\n    return 2 * x")
    student.cells = [c for c in student.cells if nbu.grade_id(c) != "double"]
    student.cells.insert(1, new_code_cell("def double(x):\n    return 2 * x"))  # defined elsewhere
    merged, notes = merge.merge_submission(_source(), _release(), student)
    assert "solution cell 'double' is missing: graded as unanswered" in notes
    solution = next(c for c in merged.cells if nbu.grade_id(c) == "double")
    assert solution.source.endswith("raise NotImplementedError()")
    assert "def double(x):\n    return 2 * x" in [c.source for c in merged.cells if not nbu.grade_id(c)]


def test_students_own_cells_stay_after_their_anchor_and_never_claim_to_be_graded():
    student = _student()
    forged = new_code_cell(
        "print('mine')", metadata={"nbgrader": {"grade_id": "forged", "grade": True, "points": 100, "solution": False}}
    )
    student.cells.insert(2, forged)  # after the solution cell "double"
    student.cells.insert(0, new_markdown_cell("before everything"))
    merged, _ = merge.merge_submission(_source(), _release(), student)
    assert _ids(merged) == [
        "before everything",
        "intro",
        "double",
        "print('mine')",
        "double_values",
        "square",
        "square_values",
    ]
    extra = merged.cells[3]
    assert extra.metadata == {} and not nbu.is_test(extra)
    assert sum(nbu.points(c) for c in nbu.test_cells(merged)) == 5


def test_a_duplicate_cell_is_ignored_with_a_note():
    student = _student(double="def double(x):\n    return 2 * x")
    copy = nbformat.from_dict(student.cells[1])
    copy.source = "def double(x):\n    return 0"
    student.cells.append(copy)
    merged, notes = merge.merge_submission(_source(), _release(), student)
    assert "duplicate cell 'double' ignored" in notes
    assert next(c for c in merged.cells if nbu.grade_id(c) == "double").source.endswith("return 2 * x")


def test_no_notebook_gives_the_release_stubs_and_no_notes():
    merged, notes = merge.merge_submission(_source(), _release(), None)
    assert notes == [] and _ids(merged) == _ids(_source())
    assert all(c.source.endswith("raise NotImplementedError()") for c in nbu.solution_cells(merged))


# ------------------------------------------------------------------ score_cells


def _executed(errors: dict[int, tuple[str, str]]):
    nb = _source()
    for index, (ename, evalue) in errors.items():
        nb.cells[index].outputs = [new_output("error", ename=ename, evalue=evalue, traceback=[])]
    return nb


def test_a_passed_cell_earns_its_points_and_names_no_mistake():
    scores = verdict.score_cells(
        _source(), _executed({}), {2: "ok", 4: "ok"}, mistakes={2: "stale"}, seconds={2: 0.123}
    )
    assert [(s.grade_id, s.points, s.max_points, s.status, s.mistake) for s in scores] == [
        ("double_values", 3.0, 3.0, "passed", ""),
        ("square_values", 2.0, 2.0, "passed", ""),
    ]
    assert scores[0].description == "double doubles." and scores[0].seconds == 0.12


def test_a_failed_cell_earns_nothing_and_says_why():
    executed = _executed({2: ("AssertionError", "double(2) returned 5"), 4: ("Timeout", "cut after 8 s")})
    scores = verdict.score_cells(
        _source(),
        executed,
        {2: "error", 4: "timeout"},
        reasons={2: "double(2): expected 4, got 5"},
        mistakes={2: "adds_one"},
    )
    double, square = scores
    assert (double.points, double.status, double.message, double.mistake) == (
        0.0,
        "error",
        "double(2): expected 4, got 5",
        "adds_one",
    )
    assert (square.points, square.status, square.message) == (0.0, "timeout", "Timeout: cut after 8 s")
    unexplained = verdict.score_cells(_source(), executed, {2: "error", 4: "ok"})[0]
    assert unexplained.message == "AssertionError: double(2) returned 5"  # the cell's own error, without a reason


def test_a_cell_the_judge_never_reached_is_not_run():
    scores = verdict.score_cells(_source(), _executed({}), {2: "ok"})
    assert (scores[1].points, scores[1].status, scores[1].message) == (0.0, "not run", "not run")


def test_points_follow_the_source_not_the_executed_copy():
    executed = _executed({})
    executed.cells[2].metadata.nbgrader.points = 100  # whatever the run's copy says
    executed.cells.append(nbformat.from_dict(executed.cells[2]))  # and a second cell with the same id
    scores = verdict.score_cells(_source(), executed, {2: "ok", 4: "ok", 5: "error"})
    assert [(s.grade_id, s.points, s.max_points) for s in scores] == [
        ("double_values", 3.0, 3.0),
        ("square_values", 2.0, 2.0),
    ]
