"""Editions of the notebooks in other languages, built from the English release and a PO catalogue.

One catalogue per assignment and language, ``i18n/<id>.<locale>.po``, holds every string a student
reads in ``release/<id>/<id>.ipynb``: each markdown heading, paragraph, list item's paragraph and
table cell, and in code cells the prose of docstrings (a paragraph, a heading line such as
``Arguments:``, the description after ``name --``) and whole comment lines. Code, inline code,
math, names and numbers are never segments of their own; a string whose words are all code or math
is not extracted.

A markdown cell that already holds Chinese (the closing cells, bilingual in every edition) is not
extracted. Cells that nbgrader grades or locks (test cells, their headings, the set-up cell) are copied as they
are, so their nbgrader checksums hold in both editions; and since the Chinese edition is made from
the English release, every cell's metadata (grade ids, points, checksums) is the English one.

The segmentation is our own, on markdown-it-py's block map, rather than mdpo's: mdpo's ``po2md``
writes the markdown afresh (re-wrapped at 80 columns, tables re-ruled) and extracts code-only table
cells, while here only the lines of a translated block change and everything else stays byte for byte.
Catalogues are Babel ``Catalog`` objects: :func:`update_catalogue` merges a new extraction as
``msgmerge`` does, so a changed English paragraph makes exactly its own entry fuzzy (or new).
"""

from __future__ import annotations

import copy
import io
import re
import shutil
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from markdown_it import MarkdownIt

from helpers import i18n
from helpers.paths import ASSIGNMENTS

I18N_DIR = "i18n"

_MD = MarkdownIt("commonmark").enable("table")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
_URL = re.compile(r"\]\([^)]*\)|<[^>]+>|https?://\S+")
_QUOTED_NAME = re.compile(r'"[A-Za-z_][\w.]*"')  # a key or option named in prose: "stride", "same"
_WORD = re.compile(r"[A-Za-z]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_COMMENT = re.compile(r"^(\s*)#(?: ?)(.*)$")
# Comment lines that are markers (nbgrader's and the course's), never prose.
_MARKER = re.compile(r"^\s*(###|# YOUR CODE HERE|#\s*$|#!|# -\*-)")
_PARAM = re.compile(r"^(\s*)([A-Za-z_][\w, ]*?) -- (.*)$")


def protected_spans(text: str) -> list[str]:
    """The inline code, math and link targets of a string: a translation keeps each of them as it is."""
    return [m.group(0) for pattern in (_CODE_SPAN, _MATH, _URL, _QUOTED_NAME) for m in pattern.finditer(text)]


def prose_only(text: str) -> str:
    """``text`` without its inline code, math and link targets (each replaced by a space)."""
    for pattern in (_CODE_SPAN, _MATH, _URL, _QUOTED_NAME):
        text = pattern.sub(" ", text)
    return text


def term_pattern(term: str) -> str:
    """A regular expression for a glossary term in English prose: whole words, any case, plurals too."""
    words = r"[\s-]+".join(re.escape(word) for word in re.split(r"[\s-]+", term.strip()))
    return rf"(?i)(?<![\w-]){words}(?:s|es)?(?![\w-])"


def is_prose(text: str) -> bool:
    """Whether a string has words to translate: English words outside code and math, and no Chinese yet."""
    return not _CJK.search(text) and bool(_WORD.search(prose_only(text)))


@dataclass
class Segment:
    """One translatable string of a cell and how to put its translation back."""

    msgid: str
    cell: int
    kind: str  # "lines": replace lines [start, end) of the cell; "cell": one table cell of row `start`
    start: int
    end: int
    prefix: str = ""  # before the first line of the translation (list marker, "## ", "# ", indentation)
    indent: str = ""  # before each further line
    column: int = 0  # table cell position in its row
    template: str = "{}"  # how a docstring parameter line wraps the translation: "name -- {}"


# ------------------------------------------------------------------ segmentation


def _markdown_segments(cell_index: int, source: str) -> list[Segment]:
    lines = source.split("\n")
    tokens = _MD.parse(source)
    found: list[Segment] = []
    row = None
    column = 0
    for position, token in enumerate(tokens):
        if token.type == "tr_open":
            row, column = token.map[0], 0
        elif token.type in ("th_open", "td_open"):
            inline = tokens[position + 1]
            if inline.type == "inline" and is_prose(inline.content):
                found.append(Segment(inline.content, cell_index, "cell", row, row + 1, column=column))
            column += 1
        elif token.type in ("paragraph_open", "heading_open") and token.map and not _in_table(tokens, position):
            inline = tokens[position + 1]
            if not is_prose(inline.content):
                continue
            start, end = token.map
            first_content = inline.content.split("\n")[0]
            first = lines[start]
            prefix = first[: first.find(first_content)] if first_content and first_content in first else ""
            if end - start > 1:
                second_content = inline.content.split("\n")[1] if "\n" in inline.content else ""
                second = lines[start + 1]
                indent = second[: second.find(second_content)] if second_content and second_content in second else ""
            else:
                indent = prefix if prefix.lstrip().startswith(">") else " " * len(prefix)
            if token.type == "heading_open":
                indent = ""
            found.append(Segment(inline.content, cell_index, "lines", start, end, prefix, indent))
    return found


def _in_table(tokens, position: int) -> bool:
    depth = 0
    for token in tokens[:position]:
        depth += token.nesting if token.type.startswith("table") else 0
    return depth > 0


def _docstring_ranges(source: str) -> list[tuple[int, int]]:
    """Line ranges (0-based, end exclusive) of the triple-quoted strings that stand alone as statements."""
    ranges = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return ranges
    previous = None
    for token in tokens:
        if (
            token.type == tokenize.STRING
            and token.string[:3] in ('"""', "'''")
            and (previous is None or previous.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.NL))
        ):
            ranges.append((token.start[0] - 1, token.end[0]))
        if token.type not in (tokenize.COMMENT,):
            previous = token
    return ranges


