"""The Chinese edition: catalogues complete and current, release_zh/ current and structurally the English
release, the glossary kept, a changed English paragraph marks exactly its own entry, the language
choice, `course setup --lang zh`, and the Chinese reference's points."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

import nbformat
import pytest
from babel.messages.extract import extract_from_dir

from helpers import i18n
from helpers.instructor import catalogue as catalogue_of_mistakes
from helpers.instructor import release as release_mod
from helpers.instructor import translations as tr
from helpers.instructor.settings import Settings, SettingsError
from helpers.paths import ASSIGNMENTS

ROOT = Path(__file__).resolve().parent.parent
# Catalogues whose translation is finished: the completeness and glossary tests hold them to it.
TRANSLATED = ("cnn_step_by_step", "cnn_application", "residual_networks")


def catalogue(assignment):
    return tr.read_catalogue(tr.catalogue_path(ROOT, assignment, "zh"), "zh")


@pytest.mark.parametrize("assignment", TRANSLATED)
def test_catalogue_is_complete(assignment):
    """No string of the notebook is left untranslated or fuzzy."""
    assert tr.unfinished(catalogue(assignment)) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_is_current(assignment):
    """The catalogue holds exactly the strings of the committed English release (run `course translations`)."""
    pot = tr.template(tr.release_notebook(ROOT, assignment), assignment)
    assert {m.id for m in catalogue(assignment) if m.id} == {m.id for m in pot if m.id}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_chinese_release_is_current(assignment):
    """release_zh/ is what `course release` builds from release/ and the catalogue, byte for byte."""
    built = nbformat.writes(tr.build_edition(ROOT, assignment, "zh")) + "\n"
    assert tr.edition_path(ROOT, assignment, "zh").read_text(encoding="utf-8") == built
    for item in (ROOT / "release" / assignment).iterdir():
        if item.suffix != ".ipynb":  # the files beside the notebook: the same
            assert (ROOT / "release_zh" / assignment / item.name).read_bytes() == item.read_bytes()


def _code_lines(source: str) -> list[str]:
    """A code cell's lines without its docstrings' text and whole comment lines: the code itself."""
    lines = source.split("\n")
    drop = set()
    for start, end in tr._docstring_ranges(source):
        drop.update(i for i in range(start, end) if '"""' not in lines[i] and "'''" not in lines[i])
    return [line for i, line in enumerate(lines) if i not in drop and not re.match(r"\s*#(?!##)", line)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_chinese_release_keeps_everything_but_prose(assignment):
    """Same cells, ids, metadata (grade ids, points, nbgrader checksums), code and locked cells; the notebook
    says it is the zh edition; every translation keeps its English's inline code, math and named keys."""
    en = tr.release_notebook(ROOT, assignment)
    zh = nbformat.read(tr.edition_path(ROOT, assignment, "zh"), as_version=4)
    assert i18n.notebook_language(zh) == "zh" and i18n.notebook_language(en) == "en"
    assert len(zh.cells) == len(en.cells)
    for e, z in zip(en.cells, zh.cells):
        assert (z.get("id"), z.cell_type, z.metadata) == (e.get("id"), e.cell_type, e.metadata)
        if tr.kept_as_is(e):
            assert z.source == e.source
        if e.cell_type == "code":
            assert _code_lines(z.source) == _code_lines(e.source)
    normal = lambda text: re.sub(r"\s+", " ", text)  # noqa: E731  (a soft line break is a space)
    for message in catalogue(assignment):
        if message.id and message.string:
            for span in tr.protected_spans(message.id):
                assert normal(span) in normal(message.string), (span, message.id)


def test_code_still_parses():
    """Translated docstrings and comments leave every code cell of the Chinese edition valid Python."""
    for assignment in ASSIGNMENTS:
        for cell in nbformat.read(tr.edition_path(ROOT, assignment, "zh"), as_version=4).cells:
            if cell.cell_type == "code":
                code = "\n".join("pass" if line.lstrip().startswith("%") else line for line in cell.source.split("\n"))
                list(tokenize.generate_tokens(io.StringIO(code).readline))
                compile(code, "<cell>", "exec")


def test_glossary_terms_are_kept():
    """Wherever a glossary term appears in English prose, its translation uses the glossary's Chinese term."""
    with open(ROOT / "i18n" / "glossary.csv", encoding="utf-8") as handle:
        terms = list(csv.DictReader(handle))
    assert len(terms) >= 30
    misses = []
    for assignment in TRANSLATED:
        for message in catalogue(assignment):
            if not message.id or not message.string:
                continue
            for term in terms:
                if (
                    re.search(tr.term_pattern(term["english"]), tr.prose_only(message.id))
                    and term["chinese"] not in message.string
                ):
                    misses.append((assignment, term["english"], term["chinese"], message.id[:60]))
    assert misses == []


TINY = [
    "# A title\n\nFirst paragraph about padding.\n\n- an item that says `x` twice\n\nLast paragraph.",
    'def f(x):\n    """\n    Square a number.\n\n    Arguments:\n    x -- a number to square\n    """\n'
    "    # Multiply x by itself\n    return x * x",
]


def tiny_notebook(texts):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(texts[0]), nbformat.v4.new_code_cell(texts[1])]
    return nb


