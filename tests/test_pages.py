"""Pages that read well: math, code and messages on the feedback page, in course check and in the lab report.

Fast, in memory: tiny notebooks and results, no kernel. Message wording is not assumed: the messages
here are made up, with the labelled lines ("Likely mistake: ...", "Hint: ...") the grader gives.
"""

from __future__ import annotations

import re

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import pages
from helpers.instructor import outputs
from helpers.instructor.verdict import CellScore, Result
from helpers.report import labels as lbl
from helpers.report import notebook as rnb
from helpers.report.check import FunctionPoints, TestPoints
from helpers.report.model import Step, TextOutput

FAILURE = (
    "f(x of shape (2, 3)): expected 1.5, got 2.0.\nLikely mistake: the bias is added twice.\n"
    "Hint: which term appears in both lines?"
)


def _nb():
    solution = new_code_cell(
        "def f(x):\n    ### START CODE HERE ###\n    return x + 1  # one more\n    ### END CODE HERE ###\n",
        metadata={"nbgrader": {"grade_id": "f", "solution": True, "grade": False}},
    )
    visible = new_code_cell(
        '"""f: values."""\ncheck.f(f)\n',
        execution_count=None,
        metadata={"nbgrader": {"grade_id": "f_values", "grade": True, "points": 5}},
        outputs=[new_output("error", ename="CheckFailure", evalue="f(x): expected 1.5, got 2.0.", traceback=[])],
    )
    prose = new_markdown_cell(
        "## 1 - Padding\n\nThe output height is $n_H^{[l-1]}$ and\n\n"
        "$$ n_H = \\Big\\lfloor \\frac{n_{H_{prev}} - f + 2p}{s} \\Big\\rfloor + 1 $$\n\n"
        "Costs $\\href{javascript:alert(1)}{x}$ and <script>alert(1)</script>."
    )
    return new_notebook(cells=[prose, solution, visible])


def _result(points: float) -> Result:
    cell = CellScore("f_values", points, 5, "ok" if points == 5 else "error", "" if points == 5 else FAILURE)
    return Result("s1", "cnn_step_by_step", points, 5, "graded", cells=[cell])


def _prose(page: str) -> str:
    """The page's text outside tags, <code>, <pre> and <math>, where TeX source would show as written."""
    page = re.sub(r"<(code|pre|math|script|style)\b.*?</\1>", "", page, flags=re.S)
    return re.sub(r"<[^>]+>", "", page)


def test_feedback_page_typesets_math_highlights_code_and_labels_tests():
    page = outputs.feedback_page("s1", "cnn_step_by_step", _result(0), _nb())
    assert page.count("<math") >= 2 and 'display="block"' in page
    assert "$" not in _prose(page) and "\\frac" not in _prose(page)
    assert 'href="javascript' not in page and "<script>" not in page  # unsafe TeX is shown as escaped code
    assert "\\href" in page  # ... as its source
    assert re.search(r'<span style="color:#[0-9A-Fa-f]{6}[^"]*">def</span>', page)  # Pygments' colours, inline
    assert "In [" not in page
    assert "Test f_values" in page and "0 / 5 points" in page and "failed" in page
    for label in ("What failed", "Likely mistake", "Hint"):
        assert page.count(f'<span class="name">{label}</span>') == 2  # in the table and under the test cell
    assert "CheckFailure" not in page  # the grader's labelled verdict stands for the kernel's error
    assert "<script" not in page.lower() and "cdn" not in page.lower()


def test_feedback_page_of_a_passed_test_says_so():
    page = outputs.feedback_page("s1", "cnn_step_by_step", _result(5), _nb())
    assert "5 / 5 points" in page and "\u2713 passed" in page and "What failed" not in page


def test_feedback_leaves_out_advice_to_run_a_cell():
    message = "f is not written yet: write it between the markers in its cell, then run that cell."
    page = outputs.feedback_page(
        "s1",
        "cnn_step_by_step",
        Result("s1", "cnn_step_by_step", 0, 5, "graded", cells=[CellScore("f_values", 0, 5, "error", message)]),
    )
    assert "not written yet" in page and "run that cell" not in page


def test_unsafe_mathml_is_refused():
    assert pages.tex_to_mathml(r"\text{<b>}") is None
    assert pages.tex_to_mathml(r"\href{javascript:alert(1)}{x}") is None
    assert pages.tex_to_mathml("x" * (pages.MAX_TEX_CHARS + 1)) is None
    assert pages.math_html("a_{b", display=False).startswith(("<math", "<code"))


def test_math_as_svg_for_the_pdf_has_its_own_size_and_baseline():
    image = pages.math_html("n_H^{[l-1]}", svg=True)
    assert image.startswith('<img class="math-inline"') and "data:image/svg+xml;base64," in image
    assert re.search(r"width: [\d.]+px; height: [\d.]+px; vertical-align: -?[\d.]+px", image)


