"""The report as one self-contained HTML page (figures inline), which is also what the PDF is made from.

The style sheet serves the screen and print: ``@page`` rules (A4, page numbers) are read by the PDF
renderer and ignored by browsers. Every string from the notebook or the profile is escaped.
"""

from __future__ import annotations

import base64
import html

from helpers import pages
from helpers.report import labels as lbl
from helpers.report import markdown
from helpers.report.build import COVER, TEACHER_FIELDS
from helpers.report.model import Report, Step, StudentSection, TextOutput
from helpers.report.notebook import exercise_heading, shorten

TEXT_WIDTH_PT = 453  # A4 less 2 x 2.2 cm margins
TEXT_WIDTH_PX = 605  # the same at 96 px per inch
FIGURE_SCALE = 0.8  # notebook figures are drawn for a screen at 90 dpi: a little smaller reads well on paper
CODE_PT = 8.5  # every block of code or output: one size, long lines wrap (never shrunk to fit)
SERIF = '"Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "SimSun", serif'
SANS = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
MONO = '"DejaVu Sans Mono", "Noto Sans Mono CJK SC", "Consolas", monospace'

STYLE = (
    f"""
@page {{ size: A4; margin: 2.2cm 2.2cm 2.4cm 2.2cm;
  @bottom-center {{ content: counter(page) " / " counter(pages); font: 9pt {SANS}; color: #555; }} }}
html {{ font-family: {SERIF}; font-size: 10.5pt; line-height: 1.55; color: #111; }}
body {{ max-width: 16cm; margin: 1.5rem auto; padding: 0 1rem; }}
@media print {{ body {{ max-width: none; margin: 0; padding: 0; }} }}
h1, h2, h3, h4, h5, .label, th, figcaption {{ font-family: {SANS}; }}
h1 {{ text-align: center; font-size: 22pt; margin: 0 0 .2em; }}
html:lang(zh) h1 {{ letter-spacing: .25em; }}
p.lab-title {{ text-align: center; font-size: 13pt; margin: 0 0 1em; }}
h2 {{ font-size: 14pt; border-bottom: 1.5px solid #333; padding-bottom: 2px; margin: 1.6em 0 .6em;
  break-after: avoid; }}
h3 {{ font-size: 12.5pt; margin: 1.3em 0 .4em; break-after: avoid; }}
h4 {{ font-size: 11pt; margin: 1em 0 .3em; break-after: avoid; }}
h5 {{ font-size: 10.5pt; margin: .8em 0 .3em; break-after: avoid; color: #123; }}
h5 .points {{ float: right; font-weight: normal; }}
.ok {{ color: #176b2c; }} .lost, .missing, .flag {{ color: #b00020; }}
.missing {{ font-weight: bold; }}
.flag {{ border: 1px dashed #b00020; padding: 4px 8px; margin: .4em 0; }}
.note {{ border-left: 3px solid #888; padding: 2px 8px; color: #333; margin: .5em 0; }}
table {{ border-collapse: collapse; margin: .3em 0 .8em; break-inside: avoid; }}
td, th {{ border: 1px solid #666; padding: 3px 7px; text-align: left; vertical-align: top; }}
table.cover {{ width: 100%; }} table.cover th {{ width: 15%; background: #eee; white-space: nowrap; }}
table.cover td {{ width: 35%; }}
table.cover td.teacher {{ height: 3.2em; }}
table.md td, table.md th {{ border-color: #aaa; font-size: 9pt; }}
table.env {{ width: 100%; }} table.env th {{ width: 22%; background: #f2f2f2; white-space: nowrap; }}
.expected td {{ font-family: {MONO}; font-size: 8pt; }}
table.summary {{ width: 100%; }} table.summary th {{ background: #eee; }}
table.summary td:nth-child(2), table.summary th:nth-child(2) {{ white-space: nowrap; }}
.label {{ font-weight: bold; font-size: 9.5pt; margin: .6em 0 .15em; color: #234; break-after: avoid; }}
pre {{ font-family: {MONO}; font-size: {CODE_PT}pt; line-height: 1.35; white-space: pre-wrap;
  overflow-wrap: anywhere; background: #f6f8fa; border: 1px solid #d8dde3; padding: 5px 8px; margin: 0 0 .4em; }}
pre.code {{ border-left: 3px solid #2f8f4f; }}
pre.error {{ background: #fdecea; border-color: #e8b4b0; }}
code {{ font-family: {MONO}; font-size: 92%; }}
figure {{ text-align: center; margin: .6em 0; break-inside: avoid; }}
figure img {{ max-width: 100%; }}
figcaption {{ font-size: 9pt; color: #333; }}
.check {{ border: 1px solid #c9d3dd; margin: .5em 0; break-inside: avoid; }}
.check .head {{ font-family: {SANS}; font-size: 9.5pt; background: #eef2f6; padding: 3px 8px; }}
.check.failed {{ border-color: #e8b4b0; }} .check.failed .head {{ background: #fdecea; }}
.check .head .state {{ float: right; font-weight: bold; }}
.check pre {{ margin: 4px 8px; }}
.check .part {{ margin: 4px 8px; font-size: 9.5pt; }}
.check .part .name {{ font-family: {SANS}; font-weight: bold; margin-right: .5em; }}
.principle h4 code {{ font-size: 95%; }}
blockquote {{ border-left: 3px solid #ccc; margin: .4em 0; padding: 0 .8em; color: #444; }}
"""
    + pages.CODE_CSS
)


