"""``course report`` and ``course profile``: the lab report of a notebook, in three formats.

Most tests build reports from notebooks given outputs in memory and a stand-in for the full check,
so they need no kernel. The slow ones run ``course report`` and ``course check`` on a course copy.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import platform
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from conftest import ROOT, make_course_copy
from helpers.instructor import catalogue, demo
from helpers.instructor import notebooks as nbu
from helpers.report import build, environment, labels, to_docx, to_html, to_pdf
from helpers.report import notebook as rnb
from helpers.report import profile as prof

ASSIGNMENT = "cnn_step_by_step"
DATE = dt.date(2026, 5, 20)
PROFILE = {
    "name": "李明",
    "student_number": "2023010123",
    "class": "计算机 2301",
    "email": "liming@example.edu.cn",
    "course": "深度学习",
    "teacher": "王老师",
    "language": "zh",
}
CONCLUSIONS = "卷积的四重循环比 `tf.nn.conv2d` 慢约 300 倍。 <script>alert(1)</script>"
QUESTION = "**问题 1 · Q1：** 为什么 pad = 0 时出错？\n\n**解答 · A：** `[pad:-pad]` 在 pad 为 0 时是空的。"


def _png(width: int = 120, height: int = 80) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _solutions(nb) -> dict[str, object]:
    return {nbu.grade_id(c): c for c in nb.cells if nbu.is_solution(c)}


def run_notebook(nb, figure_after: str = "zero_pad"):
    """``nb`` as if run: every free code cell prints its index, the one after ``figure_after`` draws a figure."""
    nb = nbformat.from_dict(nb)
    previous = None
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.execution_count = k
        if nbu.is_solution(cell) or nbu.grade_id(cell) == "setup":
            previous = nbu.grade_id(cell)
            continue
        outputs = [
            nbformat.v4.new_output("stream", name="stdout", text=f"printed by cell {k}\n"),
            nbformat.v4.new_output("stream", name="stderr", text="tensorflow chatter\n"),
        ]
        if nbu.is_test(cell):
            outputs = [nbformat.v4.new_output("stream", name="stdout", text="All tests passed.\n")]
        elif previous == figure_after:
            outputs.append(nbformat.v4.new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"}))
        previous = None
        cell.outputs = outputs
    return nb


def write_sections(nb, conclusions: str = "", question: str = ""):
    for cell in nb.cells:
        kind = rnb.section_kind(cell)
        if kind == "conclusions" and conclusions:
            cell.source += "\n\n" + conclusions
        elif kind == "questions" and question:
            cell.source = cell.source.split("**问题 1")[0] + question
    return nb


def stand_in_check(failing: dict[str, str] | None = None):
    """A full check that fails the named test cells (grade_id -> message) and passes the others."""
    failing = failing or {}

    def check(root, assignment, notebook_path):
        source = nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
        cells = [
            SimpleNamespace(
                grade_id=nbu.grade_id(c),
                points=0.0 if nbu.grade_id(c) in failing else nbu.points(c),
                max_points=nbu.points(c),
                status="error" if nbu.grade_id(c) in failing else "passed",
                message=failing.get(nbu.grade_id(c), ""),
                description=nbu.docstring_line(c.source),
            )
            for c in nbu.test_cells(source)
        ]
        return SimpleNamespace(status="graded", reason="", cells=cells, notes=[])

    return check


@pytest.fixture
def student(tmp_path):
    """A course copy, and a run notebook with the source's answers in its notebooks/ folder, with a profile."""
    course = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    (course / "notebooks").mkdir()
    nb = write_sections(run_notebook(demo.filled_notebook(ROOT, ASSIGNMENT)), CONCLUSIONS, QUESTION)
    path = course / "notebooks" / f"{ASSIGNMENT}.ipynb"
    nbformat.write(nb, path)
    prof.write(course / "notebooks" / "profile.toml", PROFILE)
    return course, path


def make(course, path, **kwargs):
    kwargs.setdefault("check", stand_in_check())
    kwargs.setdefault("date", DATE)
    return build.make_report(course, path, ASSIGNMENT, **kwargs)


# ------------------------------------------------------------------ profile


