"""The feedback page of one graded notebook: the score table, then every cell with its outputs.

A self-contained HTML file written for each student by ``course grade``. It is rendered here
directly (prose through mistune with HTML escaped, math as MathML and code highlighted by
:mod:`helpers.pages`, text outputs escaped in ``<pre>``, images inline) rather than through
nbconvert's templates: a tenth of the time per notebook, which matters when a class is graded, and
nothing a student wrote can run as script in the reader's browser. Hidden tests and tracebacks
through them never reach it: the caller strips them first.

The page is read after grading: each test cell is labelled by its test, its points and whether it
passed (not by an ``In [ ]`` prompt), a failure's parts (what failed, the likely mistake, the hint)
are separate labelled blocks, and advice to run a cell is left out of the grader's messages.
"""

from __future__ import annotations

import html
import re

import mistune

from helpers import notebook_cells as nbu
from helpers import pages
from helpers.i18n import gettext as _

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _Renderer(mistune.HTMLRenderer):
    """mistune's HTML, everything escaped, with code blocks highlighted."""

    def block_code(self, code: str, info: str | None = None) -> str:
        return pages.code_html(code) + "\n"


_MARKDOWN = mistune.create_markdown(
    escape=True, renderer=_Renderer(escape=True), plugins=["table", "strikethrough", "math"]
)
_MARKDOWN.renderer.register("inline_math", lambda _, tex: pages.math_html(tex))
_MARKDOWN.renderer.register("block_math", lambda _, tex: pages.math_html(tex, display=True))

STYLE = (
    """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222;
  line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
.cell { margin: 1rem 0; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; line-height: 1.35; }
pre.code { background: #f6f8fa; border-left: 3px solid #8a9; padding: .5rem; margin: 0; }
.out pre { margin: .3rem 0 0 1rem; padding: .3rem; }
.error pre { background: #fdecea; }
.label { font-size: .8rem; color: #555; margin-bottom: .2rem; }
.label .passed { color: #176b2c; font-weight: 600; } .label .failed { color: #b00020; font-weight: 600; }
.test pre.code { border-left-color: #99a; }
.test.failed pre.code { border-left-color: #b00020; }
.verdict { margin: .4rem 0 0 1rem; }
.part { margin: .3rem 0; padding: .35rem .6rem; border-radius: 3px; background: #fdecea; }
.part.mistake { background: #fff4e0; } .part.hint { background: #e8f1fb; } .part.note { background: #f2f2f2; }
.part .name { font-weight: 600; display: block; font-size: .8rem; color: #333; }
.part pre { margin: 0; font-family: inherit; font-size: inherit; }
td .part { margin: 0 0 .3rem; }
img { max-width: 100%; }
"""
    + pages.CODE_CSS
)

# The class of each labelled part of a message (pages.MESSAGE_LABELS), and the heading of the first part.
PART_CLASSES = {"": "failure", "Likely mistake": "mistake", "Hint": "hint"}
FAILURE_LABEL = "What failed"
_RUN_ADVICE = re.compile(r",? then (?:re-?)?run (?:that|this|the) cell(?= *\.?$)", re.M)


def after_grading(message: str) -> str:
    """A grader's message as read after grading: advice to run a cell in the notebook left out.

    >>> after_grading("f is not written yet: write it in its cell, then run that cell.")
    'f is not written yet: write it in its cell.'
    """
    return _RUN_ADVICE.sub("", message or "")


def message_html(message: str) -> str:
    """A grader's message as labelled blocks: what failed, the likely mistake, the hint (escaped)."""
    blocks = []
    for label, text in pages.message_parts(after_grading(message)):
        name = _(label or FAILURE_LABEL)
        css = PART_CLASSES.get(label, "note")
        blocks.append(
            f'<div class="part {css}"><span class="name">{html.escape(name)}</span>'
            f"<pre>{html.escape(_ANSI.sub('', text))}</pre></div>"
        )
    return "".join(blocks)


def _pre(text: str, css: str = "") -> str:
    return f'<pre class="{css}">{html.escape(_ANSI.sub("", text))}</pre>'


# Bounds on the work one page costs, whatever a notebook holds: the rest is summarised.
MAX_MARKDOWN_CHARS = 20_000  # one markdown cell rendered as prose (longer: shown as plain text, cut)
MAX_PAGE_MARKDOWN = 400_000  # markdown rendered as prose in one page
MAX_CELL_CHARS = 100_000  # one cell's code or one text output
MAX_PAGE_CHARS = 4_000_000  # text of one page
MAX_IMAGE_BYTES = 2 << 20  # one figure
MAX_PAGE_IMAGES = 12 << 20  # figures of one page