def _code_segments(cell_index: int, source: str) -> list[Segment]:
    lines = source.split("\n")
    found: list[Segment] = []
    inside: set[int] = set()
    for start, end in _docstring_ranges(source):
        inside.update(range(start, end))
        # The text lines between the quotes (a one-line docstring keeps its quotes on the line: skipped).
        body = [
            i
            for i in range(start, end)
            if lines[i].strip() not in ('"""', "'''", "") and '"""' not in lines[i] and "'''" not in lines[i]
        ]
        paragraph: list[int] = []

        def flush(paragraph=paragraph):  # this docstring's paragraph, emptied once written
            if paragraph:
                text = "\n".join(lines[i].strip() for i in paragraph)
                if is_prose(text):
                    indent = re.match(r"\s*", lines[paragraph[0]]).group(0)
                    found.append(Segment(text, cell_index, "lines", paragraph[0], paragraph[-1] + 1, indent, indent))
                paragraph.clear()

        for i in range(start, end):
            if i not in body:
                flush()
                continue
            param = _PARAM.match(lines[i])
            if param:
                flush()
                indent, name, text = param.groups()
                if is_prose(text):
                    found.append(
                        Segment(text, cell_index, "lines", i, i + 1, indent, indent, template=f"{name} -- {{}}")
                    )
            elif lines[i].rstrip().endswith(":") and len(lines[i].split()) <= 3:
                flush()
                text = lines[i].strip()
                indent = re.match(r"\s*", lines[i]).group(0)
                found.append(Segment(text, cell_index, "lines", i, i + 1, indent, indent))
            else:
                paragraph.append(i)
        flush()
    group: list[int] = []

    def flush_comments():
        if group:
            indent = _COMMENT.match(lines[group[0]]).group(1)
            text = "\n".join(_COMMENT.match(lines[i]).group(2) for i in group)
            if is_prose(text):
                found.append(Segment(text, cell_index, "lines", group[0], group[-1] + 1, indent + "# ", indent + "# "))
            group.clear()

    for i, line in enumerate(lines):
        match = _COMMENT.match(line)
        if i in inside or not match or _MARKER.match(line):
            flush_comments()
            continue
        if group and _COMMENT.match(lines[group[0]]).group(1) != match.group(1):
            flush_comments()
        group.append(i)
    flush_comments()
    return found


def kept_as_is(cell) -> bool:
    """Cells copied unchanged into every edition: those nbgrader grades or locks."""
    meta = cell.get("metadata", {}).get("nbgrader") or {}
    return bool(meta.get("grade") or meta.get("locked"))


def segments(nb) -> list[Segment]:
    """Every translatable string of a notebook, in reading order."""
    found: list[Segment] = []
    for index, cell in enumerate(nb.cells):
        if kept_as_is(cell):
            continue
        if cell.cell_type == "markdown" and not _CJK.search(cell.source):  # Chinese already: bilingual
            found.extend(_markdown_segments(index, cell.source))
        elif cell.cell_type == "code":
            found.extend(_code_segments(index, cell.source))
    return found


# ------------------------------------------------------------------ applying a catalogue


def _table_row(line: str, column: int, text: str) -> str:
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    cells = [c.strip() for c in cells]
    cells[column] = text
    return "| " + " | ".join(cells) + " |"


def translate_notebook(nb, translations: dict[str, str], lang: str):
    """A copy of ``nb`` with every segment that ``translations`` translates replaced, marked as ``lang``.

    Strings without a translation stay in English (the completeness test keeps the committed editions
    whole); everything else, metadata included, is copied.
    """
    result = copy.deepcopy(nb)
    by_cell: dict[int, list[Segment]] = {}
    for segment in segments(nb):
        by_cell.setdefault(segment.cell, []).append(segment)
    for index, cell_segments in by_cell.items():
        lines = result.cells[index].source.split("\n")
        for segment in sorted(cell_segments, key=lambda s: (s.start, s.column), reverse=True):
            text = translations.get(segment.msgid)
            if not text:
                continue
            if segment.kind == "cell":
                lines[segment.start] = _table_row(lines[segment.start], segment.column, text.replace("\n", " "))
                continue
            parts = segment.template.format(text).split("\n")
            new = [segment.prefix + parts[0]] + [
                (segment.indent + part) if part else segment.indent.rstrip() for part in parts[1:]
            ]
            lines[segment.start : segment.end] = new
        result.cells[index].source = "\n".join(lines)
    i18n.set_notebook_language(result, lang)
    return result