def test_profile_file_is_documented_toml_that_round_trips(tmp_path):
    path = tmp_path / "profile.toml"
    tricky = {**PROFILE, "name": 'Li "Ming" \\ 李明\t', "teacher": "王老师\x7f"}
    prof.write(path, tricky)
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["name"] == 'Li "Ming" \\ 李明' and data["teacher"] == "王老师\x7f"
    assert set(data) == set(prof.KEYS)
    for f in prof.FIELDS:  # each key is explained, in both languages, just above it
        assert re.search(rf"^# {re.escape(f.zh)} · {re.escape(f.en)}: .+\n{f.key} = ", text, re.M)
    prof.write(path, {"email": "new@example.edu.cn"})  # an update keeps the other values
    assert prof.load(path).values == {
        **{k: v.strip() for k, v in tricky.items()},
        "email": "new@example.edu.cn",
        "date": "",
    }


@pytest.mark.parametrize(
    "content, complaint",
    [
        ('name = "x"\nhobby = "go"\n', "unknown key"),
        ('language = "fr"\n', "language"),
        ('date = "20 May"\n', "YYYY-MM-DD"),
        ('name = "unclosed\n', "not valid TOML"),
        ("student_number = 2023010123\n", "must be text in quotes"),
    ],
)
def test_a_bad_profile_names_the_file_and_the_fix(tmp_path, content, complaint):
    path = tmp_path / "profile.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(prof.ProfileError, match=complaint) as info:
        prof.load(path)
    assert str(path) in str(info.value)


def test_course_profile_creates_then_shows_then_updates(tmp_path, capsys):
    from helpers.cli import main

    course = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    assert main(["--root", str(course), "profile", "--name", "李明", "--class", "计算机 2301"]) == 0
    out = capsys.readouterr().out
    assert "created" in out and "still blank" in out and "student_number" in out
    assert main(["--root", str(course), "profile"]) == 0
    assert "李明" in capsys.readouterr().out
    assert main(["--root", str(course), "profile", "--language", "xx"]) == 2
    loaded = prof.load(course / "notebooks" / "profile.toml")
    assert loaded.get("name") == "李明" and loaded.get("class") == "计算机 2301" and loaded.get("language") == ""


# ------------------------------------------------------------------ reading the notebook


def test_cover_table_carries_the_profile(student):
    course, path = student
    report = make(course, path)
    cover = {f.key: f for f in report.cover}
    for key in ("name", "student_number", "class", "email", "course", "teacher"):
        assert cover[key].value == PROFILE[key] and not cover[key].missing
    assert cover["date"].value == "2026-05-20"
    assert cover["title"].value == "卷积神经网络，一步一步来"  # the Chinese report names the lab in Chinese
    assert cover["score"].value.startswith("100 / 100")
    assert cover["name"].label == "姓名" and cover["student_number"].label == "学号"
    assert report.lang == "zh" and report.flags == []


def test_each_exercise_shows_the_students_own_code(student):
    course, path = student
    nb = nbu.read_notebook(path)
    conv = _solutions(nb)["conv_single_step"]
    conv.source = conv.source.replace("Z = Z + b.item()", "Z = Z + float(b)  # my own line")
    nbformat.write(nb, path)
    report = make(course, path)
    steps = {s.function: s for s in report.steps if s.function}
    assert list(steps) == [nbu.grade_id(c) for c in nbu.solution_cells(nb)]
    for function, cell in _solutions(nb).items():
        code = steps[function].code
        assert code.splitlines()[0].startswith(f"def {function}(")
        for region in rnb.code_regions(cell.source):  # every line the student wrote, and nothing else of the cell
            for line in region.splitlines():
                assert line in code.splitlines()
        assert '"""' not in code and "START CODE HERE" not in code and "Arguments:" not in code
    assert "Z = Z + float(b)  # my own line" in steps["conv_single_step"].code


def test_regions_of_a_many_region_function_are_all_kept():
    model = next(
        c for c in nbu.solution_cells(demo.filled_notebook(ROOT, "cnn_application")) if nbu.grade_id(c) == "model"
    )
    regions = rnb.code_regions(model.source)
    assert len(regions) == 5
    code = rnb.student_code(model.source)
    assert code.count("# ...") == 5 and all(r.strip().splitlines()[0] in code for r in regions)


def test_outputs_expected_outputs_and_figures_go_with_their_step(student):
    course, path = student
    report = make(course, path)
    zero_pad = next(s for s in report.steps if s.function == "zero_pad")
    assert [o.text for o in zero_pad.outputs] == [
        o.text for o in zero_pad.outputs if o.text.startswith("printed by cell")
    ]
    assert "tensorflow chatter" not in str(zero_pad.outputs)
    assert [o.text for o in zero_pad.self_checks] == ["All tests passed."]
    assert len(zero_pad.expected) == 1 and "| `x_pad.shape` | (4, 7, 7, 2) |" in zero_pad.expected[0]
    assert "Expected output" not in zero_pad.expected[0]
    assert [(f.number, f.width_px, f.height_px) for f in report.figures] == [(1, 120, 80)]
    assert zero_pad.figures[0].caption == "图 1：1 - Zero padding"
    speed = next(s for s in report.steps if s.headings[-1][1].startswith("Speed"))
    assert speed.function is None and speed.outputs  # an ungraded step that printed something is kept


