"""Reading course notebooks: nbgrader cell metadata, solution code, hidden-test regions."""

from __future__ import annotations

import json
import os
import re
import stat
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


def read_plain_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file, never following a symbolic link; NotebookError says why not."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise NotebookError(f"{path.name}: no such file.") from None
    except OSError as exc:
        if os.path.islink(path):
            raise NotebookError(f"{path.name} is a symbolic link, not a file: hand in the file itself.") from None
        raise NotebookError(f"{path.name} cannot be read ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError(f"{path.name} is not a regular file (a device, pipe or socket): hand in a file.")
        if info.st_size > limit:
            raise NotebookError(f"{path.name} is {info.st_size:,} bytes, more than the {limit:,} allowed.")
        return handle.read(limit + 1)[:limit]


MAX_NOTEBOOK_BYTES = 64 << 20


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook file, with an error that names the file and the problem.

    Never follows a symbolic link; notebooks of nbformat 3 are converted to 4.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise NotebookError(f"{path}: no such notebook.")
    data = read_plain_file(path, MAX_NOTEBOOK_BYTES)
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path}: not valid notebook JSON ({exc}). Re-download or re-save the notebook.") from exc
    if isinstance(raw, dict) and isinstance(raw.get("nbformat"), int) and raw["nbformat"] < 4 \
            and isinstance(raw.get("worksheets"), list):
        try:
            raw = json.loads(nbformat.writes(nbformat.convert(nbformat.reads(json.dumps(raw), as_version=3), 4)))
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds of errors on malformed input
            raise NotebookError(f"{path}: an nbformat {raw['nbformat']} notebook that cannot be converted ({exc}); "
                                "open it in Jupyter and save it again.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: not a Jupyter notebook (no list of cells).")
    try:
        nb = nbformat.from_dict(raw)
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
