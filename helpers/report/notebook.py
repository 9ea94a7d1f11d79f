"""Reading a course notebook for its report: title, purpose, steps, code, outputs, student sections.

Everything here is a plain function of a notebook (no kernel, no grader), so that it is tested on
small notebooks in memory.

* A **step** starts at each markdown cell with a heading (nbgrader's "(N points)" headings excepted)
  and runs to the next one. A step holding a graded function's solution cell is that function's
  exercise; a step without one (a figure, a timing) is kept when it printed or drew something.
* The **student's code** is what stands between ``### START CODE HERE ###`` and
  ``### END CODE HERE ###`` in the solution cell (every such region, in order, under the function's
  ``def`` line), nbgrader's ``# YOUR CODE HERE`` line removed.
* The **student's sections** are the cells headed 结论分析与体会 and 问题与解答; the prompt (quoted
  lines), the heading and the answer placeholders are not part of the answer.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import struct

from helpers import notebook_cells as nbu
from helpers.report.model import Figure, Principle, Step, StudentSection, TextOutput

START_CODE = "### START CODE HERE ###"
END_CODE = "### END CODE HERE ###"
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()", "raise NotImplementedError")
PLACEHOLDER = "*（在此作答 · Write your answer here）*"
SECTION_TITLES = {
    "conclusions": ("结论分析与体会", "conclusions"),
    "questions": ("问题与解答", "questions and answers"),
}
MAX_OUTPUT_LINES = 40  # a longer output keeps its first and last lines, with a note of what was left out
HEAD_LINES, TAIL_LINES = 24, 12

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_EXERCISE = re.compile(r"^(?:Exercise|练习)\s*(\d+)\s*[-–:]\s*(.*)$", re.I)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_OBJECT_REPR = re.compile(r"^(<.*>|\[<.*>(, <.*>)*\]|Text\(.*\))$", re.S)
_EMPTY_LABEL = re.compile(r"^(问题|解答|Q|A)?\s*\d*\s*(·\s*(Q|A)\s*\d*)?\s*[:：]?$", re.I)


def headings(markdown: str) -> list[tuple[int, str]]:
    """Every ATX heading of a markdown text, as (level, text), fenced code ignored."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            found.append((len(match.group(1)), match.group(2)))
    return found


def exercise_heading(text: str) -> tuple[str, str] | None:
    """("1", "`zero_pad`") for "Exercise 1 - `zero_pad`", else None."""
    match = _EXERCISE.match(text.strip())
    return (match.group(1), match.group(2)) if match else None


def title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for level, text in headings(cell.source):
                if level == 1:
                    return text
    return ""


def purpose(nb) -> str:
    """The introduction's opening paragraphs, up to its first note in bold (how it is graded, notation)."""
    intro = next(
        (
            c.source
            for c in nb.cells
            if c.cell_type == "markdown" and headings(c.source)[:1] and headings(c.source)[0][0] == 1
        ),
        "",
    )
    kept = []
    for block in re.split(r"\n\s*\n", intro):
        stripped = block.strip()
        if not stripped or _HEADING.match(stripped.splitlines()[0]) and len(stripped.splitlines()) == 1:
            continue
        if stripped.startswith("**"):
            break
        kept.append(stripped)
    return "\n\n".join(kept)


# ------------------------------------------------------------------ principles (实验原理)

PRINCIPLE_PARAGRAPHS = 2  # paragraphs (or lists) kept of each explanation; formulas on their own lines are kept too
PRINCIPLE_CHARS = 900  # ... and no more than about this many characters of it


def condense(markdown: str) -> str:
    """An explanation's first paragraphs: headings, tables, code and notes in bold left out, display math kept."""
    kept, prose, size = [], 0, 0
    for block in re.split(r"\n\s*\n", markdown):
        stripped = block.strip()
        lines = stripped.splitlines()
        if not stripped or _HEADING.match(lines[0]) and len(lines) == 1:
            continue
        if _HEADING.match(lines[0]):
            stripped = "\n".join(lines[1:]).strip()
        if stripped.startswith(("|", "```", "**")) or not stripped:
            continue
        math = stripped.startswith("$$")
        if not math and (prose >= PRINCIPLE_PARAGRAPHS or size + len(stripped) > PRINCIPLE_CHARS and prose):
            break
        kept.append(stripped)
        size += len(stripped)
        prose += 0 if math else 1
    return "\n\n".join(kept)


