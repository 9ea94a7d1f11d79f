"""Reading course notebooks: a file read safely, nbgrader's cell metadata, solution code, hidden tests.

Both layers use this module: a student's kernel reads the source solutions with it (where the source
can be read), the grader and the instructor tooling read every notebook with it. It imports nothing
beyond the standard library, so a student's kernel never loads nbformat or nbgrader for it:
:func:`read_cells` gives a notebook as plain JSON, and :func:`read_notebook` gives it as nbformat's
``NotebookNode`` (nbformat is imported there only) for code that writes notebooks back.

The accessors (:func:`grade_id`, :func:`is_test`, ...) take either form of a cell.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

# nbgrader's default delimiters with the Python comment sign (a test proves they equal nbgrader's own),
# put together here so that no file of the package holds a marker whole: a test looks for them there.
_COMMENT = "### "
BEGIN_SOLUTION = _COMMENT + "BEGIN SOLUTION"
END_SOLUTION = _COMMENT + "END SOLUTION"
BEGIN_HIDDEN = _COMMENT + "BEGIN HIDDEN TESTS"
END_HIDDEN = _COMMENT + "END HIDDEN TESTS"

MAX_NOTEBOOK_BYTES = 64 << 20


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


def _read_json(path: Path) -> dict:
    """A notebook file's JSON, never following a symbolic link, with an error naming the file and the problem."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise NotebookError(f"{path}: no such notebook.")
    data = read_plain_file(path, MAX_NOTEBOOK_BYTES)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path}: not valid notebook JSON ({exc}). Re-download or re-save the notebook.") from exc


def _is_version_3(raw) -> bool:
    return (
        isinstance(raw, dict)
        and isinstance(raw.get("nbformat"), int)
        and raw["nbformat"] < 4
        and isinstance(raw.get("worksheets"), list)
    )


def _normalise_cells(path: Path, cells) -> None:
    """Every cell gets metadata and a source that is one string; NotebookError where that cannot be."""
    for cell in cells:
        if not isinstance(cell, dict):
            raise NotebookError(f"{path}: malformed notebook (a cell is not an object).")
        cell.setdefault("metadata", {})
        src = cell.get("source", "")
        if isinstance(src, list):
            if not all(isinstance(line, str) for line in src):
                raise NotebookError(f"{path}: malformed notebook (cell source is not text).")
            cell["source"] = "".join(src)
        if not isinstance(cell.get("source", ""), str):
            raise NotebookError(f"{path}: malformed notebook (cell source is not text).")


def read_cells(path: Path) -> list[dict]:
    """A notebook's cells as plain dicts (sources joined into strings), with nothing but the standard library.

    For nbformat 4 notebooks, as the course's are; an older one gets a NotebookError that says what to do.
    """
    path = Path(path)
    raw = _read_json(path)
    if _is_version_3(raw):
        raise NotebookError(f"{path}: an nbformat {raw['nbformat']} notebook; open it in Jupyter and save it again.")
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: not a Jupyter notebook (no list of cells).")
    _normalise_cells(path, raw["cells"])
    return raw["cells"]


def read_notebook(path: Path):
    """Read and validate a notebook file as nbformat's ``NotebookNode``, with an error that names the file.

    Never follows a symbolic link; notebooks of nbformat 3 are converted to 4.
    """
    # nbformat (with jsonschema, seconds to import) is loaded here only, by the code that wants a
    # NotebookNode; a student's kernel reads the source solutions through read_cells instead.
    import nbformat

    path = Path(path)
    raw = _read_json(path)
    if _is_version_3(raw):
        try:
            raw = json.loads(nbformat.writes(nbformat.convert(nbformat.reads(json.dumps(raw), as_version=3), 4)))
        except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds of errors on malformed input
            raise NotebookError(
                f"{path}: an nbformat {raw['nbformat']} notebook that cannot be converted ({exc}); "
                "open it in Jupyter and save it again."
            ) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{path}: not a Jupyter notebook (no list of cells).")
    try:
        nb = nbformat.from_dict(raw)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds of errors on malformed input
        raise NotebookError(f"{path}: malformed notebook ({exc}).") from exc
    _normalise_cells(path, nb.cells)
    return nb


def _cells(nb) -> list:
    return nb["cells"] if isinstance(nb, dict) else list(nb)


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
    """The graded test cells of a notebook (a NotebookNode, its JSON, or a list of cells)."""
    return [cell for cell in _cells(nb) if is_test(cell)]


def solution_cells(nb) -> list:
    """The solution code cells of a notebook (a NotebookNode, its JSON, or a list of cells)."""
    return [cell for cell in _cells(nb) if is_solution(cell) and cell.get("cell_type") == "code"]


def set_up_cells(nb) -> list:
    """The set-up code cells of a notebook: locked, neither a test nor a solution (imports, the check module)."""
    return [
        cell
        for cell in _cells(nb)
        if cell.get("cell_type") == "code"
        and nbgrader_meta(cell).get("locked")
        and not is_test(cell)
        and not is_solution(cell)
    ]


def without_magics(code: str) -> str:
    """A cell's code with its IPython magics and shell lines blanked (line numbers kept): plain Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())


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
    return "\n\n".join(cell["source"] for cell in solution_cells(nb))


def function_of_tests(nb) -> dict[str, str]:
    """Test cell grade_id -> the graded function it tests (the solution cell before it)."""
    owner, current = {}, None
    for cell in _cells(nb):
        if is_solution(cell):
            current = grade_id(cell)
        elif is_test(cell):
            owner[grade_id(cell)] = current or grade_id(cell)
    return owner
