"""What grading writes for an instructor holds nothing live: the autograded notebook as Formgrader renders
it (:mod:`helpers.instructor.inert`), and every CSV file the course writes (:func:`outputs.csv_text`).

The notebooks here are tiny and built in the test; no kernel runs. Formgrader's page is made the way
its Manual Grading handler makes it: nbconvert's ``HTMLExporter`` with nbgrader's ``formgrade`` template.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import time
from html.parser import HTMLParser

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader.server_extensions.formgrader import handlers as formgrader_handlers
from traitlets.config import Config

from conftest import ROOT, make_course_copy
from helpers.instructor import class_report, outputs
from helpers.instructor.batch import GRADE_FILE
from helpers.instructor.inert import PLAIN_TEXT_NOTE, inert_markdown, inert_notebook
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import CellScore, Result

MARK = "PWNED"  # in every hostile payload: wherever it is live in a page, the test finds it
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
NOTE = "output removed: autograded notebooks keep only text and images]"


# ------------------------------------------------------------------ what Formgrader shows


def formgrade_page(nb, template: str = "formgrade") -> str:
    """The page Formgrader's Manual Grading serves for this notebook (its handler's exporter and template);
    with ``template="lab"``, what ``jupyter nbconvert --to html`` makes of it."""
    config = Config()
    if template == "formgrade":
        config.HTMLExporter.template_name = "formgrade"
        config.HTMLExporter.extra_template_basedirs = [formgrader_handlers.template_path]
    resources = {
        "assignment_id": "a",
        "notebook_id": "a",
        "submission_id": "s",
        "index": 0,
        "total": 1,
        "base_url": "",
        "student": "st",
        "last_name": "",
        "first_name": "",
        "notebook_path": "a.ipynb",
    }
    page, _ = HTMLExporter(config=config).from_notebook_node(
        nbformat.reads(nbformat.writes(nb), as_version=4), resources=resources
    )
    return page


class _LiveFinder(HTMLParser):
    """Everything in a page that a browser would run or load as a document: scripts holding MARK, event
    handlers, script URLs, frames and plug-ins, inline SVG, attributes that a payload escaped into."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self._script = None

    def handle_starttag(self, tag, attrs):
        if tag in ("iframe", "frame", "object", "embed", "svg", "base", "form", "meta") and tag != "meta":
            self.live.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            address = re.sub(r"[\t\n\r]", "", value).strip().lower()
            if name.startswith("on") or MARK in name or (MARK in value and name not in ("alt", "title")):
                self.live.append(f"<{tag} {name}={value[:60]!r}>")
            if name in ("href", "src", "action", "formaction", "data") and address.startswith(
                ("javascript:", "vbscript:", "data:text", "data:image/svg")
            ):
                self.live.append(f"<{tag} {name}={value[:60]!r}>")
        if tag == "script":
            self._script = [f"type={dict(attrs).get('type')} "] if dict(attrs).get("type") else []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            if MARK in "".join(self._script):
                self.live.append("<script>" + "".join(self._script).strip()[:200])
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)


def _live(page: str) -> list[str]:
    finder = _LiveFinder()
    finder.feed(page)
    finder.close()
    return finder.live


def live_content(page: str, template: str = "formgrade") -> list[str]:
    """What is live in ``page`` beyond the template's own page around an empty notebook (its buttons' handlers)."""
    own = set(_live(formgrade_page(new_notebook(), template)))
    return [item for item in _live(page) if item not in own]


def _display(data: dict, metadata: dict | None = None):
    return new_output("display_data", data=data, metadata=metadata or {})


