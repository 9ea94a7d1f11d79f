"""Points for the report: the full check of ``course check``, hidden tests included.

:func:`full_check` is the one place that calls the grader: if its API changes, only this module
changes. :func:`points_by_function` turns its result into plain :class:`FunctionPoints`, grouped by
graded function exactly as ``course check`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from helpers import notebook_cells as nbu


@dataclass(frozen=True)
class TestPoints:
    grade_id: str
    description: str
    points: float
    max_points: float
    message: str


@dataclass
class FunctionPoints:
    function: str
    tests: list[TestPoints] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests)

    @property
    def max_points(self) -> float:
        return sum(t.max_points for t in self.tests)


class CheckFailed(RuntimeError):
    """The grader could not grade the notebook (not valid JSON, missing); the message says why."""


def full_check(root: Path, assignment: str, notebook_path: Path):
    """Grade ``notebook_path`` as ``course check`` does, on a private copy; returns the grader's Result."""
    # The grader (nbgrader, nbclient: seconds to import) loads when a report is made, not with this package.
    from helpers.instructor import grading
    from helpers.instructor.settings import Settings

    return grading.check_private_copy(Settings.load(root), assignment, Path(notebook_path))


def points_by_function(result, source) -> tuple[dict[str, FunctionPoints], list[str]]:
    """Points per graded function of ``source``, in notebook order, and the grader's notes."""
    if result.status != "graded":
        raise CheckFailed(f"{result.status}: {result.reason}")
    owner = nbu.function_of_tests(source)
    functions: dict[str, FunctionPoints] = {}
    for cell in result.cells:
        name = owner.get(cell.grade_id, cell.grade_id)
        functions.setdefault(name, FunctionPoints(name)).tests.append(
            TestPoints(
                cell.grade_id,
                cell.description,
                float(cell.points),
                float(cell.max_points),
                cell.message or ("" if cell.points == cell.max_points else cell.status),
            )
        )
    return functions, list(result.notes)