def test_a_changed_paragraph_marks_exactly_its_entry():
    """After a translation, one English paragraph edited and one added: the edited one alone is fuzzy (its old
    translation kept for review), the new one alone is empty, every other entry stays translated."""
    nb = tiny_notebook(TINY)
    strings = [s.msgid for s in tr.segments(nb)]
    assert strings == [
        "A title",
        "First paragraph about padding.",
        "an item that says `x` twice",
        "Last paragraph.",
        "Square a number.",
        "Arguments:",
        "a number to square",
        "Multiply x by itself",
    ]
    catalog = tr.Catalog(locale="zh_CN")
    catalog.update(tr.template(nb, "tiny"))
    for message in catalog:
        if message.id:
            message.string = "译" + message.id
    edited = tiny_notebook(
        [
            TINY[0].replace("First paragraph about padding.", "First paragraph about the padding.")
            + "\n\nA brand new closing remark.",
            TINY[1],
        ]
    )
    tr.update_catalogue(catalog, tr.template(edited, "tiny"))
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    empty = [m.id for m in catalog if m.id and not m.string]
    assert fuzzy == ["First paragraph about the padding."]
    assert empty == ["A brand new closing remark."]
    assert sorted(tr.unfinished(catalog)) == sorted(fuzzy + empty)
    zh = tr.translate_notebook(edited, tr.translations_of(catalog), "zh")
    assert zh.cells[0].source.split("\n") == [
        "# 译A title",
        "",
        "First paragraph about the padding.",
        "",
        "- 译an item that says `x` twice",
        "",
        "译Last paragraph.",
        "",
        "A brand new closing remark.",
    ]
    assert zh.cells[1].source == (
        'def f(x):\n    """\n    译Square a number.\n\n    译Arguments:\n'
        '    x -- 译a number to square\n    """\n    # 译Multiply x by itself\n    return x * x'
    )