def hostile_notebook():
    """A notebook with every kind of live content a student's cells or graded calls can leave in it."""
    script = f'<script>alert("{MARK}")</script>'
    onerror = f"<img src=x onerror=alert(/{MARK}/)>"
    code = new_code_cell(
        "show()",
        execution_count=1,
        outputs=[
            _display({"text/html": script + onerror, "text/plain": "<IPython.core.display.HTML object>"}),
            _display({"application/javascript": f"alert('{MARK}')"}),
            _display({"image/svg+xml": f"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'>{script}</svg>"}),
            _display({"text/markdown": onerror}),
            _display({"text/html": onerror}, {"text/html": {"isolated": True}}),
            _display(
                {"application/vnd.jupyter.widget-view+json": {"model_id": MARK, "version_major": 2, "version_minor": 0}}
            ),
            # nbconvert writes an image's width unquoted: a string width becomes an attribute of its own.
            _display({"image/png": PNG}, {"image/png": {"width": f"1 onerror=alert(/{MARK}/.source)"}}),
            new_output("execute_result", data={"text/html": script}, execution_count=1),
            new_output("stream", name="stdout", text=script),
            new_output("error", ename="E", evalue=script, traceback=[script]),
        ],
    )
    code.metadata["widgets"] = {MARK: script}
    cells = [code] + [
        new_markdown_cell(text)
        for text in (
            script,
            onerror,
            f"<iframe src=\"javascript:alert('{MARK}')\"></iframe>",
            f"[click](javascript:alert('{MARK}'))",
            f"[click](java&#115;cript:alert('{MARK}'))",
            f"[x]\n\n[x]: javascript:alert('{MARK}')",
            f'```mermaid\ngraph TD\nA["{onerror}"]\n```',
            f"<a href='javascript:alert(1)' title='{MARK}'>a</a> and `code <b>`",
        )
    ]
    drawing = new_markdown_cell("![drawing](attachment:d.svg) ![photo](attachment:p.png)")
    drawing["attachments"] = {
        "d.svg": {"image/svg+xml": base64.b64encode(script.encode()).decode()},
        "p.png": {"image/png": PNG},
    }
    raw = new_raw_cell(script + onerror)
    raw.metadata["raw_mimetype"] = "text/html"
    nb = new_notebook(cells=cells + [drawing, raw])
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "state": {MARK: {"model_name": "HTMLModel", "state": {"value": script}}},
            "version_major": 2,
            "version_minor": 0,
        }
    }
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def test_formgrader_page_of_an_inert_notebook_has_nothing_live():
    """Control first: the same notebook as written before is live in Formgrader in each of these ways."""
    before = live_content(formgrade_page(hostile_notebook()))
    for payload in (
        '<script>alert("PWNED")',
        "onerror",
        "javascript:",
        "<iframe>",
        "data:image/svg",
        "alert('PWNED')",
        "widget-view",
    ):
        assert any(payload in item for item in before), (payload, before)
    nb = inert_notebook(hostile_notebook())
    nbformat.validate(nb)
    page = formgrade_page(nb)
    assert live_content(page) == []
    assert MARK not in json.dumps(nb.metadata)


def test_nbconvert_html_export_of_an_inert_notebook_has_nothing_live():
    """The same with nbconvert's default (lab) template, which also writes the notebook's widget state."""
    before = live_content(formgrade_page(hostile_notebook(), "lab"), "lab")
    assert any("widget-state" in item for item in before), before
    assert live_content(formgrade_page(inert_notebook(hostile_notebook()), "lab"), "lab") == []


def test_what_stays_is_readable():
    """Text stays text: the script a student printed, the raw HTML of markdown, each removed type named."""
    nb = inert_notebook(hostile_notebook())
    page = formgrade_page(nb)
    assert "&lt;script&gt;alert" in page  # printed, and the markdown's raw HTML shown as its text
    code = nb.cells[0]
    texts = [o.get("text") or o.get("data", {}).get("text/plain", "") for o in code.outputs]
    assert texts[0] == f"<IPython.core.display.HTML object>\n[text/html {NOTE}"
    assert texts[1] == f"[application/javascript {NOTE}"
    assert texts[2] == f"[image/svg+xml {NOTE}"
    assert texts[5] == f"[application/vnd.jupyter.widget-view+json {NOTE}"
    assert code.outputs[6].data == {"image/png": PNG} and code.outputs[6].metadata == {}
    assert [o.output_type for o in code.outputs][-3:] == ["execute_result", "stream", "error"]
    assert nb.cells[1].source == '&lt;script>alert("PWNED")&lt;/script>'
    assert code.metadata == {}


@pytest.mark.parametrize(
    "data, metadata, kept, note",
    [
        ({"text/plain": "3"}, {}, {"text/plain": "3"}, None),
        (
            {"image/png": PNG, "text/plain": "<Figure>"},
            {"image/png": {"width": 40, "height": 30}},
            {"image/png": PNG, "text/plain": "<Figure>"},
            None,
        ),
        ({"image/jpeg": PNG}, {}, {"image/jpeg": PNG}, None),
        ({"image/png": '" onerror="alert(1)'}, {}, {}, "image/png"),
        (
            {"image/png": PNG},
            {"image/png": {"width": "1 onerror=alert(1)", "filenames": "x"}},
            {"image/png": PNG},
            None,
        ),
        ({"text/html": "<b>x</b>", "text/plain": "x"}, {}, {"text/plain": "x"}, "text/html"),
        ({"text/latex": "$x$", "text/markdown": "*x*"}, {}, {}, "text/latex, text/markdown"),
        ({"application/pdf": "JVBER"}, {}, {}, "application/pdf"),
        ({f"x/{i}": "" for i in range(7)}, {}, {}, "x/0, x/1, x/2, x/3, x/4 and 2 more"),
    ],
)
def test_each_output_type(data, metadata, kept, note):
    """Only text/plain and PNG/JPEG base64 stay, images' sizes only as numbers; the rest is named in a note."""
    nb = inert_notebook(new_notebook(cells=[new_code_cell("x", outputs=[_display(data, metadata)])]))
    out = nb.cells[0].outputs[0]
    if note is not None:
        text = kept.get("text/plain")
        kept = dict(kept, **{"text/plain": (text + "\n" if text else "") + f"[{note} {NOTE}"})
    assert out.data == kept
    assert out.metadata == (
        {"image/png": {"width": 40, "height": 30}}
        if "width" in str(metadata) and "onerror" not in str(metadata)
        else {}
    )