def principles(nb) -> list[Principle]:
    """For each graded function, the markdown between the code cell before it and its solution cell, condensed.

    The heading is the most specific heading there that is not an "Exercise N" line (or the function's name).
    """
    found, explanation = [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            if section_kind(cell) is None and not nbu.grade_id(cell):
                explanation.append(cell.source)
            continue
        if nbu.is_solution(cell):
            text = condense("\n\n".join(explanation))
            titles = [t for _, t in headings("\n\n".join(explanation)) if not exercise_heading(t.replace("`", ""))]
            name = nbu.grade_id(cell)
            if text:
                found.append(Principle(name, titles[-1].replace("`", "") if titles else name, text))
        explanation = []
    return found


# ------------------------------------------------------------------ the student's sections


def section_kind(cell) -> str | None:
    """ "conclusions" or "questions" for the student's own cells, found by their heading."""
    if cell.cell_type != "markdown" or nbu.grade_id(cell):
        return None
    for _, text in headings(cell.source)[:1]:
        lowered = text.lower()
        for kind, names in SECTION_TITLES.items():
            if any(name in lowered for name in names):
                return kind
    return None


def _is_template_line(line: str) -> bool:
    stripped = line.strip()
    if stripped == PLACEHOLDER or stripped.startswith(">") or _HEADING.match(stripped):
        return True
    return False


def _is_empty_label(line: str) -> bool:
    return bool(_EMPTY_LABEL.match(line.replace("*", "").replace("_", "").strip()))


def student_text(markdown: str) -> str:
    """What the student wrote in a section cell: the heading, the prompt and the placeholder removed.

    Labels such as ``**问题 1 · Q1：**`` stay (they structure the answers) unless nothing else does.
    """
    lines = [line for line in markdown.splitlines() if not _is_template_line(line)]
    if all(not line.strip() or _is_empty_label(line) for line in lines):
        return ""
    return "\n".join(lines).strip()


def student_sections(nb) -> dict[str, StudentSection]:
    sections = {kind: StudentSection(kind) for kind in SECTION_TITLES}
    for cell in nb.cells:
        kind = section_kind(cell)
        if kind and not sections[kind].found:
            sections[kind] = StudentSection(kind, student_text(cell.source), found=True)
    return sections


# ------------------------------------------------------------------ code


def code_regions(source: str) -> list[str]:
    """The text of every START/END CODE HERE region, nbgrader's ``# YOUR CODE HERE`` removed."""
    regions, current = [], None
    for line in source.splitlines():
        if START_CODE in line:
            current = []
        elif END_CODE in line and current is not None:
            regions.append("\n".join(current))
            current = None
        elif current is not None and line.strip() != "# YOUR CODE HERE":
            current.append(line)
    return regions


def is_unwritten(source: str) -> bool:
    """True when every code region is still the release's stub (or empty)."""
    regions = code_regions(source)
    return (
        all(all(not line.strip() or line.strip() in STUB_LINES for line in region.splitlines()) for region in regions)
        if regions
        else "raise NotImplementedError" in source
    )


def student_code(source: str) -> str:
    """The function's ``def`` line, then each region the student wrote, an elision mark between."""
    lines = source.splitlines()
    signature = []
    for line in lines:
        if signature or line.startswith("def "):
            signature.append(line)
            if line.rstrip().endswith(":"):
                break
    parts = ["\n".join(signature)] if signature else []
    for region in code_regions(source):
        indent = min((len(line) - len(line.lstrip()) for line in region.splitlines() if line.strip()), default=4)
        parts.append(" " * indent + "# ...")
        parts.append(region.rstrip())
    return "\n".join(p for p in parts if p)


# ------------------------------------------------------------------ outputs


def clean_text(text: str) -> str:
    """Terminal text as it finally stood: colours removed, carriage-return redraws and backspaces applied."""
    text = _ANSI.sub("", text)
    lines = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if "\r" in line:
            pieces = [p for p in line.split("\r") if p]
            line = pieces[-1] if pieces else ""
        while "\b" in line:
            k = line.index("\b")
            line = line[: max(0, k - 1)] + line[k + 1 :]
        lines.append(line.rstrip())
    return "\n".join(lines).strip("\n")


def shorten(text: str, omitted_note: str = "... {n} lines left out ...") -> str:
    lines = text.splitlines()
    if len(lines) <= MAX_OUTPUT_LINES:
        return text
    left_out = len(lines) - HEAD_LINES - TAIL_LINES
    return "\n".join(lines[:HEAD_LINES] + [omitted_note.format(n=left_out)] + lines[-TAIL_LINES:])


def png_size(png: bytes) -> tuple[int, int]:
    if png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR":
        return struct.unpack(">II", png[16:24])
    return (0, 0)


def cell_outputs(cell) -> tuple[list[TextOutput], list[Figure]]:
    """A code cell's printed text (stdout, results, errors) and its figures; stderr and widgets left out."""
    texts, figures, stdout = [], [], []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            if out.get("name") == "stdout":
                stdout.append(out.get("text", "") if isinstance(out.get("text"), str) else "".join(out.get("text")))
            continue
        if stdout:
            texts.append(TextOutput(clean_text("".join(stdout))))
            stdout = []
        if kind == "error":
            message = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".rstrip(": ")
            texts.append(TextOutput(clean_text(message), error=True))
            continue
        data = out.get("data", {})
        if "image/png" in data:
            payload = data["image/png"]
            payload = payload if isinstance(payload, str) else "".join(payload)
            try:
                png = base64.b64decode(payload.replace("\n", ""), validate=True)
            except (binascii.Error, ValueError):
                continue
            width, height = png_size(png)
            if width and height:
                figures.append(Figure(png, width, height))
            continue
        if "application/vnd.jupyter.widget-view+json" in data:
            continue  # a progress bar: its text says nothing once finished
        plain = data.get("text/plain")
        if plain is not None:
            plain = plain if isinstance(plain, str) else "".join(plain)
            if not _OBJECT_REPR.match(plain.strip()):
                texts.append(TextOutput(clean_text(plain)))
    if stdout:
        texts.append(TextOutput(clean_text("".join(stdout))))
    return [t for t in texts if t.text.strip()], figures


# ------------------------------------------------------------------ steps


def _starts_step(cell) -> bool:
    return (
        cell.cell_type == "markdown"
        and not nbu.grade_id(cell)
        and bool(headings(cell.source))
        and section_kind(cell) is None
    )


def _expected(markdown: str) -> str | None:
    """An "Expected output" cell without its label: a remark and the table, or its first paragraph.

    Prose after the table (or after the first paragraph) introduces the next cell, so it is left out.
    """
    match = re.match(r"^\*\*(?:Expected output|预期输出)\*\*[:：]?", markdown.strip(), re.I)
    if not match:
        return None
    lines = markdown.strip()[match.end() :].splitlines()
    first = next((k for k, line in enumerate(lines) if line.lstrip().startswith("|")), None)
    if first is None:
        return re.split(r"\n\s*\n", "\n".join(lines).strip())[0].strip()
    remark = " ".join(line.strip() for line in lines[:first] if line.strip())
    table = []
    for line in lines[first:]:
        if not line.lstrip().startswith("|"):
            break
        table.append(line)
    return (remark + "\n\n" if remark else "") + "\n".join(table)


def steps(nb) -> list[Step]:
    """The notebook's steps in order (see the module's docstring), without points."""
    found: list[Step] = []
    current: Step | None = None
    for cell in nb.cells:
        if section_kind(cell):
            current = None
            continue
        if _starts_step(cell):
            levels = headings(cell.source)
            if any(level == 1 for level, _ in levels):
                current = None  # the introduction: its purpose is read by purpose()
                continue
            current = Step(headings=levels)
            found.append(current)
            continue
        if current is None:
            continue
        if cell.cell_type == "markdown":
            expected = _expected(cell.source)
            if expected is not None:
                current.expected.append(expected)
            continue
        if cell.cell_type != "code":
            continue
        if nbu.is_solution(cell):
            if current.function is not None:  # a second function under one heading: a step of its own
                current = Step(headings=[(4, f"`{nbu.grade_id(cell)}`")])
                found.append(current)
            current.function = nbu.grade_id(cell)
            current.unwritten = is_unwritten(cell.source)
            current.code = None if current.unwritten else student_code(cell.source)
            continue
        texts, figures = cell_outputs(cell)
        if nbu.is_test(cell):
            current.self_checks.extend(dataclasses.replace(t, check=nbu.grade_id(cell)) for t in texts)
        else:
            current.outputs.extend(texts)
        current.figures.extend(figures)
    return [s for s in found if s.function or s.outputs or s.figures]
