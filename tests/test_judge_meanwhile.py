"""The judge is made while the kernel starts and runs the cells before the first test cell.

Making it runs the source's set-up and solutions in the grader (TensorFlow for two assignments: seconds);
the cells before the first test cell do not need it, so the two run at once (``execute.MadeMeanwhile``).
A stand-in judge stands for the real one: these tests start a plain kernel, no sandbox.
"""

from __future__ import annotations

import os
import threading
import time

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.instructor.execute import execute_notebook

WAIT_SECONDS = 60


class StandInJudge:
    """Judges every test cell 'ok' and says which thread made it."""

    def __init__(self):
        self.made_in = threading.current_thread().name
        self.mistakes: dict[int, str] = {}
        self.judged: list[int] = []
        self.closed = False
        self.seconds = {"calls in the kernel": 0.0, "diagnosis": 0.0}  # as the judge keeps them

    def run_test_cell(self, kernel, cell, index, seconds):
        self.judged.append(index)
        return "ok", ""

    def close(self):
        self.closed = True


def notebook(*sources: str):
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.from_dict(nb)


def test_the_judge_is_made_while_the_kernel_runs_the_cells_before_the_first_test(tmp_path):
    """make_judge returns only once the notebook's first cell has run in the kernel: made before the kernel
    starts (as it was), it would wait for a cell that cannot run yet."""
    made: list[StandInJudge] = []

    def make_judge(socket_dir):
        deadline = time.monotonic() + WAIT_SECONDS
        while not (tmp_path / "first-cell-ran").exists():
            if time.monotonic() > deadline:
                raise AssertionError("the kernel ran no cell while the judge was being made")
            time.sleep(0.05)
        made.append(StandInJudge())
        return made[0]

    nb = notebook("open('first-cell-ran', 'w').close()", "x = 2", "# the test cell", "x + 1")
    report = execute_notebook(
        nb,
        env=dict(os.environ),
        timeout=WAIT_SECONDS,
        workdir=str(tmp_path),
        make_judge=make_judge,
        is_test=lambda cell: cell.source == "# the test cell",
    )
    assert [report.statuses[k] for k in range(4)] == ["ok", "ok", "ok", "ok"]
    assert made[0].judged == [2] and made[0].closed
    assert made[0].made_in != threading.current_thread().name


def test_a_judge_that_cannot_be_made_fails_the_notebook_as_before(tmp_path):
    def make_judge(socket_dir):
        raise RuntimeError("the source solutions do not run")

    nb = notebook("x = 1", "# the test cell")
    with pytest.raises(RuntimeError, match="the source solutions do not run"):
        execute_notebook(
            nb,
            env=dict(os.environ),
            timeout=WAIT_SECONDS,
            workdir=str(tmp_path),
            make_judge=make_judge,
            is_test=lambda cell: cell.source == "# the test cell",
        )
