"""The last English a Chinese reader met: the class report, `course report`'s output, the judge's refusal of a
dependency call, and argparse's own words. Fast: no kernel."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import i18n
from helpers.instructor import class_report
from helpers.instructor.batch import GRADE_FILE
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import CellScore, Result

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "cnn_step_by_step"
HAN = re.compile(r"[\u4e00-\u9fff]")


def course_in(target: Path, lang: str) -> Path:
    """A course copy whose nbgrader_config.py sets c.CourseGrader.language = ``lang``, with three graded
    students, one flagged, one missing, and one submitted but not graded."""
    from conftest import make_course_copy

    root = make_course_copy(target, [ASSIGNMENT])
    config = root / "nbgrader_config.py"
    config.write_text(
        config.read_text().replace('c.CourseGrader.language = "en"\n', f'c.CourseGrader.language = "{lang}"\n')
    )
    settings = Settings.load(root)
    cells = lambda points: [CellScore("zero_pad_values", points, 2.0, "passed" if points else "failed")]  # noqa: E731
    results = [
        Result("alice", ASSIGNMENT, 2.0, 2.0, "graded", cells=cells(2.0), seconds=3.0),
        Result("bob", ASSIGNMENT, 0.0, 2.0, "graded", cells=cells(0.0), seconds=5.0, flags=["timestamp in the future"]),
        Result("carol", ASSIGNMENT, 0.0, 2.0, "missing", reason="no notebook", cells=[], seconds=0.0),
    ]
    for result in results:
        folder = settings.path("autograded", ASSIGNMENT, result.student)
        folder.mkdir(parents=True)
        (folder / GRADE_FILE).write_text(result.to_json())
    settings.path("submitted", ASSIGNMENT, "late").mkdir(parents=True)
    return root


def headings(page: str) -> list[str]:
    return re.findall(r"<h[12]>(.*?)</h[12]>", page)


def test_the_class_report_follows_the_courses_language(tmp_path, monkeypatch):
    """c.CourseGrader.language = "zh": the page says lang="zh", its title, headings, table headers and
    statuses are Chinese, the figures are drawn; the CSV files keep their English column names. An English
    course gets the English page; COURSE_LANG overrides the setting, as for course grade."""
    monkeypatch.delenv("COURSE_LANG", raising=False)
    chinese = course_in(tmp_path / "zh", "zh")
    page_path = class_report.write_report(Settings.load(chinese), [ASSIGNMENT], tmp_path / "out_zh")[0]
    page = page_path.read_text(encoding="utf-8")
    assert '<html lang="zh">' in page and "<title>班级报告：cnn_step_by_step</title>" in page
    found = headings(page)
    assert found[:3] == ["班级报告：cnn_step_by_step", "成绩分布", "学生"] and len(found) == 7
    assert all(HAN.search(h) for h in found), found
    assert "<th>学生</th><th>得分</th><th>状态</th><th>秒</th><th>标记</th>" in page
    assert "<th>单元格</th><th>分值</th><th>通过</th>" in page  # a cell's points to earn, not earned
    assert "已评分" in page and "未评分" in page and "缺失" in page and "已提交但尚未评分" in page
    assert "4 名学生中已评分 2 名" in page
    for english in ("Score distribution", "Students</h2>", "graded of", "Time to grade", "not graded"):
        assert english not in page, english
    csv_header = (page_path.parent / "students.csv").read_text().splitlines()[0]
    assert csv_header == "student,score,max_score,status,seconds,reason,mistakes,flags"

    english = course_in(tmp_path / "en", "en")
    page = class_report.write_report(Settings.load(english), [ASSIGNMENT], tmp_path / "out_en")[0].read_text()
    assert '<html lang="en">' in page and headings(page)[:3] == [
        "Class report: cnn_step_by_step",
        "Score distribution",
        "Students",
    ]
    assert not HAN.search(page)
    monkeypatch.setenv("COURSE_LANG", "zh")
    page = class_report.write_report(Settings.load(english), [ASSIGNMENT], tmp_path / "out_env")[0].read_text()
    assert '<html lang="zh">' in page


def test_course_class_report_prints_in_the_courses_language(tmp_path, monkeypatch):
    """`course class-report` says where it wrote, in the course's language."""
    monkeypatch.delenv("COURSE_LANG", raising=False)
    root = course_in(tmp_path / "zh", "zh")
    out = tmp_path / "out"
    process = subprocess.run(
        [sys.executable, "-m", "helpers.cli", "--root", str(root), "class-report", ASSIGNMENT, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"班级报告：{out / ASSIGNMENT / 'index.html'}"


def test_the_sessions_notebook_is_read_once_per_version(tmp_path, monkeypatch):
    """In a kernel (JPY_SESSION_NAME), every message asks the notebook's language: the file is read once for
    each version of it (path and mtime), and read again when it changes."""
    for variable in ("COURSE_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    notebook = tmp_path / "mine.ipynb"
    notebook.write_text(json.dumps({"metadata": {"course": {"lang": "zh"}}, "cells": []}))
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    reads = []
    real_load = i18n.json.load
    monkeypatch.setattr(i18n.json, "load", lambda handle: reads.append(handle.name) or real_load(handle))
    assert [i18n.language() for _ in range(50)] == ["zh"] * 50 and reads == [str(notebook)]
    notebook.write_text(json.dumps({"metadata": {}, "cells": []}))
    stat = notebook.stat()
    os.utime(notebook, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert i18n.language() == "en" and len(reads) == 2


def test_course_report_prints_in_the_notebooks_language(tmp_path, monkeypatch, capsys):
    """`course report` on a Chinese notebook: its status lines, the grader's notes, the flags, what it wrote and
    its closing line are Chinese; --lang en makes them English (the report itself is a stand-in here: no kernel)."""
    from helpers.report import build
    from helpers.report import command as report_command

    monkeypatch.delenv("COURSE_LANG", raising=False)
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    shutil.copy(ROOT / "release_zh" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", notebook)

    def make_report(root, path, assignment, lang=None, **options):
        return SimpleNamespace(
            lang=lang or "zh",
            score=3.0,
            max_score=5.0,
            steps=[1, 2],
            figures=[1],
            notes=["the kernel was restarted"],
            flags=["cell missing"],
            run_reason="never_run",
            never_ran=0,
            never_ran_from="",
        )

    monkeypatch.setattr(build, "make_report", make_report)
    monkeypatch.setattr(build, "render", lambda made, fmt: b"<html></html>")

    def run(lang):
        args = SimpleNamespace(
            notebook=str(notebook),
            assignment=None,
            lang=lang,
            to=["html"],
            out=str(tmp_path / "out"),
            profile=None,
            date=None,
            rerun=False,
        )
        assert report_command.report(args, ROOT) == 0
        return capsys.readouterr()

    said = run(None)
    err = said.err.splitlines()
    assert err[0] == f"{ASSIGNMENT}.ipynb：正在运行完整检查（包括隐藏测试）……"
    assert err[1].startswith(f"注意：{ASSIGNMENT}.ipynb 从未运行过：报告中的输出和图来自")
    assert err[2:] == ["评分程序的说明：the kernel was restarted", "已标记：cell missing"]
    out = said.out.splitlines()
    assert out == [f"已写入 {tmp_path / 'out'}", f"{ASSIGNMENT}：3 / 5 分；2 个步骤，1 幅图；1 项已标记（见上文）"]

    said = run("en")
    assert said.err.splitlines()[0] == f"{ASSIGNMENT}.ipynb: running the full check (hidden tests included)..."
    assert said.out.splitlines()[-1] == f"{ASSIGNMENT}: 3 / 5 points; 2 steps, 1 figure; 1 flagged (above)"
    assert not HAN.search(said.out + said.err)


def _ask(server, function: str, args: list) -> dict:
    """One request to the judge's reference server over its socket, as a stand-in in the kernel sends it."""
    from helpers import calls, wire

    request = json.dumps({"function": function, "args": wire.encode(args), "kwargs": wire.encode({})}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(server.path)
        conn.sendall(struct.pack("!I", len(request)) + request)
        return json.loads(calls._receive(conn))


@pytest.mark.parametrize(
    ("lang", "bad_pad", "not_now"),
    [
        ("zh", "zero_pad: pad=-1 不是一个较小的非负整数", "现在不能请求 'zero_pad'"),
        ("en", "zero_pad: pad=-1 is not a small non-negative integer", "'zero_pad' cannot be asked for now"),
    ],
    ids=["zh", "en"],
)
def test_the_judges_refusal_is_in_the_students_language(tmp_path, lang, bad_pad, not_now):
    """The judge grading a notebook of ``lang`` (its i18n.reading()) gives that language to the reference
    server, whose own threads write the refusal of a dependency call in it: a bad argument, and a call asked
    for outside a call of the function under test."""
    from helpers.checks import cnn_step_by_step
    from helpers.instructor.judge import ReferenceServer

    server = ReferenceServer(str(tmp_path / "reference.sock"), None, None, cnn_step_by_step.dependency_call_allowed)
    try:
        with i18n.reading(lang), server.answering(["zero_pad"], i18n.language()):
            refused = _ask(server, "zero_pad", [np.zeros((1, 2, 2, 1)), -1])["error"]
        assert refused == {"ename": "ValueError", "message": bad_pad}
        assert _ask(server, "zero_pad", [np.zeros((1, 2, 2, 1)), 1])["error"]["message"].startswith(not_now)
    finally:
        server.close()


def _course(*words: str, lang: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COURSE_LANG": lang}
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *words], capture_output=True, text=True, timeout=60, env=env
    )


def test_argparses_own_words_follow_the_language():
    """COURSE_LANG=zh: argparse's usage line, its error line and its messages (a missing argument, an invalid
    choice, a value of the wrong type, an unknown argument) are Chinese; English is argparse's own text."""
    cases = [
        (("check",), "缺少以下必需的参数：notebook", "the following arguments are required: notebook"),
        (
            ("check", "x.ipynb", "--assignment", "nope"),
            "参数 --assignment：无效的选择：'nope'（请从 ",
            "invalid choice",
        ),
        (("check", "x.ipynb", "--timeout", "soon"), "参数 --timeout：无效的 int 值：'soon'", "invalid int value"),
        (("refs", "--bogus"), "无法识别的参数：--bogus", "unrecognized arguments: --bogus"),
    ]
    for words, chinese, english in cases:
        said = _course(*words, lang="zh")
        assert said.returncode == 2 and said.stderr.startswith("用法：course "), said.stderr
        assert f"：错误：{chinese}" in said.stderr.splitlines()[-1], said.stderr
        said = _course(*words, lang="en")
        assert said.returncode == 2 and said.stderr.startswith("usage: course ")
        assert ": error: " in said.stderr and english in said.stderr and not HAN.search(said.stderr)
    said = _course("check", "--help", lang="zh")
    assert "位置参数" in said.stdout and "显示此帮助信息并退出" in said.stdout
    said = _course("data", "--help", lang="zh")  # a subcommand whose module declares its own arguments
    assert said.stdout.startswith("用法：course data ") and "（重新）生成与 SIGNS 相似的默认数据" in said.stdout


def test_the_graders_notes_on_a_chinese_notebook_are_chinese():
    """The notes of merging a submission (a test cell deleted, a solution cell deleted) are in the submitted
    notebook's language; the English edition's are English, as before."""
    import nbformat

    from helpers.instructor import merge

    source = nbformat.read(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    notes = {}
    for lang, folder in (("zh", "release_zh"), ("en", "release")):
        release = nbformat.read(ROOT / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        student = nbformat.from_dict(release)
        student.cells = [
            c
            for c in student.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") not in ("zero_pad", "zero_pad_values")
        ]
        notes[lang] = merge.merge_submission(source, release, student)[1]
    assert notes["zh"] == ["以下测试单元格已按源文件恢复：zero_pad_values", "缺少解答单元格 'zero_pad'：按未作答评分"]
    assert notes["en"] == [
        "test cells restored from the source: zero_pad_values",
        "solution cell 'zero_pad' is missing: graded as unanswered",
    ]


def test_the_notes_on_a_submissions_files_and_kernel_are_in_its_language(tmp_path):
    """What the grader notes about the files handed in beside a notebook, and a restarted kernel, read in
    the submitted notebook's language; the class report names a crash from the count, in the page's."""
    from helpers.instructor import merge
    from helpers.instructor.verdict import restart_note

    folder = tmp_path / "submitted"
    (folder / "images").mkdir(parents=True)
    (folder / "big.bin").write_bytes(b"x" * 100)
    notes = {}
    for lang in ("zh", "en"):
        workdir = tmp_path / f"work_{lang}"
        workdir.mkdir()
        notes[lang] = merge.copy_submitted_files(folder, workdir, limit=1000, max_total=10, lang=lang)
    assert notes["en"] == [
        "big.bin not copied: the files beside a notebook may hold 10 bytes in all, and 0 bytes were taken by the "
        "files before it",
        "images/ not copied: folders beside the notebook are not used",
    ]
    assert notes["zh"] == [
        "big.bin 未复制：notebook 旁边的文件总共最多 10 bytes，在它之前的文件已占用 0 bytes",
        "images/ 未复制：notebook 旁边的文件夹不会被使用",
    ]
    assert restart_note(2, "zh") == "内核重启了 2 次" and restart_note(2, "en") == "the kernel was restarted 2 time(s)"
    crashed = Result("dave", ASSIGNMENT, 0.0, 2.0, "graded", restarts=1, notes=[restart_note(1, "zh")])
    data = class_report.ClassData(ASSIGNMENT, {"dave": crashed})
    assert class_report.problems(data, "en") == [("dave", "crashed", "the kernel was restarted 1 time(s)")]


@pytest.mark.parametrize("lang, reason", [("zh", "没有提交 notebook"), ("en", "no notebook")])
def test_a_missing_notebook_is_reported_in_the_courses_language(tmp_path, lang, reason):
    """No notebook tells the student's language: the reason is in the course's (c.CourseGrader.language)."""
    from helpers.instructor import grading

    root = course_in(tmp_path / "course", lang)
    if lang == "zh":  # the Chinese edition's release folder, which that setting makes the release directory
        shutil.copytree(ROOT / "release_zh" / ASSIGNMENT, root / "release_zh" / ASSIGNMENT)
    settings = Settings.load(root)
    result = grading.grade_notebook(settings, ASSIGNMENT, "eve", None, tmp_path / "out")
    assert result.status == "missing" and result.reason == f"{reason} {ASSIGNMENT}.ipynb" + (
        "" if lang == "zh" else " was submitted"
    )


def test_provenance_flags_follow_the_courses_language(tmp_path):
    """A submission whose timestamp lies in the future is flagged in the course's language."""
    from helpers.instructor import provenance

    for lang, words in (("zh", "在未来（评分时间为 "), ("en", "lies in the future (graded at ")):
        root = course_in(tmp_path / lang, lang)
        settings = Settings.load(root)
        (settings.path("submitted", ASSIGNMENT, "late") / "timestamp.txt").write_text("2999-01-01 00:00:00.000000 UTC")
        found = provenance.flags(settings, "late", ASSIGNMENT)
        assert len(found) == 1 and "2999-01-01 00:00:00.000000 UTC" in found[0] and words in found[0], found


def test_the_class_reports_figures_find_an_installed_cjk_font():
    """A Chinese label is drawn with a CJK font when the system has one, even when matplotlib's cached font
    list was built before that font was installed."""
    from matplotlib import font_manager

    system = [path for path in font_manager.findSystemFonts() if "cjk" in Path(path).name.lower()]
    if not system:
        pytest.skip("no CJK font installed (fonts-noto-cjk)")
    assert class_report._cjk_fonts_known(font_manager)