class _Budget:
    def __init__(self):
        self.markdown = MAX_PAGE_MARKDOWN
        self.chars = MAX_PAGE_CHARS
        self.images = MAX_PAGE_IMAGES
        self.dropped = 0

    def text(self, text: str) -> str:
        limit = min(MAX_CELL_CHARS, max(self.chars, 0))
        if len(text) > limit:
            self.dropped += len(text) - limit
            text = text[:limit] + f"\n[... {len(text) - limit:,} more characters not shown]"
        self.chars -= len(text)
        return text


def _output_html(out: dict, budget: _Budget) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _pre(budget.text("".join(out.get("text", ""))), "stderr" if out.get("name") == "stderr" else "")
    if kind == "error":
        message = budget.text(after_grading(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"))
        return f'<div class="error">{_pre(message)}</div>'
    data = out.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            payload = "".join(data[mime]).replace("\n", "")
            if len(payload) > MAX_IMAGE_BYTES or len(payload) > budget.images:
                budget.dropped += len(payload)
                return _pre("[a figure too large to show here]")
            if re.fullmatch(r"[A-Za-z0-9+/=]*", payload):
                budget.images -= len(payload)
                return f'<img alt="figure" src="data:{mime};base64,{payload}">'
    if "text/plain" in data:
        return _pre(budget.text("".join(data["text/plain"])))
    return ""


def _verdict_label(grade_id: str, verdict) -> tuple[str, str]:
    """The label above a test cell and its state ("passed" | "failed" | "") from its ``verdict``."""
    if verdict is None:
        return _("Test {grade_id}").format(grade_id=grade_id), ""
    passed = verdict.points >= verdict.max_points
    state = "passed" if passed else "failed"
    mark = _("\u2713 passed") if passed else _("\u2717 failed")
    return (
        _("Test {grade_id} \u00b7 {points} / {max_points} points").format(
            grade_id=grade_id, points=f"{verdict.points:g}", max_points=f"{verdict.max_points:g}"
        )
        + f' \u00b7 <span class="{state}">{mark}</span>'
    ), state


def _code_cell(cell, source: str, outputs: str, verdicts: dict, budget: _Budget) -> str:
    gid = nbu.grade_id(cell)
    code = pages.code_html(budget.text(source))
    if nbu.is_test(cell):
        verdict = verdicts.get(gid)
        label, state = _verdict_label(html.escape(gid), verdict)
        why = ""
        if verdict is not None and state == "failed" and verdict.message:
            why = f'<div class="verdict">{message_html(budget.text(verdict.message))}</div>'
        return (
            f'<div class="cell test {state}"><div class="label">{label}</div>{code}{why}'
            f'<div class="out">{outputs}</div></div>'
        )
    label = ""
    if nbu.is_solution(cell):
        label = '<div class="label">' + _("Your code: {grade_id}").format(grade_id=html.escape(gid)) + "</div>"
    return f'<div class="cell">{label}{code}<div class="out">{outputs}</div></div>'


def render(nb, title: str, summary_html: str, verdicts: dict | None = None) -> str:
    """The page: ``summary_html`` (already escaped by the caller) above the notebook's cells.

    ``verdicts`` maps a test cell's grade id to its score (``points``, ``max_points``, ``message``):
    the cell is labelled with them, and a failure's message shown under it.

    The work is bounded before it starts: prose beyond the limits above is shown as plain text, cut,
    and what is left out is counted at the end of the page.
    """
    budget = _Budget()
    verdicts = verdicts or {}
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>",
        summary_html,
    ]
    for cell in nb.cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if budget.chars <= 0:
            budget.dropped += len(source)
            continue
        if cell.cell_type == "markdown":
            if len(source) <= MAX_MARKDOWN_CHARS and len(source) <= budget.markdown:
                budget.markdown -= len(source)
                budget.chars -= len(source)
                parts.append(f'<div class="cell md">{_MARKDOWN(source)}</div>')
            else:
                parts.append(f'<div class="cell md">{_pre(budget.text(source))}</div>')
        elif cell.cell_type == "code":
            shown = cell.get("outputs", [])
            if nbu.is_test(cell) and nbu.grade_id(cell) in verdicts:
                # The grader's verdict, shown above in labelled parts, stands for the kernel's own error.
                shown = [out for out in shown if out.get("output_type") != "error"]
            outputs = "".join(_output_html(out, budget) for out in shown)
            parts.append(_code_cell(cell, source, outputs, verdicts, budget))
    if budget.dropped:
        parts.append(
            "<p><em>"
            + _("{dropped} characters of this notebook are not shown: the page shows at most {limit}.").format(
                dropped=f"{budget.dropped:,}", limit=f"{MAX_PAGE_CHARS:,}"
            )
            + "</em></p>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
