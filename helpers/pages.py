"""What the pages people read share: math, code and a grader's message, rendered offline and inert.

The feedback page (:mod:`helpers.instructor.feedback`), the lab report (:mod:`helpers.report`) and
``course check``'s table use these, so that a formula, a block of code or a failure reads the same
everywhere:

* **math**: TeX (``$n_H^{[l-1]}$``) becomes MathML with latex2mathml, which browsers lay out
  natively (no script, no CDN); where the page is laid out by WeasyPrint (the report's PDF), which
  has no MathML, the same MathML is drawn as SVG by ziamath. The MathML is parsed and kept only when
  every element is MathML and every attribute a presentation attribute (latex2mathml passes ``\\href``
  targets and ``\\text{<b>}`` through unescaped), else the TeX is shown as escaped code;
* **code**: Python highlighted by Pygments into lines of coloured runs, written as HTML (inline
  colours, one block per line so that a long line wraps under itself) or Word runs;
* **messages**: a grader's message split into its labelled parts (the failure, "Likely mistake",
  "Hint", ...), so that each is shown as its own block or indented line.
"""

from __future__ import annotations

import base64
import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache, lru_cache

import latex2mathml.converter
from pygments.lexers import PythonLexer
from pygments.styles import get_style_by_name
from pygments.token import Token

from helpers import i18n

MAX_TEX_CHARS = 2_000  # a longer formula is shown as its TeX source
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
# MathML Core's presentation elements (https://www.w3.org/TR/mathml-core/#mathml-elements-and-attributes)
MATHML_ELEMENTS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "mtext",
        "mspace",
        "ms",
        "mfrac",
        "msqrt",
        "mroot",
        "mstyle",
        "merror",
        "mpadded",
        "mphantom",
        "msub",
        "msup",
        "msubsup",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "semantics",
        "annotation",
    }
)
MATHML_ATTRIBUTES = frozenset(
    {
        "display",
        "displaystyle",
        "scriptlevel",
        "mathvariant",
        "fence",
        "separator",
        "stretchy",
        "symmetric",
        "largeop",
        "movablelimits",
        "accent",
        "accentunder",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "width",
        "height",
        "depth",
        "linethickness",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "columnspan",
        "rowspan",
        "form",
        "linebreak",
        "encoding",
        "xmlns",
    }
)
# Sizing commands latex2mathml turns into literal text before a delimiter (``\Big\lfloor`` -> "\lfloor").
_SIZING = re.compile(r"\\(?:big|Big|bigg|Bigg)[lrm]?(?![A-Za-z])")


def tex_to_mathml(tex: str, display: bool = False) -> str | None:
    """The MathML of ``tex`` (one formula, without its ``$``), or None when it cannot be shown safely.

    >>> tex_to_mathml("n_H^{[l-1]}").startswith("<math")
    True
    >>> tex_to_mathml(r"\\href{javascript:alert(1)}{x}") is None
    True
    """
    if len(tex) > MAX_TEX_CHARS:
        return None
    return _mathml(_SIZING.sub("", tex), display)


@lru_cache(maxsize=1024)
def _mathml(tex: str, display: bool) -> str | None:
    try:
        mathml = latex2mathml.converter.convert(tex, display="block" if display else "inline")
        root = ET.fromstring(mathml)
    except Exception:  # noqa: BLE001 -- whatever the converter or the parser fails on is shown as TeX
        return None
    for element in root.iter():
        namespace, _, name = element.tag.rpartition("}")
        if namespace.lstrip("{") != MATHML_NS or name not in MATHML_ELEMENTS:
            return None
        if any(key not in MATHML_ATTRIBUTES for key in element.attrib):
            return None
    return mathml


def math_html(tex: str, display: bool = False, svg: bool = False) -> str:
    """``tex`` for an HTML page: MathML (``svg``: an SVG image of it, for WeasyPrint), else escaped TeX.

    ``display`` is a formula on its own line (``$$...$$``).
    """
    mathml = tex_to_mathml(tex, display)
    if mathml is None:
        return f'<code class="tex">{html.escape(tex)}</code>'
    if not svg:
        return mathml
    image = _svg(mathml)
    if image is None:
        return f'<code class="tex">{html.escape(tex)}</code>'
    data = base64.b64encode(image.encode()).decode("ascii")
    css = "math-display" if display else "math-inline"
    box = _SVG_BOX.search(image)
    size = ""
    if box:  # its own size, and its baseline (y = 0 in the drawing) on the text's baseline
        width, height, top = (float(box.group(k)) for k in ("width", "height", "top"))
        size = f' style="width: {width:g}px; height: {height:g}px; vertical-align: {-(height + top):.2f}px"'
    return f'<img class="{css}"{size} alt="{html.escape(tex, quote=True)}" src="data:image/svg+xml;base64,{data}">'


