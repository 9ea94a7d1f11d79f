"""What a grading process computes once and reuses for every student, without changing a verdict.

A worker grades a class's assignments interleaved (student by student): the judge's set-up of each
assignment (the source's set-up cells, its solutions, their stored examples and memos of visible cases)
and the reference blocks' parameter counts of residual_networks depend on nothing a student sends, so
each is built once per process. Hidden inputs are drawn per notebook and never reused. The phases a
notebook's time is recorded in are checked in tests/test_grading.py, on a graded class.
"""

from __future__ import annotations

import copy

import pytest
from nbformat.v4 import new_markdown_cell

from conftest import ROOT
from helpers.checks import Solutions, residual_networks, using_solutions
from helpers.instructor import judge
from helpers.instructor import notebooks as nbu
from helpers.solutions import solution_namespace


def test_the_judge_keeps_the_setup_of_each_assignment_it_judged():
    """Judging A, then B, then A again reuses A's set-up: it is not rebuilt at each change of assignment."""
    first = nbu.read_notebook(ROOT / "source" / "cnn_step_by_step" / "cnn_step_by_step.ipynb")
    second = copy.deepcopy(first)  # another source notebook: another assignment as far as the cache can tell
    second.cells.append(new_markdown_cell("another assignment"))
    namespace, solutions = judge.trusted_setup("cnn_step_by_step", first)
    other_namespace, other_solutions = judge.trusted_setup("cnn_step_by_step", second)
    assert other_solutions is not solutions
    again_namespace, again_solutions = judge.trusted_setup("cnn_step_by_step", first)
    assert again_solutions is solutions and again_namespace is namespace


@pytest.mark.exhaustive  # builds ResNet50 twice in TensorFlow; residual_networks' grading covers the path
def test_resnet50_parameters_builds_each_reference_block_once_per_process(monkeypatch):
    """The reference blocks' parameter counts depend only on each block call's arguments: the second
    student's check builds none of them again, and says the same."""
    found = Solutions("residual_networks", solution_namespace("residual_networks"))
    built = []
    real = residual_networks.block_model

    def counting(function, *args, **kwargs):
        built.append(function.__name__)
        return real(function, *args, **kwargs)

    monkeypatch.setattr(residual_networks, "block_model", counting)
    with using_solutions(found):
        residual_networks.ResNet50_parameters(found.function("ResNet50"))
        first = len(built)
        residual_networks.ResNet50_parameters(found.function("ResNet50"))
    assert first > 0 and len(built) == first