@pytest.mark.parametrize(
    "cell, expected",
    [
        (
            "**Expected output**\n\n| | |\n|---|---|\n| `Z` | -6.99 |\n\n**Check your gradients.** Next cell.",
            "| | |\n|---|---|\n| `Z` | -6.99 |",
        ),
        (
            "**Expected output** (the end of the summary)\n\n| | |\n|---|---|\n| a | b |",
            "(the end of the summary)\n\n| | |\n|---|---|\n| a | b |",
        ),
        (
            "**Expected output** (they vary): the loss is between 1 and\n5.\n\nNow the test set:",
            "(they vary): the loss is between 1 and\n5.",
        ),
        ("Some prose.", None),
    ],
)
def test_expected_output_cells_without_the_prose_that_follows(cell, expected):
    assert rnb._expected(cell) == expected


def test_unwritten_function_is_shown_as_unwritten_with_zero_points(student):
    course, path = student
    nb = nbu.read_notebook(path)
    release = nbu.read_notebook(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    _solutions(nb)["pool_backward"].source = _solutions(release)["pool_backward"].source
    nbformat.write(nb, path)
    failing = {
        "pool_backward_max": "not answered yet (the function still raises NotImplementedError)",
        "pool_backward_average": "not answered yet (the function still raises NotImplementedError)",
    }
    report = make(course, path, check=stand_in_check(failing))
    step = next(s for s in report.steps if s.function == "pool_backward")
    assert step.unwritten and step.code is None and step.points.points == 0 and step.points.max_points == 20
    assert report.score == 80
    assert any("pool_backward" in flag for flag in report.flags)
    page = to_html.render(report)
    assert labels.LABELS["zh"]["unwritten"] in page


def test_a_deleted_solution_cell_still_appears_with_its_points(student):
    course, path = student
    nb = nbu.read_notebook(path)
    nb.cells = [c for c in nb.cells if nbu.grade_id(c) != "distribute_value"]
    nbformat.write(nb, path)
    report = make(course, path, check=stand_in_check({"distribute_value_values": "solution cell missing"}))
    step = next(s for s in report.steps if s.function == "distribute_value")
    assert step.missing and step.points.points == 0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("## 结论分析与体会 · Conclusions\n\n> prompt\n>\n> prompt\n\n" + rnb.PLACEHOLDER, ""),
        ("## 结论分析与体会 · Conclusions\n\n> prompt\n\n" + rnb.PLACEHOLDER + "\n\n我学到了很多。", "我学到了很多。"),
        ("## 问题与解答 · Questions and answers\n\n> prompt\n\n**问题 1 · Q1：**\n\n**解答 · A：**", ""),
        (
            "## 问题与解答 · Questions and answers\n\n**问题 1 · Q1：** 为什么？\n\n**解答 · A：** 因为。",
            "**问题 1 · Q1：** 为什么？\n\n**解答 · A：** 因为。",
        ),
        ("## Questions and answers\n\n**Q1:**\nWhy?\n**A:**\nBecause.", "**Q1:**\nWhy?\n**A:**\nBecause."),
    ],
)
def test_student_sections_without_their_prompt(text, expected):
    cell = nbformat.v4.new_markdown_cell(text)
    assert rnb.section_kind(cell) in ("conclusions", "questions")
    assert rnb.student_text(text) == expected


def test_release_notebooks_end_with_both_sections_and_empty_ones_are_flagged(student):
    for assignment in ("cnn_step_by_step", "cnn_application", "residual_networks"):
        release = nbu.read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb")
        kinds = [rnb.section_kind(c) for c in release.cells[-2:]]
        assert kinds == ["conclusions", "questions"], assignment
        assert all(s.found and s.empty for s in rnb.student_sections(release).values())
    course, path = student
    nbformat.write(run_notebook(demo.filled_notebook(ROOT, ASSIGNMENT)), path)
    report = make(course, path)
    assert report.conclusions.empty and report.questions.empty
    assert sum("是空的：请在 notebook 末尾写好它" in flag for flag in report.flags) == 2  # the report's language
    page = to_html.render(report)
    assert page.count('class="flag"') == 2 and "结论分析与体会 · Conclusions" in page


