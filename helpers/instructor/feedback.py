"""The feedback page of one graded notebook: the score table, then every cell with its outputs.

A self-contained HTML file written for each student by ``course grade``. It is rendered here
directly (prose through mistune with HTML escaped, code and text outputs escaped in ``<pre>``,
images inline) rather than through nbconvert's templates: a tenth of the time per notebook, which
matters when a class is graded, and nothing a student wrote can run as script in the reader's
browser. Hidden tests and tracebacks through them never reach it: the caller strips them first.
"""

from __future__ import annotations

import html
import re

import mistune

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_MARKDOWN = mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
td, th { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
.cell { margin: 1rem 0; }
.code pre { background: #f6f8fa; border-left: 3px solid #8a9; padding: .5rem; overflow-x: auto; }
.out pre { margin: .3rem 0 0 1rem; padding: .3rem; overflow-x: auto; }
.error pre { background: #fdecea; }
.prompt { color: #888; font-size: .8rem; }
img { max-width: 100%; }
"""


def _pre(text: str, css: str = "") -> str:
    return f'<pre class="{css}">{html.escape(_ANSI.sub("", text))}</pre>'


# Bounds on the work one page costs, whatever a notebook holds: the rest is summarised.
MAX_MARKDOWN_CHARS = 20_000      # one markdown cell rendered as prose (longer: shown as plain text, cut)
MAX_PAGE_MARKDOWN = 400_000      # markdown rendered as prose in one page
MAX_CELL_CHARS = 100_000         # one cell's code or one text output
MAX_PAGE_CHARS = 4_000_000       # text of one page
MAX_IMAGE_BYTES = 2 << 20        # one figure
MAX_PAGE_IMAGES = 12 << 20       # figures of one page


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
        message = budget.text(f"{out.get('ename', 'Error')}: {out.get('evalue', '')}")
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


def render(nb, title: str, summary_html: str) -> str:
    """The page: ``summary_html`` (already escaped by the caller) above the notebook's cells.

    The work is bounded before it starts: prose beyond the limits above is shown as plain text, cut,
    and what is left out is counted at the end of the page.
    """
    budget = _Budget()
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body>", summary_html]
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
            count = cell.get("execution_count")
            outputs = "".join(_output_html(out, budget) for out in cell.get("outputs", []))
            parts.append(f'<div class="cell"><div class="prompt">In [{count if count is not None else " "}]</div>'
                         f'<div class="code">{_pre(budget.text(source))}</div><div class="out">{outputs}</div></div>')
    if budget.dropped:
        parts.append(f"<p><em>{budget.dropped:,} characters of this notebook are not shown: the page shows at most "
                     f"{MAX_PAGE_CHARS:,}.</em></p>")
    parts.append("</body></html>")
    return "\n".join(parts)
