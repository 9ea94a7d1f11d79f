"""The class report's page: whole students on the histogram, named bars on the time chart, a table of students."""

from __future__ import annotations

import html
import re

import matplotlib
import pytest

from conftest import make_course_copy
from helpers.instructor import class_report
from helpers.instructor.batch import GRADE_FILE
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import CellScore, Result

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend that draws without a display

ASSIGNMENT = "cnn_step_by_step"
LONG_ID = "a_very_long_student_identifier_2023010123"


def _result(student: str, score: float, seconds: float, status: str = "graded", flags=(), reason: str = "") -> Result:
    cells = [CellScore("zero_pad_values", score, 100.0, "passed" if score else "failed")]
    return Result(
        student, ASSIGNMENT, score, 100.0, status, reason=reason, cells=cells, seconds=seconds, flags=list(flags)
    )


@pytest.mark.parametrize("scores", [[10.0, 55.0, 55.0, 90.0], [100.0], [20.0] * 3 + [70.0] * 9])
def test_the_histogram_counts_whole_students(scores):
    fig, ax = plt.subplots()
    class_report.draw_score_histogram(ax, scores, 100.0)
    fig.canvas.draw()
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    plt.close(fig)
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # 张三 where no CJK font is installed
def test_the_time_chart_names_each_bar_slowest_first_with_no_tick_outside_them():
    results = {
        name: _result(name, 50.0, seconds)
        for name, seconds in (("alice", 12.0), ("bob", 30.5), (LONG_ID, 3.0), ("张三", 20.0))
    }
    results["carol"] = _result("carol", 0.0, 99.0, status="missing")  # not graded: not a grading time
    fig, ax = plt.subplots()
    class_report.draw_grading_times(ax, results)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ticks = list(ax.get_yticks())
    plt.close(fig)
    assert labels == ["bob", "张三", "alice", class_report.short_name(LONG_ID)]
    assert class_report.short_name(LONG_ID).endswith("\u2026") and len(class_report.short_name(LONG_ID)) <= 18
    assert ticks == [0, 1, 2, 3]


def test_the_page_has_a_table_of_every_student_escaped(tmp_path):
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    settings = Settings.load(root)
    results = [
        _result("alice", 80.0, 12.25),
        _result("<i>bob&", 35.0, 40.0, flags=["timestamp 2 h in the future"]),
        _result("张三", 0.0, 5.0, status="missing", reason="no notebook in the submission"),
    ]
    for result in results:
        folder = settings.path("autograded", ASSIGNMENT, result.student)
        folder.mkdir(parents=True)
        (folder / GRADE_FILE).write_text(result.to_json())
    settings.path("submitted", ASSIGNMENT, "late").mkdir(parents=True)

    page = class_report.write_report(settings, [ASSIGNMENT], tmp_path / "report")[0].read_text()
    table = re.search(r"<h2>Students</h2>.*?(<table.*?</table>)", page, re.S).group(1)
    rows = [
        [html.unescape(re.sub(r"<[^>]+>", " ", cell)).split() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table)[1:]
    ]
    assert [" ".join(cells[0]) for cells in rows] == ["<i>bob&", "alice", "张三", "late"]
    assert rows[0][1:] == [["35", "/", "100"], ["graded"], ["40.0"], "timestamp 2 h in the future".split()]
    assert rows[1][1:] == [["80", "/", "100"], ["graded"], ["12.2"], []]
    assert rows[2][1] == ["–"] and rows[2][2][0] == "missing" and "no notebook" in " ".join(rows[2][2])
    assert rows[3][2][:2] == ["not", "graded"]
    assert "<i>bob" not in page and "&lt;i&gt;bob&amp;" in table