def _e(text: str) -> str:
    return html.escape(str(text))


def pre(text: str, css: str = "") -> str:
    return f'<pre class="{css}">{_e(text)}</pre>'


def _outputs(outputs: list[TextOutput], left_out: str) -> str:
    return "".join(pre(shorten(o.text, left_out), "error" if o.error else "output") for o in outputs)


def _cover(report: Report, t: dict) -> str:
    by_key = {f.key: f for f in report.cover}
    rows = []
    for row in COVER:
        cells = []
        for key in row:
            field = by_key[key]
            value = f'<span class="missing">{_e(t["missing_field"])}</span>' if field.missing else _e(field.value)
            span = ' colspan="3"' if len(row) == 1 else ""
            css = ' class="teacher"' if key in TEACHER_FIELDS else ""
            cells.append(f"<th>{_e(field.label)}</th><td{span}{css}>{value}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    flag = "" if report.profile_found else f'<p class="flag">{_e(t["no_profile"].format(path=report.profile_path))}</p>'
    return (
        f'<h1>{_e(t["report"])}</h1><p class="lab-title">{_e(report.title)}</p>'
        f'<table class="cover">{"".join(rows)}</table>{flag}'
    )


def _environment(report: Report, t: dict) -> str:
    env = report.environment
    software = "".join(
        f"<tr><th>{_e(name)}</th><td>{_e(version or t['not_installed'])}</td></tr>" for name, version in env.software()
    )
    memory = t["memory_value"].format(gb=env.memory_gb) if env.memory_gb else ""
    hardware = [
        (t["cpu"], env.cpu),
        (t["cores"], str(env.cores)),
        (t["memory"], memory),
        (t["gpu"], "; ".join(env.gpus) or t["no_gpu"]),
        (t["os"], env.operating_system),
    ]
    hardware_rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in hardware if v)
    return (
        f'<h2>{_e(t["environment"])}</h2><p class="label">{_e(t["software"])}</p>'
        f'<table class="env">{software}</table><p class="label">{_e(t["hardware"])}</p>'
        f'<table class="env">{hardware_rows}</table>'
    )


def _summary(report: Report, t: dict) -> str:
    rows = []
    for step in report.graded_steps:
        p = step.points
        css = "ok" if p.points == p.max_points else "lost"
        result = lbl.function_result(step, t)
        rows.append(
            f'<tr><td><code>{_e(step.function)}</code></td><td class="{css}">{p.points:g} / {p.max_points:g}</td>'
            f'<td class="{css}">{_e(result)}</td></tr>'
        )
    rows.append(f"<tr><th></th><th>{report.score:g} / {report.max_score:g}</th><th></th></tr>")
    return (
        f'<p class="label">{_e(t["summary"])}</p><table class="summary"><tr><th>{_e(t["function"])}</th>'
        f"<th>{_e(t['points'])}</th><th>{_e(t['result'])}</th></tr>{''.join(rows)}</table>"
    )


def _check(box: lbl.CheckBox, t: dict) -> str:
    """One check of a function: which check, passed or not with its points, what it printed, why it failed."""
    state = f'<span class="state {"ok" if box.passed else "lost"}">{_e(box.state)}</span>'
    body = _outputs(box.printed, t["left_out"])
    body += "".join(
        f'<div class="part lost"><span class="name">{_e(name)}</span>{_e(text)}</div>' for name, text in box.reasons
    )
    return (
        f'<div class="check {"passed" if box.passed else "failed"}"><div class="head">{_e(box.title)}{state}</div>'
        f"{body}</div>"
    )


