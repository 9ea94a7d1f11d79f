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


def _output(out: dict) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _pre("".join(out.get("text", "")), "stderr" if out.get("name") == "stderr" else "")
    if kind == "error":
        message = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
        return f'<div class="error">{_pre(message)}</div>'
    data = out.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            payload = "".join(data[mime]).replace("\n", "")
            if re.fullmatch(r"[A-Za-z0-9+/=]*", payload):
                return f'<img alt="figure" src="data:{mime};base64,{payload}">'
    if "text/plain" in data:
        return _pre("".join(data["text/plain"]))
    return ""


def render(nb, title: str, summary_html: str) -> str:
    """The page: ``summary_html`` (already escaped by the caller) above the notebook's cells."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{STYLE}</style></head><body>", summary_html]
    for cell in nb.cells:
        source = "".join(cell.get("source", ""))
        if cell.cell_type == "markdown":
            parts.append(f'<div class="cell md">{_MARKDOWN(source)}</div>')
        elif cell.cell_type == "code":
            count = cell.get("execution_count")
            outputs = "".join(_output(out) for out in cell.get("outputs", []))
            parts.append(f'<div class="cell"><div class="prompt">In [{count if count is not None else " "}]</div>'
                         f'<div class="code">{_pre(source)}</div><div class="out">{outputs}</div></div>')
    parts.append("</body></html>")
    return "\n".join(parts)