# ------------------------------------------------------------------ catalogues


def catalogue_path(root: Path, assignment: str, lang: str) -> Path:
    return Path(root) / I18N_DIR / f"{assignment}.{i18n.LOCALES[lang]}.po"


def edition_path(root: Path, assignment: str, lang: str) -> Path:
    """The ``lang`` edition of an assignment's student notebook: ``release<_lang>/<id>/<id>.ipynb``."""
    return Path(root) / i18n.edition_folder(lang) / assignment / f"{assignment}.ipynb"


def template(nb, assignment: str) -> Catalog:
    """The catalogue's template (a POT): every segment of ``nb`` with the cell it comes from."""
    catalog = Catalog(project=f"cnn-course {assignment}", fuzzy=False)
    for segment in segments(nb):
        cell_id = nb.cells[segment.cell].get("id") or f"cell-{segment.cell}"
        catalog.add(segment.msgid, locations=[(cell_id, segment.start + 1)])
    return catalog


def read_catalogue(path: Path, lang: str) -> Catalog:
    with open(path, "rb") as handle:
        return read_po(handle, locale=i18n.LOCALES[lang])


def write_catalogue(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # No `#| msgid` lines: Babel 2.19 writes a multi-line previous msgid on one line when width=0, and reads
    # that line back as a comment, so a second update of a fuzzy entry garbled the catalogue. A fuzzy entry
    # still shows its new English beside the old translation.
    write_po(
        buffer, catalog, width=0, omit_header=False, ignore_obsolete=True, include_previous=False, sort_output=False
    )
    path.write_bytes(buffer.getvalue())


def update_catalogue(catalog: Catalog, pot: Catalog) -> Catalog:
    """``catalog`` brought up to ``pot`` as ``msgmerge`` does: new strings empty, changed ones fuzzy.

    A string whose English changed keeps its old translation, marked fuzzy,
    when Babel finds it close to a string that is gone; otherwise it is new and empty.
    """
    catalog.update(pot, no_fuzzy_matching=False, update_header_comment=False)
    return catalog


def translations_of(catalog: Catalog) -> dict[str, str]:
    """The finished translations of a catalogue (neither fuzzy nor empty)."""
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


def unfinished(catalog: Catalog) -> list[str]:
    """The strings a catalogue does not translate yet, or whose translation is fuzzy."""
    return [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]


def release_notebook(root: Path, assignment: str):
    return nbformat.read(edition_path(root, assignment, i18n.DEFAULT), as_version=4)


def update(root: Path, lang: str, assignments: list[str] | None = None) -> list[tuple[Path, int]]:
    """Re-extract the strings of ``release/`` into each catalogue; the catalogues and their unfinished counts."""
    report = []
    for assignment in assignments or list(ASSIGNMENTS):
        path = catalogue_path(root, assignment, lang)
        pot = template(release_notebook(root, assignment), assignment)
        if path.is_file():
            catalog = update_catalogue(read_catalogue(path, lang), pot)
        else:
            catalog = Catalog(
                locale=i18n.LOCALES[lang],
                project=f"cnn-course {assignment}",
                fuzzy=False,
                header_comment=f"# The {lang} edition of {assignment}: the strings of release/{assignment}/"
                f"{assignment}.ipynb.\n# Updated by `course translations`; see README.",
            )
            catalog.update(pot, no_fuzzy_matching=True)
        write_catalogue(catalog, path)
        report.append((path, len(unfinished(catalog))))
    return report


def languages(root: Path, assignment: str) -> list[str]:
    """The languages other than English that ``assignment`` has a catalogue for."""
    return [lang for lang in i18n.LOCALES if lang != i18n.DEFAULT and catalogue_path(root, assignment, lang).is_file()]


def build_edition(root: Path, assignment: str, lang: str):
    """The ``lang`` edition of ``release/<id>/<id>.ipynb`` (not written)."""
    catalog = read_catalogue(catalogue_path(root, assignment, lang), lang)
    return translate_notebook(release_notebook(root, assignment), translations_of(catalog), lang)


def write_edition(root: Path, assignment: str, lang: str) -> Path:
    """Write ``release_<lang>/<id>/<id>.ipynb``, with copies of the files beside the English release."""
    target = edition_path(root, assignment, lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    for item in sorted(edition_path(root, assignment, i18n.DEFAULT).parent.iterdir()):
        if item.is_file() and item.name != target.name:
            if (
                not (target.parent / item.name).is_file()
                or (target.parent / item.name).read_bytes() != item.read_bytes()
            ):
                shutil.copy2(item, target.parent / item.name)
    text = nbformat.writes(build_edition(root, assignment, lang)) + "\n"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target
