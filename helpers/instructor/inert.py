"""What an autograded notebook may hold: nothing that runs where an instructor reads it.

Formgrader's Manual Grading renders ``autograded/<student>/<id>/<id>.ipynb`` with nbconvert's
``HTMLExporter`` (nbgrader's ``formgrade`` template over ``classic``) inside the instructor's
logged-in Jupyter page. That exporter writes ``text/html`` and ``text/markdown`` outputs,
``application/javascript`` (in a ``<script>``), widget views and the raw HTML of markdown cells into
the page as they are, and links with any scheme (``javascript:`` included). :func:`inert_notebook`
runs once, where grading writes the notebook, and keeps only what that exporter shows as inert:

* outputs: stream text (``stdout`` or ``stderr``), errors as text, and of displayed data only
  ``text/plain`` and base64 ``image/png`` / ``image/jpeg`` (sizes only as numbers); whatever else
  was displayed is dropped and named in a note in ``text/plain``;
* markdown cells that nbconvert's own markdown parser reads as inert: no raw HTML, links only to
  http(s), mailto or relative addresses, images only from those, PNG/JPEG data or the cell's own
  attachments, no mermaid diagram. A cell that is not is kept with every ``<`` escaped (raw HTML
  then shows as text); if it still is not inert, or is too long to check (:data:`MAX_MARKDOWN_CHARS`,
  :data:`MARKDOWN_SECONDS`), it becomes plain text in a code block under a short note;
* attachments of markdown cells that are PNG or JPEG images;
* the metadata nbgrader and Jupyter need (:data:`NOTEBOOK_METADATA`, :data:`CELL_METADATA`).

Raw cells keep their text: nbconvert passes them through its HTML sanitizer (bleach) whatever they
hold, and with their metadata cleared nothing asks for anything else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection

from nbconvert.filters.markdown_mistune import MarkdownWithMath
from nbformat import NotebookNode
from nbformat.v4 import new_output

KEPT_MIMES = ("text/plain", "image/png", "image/jpeg")
IMAGE_MIMES = ("image/png", "image/jpeg")
NOTEBOOK_METADATA = ("kernelspec", "language_info")
CELL_METADATA = ("nbgrader", "deletable", "editable", "tags", "collapsed", "scrolled", "jupyter")
LINK_SCHEMES = ("http", "https", "mailto")
IMAGE_SCHEMES = ("http", "https")
# The parser's time grows faster than its input on some texts (36,000 characters of "\\[" took 39 s), so
# it is given short cells only, and a few seconds per notebook; past either, cells are shown as plain text.
MAX_MARKDOWN_CHARS = 5_000  # the course's longest prose cell has about 3,100
MARKDOWN_SECONDS = 2.0
NOTED_MIMES = 5  # types named in a removal note (the rest are counted)

# Token types of nbconvert's parser that its renderer writes with their text escaped.
INERT_TOKENS = frozenset(
    {
        "paragraph",
        "text",
        "emphasis",
        "strong",
        "codespan",
        "linebreak",
        "softbreak",
        "blank_line",
        "heading",
        "thematic_break",
        "block_code",
        "block_quote",
        "block_text",
        "list",
        "list_item",
        "task_list_item",
        "link",
        "image",
        "strikethrough",
        "table",
        "table_head",
        "table_body",
        "table_row",
        "table_cell",
        "def_list",
        "def_list_head",
        "def_list_item",
        "block_math",
        "inline_math",
        "latex_environment",
    }
)

PLAIN_TEXT_NOTE = (
    "*[This cell held HTML, a link or an image that could act in a browser: its text is shown as it was written.]*"
)

_PARSER = MarkdownWithMath(renderer=None)  # the parser Formgrader's exporter renders markdown with
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg);base64,[A-Za-z0-9+/=]*", re.IGNORECASE)
_ATTACHMENT = "attachment:"


def inert_notebook(nb: NotebookNode) -> NotebookNode:
    """Make ``nb`` inert in place (see the module's docstring) and return it.

    Inputs:
    - nb -- a notebook (nbformat 4) as grading executed it; it may hold anything a student sent.

    Returns ``nb``, holding only text, PNG/JPEG images and markdown that renders without HTML.
    """
    nb.metadata = NotebookNode({k: nb.metadata[k] for k in NOTEBOOK_METADATA if k in nb.get("metadata", {})})
    deadline = time.monotonic() + MARKDOWN_SECONDS
    for cell in nb.cells:
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        cell.metadata = NotebookNode({k: metadata[k] for k in CELL_METADATA if k in metadata})
        attachments = _image_attachments(cell.pop("attachments", None)) if cell.get("cell_type") == "markdown" else {}
        if attachments:
            cell.attachments = attachments
        if cell.get("cell_type") == "markdown":
            cell.source = inert_markdown(_text(cell.get("source", "")), attachments, deadline)
        elif cell.get("cell_type") == "code":
            cell.outputs = [kept for kept in map(inert_output, cell.get("outputs", [])) if kept is not None]
            cell.execution_count = _count(cell.get("execution_count"))
    return nb


def inert_output(output: dict) -> NotebookNode | None:
    """The output as inert text and images, or None for an output of a kind nbformat does not know.

    >>> inert_output({"output_type": "display_data", "metadata": {},
    ...               "data": {"text/html": "<script>alert(1)</script>"}}).data["text/plain"]
    '[text/html output removed: autograded notebooks keep only text and images]'
    """
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return new_output("stream", name=name, text=_text(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback") if isinstance(output.get("traceback"), list) else []
        return new_output(
            "error",
            ename=_text(output.get("ename", "")),
            evalue=_text(output.get("evalue", "")),
            traceback=[_text(line) for line in traceback],
        )
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    kept = {mime: _text(data[mime]) for mime in IMAGE_MIMES if mime in data}
    kept = {mime: payload for mime, payload in kept.items() if _BASE64.fullmatch(payload)}
    removed = [str(mime) for mime in data if mime not in kept and mime != "text/plain"]
    text = _text(data["text/plain"]) if "text/plain" in data else None
    if removed:
        names = ", ".join(removed[:NOTED_MIMES]) + (
            f" and {len(removed) - NOTED_MIMES} more" if len(removed) > NOTED_MIMES else ""
        )
        note = f"[{names} output removed: autograded notebooks keep only text and images]"
        text = note if text is None else f"{text}\n{note}"
    if text is not None:
        kept["text/plain"] = text
    metadata = output.get("metadata") if isinstance(output.get("metadata"), dict) else {}
    sizes = {
        mime: {k: v for k, v in metadata[mime].items() if k in ("width", "height") and _is_number(v)}
        for mime in kept
        if mime in IMAGE_MIMES and isinstance(metadata.get(mime), dict)
    }
    sizes = {mime: size for mime, size in sizes.items() if size}
    if kind == "execute_result":
        return new_output(kind, data=kept, metadata=sizes, execution_count=_count(output.get("execution_count")))
    return new_output(kind, data=kept, metadata=sizes)


def inert_markdown(source: str, attachments: Collection[str] = (), deadline: float | None = None) -> str:
    """Markdown that nbconvert renders without raw HTML or active links: ``source`` itself when it is,
    else ``source`` with ``<`` escaped when that is, else ``source`` as plain text in a code block.

    Inputs:
    - source -- a markdown cell's text
    - attachments -- names of the cell's kept image attachments (``![x](attachment:name)``)
    - deadline -- the ``time.monotonic()`` after which no more markdown of this notebook is parsed

    >>> inert_markdown("a <img src=x onerror=alert(1)> b")
    'a &lt;img src=x onerror=alert(1)> b'
    """
    deadline = time.monotonic() + MARKDOWN_SECONDS if deadline is None else deadline
    if len(source) <= MAX_MARKDOWN_CHARS and time.monotonic() < deadline:
        if _is_inert(source, attachments):
            return source
        escaped = source.replace("<", "&lt;")
        if _is_inert(escaped, attachments):
            return escaped
    fence = "`" * (1 + max((len(run) for run in re.findall(r"`{3,}", source)), default=2))
    return f"{PLAIN_TEXT_NOTE}\n\n{fence}\n{source}\n{fence}\n"


def _is_inert(source: str, attachments: Collection[str]) -> bool:
    """Whether every token nbconvert's parser makes of ``source`` renders as escaped text."""
    try:
        tokens, _ = _PARSER.parse(source)
    except Exception:  # noqa: BLE001 -- whatever the parser fails on cannot be proved inert
        return False
    stack = list(tokens)
    while stack:
        token = stack.pop()
        kind = token.get("type")
        attrs = token.get("attrs") or {}
        if kind not in INERT_TOKENS:
            return False
        if kind == "block_code" and str(attrs.get("info") or "").strip().lower().startswith("mermaid"):
            return False  # rendered unescaped, for mermaid.js to draw
        if kind in ("link", "image") and not _safe_url(str(attrs.get("url", "")), kind == "image", attachments):
            return False
        stack.extend(token.get("children") or [])
    return True


def _safe_url(url: str, image: bool, attachments: Collection[str]) -> bool:
    """Whether a browser following or loading ``url`` stays with plain documents and images."""
    if image and url.startswith(_ATTACHMENT):
        return url[len(_ATTACHMENT) :] in attachments  # nbconvert fails on a missing one
    # What a browser reads as the scheme: leading spaces and controls dropped, tabs and newlines removed.
    address = re.sub(r"[\t\n\r]", "", url).lstrip("".join(map(chr, range(33))))
    match = _SCHEME.match(address)
    if match is None:
        return True  # a relative address: the same server, no scheme that runs anything
    scheme = match.group(1).lower()
    if image and scheme == "data":
        return _DATA_IMAGE.fullmatch(address) is not None
    return scheme in (IMAGE_SCHEMES if image else LINK_SCHEMES)


def _image_attachments(attachments) -> dict:
    """The attachments that are PNG or JPEG images in base64, each with those types only."""
    kept = {}
    for name, bundle in attachments.items() if isinstance(attachments, dict) else ():
        images = {mime: _text(bundle[mime]) for mime in IMAGE_MIMES if isinstance(bundle, dict) and mime in bundle}
        images = {mime: payload for mime, payload in images.items() if _BASE64.fullmatch(payload)}
        if images:
            kept[str(name)] = NotebookNode(images)
    return kept


def _text(value) -> str:
    """nbformat's text (a string, or a list of strings to join) as one string."""
    return "".join(map(str, value)) if isinstance(value, list) else str(value)


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