def test_language_choice(monkeypatch, tmp_path):
    """An explicit language wins, then COURSE_LANG, then the notebook Jupyter names, then the locale."""
    for variable in ("COURSE_LANG", "JPY_SESSION_NAME", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert i18n.language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.language() == "zh"
    notebook = tmp_path / "mine.ipynb"
    notebook.write_text(json.dumps({"metadata": {}, "cells": []}))
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert i18n.language() == "en"
    monkeypatch.setenv("COURSE_LANG", "zh")
    assert i18n.language() == "zh" and i18n.language("en") == "en"
    monkeypatch.setenv("COURSE_LANG", "klingon")
    assert i18n.language() == "en"  # a wrong setting falls back, with a warning, never an error
    with pytest.raises(ValueError, match="unknown language 'fr': use one of en, zh"):
        i18n.language("fr")


def test_messages_follow_the_language():
    """The package's catalogue translates, fields go in unchanged, and English is the text itself."""
    text = "{count} string(s) to translate or review (empty or fuzzy)"
    assert i18n.message(text, "zh", count=3) == "3 个字符串有待翻译或复核（为空或为 fuzzy）"
    assert i18n.message(text, "en", count=3) == "3 string(s) to translate or review (empty or fuzzy)"


def test_a_failing_check_speaks_the_notebooks_language(monkeypatch):
    """In a kernel Lab started for a Chinese notebook (JPY_SESSION_NAME), a failing check's message and "not
    written yet" are Chinese, with the numbers, shapes, index and code of the English one."""
    import numpy as np

    from helpers.checks import cnn_step_by_step as checks

    for variable in ("COURSE_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)

    def padded_with_ones(X, pad):
        return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=1)

    def unwritten(X, pad):
        raise NotImplementedError()

    said = {}
    for lang in ("en", "zh"):
        monkeypatch.setenv("JPY_SESSION_NAME", str(tr.edition_path(ROOT, "cnn_step_by_step", lang)))
        said[lang] = []
        for function in (padded_with_ones, unwritten):
            with pytest.raises(Exception) as failure:
                checks.zero_pad(function)
            said[lang].append(str(failure.value))
    (wrong_en, unwritten_en), (wrong_zh, unwritten_zh) = said["en"], said["zh"]
    assert "values differ" in wrong_en and "not written yet" in unwritten_en
    assert "个值中有 320 个不同" in wrong_zh and "期望 0，得到 1" in wrong_zh and "错误的特征" in wrong_zh
    assert "还没有写" in unwritten_zh and "### START CODE HERE ###" in unwritten_zh
    for fragment in ("(4, 3, 3, 2)", "pad=2", "(0, 0, 0, 0)", "392"):
        assert fragment in wrong_en and fragment in wrong_zh


def test_the_checks_own_sentences_follow_the_language(monkeypatch, capsys):
    """A check's own sentence (a wrong return type, a modified input), the call description inside it and
    "All tests passed." are Chinese for a Chinese reader and exactly the English ones for an English one."""
    import numpy as np

    from helpers.checks import cnn_step_by_step as checks

    def returns_a_number(X, pad):
        return 1.5

    def zeroes_its_input(X, pad):
        padded = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        X[:] = 0
        return padded

    def correct(X, pad):
        return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

    def conv_forward_list(A_prev, W, b, hparameters):
        return [A_prev, W]

    said = {}
    for lang in ("en", "zh"):
        monkeypatch.setenv("COURSE_LANG", lang)
        said[lang] = []
        for check, function in (
            (checks.zero_pad, returns_a_number),
            (checks.zero_pad, zeroes_its_input),
            (checks.conv_forward, conv_forward_list),
        ):
            with pytest.raises(Exception) as failure:
                check(function)
            said[lang].append(str(failure.value))
        capsys.readouterr()
        checks.zero_pad(correct)
        said[lang].append(capsys.readouterr().out)
    (number_en, modified_en, *rest_en), (number_zh, modified_zh, *rest_zh) = said["en"], said["zh"]
    assert number_en == (
        "x_pad of zero_pad(X of shape (4, 3, 3, 2), pad=2): expected a numpy array of shape (4, 7, 7, 2), "
        "got float 1.5."
    )
    assert modified_en.startswith("x (the input must not be modified): 72 of 72 values differ")
    assert rest_en == ["conv_forward must return a tuple of 2 values, got list.", "All tests passed.\n"]
    assert number_zh == (
        "zero_pad(X（形状 (4, 3, 3, 2)）, pad=2) 的 x_pad：期望形状为 (4, 7, 7, 2) 的 numpy 数组，得到 float 1.5。"
    )
    assert modified_zh.startswith("x（输入不能被修改）：72 个值中有 72 个不同")
    assert rest_zh == ["conv_forward 必须返回包含 2 个值的元组，得到的是 list。", "所有测试均已通过。\n"]
    # The known cause of a crash, kept in a table (i18n.N_), is translated where it is shown.
    from helpers import calls

    numpy_2 = "only 0-dimensional arrays can be converted to Python scalars"
    assert calls.known_cause("TypeError", numpy_2).startswith("float() 或 int() 收到的是")
    monkeypatch.setenv("COURSE_LANG", "en")
    assert calls.known_cause("TypeError", numpy_2).startswith("float() or int() was given a numpy array")


def test_package_catalogue_is_complete():
    """Every message of the package (gettext's _(), N_(), ngettext(), i18n.message() and messages.count()) has
    a finished Chinese translation, and so does every label a message or the feedback page carries."""
    from helpers import pages
    from helpers.instructor import feedback, outputs

    catalog = tr.read_catalogue(i18n.catalogue_file("zh"), "zh")
    finished = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else (m.string,))
    }
    wrapped = set()
    for _file, _line, message, _c, _ctx in extract_from_dir(
        str(ROOT / "helpers"),
        method_map=[("**.py", "python")],
        keywords={"_": None, "N_": None, "gettext": None, "message": None, "ngettext": (1, 2), "count": (2,)},
    ):
        wrapped.add(message if isinstance(message, str) else message[0])
    wrapped.discard(None)
    assert (
        len(wrapped) > 60
        and "{name} is not written yet: write it between ### START CODE HERE ### and ### END "
        "CODE HERE ### in its cell, then run that cell."
        in wrapped
    )
    assert sorted(wrapped - finished) == []
    marks = {outputs.PASSED_MARK, outputs.FAILED_MARK}
    assert sorted((set(pages.MESSAGE_LABELS) | {feedback.FAILURE_LABEL} | marks) - finished) == []
    # The catalogue of likely mistakes: its explanations and hints are msgids of the same catalogue.
    explained = {
        variant[key]
        for assignment in ASSIGNMENTS
        for variant in catalogue_of_mistakes.load_variants(ROOT, assignment, "wrong")["variants"]
        for key in ("explanation", "hint")
        if variant.get(key)
    }
    assert len(explained) > 150 and sorted(explained - finished) == []


