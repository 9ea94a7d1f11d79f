"""The notebook's markdown (purpose, expected-output tables, the student's sections) as HTML and Word.

One parse (mistune's syntax tree, with tables and math), two writers, so that both formats show the
same things: paragraphs, headings, lists, quotes, code, tables; bold, italics, code, links and simple
math (sub- and superscripts, a few symbols; the rest as written). All text is escaped: nothing a
student writes becomes markup.
"""

from __future__ import annotations

import html
import re

import mistune
from docx.shared import Pt

from helpers import pages

_PARSE = mistune.create_markdown(renderer=None, plugins=["table", "strikethrough", "math"])
_SYMBOLS = {
    r"\times": "×",
    r"\cdot": "·",
    r"\sum": "∑",
    r"\partial": "∂",
    r"\leq": "≤",
    r"\geq": "≥",
    r"\neq": "≠",
    r"\approx": "≈",
    r"\alpha": "α",
    r"\beta": "β",
    r"\lambda": "λ",
    r"\sigma": "σ",
    r"\infty": "∞",
    r"\rightarrow": "→",
    r"\to": "→",
    r"\ldots": "…",
    r"\dots": "…",
}


def parse(text: str) -> list[dict]:
    return _PARSE(text)


def math_pieces(tex: str) -> list[tuple[str, str]]:
    """Simple TeX as (text, "" | "sub" | "sup") pieces: ``n_H^{[l-1]}`` -> n, H (sub), [l-1] (sup)."""
    for command, symbol in _SYMBOLS.items():
        tex = tex.replace(command, symbol)
    tex = re.sub(r"\\(?:text|mathrm|mathbf|operatorname)\{([^{}]*)\}", r"\1", tex)
    tex = re.sub(r"\\([A-Za-z]+)", r"\1", tex).replace("\\", "")
    pieces, k = [], 0
    while k < len(tex):
        ch = tex[k]
        if ch in "_^" and k + 1 < len(tex):
            kind = "sub" if ch == "_" else "sup"
            if tex[k + 1] == "{":
                end, depth = k + 1, 0
                for end in range(k + 1, len(tex)):
                    depth += {"{": 1, "}": -1}.get(tex[end], 0)
                    if depth == 0:
                        break
                pieces.append((tex[k + 2 : end].replace("{", "").replace("}", ""), kind))
                k = end + 1
            else:
                pieces.append((tex[k + 1], kind))
                k += 2
            continue
        if ch not in "{}":
            if pieces and pieces[-1][1] == "":
                pieces[-1] = (pieces[-1][0] + ch, "")
            else:
                pieces.append((ch, ""))
        k += 1
    return pieces


# ------------------------------------------------------------------ HTML


def _inline_html(nodes: list[dict], svg: bool = False) -> str:
    out = []
    for node in nodes:
        kind = node["type"]
        if kind == "text":
            out.append(html.escape(node["raw"]))
        elif kind == "codespan":
            out.append(f"<code>{html.escape(node['raw'])}</code>")
        elif kind == "strong":
            out.append(f"<strong>{_inline_html(node['children'], svg)}</strong>")
        elif kind == "emphasis":
            out.append(f"<em>{_inline_html(node['children'], svg)}</em>")
        elif kind == "strikethrough":
            out.append(f"<del>{_inline_html(node['children'], svg)}</del>")
        elif kind == "link":
            out.append(
                f'<a href="{html.escape(node["attrs"].get("url", ""), quote=True)}">'
                f"{_inline_html(node['children'], svg)}</a>"
            )
        elif kind == "image":
            out.append(html.escape(_plain(node.get("children", [])) or "[image]"))
        elif kind == "softbreak":
            out.append(" ")
        elif kind == "linebreak":
            out.append("<br>")
        elif kind == "inline_math":
            out.append(pages.math_html(node["raw"], svg=svg))
        elif kind == "block_math":
            out.append(pages.math_html(node["raw"], display=True, svg=svg))
        elif "raw" in node:
            out.append(html.escape(node["raw"]))
        elif "children" in node:
            out.append(_inline_html(node["children"], svg))
    return "".join(out)


def _plain(nodes: list[dict]) -> str:
    return "".join(n.get("raw", "") if "children" not in n else _plain(n["children"]) for n in nodes)


def _block_html(node: dict, heading_shift: int, svg: bool = False) -> str:
    kind = node["type"]
    children = node.get("children", [])
    if kind in ("paragraph", "block_text"):
        return f"<p>{_inline_html(children, svg)}</p>"
    if kind == "heading":
        level = min(6, node["attrs"]["level"] + heading_shift)
        return f"<h{level}>{_inline_html(children, svg)}</h{level}>"
    if kind == "list":
        tag = "ol" if node["attrs"].get("ordered") else "ul"
        return (
            f"<{tag}>"
            + "".join(
                f"<li>{''.join(_block_html(c, heading_shift, svg) for c in item['children'])}</li>" for item in children
            )
            + f"</{tag}>"
        )
    if kind == "block_quote":
        return "<blockquote>" + "".join(_block_html(c, heading_shift, svg) for c in children) + "</blockquote>"
    if kind == "block_code":
        return pages.code_html(node["raw"].rstrip())
    if kind == "block_math":
        return f'<div class="math">{pages.math_html(node["raw"], display=True, svg=svg)}</div>'
    if kind == "table":
        rows = []
        for part in children:
            if part["type"] == "table_head":
                if _table_is_empty_header(part):
                    continue  # the course's "| | |" header row of a two-column table
                rows.append(
                    "<tr>" + "".join(f"<th>{_inline_html(c['children'], svg)}</th>" for c in part["children"]) + "</tr>"
                )
            else:
                for row in part["children"]:
                    rows.append(
                        "<tr>"
                        + "".join(f"<td>{_inline_html(c['children'], svg)}</td>" for c in row["children"])
                        + "</tr>"
                    )
        return '<table class="md">' + "".join(rows) + "</table>"
    if kind == "thematic_break":
        return "<hr>"
    if kind == "block_html":
        return f"<p>{html.escape(node.get('raw', ''))}</p>"
    return ""