@pytest.mark.parametrize(
    "source",
    [
        "# A heading\n\nProse with *emphasis*, `code <b>`, $a < b$, and a [link](https://example.org).",
        "$$ X = \\begin{bmatrix} 1 && 3 \\\\ 4 && 2 \\end{bmatrix} $$\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        "![figure](images/conv.png) [mail](mailto:a@b.c) [here](#section)\n\n```python\nif a < b:\n    pass\n```",
    ],
)
def test_inert_markdown_is_kept_as_written(source):
    assert inert_markdown(source) == source


def test_the_course_prose_is_kept_as_written():
    """Every markdown cell of the source notebooks renders the same as before (the students' copies of it)."""
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert inert_markdown(cell.source) == cell.source, (path.name, cell.source[:80])


@pytest.mark.parametrize(
    "source, shown",
    [
        ("<script>alert(1)</script>", "&lt;script>alert(1)&lt;/script>"),
        ("a <img src=x onerror=alert(1)> b", "a &lt;img src=x onerror=alert(1)> b"),
        ("<iframe src=//evil></iframe>\n\ntext", "&lt;iframe src=//evil>&lt;/iframe>\n\ntext"),
        ("<!-- hidden -->", "&lt;!-- hidden -->"),
    ],
)
def test_raw_html_in_markdown_is_shown_as_text(source, shown):
    assert inert_markdown(source) == shown


@pytest.mark.parametrize(
    "source",
    [
        "[click](javascript:alert(1))",
        "[click](JavaScript&#58;alert(1))",
        "[click](&#x6A;avascript:alert(1))",
        "[x][r]\n\n[r]: vbscript:msgbox(1)",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "![x](attachment:missing.png)",
        "```mermaid\ngraph TD\nA-->B\n```",
    ],
)
def test_active_links_and_diagrams_become_plain_text(source):
    """A cell whose links or images could act is shown as its text in a code block, under a note."""
    result = inert_markdown(source)
    assert result.startswith(PLAIN_TEXT_NOTE) and source in result
    assert live_content(formgrade_page(new_notebook(cells=[new_markdown_cell(result)]))) == []


def test_a_code_fence_in_the_text_cannot_close_the_plain_text_block():
    source = "[x](javascript:alert(1))\n````\n<script>alert('PWNED')</script>\n````"
    result = inert_markdown(source)
    assert result.startswith(PLAIN_TEXT_NOTE + "\n\n`````\n")
    assert live_content(formgrade_page(new_notebook(cells=[new_markdown_cell(result)]))) == []


def test_markdown_too_long_to_check_is_plain_text():
    """The parser is slow on some texts: a long cell, or any cell once the notebook's time is spent, is not parsed."""
    source = "\\\\[" * 12_000  # the parser takes tens of seconds on it
    started = time.monotonic()
    assert inert_markdown(source).startswith(PLAIN_TEXT_NOTE)
    assert time.monotonic() - started < 1
    assert inert_markdown("*x*\n", deadline=time.monotonic() - 1).startswith(PLAIN_TEXT_NOTE)
    assert inert_markdown("*x*\n") == "*x*\n"


def test_attachments_keep_only_images_and_a_missing_one_does_not_break_the_page():
    """nbconvert fails on a reference to an attachment that is not there: the cell becomes plain text."""
    cell = new_markdown_cell("![d](attachment:d.svg)")
    cell["attachments"] = {"d.svg": {"image/svg+xml": "PHN2Zz4="}, "p.png": {"image/png": PNG, "text/html": "<b>"}}
    nb = new_notebook(cells=[cell, new_markdown_cell("![p](attachment:gone.png)")])
    with pytest.raises(Exception, match="missing attachment"):
        formgrade_page(nb)
    nb = inert_notebook(nb)
    assert nb.cells[0].attachments == {"p.png": {"image/png": PNG}}
    assert nb.cells[0].source.startswith(PLAIN_TEXT_NOTE) and nb.cells[1].source.startswith(PLAIN_TEXT_NOTE)
    assert "attachments" not in nb.cells[1]
    assert live_content(formgrade_page(nb)) == []
    kept = new_markdown_cell("![p](attachment:p.png)")
    kept["attachments"] = {"p.png": {"image/png": PNG}}
    assert inert_notebook(new_notebook(cells=[kept])).cells[0].source == "![p](attachment:p.png)"


def test_an_execution_count_is_a_number_or_none():
    """nbconvert writes the count into the page as it is: a kernel's forged one is dropped."""
    cell = new_code_cell("1", outputs=[new_output("execute_result", data={"text/plain": "1"}, execution_count=2)])
    cell["execution_count"] = "<img src=x onerror=alert(1)>"
    cell.outputs[0]["execution_count"] = True
    nb = new_notebook()
    nb.cells.append(cell)  # (new_notebook(cells=...) refuses it)
    cell = inert_notebook(nb).cells[0]
    assert cell.execution_count is None and cell.outputs[0].execution_count is None


def test_nbgrader_metadata_is_kept():
    cell = new_code_cell("x")
    cell.metadata = {"nbgrader": {"grade": True, "grade_id": "g", "points": 1}, "tags": ["t"], "alt": "x"}
    nb = new_notebook(cells=[cell])
    nb.metadata["language_info"] = {"name": "python"}
    nb = inert_notebook(nb)
    assert nb.cells[0].metadata == {"nbgrader": {"grade": True, "grade_id": "g", "points": 1}, "tags": ["t"]}
    assert nb.metadata == {"language_info": {"name": "python"}}


# ------------------------------------------------------------------ the CSV files

FORMULAS = ("=2+5", "@SUM(A1)", "+cmd", "-1+1")


def _is_formula(cell: str) -> bool:
    return cell[:1] in outputs.FORMULA_STARTS and not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", cell)


def test_every_csv_the_class_report_writes_holds_formulas_as_text(tmp_path):
    """Student ids that are formulas are text in students.csv, cells.csv, mistakes.csv and grades.csv;
    numbers, a negative correlation included, stay numbers."""
    assignment = "cnn_step_by_step"
    root = make_course_copy(tmp_path / "course", [assignment])
    settings = Settings.load(root)
    # The first two pass cell a only, the others cell b only: cell a's point-biserial is -1.
    passes_a = {"=2+5": True, "@SUM(A1)": True, "+cmd": False, "alice": False}
    results = []
    for student, a in passes_a.items():
        cells = [
            CellScore("a", float(a), 1.0, "ok", mistake="" if a else '=HYPERLINK("x")'),
            CellScore("b", float(not a), 1.0, "ok", mistake="zero_pad_wrong_axis" if a else ""),
        ]
        result = Result(student, assignment, 1.0, 2.0, "graded", reason="-" if a else "", cells=cells, seconds=1.5)
        folder = settings.path("autograded", assignment, student)
        folder.mkdir(parents=True)
        (folder / GRADE_FILE).write_text(result.to_json())
        results.append(result)
    settings.path("submitted", assignment, "-1+1").mkdir(parents=True)  # submitted, not graded yet

    page = class_report.write_report(settings, [assignment], tmp_path / "report")[0]
    outputs.write_csv(settings, results)
    files = [page.parent / name for name in ("students.csv", "cells.csv", "mistakes.csv")] + [settings.grades_csv]
    tables = {path.name: list(csv.reader(open(path, newline=""))) for path in files}
    for name, rows in tables.items():
        assert not [cell for row in rows for cell in row if _is_formula(cell)], name
    students = {row[0] for row in tables["students.csv"][1:]}
    assert students == {"'=2+5", "'@SUM(A1)", "'+cmd", "alice", "'-1+1"}
    assert {row[0] for row in tables["grades.csv"][1:]} == {"'=2+5", "'@SUM(A1)", "'+cmd", "alice"}
    mistakes = {row[1]: row[3] for row in tables["mistakes.csv"][1:]}
    assert mistakes == {'\'=HYPERLINK("x")': "'+cmd alice", "zero_pad_wrong_axis": "'=2+5 @SUM(A1)"}
    cells = {row[0]: row for row in tables["cells.csv"][1:]}
    assert float(cells["a"][5]) == -1.0 and cells["a"][5] == "-1.0"
    assert [float(row[1]) for row in tables["students.csv"][1:] if row[1]] == [1.0] * 4


@pytest.mark.parametrize(
    "value, written",
    [
        ("=2+5", "'=2+5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+1+2", "'+1+2"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-0.25", "-0.25"),
        ("+3", "+3"),
        ("1e-3", "1e-3"),
        (-0.25, -0.25),
        (3, 3),
        ("alice", "alice"),
        ("", ""),
        (None, ""),
    ],
)
def test_spreadsheet_safe(value, written):
    assert outputs.spreadsheet_safe(value) == written
