"""Reading course notebooks, for the instructor's code: :mod:`helpers.notebook_cells` under its old name.

The code lives in the student layer because a student's kernel reads the source solutions with it
too; the instructor layer imports it from there, never the reverse.
"""

from __future__ import annotations

from helpers.notebook_cells import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    MAX_NOTEBOOK_BYTES,
    NotebookError,
    docstring_line,
    function_of_tests,
    grade_id,
    is_solution,
    is_test,
    nbgrader_meta,
    points,
    read_cells,
    read_notebook,
    read_plain_file,
    set_up_cells,
    solution_cells,
    solution_code,
    strip_hidden_tests,
    test_cells,
    without_magics,
)

__all__ = [
    "BEGIN_HIDDEN",
    "BEGIN_SOLUTION",
    "END_HIDDEN",
    "END_SOLUTION",
    "MAX_NOTEBOOK_BYTES",
    "NotebookError",
    "docstring_line",
    "function_of_tests",
    "grade_id",
    "is_solution",
    "is_test",
    "nbgrader_meta",
    "points",
    "read_cells",
    "read_notebook",
    "read_plain_file",
    "set_up_cells",
    "solution_cells",
    "solution_code",
    "strip_hidden_tests",
    "test_cells",
    "without_magics",
]