def to_html(text: str, heading_shift: int = 2, svg: bool = False) -> str:
    """Markdown as escaped HTML; its headings moved ``heading_shift`` levels down (under the report's).

    Math is MathML, or with ``svg`` images of it (for WeasyPrint, which has no MathML).
    """
    return "\n".join(part for part in (_block_html(n, heading_shift, svg) for n in parse(text)) if part)


# ------------------------------------------------------------------ Word


def _table_is_empty_header(head: dict) -> bool:
    return all(not _plain(c["children"]).strip() for c in head["children"])


def _add_inline(paragraph, nodes: list[dict], style: dict | None = None, code_font: str = "Consolas") -> None:
    style = style or {}
    for node in nodes:
        kind = node["type"]
        if kind in ("strong", "emphasis", "strikethrough", "link"):
            key = {"strong": "bold", "emphasis": "italic", "strikethrough": "strike", "link": "underline"}[kind]
            _add_inline(paragraph, node["children"], {**style, key: True}, code_font)
            continue
        if kind in ("softbreak",):
            text_runs = [(" ", "")]
        elif kind == "linebreak":
            paragraph.add_run().add_break()
            continue
        elif kind in ("inline_math", "block_math"):
            text_runs = math_pieces(node["raw"])
        elif kind == "image":
            text_runs = [(_plain(node.get("children", [])) or "[image]", "")]
        elif "raw" in node:
            text_runs = [(node["raw"], "")]
        elif "children" in node:
            _add_inline(paragraph, node["children"], style, code_font)
            continue
        else:
            continue
        for text, script in text_runs:
            run = paragraph.add_run(text)
            run.bold = style.get("bold") or None
            run.italic = style.get("italic") or (kind in ("inline_math", "block_math")) or None
            run.font.strike = style.get("strike") or None
            run.underline = style.get("underline") or None
            if script == "sub":
                run.font.subscript = True
            elif script == "sup":
                run.font.superscript = True
            if kind == "codespan":
                run.font.name = code_font
                run.font.size = Pt(9)


def add_to_docx(
    document, text: str, heading_shift: int = 2, table_style: str | None = "Table Grid", code_style: str | None = None
) -> None:
    """Append markdown ``text`` to a python-docx ``document`` (paragraphs, headings, lists, tables)."""
    for node in parse(text):
        _add_block(document, node, heading_shift, table_style, code_style)


def _add_block(document, node: dict, heading_shift: int, table_style, code_style, list_level: int = 0) -> None:
    kind = node["type"]
    children = node.get("children", [])
    if kind in ("paragraph", "block_text"):
        _add_inline(document.add_paragraph(), children)
    elif kind == "heading":
        level = min(9, node["attrs"]["level"] + heading_shift)
        _add_inline(document.add_heading(level=level), children)
    elif kind == "list":
        style = "List Number" if node["attrs"].get("ordered") else "List Bullet"
        for item in children:
            for k, part in enumerate(item["children"]):
                if part["type"] in ("paragraph", "block_text") and k == 0:
                    _add_inline(document.add_paragraph(style=style), part["children"])
                else:
                    _add_block(document, part, heading_shift, table_style, code_style, list_level + 1)
    elif kind == "block_quote":
        for part in children:
            if part["type"] in ("paragraph", "block_text"):
                paragraph = document.add_paragraph(style="Quote")
                _add_inline(paragraph, part["children"])
            else:
                _add_block(document, part, heading_shift, table_style, code_style)
    elif kind == "block_code":
        document.add_paragraph(node["raw"].rstrip(), style=code_style)
    elif kind == "block_math":
        _add_inline(document.add_paragraph(), [{"type": "inline_math", "raw": node["raw"]}])
    elif kind == "table":
        head = next((p for p in children if p["type"] == "table_head"), None)
        body = [row for p in children if p["type"] == "table_body" for row in p["children"]]
        rows = ([head] if head is not None and not _table_is_empty_header(head) else []) + body
        if not rows:
            return
        width = max(len(r["children"]) for r in rows)
        table = document.add_table(rows=len(rows), cols=width)
        if table_style:
            table.style = table_style
        for r, row in enumerate(rows):
            for c, cell in enumerate(row["children"]):
                paragraph = table.cell(r, c).paragraphs[0]
                _add_inline(paragraph, cell["children"], {"bold": row is head})
    elif kind == "thematic_break":
        document.add_paragraph("—" * 10)
    elif kind == "block_html":
        document.add_paragraph(node.get("raw", ""))
