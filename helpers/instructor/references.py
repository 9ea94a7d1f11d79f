"""Reference outputs for the checks, produced by running the source solutions.

``course refs`` writes ``helpers/reference/<assignment>.npz``: the outputs of the course's published
examples only (what the notebooks' "Expected output" tables show), for the visible checks in a
student's notebook. The grader never reads them: it computes every expected value from the source
solutions. A test regenerates them and proves the stored file is current.

Running the solutions themselves is :mod:`helpers.solutions` (both layers use it); its
``solution_namespace`` and ``check_module`` are named here too, for the instructor's code.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from helpers.paths import ASSIGNMENTS
from helpers.solutions import check_module, solution_namespace

__all__ = [
    "REFERENCE_DIR",
    "assignments_with_references",
    "check_module",
    "compute",
    "serialize",
    "solution_namespace",
    "write",
]

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


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