MATH_PX = 14  # the size ziamath draws at: 10.5 pt, the report's text
_SVG_BOX = re.compile(
    r'<svg[^>]*? width="(?P<width>[\d.]+)" height="(?P<height>[\d.]+)" '
    r'viewBox="[-\d.]+ (?P<top>[-\d.]+) '
)


@lru_cache(maxsize=512)
def _svg(mathml: str) -> str | None:
    # ziamath loads its math font on first use (a second): only where a PDF is made.
    import ziamath

    try:
        return ziamath.Math(mathml, size=MATH_PX).svg()
    except Exception:  # noqa: BLE001 -- a formula ziamath cannot draw is shown as TeX
        return None


# ------------------------------------------------------------------ code


@dataclass(frozen=True)
class Run:
    """A piece of one line of code with its colour (``"1f6feb"``, or "" for the text colour)."""

    text: str
    color: str = ""
    bold: bool = False
    italic: bool = False


_STYLE = get_style_by_name("default")
_LEXER = PythonLexer(stripnl=False, ensurenl=False)


def code_lines(source: str) -> list[list[Run]]:
    """``source`` (Python) as lines of highlighted runs, one list per line of the source."""
    lines: list[list[Run]] = [[]]
    for token, text in _LEXER.get_tokens(source):
        style = _STYLE.style_for_token(token if token is not Token.Text else Token)
        for k, piece in enumerate(text.split("\n")):
            if k:
                lines.append([])
            if piece.isspace():
                lines[-1].append(Run(piece))
            elif piece:
                lines[-1].append(Run(piece, style["color"] or "", bool(style["bold"]), bool(style["italic"])))
    if len(lines) > 1 and not lines[-1] and source.endswith("\n"):
        lines.pop()
    return lines


def code_html(source: str, css: str = "code") -> str:
    """``source`` as a ``<pre>`` of highlighted lines (inline colours, escaped); see :data:`CODE_CSS`."""
    out = []
    for line in code_lines(source):
        runs = "".join(_run_html(run) for run in line)
        out.append(f'<span class="line">{runs or " "}</span>')
    return f'<pre class="{css}">' + "".join(out) + "</pre>"


def _run_html(run: Run) -> str:
    style = ";".join(
        part
        for part in (
            f"color:#{run.color}" if run.color else "",
            "font-weight:bold" if run.bold else "",
            "font-style:italic" if run.italic else "",
        )
        if part
    )
    text = html.escape(run.text)
    return f'<span style="{style}">{text}</span>' if style else text


# Each line a block, so that a long line wraps and its continuation is indented under it.
CODE_CSS = """
pre .line { display: block; padding-left: 2em; text-indent: -2em; }
math[display="block"] { margin: .5em 0; }
img.math-display { display: block; margin: .5em auto; max-width: 100%; }
code.tex { color: #555; }
"""


# ------------------------------------------------------------------ messages

# The labels a grader's message gives its later lines (helpers.instructor.diagnosis, helpers.calls), in
# English; a message in another language carries their translations (helpers/locale/.../course.po).
MESSAGE_LABELS = ("Likely mistake", "Hint", "What the error looks like", "Why")


@cache
def _labelled() -> tuple[re.Pattern, dict[str, str]]:
    """The pattern of a labelled line in any course language, and each label's English name."""
    names = {i18n.gettext(label, lang): label for lang in i18n.LOCALES for label in MESSAGE_LABELS}
    names.update({label: label for label in MESSAGE_LABELS})
    alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
    return re.compile(r"^(" + alternatives + r")\s*[:\uff1a]\s*(.*)$"), names


def message_parts(message: str) -> list[tuple[str, str]]:
    """A grader's message as (label, text) parts: ("", the failure) first, then each labelled line.

    A line without a label continues the part above it. A label is given by its English name (one of
    :data:`MESSAGE_LABELS`) whatever the message's language: ``可能的错误：`` is ``Likely mistake``.

    >>> message_parts("f(x): expected 1, got 2.\\nLikely mistake: a sign.\\nHint: look at b.")
    [('', 'f(x): expected 1, got 2.'), ('Likely mistake', 'a sign.'), ('Hint', 'look at b.')]
    """
    labelled, names = _labelled()
    parts: list[tuple[str, str]] = []
    for line in (message or "").splitlines():
        match = labelled.match(line.strip())
        if match:
            parts.append((names[match.group(1)], match.group(2)))
        elif parts:
            parts[-1] = (parts[-1][0], parts[-1][1] + "\n" + line)
        else:
            parts.append(("", line))
    return [(label, text.strip("\n")) for label, text in parts if text.strip() or label]
