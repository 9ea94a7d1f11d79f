"""What a student meets before the grade: hints that are right under the pinned libraries, the imports the
original course gave, and behaviour judged where the notebook asks for no form.

* the prose before ``conv_single_step`` makes claims about numpy's ``float()``: each is run here;
* a ``TypeError`` "only 0-dimensional arrays can be converted to Python scalars" in any graded function
  is explained (``helpers.calls.known_cause``), in ``conv_forward`` as in ``conv_single_step``;
* students' Keras code written as in the original course (``layers.Conv2D``, ``random_uniform``) runs;
* a setting that changes nothing on the inputs a docstring promises (``padding="same"`` of a pooling
  whose output shape is the same) costs nothing;
* every input the grader gives a graded function (visible and hidden tests, diagnosis probes) lies within
  what the function's docstring promises (``PROMISES``).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest

from helpers.instructor import diagnosis, judge, notebooks as nbu
from helpers.paths import course_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = course_root(Path(__file__).resolve().parent)


def _source(assignment: str):
    return nbu.read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")


def _judge(assignment: str, edits: list[dict], judge_class=judge.LocalJudge):
    """(grade_id, status, reason, mistake) of every test cell, the source answers with ``edits`` applied."""
    source = _source(assignment)
    namespace = diagnosis.edited_namespace(assignment, source, edits)
    local = judge_class(assignment, source, namespace, diagnosis.load_catalogue(ROOT, assignment))
    return local, local.judge_notebook(copy.deepcopy(source))


def _edit(cell: str, old: str, new: str) -> dict:
    return {"name": f"edit of {cell}", "cell": cell, "replace": [[old, new]]}


# ------------------------------------------------------------------ 1. numpy's float() and the hint


def _prose_before(assignment: str, grade_id: str) -> str:
    cells = _source(assignment).cells
    index = next(k for k, c in enumerate(cells) if nbu.grade_id(c) == grade_id)
    return cells[index - 1].source


def test_the_hint_before_conv_single_step_says_what_numpy_does():
    """Every spelling the prose says fails does fail, with the message it quotes; every one it offers works."""
    from helpers.compare import assert_scalar_close

    prose = " ".join(_prose_before("cnn_step_by_step", "conv_single_step").split())
    b = np.random.default_rng(0).standard_normal((1, 1, 1))
    Z = np.sum(np.ones((2, 2, 1)))
    refused = {"float(b)": lambda: float(b), "float(b.flatten())": lambda: float(b.flatten()),
               "float(Z + b)": lambda: float(Z + b)}
    for spelling, convert in refused.items():
        assert f"`{spelling}`" in prose
        with pytest.raises(TypeError) as raised:
            convert()
        assert str(raised.value) in prose, (spelling, str(raised.value))
    offered = {"b.item()": lambda: b.item(), "b[0, 0, 0]": lambda: b[0, 0, 0], "np.squeeze(b)": lambda: np.squeeze(b)}
    for spelling, take in offered.items():
        assert f"`{spelling}`" in prose
        assert_scalar_close(spelling, Z + take(), float(Z + b.sum()))
    assert "`Z = Z + b.item()`" in prose


def test_float_of_an_array_is_explained_in_every_function_that_raises_it():
    """conv_forward written with float(b[:, :, :, c]) gets the cause, as conv_single_step with float(Z + b)."""
    for cell, old, new in [
        ("conv_forward", "conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])",
         "conv_single_step(a_slice_prev, W[:, :, :, c], float(b[:, :, :, c]))"),
        ("conv_single_step", "Z = Z + b.item()", "Z = float(Z + b)"),
    ]:
        _, rows = _judge("cnn_step_by_step", [_edit(cell, old, new)])
        failed = {gid: reason for gid, status, reason, _ in rows if status != "ok"}
        test_id = {"conv_forward": "conv_forward_values", "conv_single_step": "conv_single_step_value"}[cell]
        assert list(failed) == [test_id], failed
        assert "only 0-dimensional arrays can be converted to Python scalars" in failed[test_id]
        assert "Why: float() or int() was given a numpy array that still has dimensions" in failed[test_id]
        assert "b.item()" in failed[test_id]


def test_known_cause_is_given_for_numpy_1_and_2_wordings_only():
    from helpers import calls

    for message in ("only 0-dimensional arrays can be converted to Python scalars",
                    "only length-1 arrays can be converted to Python scalars",
                    "only size-1 arrays can be converted to Python scalars"):
        assert "b.item()" in str(calls.student_error("f", {"ename": "TypeError", "message": message}))
    assert "Why:" not in str(calls.student_error("f", {"ename": "TypeError", "message": "unsupported operand"}))
    assert "Why:" not in str(calls.student_error(
        "f", {"ename": "ValueError", "message": "only 0-dimensional arrays can be converted to Python scalars"}))
