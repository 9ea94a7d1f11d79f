"""Reference outputs for the checks, produced by running the source solutions.

``course refs`` writes ``helpers/reference/<assignment>.npz``; a test regenerates them and
proves the stored file is current.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np

from helpers.instructor.notebooks import read_notebook, solution_code
from helpers.paths import course_root

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


def solution_namespace(assignment: str, root: Path | None = None, preamble: str = "import numpy as np\n") -> dict:
    """Execute the source notebook's solution cells and return the names they define."""
    nb = read_notebook((root or course_root()) / "source" / assignment / f"{assignment}.ipynb")
    namespace: dict = {"__name__": f"solutions_{assignment}"}
    exec(compile(preamble + solution_code(nb), f"<source/{assignment} solutions>", "exec"), namespace)
    return namespace


def _builders() -> dict[str, Callable[[dict], dict[str, np.ndarray]]]:
    from helpers.checks import step_by_step
    return {"cnn_step_by_step": step_by_step.compute_references}


def compute(assignment: str, root: Path | None = None) -> dict[str, np.ndarray]:
    return _builders()[assignment](solution_namespace(assignment, root))


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
    return list(_builders())