def test_a_likely_mistake_is_explained_in_the_readers_language():
    """The grader names the same mistake for either reader, and explains it, with its hint, in the reader's
    language (the judge runs inside i18n.reading, as the grader does for a Chinese notebook)."""
    from conftest import judge_in_process

    failed = {}
    for lang in ("en", "zh"):
        with i18n.reading(lang):
            rows = judge_in_process.__wrapped__("cnn_step_by_step", ("zero_pad_wrong_axis",))
        failed[lang] = {gid: (mistake, text) for gid, status, _points, mistake, text in rows if status != "passed"}
    assert set(failed["en"]) == set(failed["zh"]) == {"zero_pad_values"}
    (mistake_en, text_en), (mistake_zh, text_zh) = failed["en"]["zero_pad_values"], failed["zh"]["zero_pad_values"]
    assert mistake_en == mistake_zh == "zero_pad_wrong_axis"
    assert "Likely mistake: You padded the batch axis and the height, not the height and the width." in text_en
    assert "Hint: X has shape (m, n_H, n_W, n_C)" in text_en
    assert "你填充的是批量轴和高度，而不是高度和宽度。" in text_zh
    assert "X 的形状是 (m, n_H, n_W, n_C)：四个 (before, after) 对中，哪两个属于 n_H 和 n_W？" in text_zh
    assert "padded the batch axis" not in text_zh


