"""The Chinese edition: catalogues complete and current, release_zh/ current and structurally the English
release, the glossary kept, a changed English paragraph marks exactly its own entry, the language
choice, `course setup --lang zh`, and the Chinese reference's points."""

from __future__ import annotations

import csv
import io
import json
import re
import tokenize
from pathlib import Path

import nbformat
import pytest
from babel.messages.extract import extract_from_dir

from helpers import i18n
from helpers.instructor import release as release_mod
from helpers.instructor import translations as tr
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
                if re.search(tr.term_pattern(term["english"]), tr.prose_only(message.id)) \
                        and term["chinese"] not in message.string:
                    misses.append((assignment, term["english"], term["chinese"], message.id[:60]))
    assert misses == []


TINY = ["# A title\n\nFirst paragraph about padding.\n\n- an item that says `x` twice\n\nLast paragraph.",
        'def f(x):\n    """\n    Square a number.\n\n    Arguments:\n    x -- a number to square\n    """\n'
        "    # Multiply x by itself\n    return x * x"]


def tiny_notebook(texts):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(texts[0]), nbformat.v4.new_code_cell(texts[1])]
    return nb


def test_a_changed_paragraph_marks_exactly_its_entry():
    """After a translation, one English paragraph edited and one added: the edited one alone is fuzzy (its old
    translation kept for review), the new one alone is empty, every other entry stays translated."""
    nb = tiny_notebook(TINY)
    strings = [s.msgid for s in tr.segments(nb)]
    assert strings == ["A title", "First paragraph about padding.", "an item that says `x` twice", "Last paragraph.",
                       "Square a number.", "Arguments:", "a number to square", "Multiply x by itself"]
    catalog = tr.Catalog(locale="zh_CN")
    catalog.update(tr.template(nb, "tiny"))
    for message in catalog:
        if message.id:
            message.string = "译" + message.id
    edited = tiny_notebook([TINY[0].replace("First paragraph about padding.", "First paragraph about the padding.")
                            + "\n\nA brand new closing remark.", TINY[1]])
    tr.update_catalogue(catalog, tr.template(edited, "tiny"))
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    empty = [m.id for m in catalog if m.id and not m.string]
    assert fuzzy == ["First paragraph about the padding."]
    assert empty == ["A brand new closing remark."]
    assert sorted(tr.unfinished(catalog)) == sorted(fuzzy + empty)
    zh = tr.translate_notebook(edited, tr.translations_of(catalog), "zh")
    assert zh.cells[0].source.split("\n") == ["# 译A title", "", "First paragraph about the padding.", "",
                                               "- 译an item that says `x` twice", "", "译Last paragraph.", "",
                                               "A brand new closing remark."]
    assert zh.cells[1].source == ('def f(x):\n    """\n    译Square a number.\n\n    译Arguments:\n'
                                  '    x -- 译a number to square\n    """\n    # 译Multiply x by itself\n    return x * x')


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


def test_package_catalogue_is_complete_for_the_cli():
    """Every _() string of `course`'s own output and help has a finished Chinese translation."""
    catalog = tr.read_catalogue(i18n.catalogue_file("zh"), "zh")
    finished = tr.translations_of(catalog)
    wrapped = {message for filename, _line, message, _c, _ctx in
               extract_from_dir(str(ROOT / "helpers"), method_map=[("cli.py", "python")], keywords={"_": None})}
    assert wrapped and wrapped <= set(finished)


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
    assert json.loads(settings.read_text()) == {"other:plugin": {"a": 1},
                                                release_mod.LAB_TRANSLATION_PLUGIN: {"locale": "zh_CN"}}
    assert "already set" in release_mod.lab_language("zh", prefix)


def test_language_pack_is_installed():
    """The official JupyterLab language pack that `course setup --lang zh` selects is in the environment."""
    from importlib.metadata import version

    assert version("jupyterlab-language-pack-zh-CN")


@pytest.mark.slow
def test_chinese_reference_earns_full_marks(tmp_path):
    """The source answers in the Chinese edition of cnn_step_by_step earn every point, as the English ones do."""
    from conftest import grade_class

    from helpers.instructor import demo

    assignment = "cnn_step_by_step"
    english = demo.filled_notebook(ROOT, assignment)
    chinese = tr.translate_notebook(english, tr.translations_of(catalogue(assignment)), "zh")
    assert chinese.cells[0].source != english.cells[0].source
    result = grade_class(tmp_path / "course", {assignment: {"zh": chinese}})[assignment]["zh"]
    assert result.status == "graded" and result.max_score > 0
    assert result.score == result.max_score, [(c.grade_id, c.message) for c in result.cells if c.score < c.max_score]
