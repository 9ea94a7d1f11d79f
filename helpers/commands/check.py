"""``course check``: grade one of the learner's notebooks with the full tests, on a private copy."""

from __future__ import annotations

from pathlib import Path

from helpers import i18n, notebook_cells
from helpers.instructor import grading, outputs
from helpers.instructor.settings import Settings


def run(args, root: Path) -> int:
    """``args.notebook`` is a file and ``args.assignment`` its assignment (:func:`helpers.cli.notebook_argument`)."""
    path, assignment = Path(args.notebook), args.assignment
    before = path.read_bytes()
    settings = Settings.load(root, timeout=args.timeout)
    result = grading.check_private_copy(settings, assignment, path)
    assert path.read_bytes() == before
    lang = i18n.command_language(result.lang)  # COURSE_LANG, else the notebook's language
    if result.status != "graded":
        print(
            i18n.message("{name}: {status}: {reason}", lang, name=path.name, status=result.status, reason=result.reason)
        )
        return 1
    owner = notebook_cells.function_of_tests(notebook_cells.read_cells(settings.notebook("source", assignment)))
    print(outputs.check_table(assignment, result, owner, lang))
    return 0