def test_setup_lang_zh(tmp_path):
    """`course setup --lang zh`'s two steps: notebooks/ gets the Chinese edition (nothing overwritten), and Lab's
    defaults select the zh_CN language pack, keeping what the file already sets."""
    course = tmp_path / "course"
    for folder in ("source", "release", "release_zh"):
        for assignment in ASSIGNMENTS:
            (course / folder / assignment).mkdir(parents=True)
            for item in (ROOT / folder / assignment).glob("*.ipynb"):
                (course / folder / assignment / item.name).write_bytes(item.read_bytes())
    copied = release_mod.setup_notebooks(course, "zh")
    assert sorted(p.name for p in copied) == sorted(f"{a}.ipynb" for a in ASSIGNMENTS)
    assert all(i18n.notebook_language(nbformat.read(p, as_version=4)) == "zh" for p in copied)
    assert release_mod.setup_notebooks(course, "zh") == []
    prefix = tmp_path / "env"
    settings = release_mod.lab_settings_file(prefix)
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"other:plugin": {"a": 1}}))
    assert "zh_CN" in release_mod.lab_language("zh", prefix)
    assert json.loads(settings.read_text()) == {
        "other:plugin": {"a": 1},
        release_mod.LAB_TRANSLATION_PLUGIN: {"locale": "zh_CN"},
    }
    assert "already set" in release_mod.lab_language("zh", prefix)


def test_language_pack_is_installed():
    """The official JupyterLab language pack that `course setup --lang zh` selects is in the environment."""
    from importlib.metadata import version

    assert version("jupyterlab-language-pack-zh-CN")


def test_feedback_page_and_kernel_follow_the_notebooks_language():
    """The page of a Chinese submission has Chinese labels (the message's labels included); its kernel is
    told the language (COURSE_LANG), whatever the grader's own."""
    from helpers.instructor import grading, outputs
    from helpers.instructor.verdict import CellScore, Result

    cell = CellScore(
        "conv_forward_values",
        0.0,
        3.0,
        "failed",
        "conv_forward(...): expected 1, got 2.\n" + i18n.gettext("Likely mistake", "zh") + "\uff1aa sign.",
    )
    pages = {
        lang: outputs.feedback_page(
            "ann", "cnn_step_by_step", Result("ann", "cnn_step_by_step", 0.0, 3.0, "graded", cells=[cell], lang=lang)
        )
        for lang in ("en", "zh")
    }
    assert "why not full marks" in pages["en"] and "why not full marks" not in pages["zh"]
    for label in ("测试", "得分", "未得满分的原因", "哪里出错", "可能的错误"):
        assert label in pages["zh"] and label not in pages["en"], label
    assert grading.kernel_env(1, "zh")["COURSE_LANG"] == "zh" and grading.kernel_env(1)["COURSE_LANG"] == "en"
    table = outputs.check_table(
        "cnn_step_by_step",
        Result("you", "cnn_step_by_step", 0.0, 3.0, "graded", cells=[cell], lang="zh"),
        {"conv_forward_values": "conv_forward"},
    )
    assert "可能的错误: a sign." in table and "Likely mistake" not in table  # course check's table too


