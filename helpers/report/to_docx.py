"""The report as a Word file (python-docx), with the same sections, tables and figures as the HTML.

Fonts: Chinese text in SimSun (headings SimHei), which every Chinese Word installation has, Latin
text in Times New Roman, code in Consolas. Reproducible: the core properties' dates are the
report's date, and the zip entries carry that date too (python-docx would stamp the current time).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from helpers import pages
from helpers.report import labels as lbl
from helpers.report import markdown
from helpers.report.build import COVER, TEACHER_FIELDS
from helpers.report.model import Report, Step, StudentSection, TextOutput
from helpers.report.notebook import exercise_heading, shorten
from helpers.report.to_html import CODE_PT

RED = RGBColor(0xB0, 0x00, 0x20)
GREEN = RGBColor(0x17, 0x6B, 0x2C)
TEXT_WIDTH_CM = 16.6
TEXT_WIDTH_PT = TEXT_WIDTH_CM / 2.54 * 72
PX_PER_CM = 96 / 2.54


def _fonts(style, latin: str, east_asian: str, size: float | None = None) -> None:
    style.font.name = latin
    if size:
        style.font.size = Pt(size)
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def _shade(paragraph, fill: str) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    ppr.append(shading)


def _cell_fill(cell, fill: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    tcpr.append(shading)


def _document(report: Report):
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.2), Cm(2.4)
    styles = document.styles
    _fonts(styles["Normal"], "Times New Roman", "SimSun", 10.5)
    for name in ("Title", "Heading 1", "Heading 2", "Heading 3", "Heading 4", "Heading 5", "Caption"):
        _fonts(styles[name], "Arial", "SimHei")
    for name, size in (
        ("Heading 1", 15),
        ("Heading 2", 12.5),
        ("Heading 3", 11),
        ("Heading 4", 10.5),
        ("Heading 5", 10.5),
    ):
        styles[name].font.size = Pt(size)
        styles[name].font.color.rgb = RGBColor(0x11, 0x11, 0x11)
        styles[name].font.bold = True
        styles[name].font.italic = False
    styles["Title"].font.color.rgb = RGBColor(0x11, 0x11, 0x11)
    styles["Title"].font.size = Pt(24)
    code = styles.add_style("Code", 1)  # 1: a paragraph style
    code.base_style = styles["Normal"]
    _fonts(code, "Consolas", "SimSun", CODE_PT)
    code.paragraph_format.space_after = Pt(4)
    code.paragraph_format.line_spacing = 1.0
    label = styles.add_style("Label", 1)
    label.base_style = styles["Normal"]
    _fonts(label, "Arial", "SimHei", 9.5)
    label.font.bold = True
    label.paragraph_format.space_before = Pt(6)
    label.paragraph_format.space_after = Pt(2)
    label.paragraph_format.keep_with_next = True
    language = "zh-CN" if report.lang == "zh" else "en-US"
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    styles["Normal"].element.get_or_add_rPr().append(lang)

    props = document.core_properties
    t = lbl.labels(report.lang)
    midnight = dt.datetime.combine(report.date, dt.time(0, 0))
    props.title = f"{t['report']}: {report.title}"
    props.author = props.last_modified_by = report.author
    props.created = props.modified = props.last_printed = midnight
    props.revision = 1
    props.language = language
    props.comments = props.keywords = props.subject = props.category = ""
    return document


def _code_block(document, text: str, css: str = "") -> None:
    """A block of code or output at one size (:data:`CODE_PT`); Word wraps its long lines.

    The student's code (``css="code"``) is highlighted as on the HTML page (:func:`helpers.pages.code_lines`).
    """
    paragraph = document.add_paragraph(style="Code")
    lines = pages.code_lines(text) if css == "code" else [[pages.Run(line)] for line in text.split("\n")]
    for k, line in enumerate(lines):
        if k:
            paragraph.add_run().add_break()
        for piece in line:
            run = paragraph.add_run(piece.text)
            if css == "error":
                run.font.color.rgb = RED
            elif piece.color:
                run.font.color.rgb = RGBColor.from_string(piece.color.upper())
            run.bold = piece.bold or None
            run.italic = piece.italic or None
    _shade(paragraph, {"code": "F6F8FA", "error": "FDECEA"}.get(css, "F6F8FA"))


def _outputs(document, outputs: list[TextOutput], left_out: str) -> None:
    for output in outputs:
        _code_block(document, shorten(output.text, left_out), "error" if output.error else "")


def _flag(document, text: str) -> None:
    run = document.add_paragraph().add_run(text)
    run.font.color.rgb = RED
    run.bold = True


def _label(document, text: str) -> None:
    document.add_paragraph(text, style="Label")


def _cover(document, report: Report, t: dict) -> None:
    title = document.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.add_run(t["report"])
    subtitle = document.add_paragraph()
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = subtitle.add_run(report.title)
    run.font.size = Pt(13)
    by_key = {f.key: f for f in report.cover}
    table = document.add_table(rows=len(COVER), cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for r, row in enumerate(COVER):
        cells = table.rows[r].cells
        if len(row) == 1:
            cells[1].merge(cells[3])
        for k, key in enumerate(row):
            field = by_key[key]
            head, value = cells[2 * k], cells[2 * k + 1]
            head.paragraphs[0].add_run(field.label).bold = True
            _cell_fill(head, "EEEEEE")
            run = value.paragraphs[0].add_run(t["missing_field"] if field.missing else field.value)
            if field.missing:
                run.font.color.rgb = RED
                run.bold = True
    for row in table.rows:
        for k, width in enumerate((Cm(2.6), Cm(5.7), Cm(2.6), Cm(5.7))):
            row.cells[k].width = width
    for r, row in enumerate(COVER):
        if any(key in TEACHER_FIELDS for key in row):
            table.rows[r].height = Cm(1.4)
    if not report.profile_found:
        _flag(document, t["no_profile"].format(path=report.profile_path))


def _key_value_table(document, rows: list[tuple[str, str]]) -> None:
    table = document.add_table(rows=len(rows), cols=2)
    table.style = "Table Grid"
    for r, (key, value) in enumerate(rows):
        table.cell(r, 0).paragraphs[0].add_run(key).bold = True
        _cell_fill(table.cell(r, 0), "F2F2F2")
        table.cell(r, 1).paragraphs[0].add_run(value)
        table.cell(r, 0).width, table.cell(r, 1).width = Cm(4), Cm(12.6)


def _principles(document, report: Report, t: dict) -> None:
    if not report.principles:
        return
    document.add_heading(t["principles"], level=1)
    document.add_paragraph(t["principles_from"]).runs[0].italic = True
    for item in report.principles:
        heading = document.add_heading(f"{item.heading} (", level=4)
        heading.add_run(item.function).font.name = "Consolas"
        heading.add_run(")")
        markdown.add_to_docx(document, item.text, code_style="Code")


def _environment(document, report: Report, t: dict) -> None:
    env = report.environment
    document.add_heading(t["environment"], level=1)
    _label(document, t["software"])
    _key_value_table(document, [(name, version or t["not_installed"]) for name, version in env.software()])
    _label(document, t["hardware"])
    memory = t["memory_value"].format(gb=env.memory_gb) if env.memory_gb else ""
    rows = [
        (t["cpu"], env.cpu),
        (t["cores"], str(env.cores)),
        (t["memory"], memory),
        (t["gpu"], "; ".join(env.gpus) or t["no_gpu"]),
        (t["os"], env.operating_system),
    ]
    _key_value_table(document, [(k, v) for k, v in rows if v])


def _summary(document, report: Report, t: dict) -> None:
    _label(document, t["summary"])
    steps = report.graded_steps
    table = document.add_table(rows=len(steps) + 2, cols=3)
    table.style = "Table Grid"
    for k, text in enumerate((t["function"], t["points"], t["result"])):
        table.cell(0, k).paragraphs[0].add_run(text).bold = True
        _cell_fill(table.cell(0, k), "EEEEEE")
    for r, step in enumerate(steps, start=1):
        p = step.points
        full = p.points == p.max_points
        result = lbl.function_result(step, t)
        table.cell(r, 0).paragraphs[0].add_run(step.function).font.name = "Consolas"
        for k, text in ((1, f"{p.points:g} / {p.max_points:g}"), (2, result)):
            run = table.cell(r, k).paragraphs[0].add_run(text)
            run.font.color.rgb = GREEN if full else RED
    table.cell(len(steps) + 1, 1).paragraphs[0].add_run(f"{report.score:g} / {report.max_score:g}").bold = True


def _step(document, step: Step, report: Report, t: dict) -> None:
    points_line = (
        t["points_line"].format(points=step.points.points, max_points=step.points.max_points)
        if step.points is not None
        else ""
    )
    has_exercise = False
    for level, text in step.headings:
        shown = lbl.heading_text(text, report.lang)
        if exercise_heading(text.replace("`", "")) or (step.missing and level == 3):
            has_exercise = True
            heading = document.add_heading(shown, level=5)
            if points_line:
                run = heading.add_run("    " + points_line)
                run.font.color.rgb = GREEN if step.points.points == step.points.max_points else RED
        else:
            document.add_heading(shown, level={2: 2, 3: 3}.get(level, 4))
    if step.function and not has_exercise:
        heading = document.add_heading(step.function, level=5)
        if points_line:
            heading.add_run("    " + points_line)
    if step.missing:
        _flag(document, t["missing_cell"])
    elif step.unwritten:
        _flag(document, t["unwritten"])
    elif step.code is not None:
        _label(document, t["code"])
        _code_block(document, step.code, "code")
    if step.outputs:
        _label(document, t["output"])
        _outputs(document, step.outputs, t["left_out"])
    for expected in step.expected:
        _label(document, t["expected"])
        markdown.add_to_docx(document, expected, code_style="Code")
    for figure in step.figures:
        width_cm = min(TEXT_WIDTH_CM, figure.width_px / PX_PER_CM)
        document.add_picture(io.BytesIO(figure.png), width=Cm(round(width_cm, 2)))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption = document.add_paragraph(figure.caption, style="Caption")
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for box in lbl.check_boxes(step, t):
        _check(document, box, t)


def _check(document, box: lbl.CheckBox, t: dict) -> None:
    """One check as a one-cell table: which check and its state, what it printed, why it failed."""
    table = document.add_table(rows=1, cols=1)
    table.style = "Table Grid"
    cell = table.cell(0, 0)
    head = cell.paragraphs[0]
    head.add_run(box.title).bold = True
    if box.state:
        run = head.add_run("    " + box.state)
        run.bold = True
        run.font.color.rgb = GREEN if box.passed else RED
    _cell_fill(cell, "EEF2F6" if box.passed else "FDECEA")
    for output in box.printed:
        _code_block(cell, shorten(output.text, t["left_out"]), "error" if output.error else "")
    for name, text in box.reasons:
        paragraph = cell.add_paragraph()
        paragraph.add_run(name + t["colon"]).bold = True
        paragraph.add_run(text).font.color.rgb = RED
    document.add_paragraph()


def _section(document, section: StudentSection, t: dict) -> None:
    document.add_heading(t[section.kind], level=1)
    cell = lbl.SECTION_CELLS[section.kind]
    if not section.found:
        _flag(document, t["no_section_cell"].format(cell=cell))
    elif section.empty:
        _flag(document, t["empty_section"].format(cell=cell))
    else:
        markdown.add_to_docx(document, section.text, heading_shift=1, code_style="Code")


def reproducible_zip(data: bytes, date: dt.date) -> bytes:
    """The same zip with every entry dated ``date`` and fixed permissions, entries in their order."""
    stamp = (max(1980, date.year), date.month, date.day, 0, 0, 0)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            entry.create_system = 0
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def render(report: Report) -> bytes:
    t = lbl.labels(report.lang)
    document = _document(report)
    _cover(document, report, t)
    document.add_heading(t["purpose"], level=1)
    markdown.add_to_docx(document, report.purpose, code_style="Code")
    _principles(document, report, t)
    _environment(document, report, t)
    document.add_heading(t["steps"], level=1)
    for note in ([lbl.run_note(report)] if report.ran_fast else []) + report.notes:
        paragraph = document.add_paragraph()
        paragraph.add_run(note).italic = True
    _summary(document, report, t)
    for step in report.steps:
        _step(document, step, report, t)
    _section(document, report.conclusions, t)
    _section(document, report.questions, t)
    buffer = io.BytesIO()
    document.save(buffer)
    return reproducible_zip(buffer.getvalue(), report.date)