def test_missing_profile_gives_a_report_with_blank_flagged_cover(student):
    course, path = student
    (course / "notebooks" / "profile.toml").unlink()
    report = make(course, path)
    assert report.lang == "zh" and not report.profile_found
    assert {f.key for f in report.cover if f.missing} == {
        "name",
        "student_number",
        "class",
        "email",
        "course",
        "teacher",
    }
    assert any("没有个人资料" in flag and "course profile" in flag for flag in report.flags)  # the report's language
    page = to_html.render(report)
    assert page.count(labels.LABELS["zh"]["missing_field"]) == 6
    assert "notebooks/profile.toml" in page and "course profile" in page


def test_environment_is_detected():
    env = environment.detect()
    assert env.python.startswith(platform.python_version())
    versions = dict(env.libraries)
    assert versions["numpy"] == np.__version__
    from importlib.metadata import version

    assert versions["TensorFlow"] == version("tensorflow") and versions["Keras"] == version("keras")
    assert env.cores == os.cpu_count()
    if Path("/proc/cpuinfo").is_file():
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if names:
            assert env.cpu == " ".join(names[0].split())
    if platform.system() == "Linux":
        assert platform.release() in env.operating_system
    assert env.gpus == () or all(env.gpus)


def test_environment_section_is_in_every_format(student):
    course, path = student
    report = make(course, path)
    page = to_html.render(report)
    document = _docx(to_docx.render(report))
    env_table = next(t for t in document.tables if t.cell(0, 0).text == "Python")
    assert env_table.cell(0, 1).text == report.environment.python
    for text in (report.environment.cpu, report.environment.operating_system, np.__version__):
        assert text in page


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b[1m1/4\x1b[0m ━━ 1s\x08\x08\x08\x08\r\x1b[1m4/4\x1b[0m ━━ 0s - loss: 5.6\n", "4/4 ━━ 0s - loss: 5.6"),
        ("epoch 1\repoch 2\repoch 3\nend\n", "epoch 3\nend"),
        ("abc\x08d\n", "abd"),
    ],
)
def test_terminal_output_is_cleaned(raw, shown):
    assert rnb.clean_text(raw) == shown


def test_long_outputs_keep_their_head_and_tail():
    text = "\n".join(f"line {k}" for k in range(200))
    short = rnb.shorten(text, "... {n} lines left out ...")
    lines = short.splitlines()
    assert lines[0] == "line 0" and lines[-1] == "line 199" and "164 lines left out" in short


# ------------------------------------------------------------------ outputs


def _docx(data: bytes):
    from docx import Document

    return Document(io.BytesIO(data))


def test_docx_has_the_headings_tables_and_images(student):
    course, path = student
    report = make(course, path)
    document = _docx(to_docx.render(report))
    headings = [(p.style.name, p.text) for p in document.paragraphs if p.style.name.startswith("Heading")]
    level1 = [text for style, text in headings if style == "Heading 1"]
    assert level1 == [
        "一、实验目的",
        "二、实验原理",
        "三、实验软件和硬件环境",
        "四、实验步骤",
        "五、结论分析与体会",
        "六、问题与解答",
    ]
    exercises = [text for style, text in headings if style == "Heading 5"]
    assert exercises[0] == "练习 1 - zero_pad    得分：5 / 5" and len(exercises) == 8
    cover = document.tables[0]
    assert [c.text for c in cover.rows[0].cells] == ["课程名称", "深度学习", "指导教师", "王老师"]
    assert [c.text for c in cover.rows[2].cells] == ["姓名", "李明", "学号", "2023010123"]
    assert cover.rows[1].cells[1].text == "卷积神经网络，一步一步来"
    assert [c.text for c in cover.rows[-1].cells] == ["成绩", "", "教师签字", ""]  # left for the teacher
    summary = next(t for t in document.tables if t.cell(0, 0).text == "函数")
    assert [r.cells[0].text for r in summary.rows[1:-1]] == [s.function for s in report.graded_steps]
    assert len(document.inline_shapes) == len(report.figures) == 1
    texts = "\n".join(p.text for p in document.paragraphs)
    assert "卷积的四重循环比 tf.nn.conv2d 慢约 300 倍" in texts and "为什么 pad = 0 时出错" in texts
    assert "X_pad = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0))" in texts
    props = document.core_properties
    assert props.created == props.modified == dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
    assert props.author == "李明"


def test_english_report_has_english_labels(student):
    course, path = student
    report = make(course, path, lang="en")
    document = _docx(to_docx.render(report))
    level1 = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert level1 == [
        "1 Purpose",
        "2 Principles",
        "3 Software and hardware",
        "4 Steps",
        "5 Conclusions",
        "6 Questions and answers",
    ]
    page = to_html.render(report)
    assert '<html lang="en">' in page and "Student number" in page and "Exercise 1 - zero_pad" in page
    assert set(labels.LABELS["zh"]) == set(labels.LABELS["en"])


def test_chinese_notebook_report_has_chinese_headings_throughout(tmp_path):
    """The Chinese report of a Chinese notebook (the Chinese edition with the answers): every heading, from the
    title to each step and exercise, is Chinese; only code names (zero_pad) and numbers stay as they are."""
    from helpers.instructor import translations as tr

    course = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    (course / "notebooks").mkdir()
    catalog = tr.read_catalogue(tr.catalogue_path(ROOT, ASSIGNMENT, "zh"), "zh")
    chinese = tr.translate_notebook(demo.filled_notebook(ROOT, ASSIGNMENT), tr.translations_of(catalog), "zh")
    path = course / "notebooks" / f"{ASSIGNMENT}.ipynb"
    nbformat.write(write_sections(run_notebook(chinese), CONCLUSIONS, QUESTION), path)
    prof.write(course / "notebooks" / "profile.toml", PROFILE)
    document = _docx(to_docx.render(make(course, path, lang="zh")))
    headings = [p.text for p in document.paragraphs if p.style.name == "Title" or p.style.name.startswith("Heading")]
    assert len(headings) > 20
    code_name = re.compile(r"\b[A-Za-z]\w*_\w*\b")  # zero_pad, conv_forward: the notebook's own names
    english = [text for text in headings if re.search(r"[A-Za-z]{2,}", code_name.sub("", text))]
    assert english == []
    chinese_headings = [text for text in headings if re.search(r"[\u4e00-\u9fff]", text)]
    assert headings[0] in chinese_headings and len(chinese_headings) >= len(headings) - 2


def test_html_and_docx_are_byte_identical_for_the_same_notebook_and_profile(student, tmp_path):
    course, path = student
    first, second = make(course, path), make(course, path)
    assert to_html.render(first) == to_html.render(second)
    docx_bytes = to_docx.render(first)
    assert docx_bytes == to_docx.render(second)
    assert {i.date_time for i in zipfile.ZipFile(io.BytesIO(docx_bytes)).infolist()} == {(2026, 5, 20, 0, 0, 0)}
    assert to_html.render(make(course, path, date=dt.date(2026, 5, 21))) != to_html.render(first)


def test_html_escapes_what_the_student_wrote(student):
    course, path = student
    page = to_html.render(make(course, path))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_output_paths():
    nb = Path("/x/notebooks/cnn_step_by_step.ipynb")
    assert build.output_paths(nb, "zh", ["pdf"]) == {"pdf": Path("/x/notebooks/cnn_step_by_step_report_zh.pdf")}
    assert build.output_paths(nb, "en", ["pdf"], Path("/y/mine.pdf")) == {"pdf": Path("/y/mine.pdf")}
    assert build.output_paths(nb, "en", ["pdf", "docx"], Path("/y/r.pdf")) == {
        "pdf": Path("/y/r.pdf"),
        "docx": Path("/y/r.docx"),
    }
    assert build.output_paths(nb, "zh", ["html", "docx"], Path("/y/out")) == {
        "html": Path("/y/out/cnn_step_by_step_report_zh.html"),
        "docx": Path("/y/out/cnn_step_by_step_report_zh.docx"),
    }


def test_pdf_renders_chinese_and_is_reproducible(student):
    problem = to_pdf.available()
    if problem:
        pytest.skip(f"no PDF toolchain here: {problem}")
    course, path = student
    report = make(course, path)
    pdf = to_pdf.render(report)
    assert pdf.startswith(b"%PDF-") and pdf == to_pdf.render(make(course, path))
    if not shutil.which("pdffonts") or not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdffonts, pdftotext) is not installed: the PDF's text is not checked")
    target = path.with_name("report.pdf")
    target.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(target)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and all(" yes " in line for line in fonts.splitlines()[2:])  # embedded
    text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True, check=True).stdout
    for expected in ("实验报告", "一、实验目的", "李明", "2023010123", "结论分析与体会", "慢约 300 倍"):
        assert expected in text
    info = subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True).stdout
    assert "2026" in info and "李明" in info


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def class_copy(tmp_path_factory):
    """A course copy with a partly wrong, partly unwritten, never run notebook in notebooks/."""
    course = make_course_copy(tmp_path_factory.mktemp("report") / "course", [ASSIGNMENT])
    partial = demo.filled_notebook(ROOT, ASSIGNMENT, catalogue.load_variants(ROOT, ASSIGNMENT)["partial_student"])
    release = nbu.read_notebook(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    _solutions(partial)["pool_backward"].source = _solutions(release)["pool_backward"].source
    (course / "notebooks").mkdir()
    path = course / "notebooks" / f"{ASSIGNMENT}.ipynb"
    nbformat.write(partial, path)
    return course, path


def _check_points(capsys, course, path) -> dict[str, tuple[float, float]]:
    from helpers.cli import main

    assert main(["--root", str(course), "check", str(path)]) == 0
    out = capsys.readouterr().out
    return {
        m.group(1): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"^  (\w+)\s+([\d.]+) / ([\d.]+)", out, re.M)
    }