def test_course_check_grade_and_help_follow_the_language(monkeypatch):
    """course check's table follows COURSE_LANG, else the notebook's language; course grade's table follows
    COURSE_LANG, else the course's setting; every subcommand's --help follows the language. English stays
    as it was."""
    from helpers import cli
    from helpers.instructor import outputs
    from helpers.instructor.verdict import CellScore, Result

    monkeypatch.delenv("COURSE_LANG", raising=False)
    assert i18n.command_language("zh") == "zh" and i18n.command_language(None, "zh") == "zh"
    monkeypatch.setenv("COURSE_LANG", "en")
    assert i18n.command_language("zh") == "en"

    cell = CellScore("zero_pad_values", 0.0, 2.0, "failed", "x_pad: expected 1, got 2.")
    passed = CellScore("conv_forward_values", 3.0, 3.0, "passed", "")
    result = Result("you", "cnn_step_by_step", 3.0, 5.0, "graded", cells=[cell, passed], lang="zh", notes=["n"])
    owner = {"zero_pad_values": "zero_pad", "conv_forward_values": "conv_forward"}
    english = outputs.check_table("cnn_step_by_step", result, owner, "en").splitlines()
    assert english[0] == "cnn_step_by_step: 3 / 5 points" and english[-1] == "  note: n"
    assert english[2].endswith("\u2717 FAIL") and english[4].endswith("\u2713 ok")
    chinese = outputs.check_table("cnn_step_by_step", result, owner).splitlines()  # the notebook's language
    assert chinese[0] == "cnn_step_by_step：3 / 5 分" and chinese[-1] == "  注：n"
    assert chinese[2].endswith("\u2717 未通过") and chinese[4].endswith("\u2713 通过")
    assert outputs.table([result], "en").splitlines()[0].split() == ["student", "cnn_step_by_step", "total"]
    assert outputs.table([result], "zh").splitlines()[0].split() == ["学生", "cnn_step_by_step", "总分"]

    for lang, expected in (("en", "autograde every submission"), ("zh", "自动评分所有提交")):
        monkeypatch.setenv("COURSE_LANG", lang)
        text = cli.build_parser().format_help()
        assert expected in text and ("教师和学习者" in text) == (lang == "zh")
    monkeypatch.setenv("COURSE_LANG", "zh")
    for words, fragment in ((("grade",), "只评这名学生"), (("hub", "setup"), "每个用户服务器的内存")):
        parser = cli.build_parser()
        sub = parser._subparsers._group_actions[0].choices[words[0]]
        if len(words) > 1:
            sub = sub._subparsers._group_actions[0].choices[words[1]]
        assert fragment in sub.format_help(), words
        assert sub.format_help().startswith("用法：course ") and "显示此帮助信息并退出" in sub.format_help()


@pytest.mark.slow
def test_either_edition_grades_the_same(tmp_path):
    """In one grading run: the Chinese edition of cnn_step_by_step's reference earns every point, and a pack of
    mistakes earns in Chinese exactly the points, statuses and named mistakes it earns in English; the Chinese
    one's page has Chinese labels."""
    from conftest import grade_class, pack_submissions
    from helpers.instructor import demo

    assignment = "cnn_step_by_step"
    finished = tr.translations_of(catalogue(assignment))
    [(student, english_pack)] = pack_submissions(assignment, range(1)).items()
    chinese_reference = tr.translate_notebook(demo.filled_notebook(ROOT, assignment), finished, "zh")
    assert chinese_reference.cells[0].source != english_pack.cells[0].source
    graded = grade_class(
        tmp_path / "course",
        {
            assignment: {
                "zh_reference": chinese_reference,
                "en_pack": english_pack,
                "zh_pack": tr.translate_notebook(english_pack, finished, "zh"),
            }
        },
    )
    results = graded[assignment]
    reference = results["zh_reference"]
    assert reference.status == "graded" and reference.lang == "zh" and reference.max_score > 0
    assert reference.score == reference.max_score, [
        (c.grade_id, c.message) for c in reference.cells if c.points < c.max_points
    ]
    english, chinese = results["en_pack"], results["zh_pack"]
    assert (english.lang, chinese.lang) == ("en", "zh")
    assert 0 < english.score < english.max_score
    assert chinese.score == english.score
    assert [(c.grade_id, c.points, c.status, c.mistake) for c in chinese.cells] == [
        (c.grade_id, c.points, c.status, c.mistake) for c in english.cells
    ]
    page = (graded.root / "feedback" / "zh_pack" / assignment / f"{assignment}.html").read_text(encoding="utf-8")
    assert "未得满分的原因" in page and "✗ 未通过" in page and "why not full marks" not in page
    # The grader's messages, and what the kernel's checks printed, are in the notebook's language.
    chinese_text = re.compile(r"[\u4e00-\u9fff]")
    failed = {c.grade_id for c in english.cells if c.points < c.max_points}
    assert any(chinese_text.search(c.message) for c in chinese.cells if c.grade_id in failed)
    assert not any(chinese_text.search(c.message) for c in english.cells)
    for student, lang in (("en_pack", "en"), ("zh_pack", "zh")):
        executed = nbformat.read(
            graded.root / "autograded" / student / assignment / f"{assignment}.ipynb", as_version=4
        )
        errors = " ".join(
            str(out.get("evalue", ""))
            for cell in executed.cells
            if cell.cell_type == "code"
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        )
        assert bool(chinese_text.search(errors)) == (lang == "zh"), errors[:500]


