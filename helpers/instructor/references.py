"""Reference outputs for the checks, produced by running the source solutions.

``course refs`` writes ``helpers/reference/<assignment>.npz``: the outputs of the course's published
examples only (what the notebooks' "Expected output" tables show), for the visible checks in a
student's notebook. The grader never reads them: it computes every expected value from the source
solutions. A test regenerates them and proves the stored file is current.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import numpy as np

from helpers.instructor.notebooks import read_notebook, solution_code
from helpers.paths import ASSIGNMENTS, course_root

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


def check_module(assignment: str):
    """``helpers.checks.<assignment>``: its cases, checks and ``compute_references``."""
    return importlib.import_module(f"helpers.checks.{assignment}")


def solution_namespace(assignment: str, root: Path | None = None, notebook=None) -> dict:
    """Execute the source notebook's solution cells (after the check module's PREAMBLE) and return their names."""
    nb = notebook if notebook is not None else \
        read_notebook((root or course_root()) / "source" / assignment / f"{assignment}.ipynb")
    preamble = getattr(check_module(assignment), "PREAMBLE", "import numpy as np\n")
    namespace: dict = {"__name__": f"solutions_{assignment}"}
    exec(compile(preamble + "\n" + solution_code(nb), f"<source/{assignment} solutions>", "exec"), namespace)
    return namespace


def compute(assignment: str, root: Path | None = None) -> dict[str, np.ndarray]:
    """The check module's references: the outputs of the course's published examples."""
    return check_module(assignment).compute_references(solution_namespace(assignment, root))


def serialize(refs: dict[str, np.ndarray]) -> bytes:
    """npz bytes that depend only on the arrays (no timestamps), so regeneration is byte-identical."""
    buffer = io.BytesIO()
    np.savez(buffer, **dict(sorted(refs.items())))
    return buffer.getvalue()


def write(assignment: str, root: Path | None = None) -> Path:
    path = REFERENCE_DIR / f"{assignment}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(serialize(compute(assignment, root)))
    tmp.replace(path)
    return path


def assignments_with_references() -> list[str]:
    """Assignments whose check module defines ``compute_references``."""
    found = []
    for assignment in ASSIGNMENTS:
        try:
            module = check_module(assignment)
        except ModuleNotFoundError:
            continue
        if hasattr(module, "compute_references"):
            found.append(assignment)
    return found
