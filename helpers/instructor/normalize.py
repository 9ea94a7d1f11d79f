"""The canonical form of a course notebook: what git stores and what ``course release`` reads.

JupyterLab saves what it shows: outputs, execution counts, cell ids for notebooks older than
nbformat 4.5, view state of cells. None of it is course content. ``normalize`` removes it with
nbstripout (the same tool the git filter runs, with the same options), and adds what nbstripout
does not:

* nbformat 4.5, with a stable id on every cell: the nbgrader ``grade_id`` where the cell has one, the
  id it already carries otherwise, and for a cell that has neither ``<cell type>-<position>``;
* a complete ``language_info``, as the Python kernel reports it. Lab writes the kernel's
  ``language_info`` into every notebook it opens and marks the notebook modified unless it is
  already there, identical: so a notebook opens clean in Lab on the Python it was normalised with.
  Fields already present are kept (a Lab on another Python writes its own version, and the
  normaliser leaves it).

The git filter (``course setup``) runs nbstripout with ``--keep-id`` and ``EXTRA_KEYS``: a
normalised notebook passes through it unchanged, and a normalised notebook that Lab opened, ran and
saved is committed exactly as ``normalize`` writes it (Lab keeps the ids of a 4.5 notebook).
"""

from __future__ import annotations

import copy
import platform
import re
from pathlib import Path

import nbformat

from helpers.instructor.settings import course_paths

# What nbstripout removes by default (nbstripout's own list, see `nbstripout --help`) and what this
# course adds; the git filter gets the additions through `filter.nbstripout.extrakeys`.
NBSTRIPOUT_DEFAULT_KEYS = (
    "metadata.signature",
    "metadata.widgets",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
)
EXTRA_KEYS = ("cell.metadata.trusted",)

# What ipykernel's Python kernel reports (``IPythonKernel.language_info``), and Lab then writes.
PYTHON_LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": platform.python_version(),
}

_VALID_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _stable_ids(cells) -> None:
    taken: set[str] = set()
    fixed: set[int] = set()
    for position, cell in enumerate(cells):  # grade ids first: they win over a Lab id that collides
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if isinstance(gid, str) and _VALID_ID.match(gid) and gid not in taken:
            cell["id"] = gid
            taken.add(gid)
            fixed.add(position)
    for position, cell in enumerate(cells):
        if position in fixed:
            continue
        current = cell.get("id")
        if isinstance(current, str) and _VALID_ID.match(current) and current not in taken:
            new = current
        else:
            new, n = f"{cell['cell_type']}-{position}", 1
            while new in taken:
                new, n = f"{cell['cell_type']}-{position}-{n}", n + 1
        cell["id"] = new
        taken.add(new)


def normalize(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A normalised copy of ``nb`` (nbformat 4, any minor version): see the module's docstring."""
    from nbstripout import strip_output

    nb = copy.deepcopy(nb)
    if nb.nbformat != 4:
        nb = nbformat.convert(nb, 4)
    nb.nbformat_minor = max(5, int(nb.get("nbformat_minor", 0)))
    nb = strip_output(
        nb, keep_output=False, keep_count=False, keep_id=True, extra_keys=list(NBSTRIPOUT_DEFAULT_KEYS + EXTRA_KEYS)
    )
    _stable_ids(nb.cells)
    info = nb.metadata.get("language_info") or {}
    if info.get("name", "python") == "python":
        nb.metadata["language_info"] = nbformat.from_dict({**copy.deepcopy(PYTHON_LANGUAGE_INFO), **info})
    return nb


def normalized_text(path: Path) -> str:
    """The normalised file content of the notebook at ``path`` (what ``normalize_file`` would write)."""
    with open(path, encoding="utf-8") as handle:
        nb = nbformat.read(handle, as_version=nbformat.NO_CONVERT)
    text = nbformat.writes(normalize(nb))
    return text if text.endswith("\n") else text + "\n"  # as nbformat.write (and nbstripout) end a file


def normalize_file(path: Path) -> bool:
    """Rewrite the notebook at ``path`` in its normal form; True if that changed the file."""
    path = Path(path)
    text = normalized_text(path)
    if path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(f".{path.name}.normalize.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True


def source_notebooks(root: Path, assignments=None) -> list[Path]:
    """``source/<id>/*.ipynb`` of the given assignments (default: all)."""
    paths = course_paths(root)
    folders = (
        [paths.path("source", a) for a in assignments] if assignments else sorted(paths.folder("source").iterdir())
    )
    return sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.ipynb"))
