"""Running the source notebook's solutions, where the source can be read.

The grader computes every expected value from them; an instructor's or a self-learner's checkout uses
them too, so that a visible check's dependencies answer from the solutions there as under grading
(:mod:`helpers.checks`); ``course refs`` and ``course pretrain`` build on them. A grading kernel never
gets here: the sandbox hides ``source/``.

Both layers use this module, and it stays light for a student's kernel: the notebook is read as plain
JSON (:func:`helpers.notebook_cells.read_cells`), and only the check module's ``PREAMBLE`` decides what
the solutions import (numpy alone for ``cnn_step_by_step``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from helpers.notebook_cells import read_cells, solution_code
from helpers.paths import course_root


def check_module(assignment: str):
    """``helpers.checks.<assignment>``: its cases, checks and ``compute_references``."""
    return importlib.import_module(f"helpers.checks.{assignment}")


def source_path(assignment: str, root: Path | None = None) -> Path:
    """``source/<assignment>/<assignment>.ipynb`` in the course folder."""
    return (root or course_root()) / "source" / assignment / f"{assignment}.ipynb"


def solution_namespace(assignment: str, root: Path | None = None, notebook=None) -> dict:
    """Execute the source notebook's solution cells (after the check module's PREAMBLE) and return their names.

    ``notebook`` (a NotebookNode, its JSON, or a list of cells) is used instead of reading the file.
    """
    cells = notebook if notebook is not None else read_cells(source_path(assignment, root))
    preamble = getattr(check_module(assignment), "PREAMBLE", "import numpy as np\n")
    namespace: dict = {"__name__": f"solutions_{assignment}"}
    exec(compile(preamble + "\n" + solution_code(cells), f"<source/{assignment} solutions>", "exec"), namespace)
    return namespace
