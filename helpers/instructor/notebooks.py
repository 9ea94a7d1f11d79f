"""Reading course notebooks: nbgrader cell metadata, solution code, hidden-test regions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions


def _marker(trait) -> str:
    return "### " + trait.default_value


# nbgrader's own delimiters (with the Python comment sign), so that nothing here can drift from them.
BEGIN_SOLUTION = _marker(ClearSolutions.begin_solution_delimeter)
END_SOLUTION = _marker(ClearSolutions.end_solution_delimeter)
BEGIN_HIDDEN = _marker(ClearHiddenTests.begin_test_delimeter)
END_HIDDEN = _marker(ClearHiddenTests.end_test_delimeter)


class NotebookError(ValueError):
    """A notebook file cannot be used; the message says why and what to do."""


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook file, with an error that names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such notebook.")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path}: not valid notebook JSON ({exc}). Re-download or re-save the notebook.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: not a Jupyter notebook (no list of cells).")
    try:
        nb = nbformat.from_dict(raw)
        if nb.get("nbformat", 4) < 4:
            nb = nbformat.convert(nb, 4)
        for cell in nb.cells:
            cell.setdefault("metadata", {})
            src = cell.get("source", "")
            if isinstance(src, list):
                cell["source"] = "".join(src)
            if not isinstance(cell.get("source", ""), str):
                raise TypeError("cell source is not text")
    except Exception as exc:  # nbformat raises many kinds of errors on malformed input
        raise NotebookError(f"{path}: malformed notebook ({exc}).") from exc
    return nb


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def points(cell) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


def test_cells(nb) -> list:
    return [cell for cell in nb.cells if is_test(cell)]


def solution_cells(nb) -> list:
    return [cell for cell in nb.cells if is_solution(cell) and cell.get("cell_type") == "code"]


def docstring_line(source: str) -> str:
    """The first line of a test cell's docstring: what the cell checks."""
    match = re.match(r'\s*(?:"""|\'\'\')(.*?)(?:"""|\'\'\'|\n)', source, re.S)
    return match.group(1).strip() if match else ""


_HIDDEN = re.compile(re.escape(BEGIN_HIDDEN) + r".*?" + re.escape(END_HIDDEN) + r"[^\n]*\n?", re.S)


def strip_hidden_tests(source: str) -> str:
    """Remove every hidden-test region (markers included) from a cell's source."""
    return _HIDDEN.sub("", source)


def solution_code(nb) -> str:
    """The source notebook's solution cells, joined: the reference implementation."""
    return "\n\n".join(cell.source for cell in solution_cells(nb))


def function_of_tests(nb) -> dict[str, str]:
    """Test cell grade_id -> the graded function it tests (the solution cell before it)."""
    owner, current = {}, None
    for cell in nb.cells:
        if is_solution(cell):
            current = grade_id(cell)
        elif is_test(cell):
            owner[grade_id(cell)] = current or grade_id(cell)
    return owner