def _principles(report: Report, t: dict, svg: bool) -> str:
    if not report.principles:
        return ""
    parts = [f'<h2>{_e(t["principles"])}</h2><p class="note">{_e(t["principles_from"])}</p>']
    for item in report.principles:
        parts.append(
            f'<section class="principle"><h4>{_e(item.heading)} (<code>{_e(item.function)}</code>)</h4>'
            f"{markdown.to_html(item.text, svg=svg)}</section>"
        )
    return "".join(parts)


def _step(step: Step, report: Report, t: dict, svg: bool = False) -> str:
    parts = ['<section class="step">']
    for level, text in step.headings:
        shown = _e(lbl.heading_text(text, report.lang))
        if exercise_heading(text.replace("`", "")) or (step.missing and level == 3):
            badge = ""
            if step.points is not None:
                css = "ok" if step.points.points == step.points.max_points else "lost"
                badge = f' <span class="points {css}">{_e(t["points_line"].format(points=step.points.points, max_points=step.points.max_points))}</span>'
            parts.append(f"<h5>{shown}{badge}</h5>")
        else:
            tag = {2: "h3", 3: "h4"}.get(level, "h5")
            parts.append(f"<{tag}>{shown}</{tag}>")
    if step.function and not any(exercise_heading(h.replace("`", "")) for _, h in step.headings) and not step.missing:
        p = step.points
        badge = (
            f' <span class="points">{_e(t["points_line"].format(points=p.points, max_points=p.max_points))}</span>'
            if p
            else ""
        )
        parts.append(f"<h5><code>{_e(step.function)}</code>{badge}</h5>")
    if step.missing:
        parts.append(f'<p class="flag">{_e(t["missing_cell"])}</p>')
    elif step.unwritten:
        parts.append(f'<p class="flag">{_e(t["unwritten"])}</p>')
    elif step.code is not None:
        parts.append(f'<p class="label">{_e(t["code"])}</p>{pages.code_html(step.code)}')
    if step.outputs:
        parts.append(f'<p class="label">{_e(t["output"])}</p>{_outputs(step.outputs, t["left_out"])}')
    for expected in step.expected:
        parts.append(
            f'<p class="label">{_e(t["expected"])}</p><div class="expected">{markdown.to_html(expected, svg=svg)}</div>'
        )
    for figure in step.figures:
        width = min(100, round(100 * FIGURE_SCALE * figure.width_px / TEXT_WIDTH_PX))
        data = base64.b64encode(figure.png).decode("ascii")
        parts.append(
            f'<figure><img style="width: {width}%" alt="{_e(figure.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(figure.caption)}</figcaption></figure>"
        )
    parts += [_check(box, t) for box in lbl.check_boxes(step, t)]
    parts.append("</section>")
    return "".join(parts)


def _section(section: StudentSection, report: Report, t: dict, svg: bool = False) -> str:
    heading = f"<h2>{_e(t[section.kind])}</h2>"
    cell = lbl.SECTION_CELLS[section.kind]
    if not section.found:
        return heading + f'<p class="flag">{_e(t["no_section_cell"].format(cell=cell))}</p>'
    if section.empty:
        return heading + f'<p class="flag">{_e(t["empty_section"].format(cell=cell))}</p>'
    return heading + markdown.to_html(section.text, heading_shift=1, svg=svg)


def render(report: Report, svg_math: bool = False) -> str:
    """The page; ``svg_math`` draws formulas as SVG images (for WeasyPrint, which has no MathML)."""
    t = lbl.labels(report.lang)
    lang = "zh-CN" if report.lang == "zh" else "en"
    date = report.date.isoformat()
    head = (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{_e(t['report'])}: {_e(report.title)}</title>"
        f'<meta name="author" content="{_e(report.author)}">'
        f'<meta name="generator" content="course report">'
        f'<meta name="dcterms.created" content="{date}"><meta name="dcterms.modified" content="{date}">'
        f"<style>{STYLE}</style></head><body>"
    )
    body = [
        _cover(report, t),
        f"<h2>{_e(t['purpose'])}</h2>",
        markdown.to_html(report.purpose, svg=svg_math),
        _principles(report, t, svg_math),
        _environment(report, t),
        f"<h2>{_e(t['steps'])}</h2>",
    ]
    notes = ([lbl.run_note(report)] if report.ran_fast else []) + report.notes
    body += [f'<p class="note">{_e(note)}</p>' for note in notes]
    body.append(_summary(report, t))
    body += [_step(step, report, t, svg_math) for step in report.steps]
    body += [_section(report.conclusions, report, t, svg_math), _section(report.questions, report, t, svg_math)]
    return head + "\n".join(body) + "\n</body></html>\n"