def test_code_lines_keep_every_line_and_colour_keywords():
    source = "def f(x):\n    s = '''a\nb'''\n\n    return x\n"
    lines = pages.code_lines(source)
    assert ["".join(r.text for r in line) for line in lines] == source.splitlines()
    assert any(r.text == "def" and r.color and r.bold for r in lines[0])


def _display_columns(line: str, text: str) -> int:
    return outputs.display_width(line[: line.index(text)])


def test_course_check_table_marks_failures_indents_hints_and_aligns_wide_characters():
    cells = [
        CellScore("zero_pad_values", 0, 5, "error", FAILURE),
        CellScore("填充_values", 10, 10, "ok"),
        CellScore("pool_values", 5, 10, "error", "pool(x): wrong.\n    in pool: y = x\nHint: look."),
    ]
    result = Result("me", "cnn_step_by_step", 15, 25, "graded", cells=cells)
    owner = {"zero_pad_values": "zero_pad", "填充_values": "零填充", "pool_values": "pool_forward"}
    lines = outputs.check_table("cnn_step_by_step", result, owner).splitlines()
    rows = {name: next(line for line in lines if line.startswith(f"  {name}")) for name in owner.values()}
    assert rows["zero_pad"].endswith(outputs.FAILED_MARK) and rows["pool_forward"].endswith(outputs.FAILED_MARK)
    assert rows["零填充"].endswith(outputs.PASSED_MARK)
    assert len({_display_columns(row, "/") for row in rows.values()}) == 1  # the points' slashes line up
    assert len({_display_columns(row, row.split()[-2]) for row in rows.values()}) == 1  # so do the marks
    hint = next(k for k, line in enumerate(lines) if line.strip().startswith("Hint: which term"))
    mistake = next(k for k, line in enumerate(lines) if line.strip().startswith("Likely mistake:"))
    failure = next(k for k, line in enumerate(lines) if line.strip().startswith("zero_pad_values:"))
    indent = [len(lines[k]) - len(lines[k].lstrip()) for k in (failure, mistake, hint)]
    assert failure < mistake < hint and indent[0] > 2 and indent[1] == indent[2] > indent[0]
    crash = next(line for line in lines if "in pool: y = x" in line)
    assert len(crash) - len(crash.lstrip()) > indent[0]  # a message's own second line stays under its test


def _step(messages: dict[str, str], printed: list[TextOutput]) -> Step:
    tests = [
        TestPoints(gid, f"pool: {gid}", 0.0 if message else 5.0, 5.0, message) for gid, message in messages.items()
    ]
    return Step(
        headings=[(3, "Exercise 3 - `pool`")],
        function="pool",
        code="def pool():\n    pass",
        self_checks=printed,
        points=FunctionPoints("pool", tests),
    )


def test_report_shows_each_check_of_a_function_as_a_labelled_box():
    printed = [TextOutput("All tests passed.", check="pool_max"), TextOutput("All tests passed.", check="pool_average")]
    boxes = lbl.check_boxes(_step({"pool_max": "", "pool_average": ""}, printed), lbl.labels("zh"))
    assert [b.title for b in boxes] == ["检查：pool: pool_max", "检查：pool: pool_average"]
    assert all(b.passed and b.state.startswith("通过") and len(b.printed) == 1 for b in boxes)


def test_report_says_not_passed_with_the_reason_not_the_test_id():
    step = _step(
        {"pool_max": FAILURE, "pool_average": ""}, [TextOutput("CheckFailure: f(x)", error=True, check="pool_max")]
    )
    zh = lbl.labels("zh")
    result = lbl.function_result(step, zh)
    assert result.startswith("未通过") and "expected 1.5, got 2.0" in result and "pool_max" not in result
    assert lbl.function_result(step, lbl.labels("en")).startswith("not passed")
    failed = lbl.check_boxes(step, zh)[0]
    assert not failed.passed and failed.state.startswith("未通过") and failed.printed == []
    assert [name for name, _ in failed.reasons] == ["原因", "可能的错误", "提示"]


def test_principles_condense_the_explanation_before_each_function():
    nb = _nb()
    found = rnb.principles(nb)
    assert [(p.function, p.heading) for p in found] == [("f", "1 - Padding")]
    assert "$$" in found[0].text and "## 1" not in found[0].text


def test_report_code_is_one_size_and_wraps():
    from helpers.report import to_html

    assert "font-size: 8.5pt" in to_html.STYLE and "white-space: pre-wrap" in to_html.STYLE
    assert to_html.CODE_PT >= 8
