"""Running a notebook that was never run, or not to its end, so that its report has outputs and figures.

The notebook is executed in memory, in a private folder holding copies of the files beside it
(images the notebook opens), in fast mode (``COURSE_FAST=1``: long training is shortened, see
:mod:`helpers.mode`); the student's file is never opened for writing. A cell that raises (an
unwritten function's ``NotImplementedError``) keeps its error as output and the run goes on.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

CELL_TIMEOUT = 600  # seconds; fast mode keeps every cell of the course far below this
MAX_COPIED_BYTES = 50 << 20  # files beside the notebook larger than this are not copied


def was_run(nb) -> bool:
    """True when at least one code cell carries an execution count or an output."""
    return any(
        cell.get("cell_type") == "code" and (cell.get("execution_count") is not None or cell.get("outputs"))
        for cell in nb.cells
    )


def _has_code(source: str) -> bool:
    """True when a cell's source holds more than blank lines and comments."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in source.splitlines())


def never_ran(nb) -> list[int]:
    """The indices of the code cells that never ran: code in them, but no execution count and no output.

    After Run All stopped at a cell that raised, every code cell below it is one of these.
    """
    return [
        k
        for k, cell in enumerate(nb.cells)
        if cell.get("cell_type") == "code"
        and cell.get("execution_count") is None
        and not cell.get("outputs")
        and _has_code(cell.get("source", ""))
    ]


def kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env["COURSE_FAST"] = "1"
    env.pop("NBGRADER_EXECUTION", None)  # not grading: the notebook runs as the student would run it
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def execute(nb, notebook_path: Path, timeout: int = CELL_TIMEOUT):
    """A run copy of ``nb`` (read from ``notebook_path``), executed top to bottom in fast mode."""
    from nbclient import NotebookClient

    run = copy.deepcopy(nb)
    run.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    with tempfile.TemporaryDirectory(prefix="course-report-run-") as tmp:
        for item in Path(notebook_path).parent.iterdir():
            if (
                item.is_file()
                and item.suffix != ".ipynb"
                and not item.name.startswith(".")
                and item.stat().st_size <= MAX_COPIED_BYTES
            ):
                shutil.copy2(item, Path(tmp) / item.name)
        client = NotebookClient(
            run, timeout=timeout, allow_errors=True, kernel_name="python3", resources={"metadata": {"path": tmp}}
        )
        # The kernel's own stderr (TensorFlow's start-up chatter) is not for the terminal.
        client.execute(env=kernel_env(), stderr=subprocess.DEVNULL)
    if run.get("nbformat_minor", 0) < 5:  # the client gives cells ids, which format 4.4 does not allow
        for cell in run.cells:
            cell.pop("id", None)
    return nbformat.from_dict(run)