# ------------------------------------------------------------------ the instructor's choice of edition


def chinese_course(target: Path, assignments=("cnn_step_by_step",), lang: str = "zh") -> Path:
    """A course copy (config, source/, release/, the catalogues) whose nbgrader_config.py hands out ``lang``."""
    from conftest import make_course_copy

    root = make_course_copy(target, list(assignments))
    shutil.copytree(ROOT / "i18n", root / "i18n")
    config = root / "nbgrader_config.py"
    text = config.read_text()
    assert 'c.CourseGrader.language = "en"\n' in text
    config.write_text(text.replace('c.CourseGrader.language = "en"\n', f'c.CourseGrader.language = "{lang}"\n'))
    return root


def test_language_setting_chooses_the_released_edition(tmp_path):
    """c.CourseGrader.language = "zh" makes release_zh/ nbgrader's release folder; a release folder of
    another edition is refused with the line to write."""
    root = chinese_course(tmp_path / "course")
    settings = Settings.load(root)
    assert settings.language == "zh" and settings.folders["release"] == "release_zh"
    assert Settings.load(ROOT).folders["release"] == "release"
    with open(root / "nbgrader_config.py", "a") as handle:
        handle.write('c.CourseDirectory.release_directory = "release"\n')
    with pytest.raises(SettingsError, match=r"c.CourseDirectory.release_directory = 'release_zh'"):
        Settings.load(root)


def _nbgrader(*args, cwd: Path, env) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"nbgrader {args} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.exhaustive  # the exchange loop again; the edition's grading is in the fast tier
def test_the_exchange_hands_out_the_chinese_edition(tmp_path):
    """With the language set to zh: nbgrader's Generate (Formgrader's button) writes the Chinese edition into
    release_zh/ as `course release` builds it, English release/ untouched; release_assignment and a student's
    fetch give that notebook; filled with the answers it passes nbgrader validate (its checksums hold)."""
    assignment = "cnn_step_by_step"
    root = chinese_course(tmp_path / "course", [assignment])
    english = (root / "release" / assignment / f"{assignment}.ipynb").read_bytes()
    (root / "notebooks").mkdir()
    shutil.copy2(ROOT / "notebooks" / "nbgrader_config.py", root / "notebooks")
    release_mod.setup_exchange(root)
    env = dict(
        os.environ, COURSE_FAST="1", HOME=str(tmp_path / "home"), JUPYTER_DATA_DIR=str(tmp_path / "home" / "jupyter")
    )

    _nbgrader("generate_assignment", assignment, "--force", cwd=root, env=env)
    released = tr.edition_path(root, assignment, "zh")
    assert released.read_text(encoding="utf-8") == nbformat.writes(tr.build_edition(root, assignment, "zh")) + "\n"
    assert (root / "release" / assignment / f"{assignment}.ipynb").read_bytes() == english

    _nbgrader("release_assignment", assignment, cwd=root, env=env)
    student_dir = root / "notebooks"
    _nbgrader("fetch_assignment", assignment, cwd=student_dir, env=env)
    fetched = student_dir / assignment / f"{assignment}.ipynb"
    assert fetched.read_bytes() == released.read_bytes()
    assert i18n.notebook_language(nbformat.read(fetched, as_version=4)) == "zh"

    from helpers.instructor import demo

    answered = demo.filled_notebook(root, assignment)  # the answers written into the released (Chinese) notebook
    assert i18n.notebook_language(answered) == "zh"
    nbformat.write(answered, fetched)
    validated = _nbgrader("validate", str(fetched), cwd=student_dir, env=env)
    assert "Success! Your notebook passes all the tests." in validated, validated