@pytest.mark.slow
def test_course_report_on_an_unrun_partly_wrong_notebook(class_copy, capsys):
    from helpers.cli import main

    course, path = class_copy
    before = path.read_bytes()
    out_dir = course / "reports"
    code = main(
        [
            "--root",
            str(course),
            "report",
            str(path),
            "--to",
            "html",
            "docx",
            "--out",
            str(out_dir),
            "--date",
            "2026-05-20",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert path.read_bytes() == before
    # the command's lines are in the report's language (Chinese, the default), like the flags it repeats
    assert "从未运行过" in captured.err and "快速模式（COURSE_FAST=1）" in captured.err
    assert "处没有个人资料" in captured.err and "还没有写（0 分）：pool_backward" in captured.err
    assert captured.err.count("是空的") == 2
    html_file, docx_file = out_dir / f"{ASSIGNMENT}_report_zh.html", out_dir / f"{ASSIGNMENT}_report_zh.docx"
    assert html_file.is_file() and docx_file.is_file()

    report = build.make_report(course, path, ASSIGNMENT, date=DATE)
    assert report.ran_fast and labels.LABELS["zh"]["ran_fast"] in to_html.render(report)
    expected = _check_points(capsys, course, path)
    shown = {s.function: (s.points.points, s.points.max_points) for s in report.graded_steps}
    assert shown == expected
    assert shown["zero_pad"] == (0, 5) and shown["pool_backward"] == (0, 20) and shown["conv_forward"] == (20, 20)
    assert (
        report.score
        == demo.expected_score(ROOT, ASSIGNMENT, catalogue.load_variants(ROOT, ASSIGNMENT)["partial_student"]) - 20
    )
    zero_pad = next(s for s in report.graded_steps if s.function == "zero_pad")
    assert "(pad, pad), (pad, pad), (0, 0), (0, 0)" in zero_pad.code  # the wrong line the student wrote
    assert any("x_pad.shape = (8, 7, 3, 2)" in o.text for o in zero_pad.outputs)
    assert any(o.error and "CheckFailure" in o.text for o in zero_pad.self_checks)
    assert len(report.figures) >= 1
    document = _docx(docx_file.read_bytes())
    assert len(document.inline_shapes) == len(report.figures)


@pytest.mark.slow
@pytest.mark.exhaustive  # two report runs; one report end to end is in the fast tier
def test_course_report_on_a_run_reference_notebook_is_reproducible(class_copy, tmp_path):
    from helpers.report import run

    course, _ = class_copy
    folder = tmp_path / "mine"
    folder.mkdir()
    path = folder / f"{ASSIGNMENT}.ipynb"
    nb = write_sections(demo.filled_notebook(ROOT, ASSIGNMENT), CONCLUSIONS, QUESTION)
    nbformat.write(run.execute(nb, path), path)  # the student ran it in Jupyter
    prof.write(folder / "profile.toml", {**PROFILE, "date": "2026-05-20", "language": "en"})
    first = build.make_report(course, path, ASSIGNMENT)
    assert first.lang == "en" and first.date == DATE and first.flags == [] and not first.ran_fast
    assert first.score == first.max_score == 100
    assert len(first.figures) == 3  # padding, feature maps, poolings
    second = build.make_report(course, path, ASSIGNMENT)
    assert to_html.render(first) == to_html.render(second)
    assert to_docx.render(first) == to_docx.render(second)
