"""``course check`` probes the sandbox while it prepares the data, and still refuses before any kernel starts.

No kernel runs here: the probe, the data's preparation and the grading are stand-ins that record when they ran.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from helpers.instructor import grading
from helpers.instructor.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PAUSE = 0.6  # seconds each stand-in takes: the probe waits on a Python it started, the data is read


@pytest.fixture
def notebook(tmp_path) -> Path:
    path = tmp_path / "cnn_step_by_step.ipynb"
    path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    return path


def _stand_ins(monkeypatch, probe_error: Exception | None = None) -> dict:
    seen: dict = {"graded": False}

    def probe(settings, announce=True):
        seen["probe"] = time.monotonic()
        time.sleep(PAUSE)
        seen["probe done"] = time.monotonic()
        if probe_error is not None:
            raise probe_error
        return "root"

    def prepare():
        seen["prepare"] = time.monotonic()
        time.sleep(PAUSE)

    def grade(settings, assignment, student, notebook_path, out_dir, threads=1):
        seen["graded"] = True
        seen["grading began"] = time.monotonic()
        return grading.Result(student, assignment, 0.0, 0.0, "graded")

    monkeypatch.setattr(grading, "probe_sandbox", probe)
    monkeypatch.setattr(grading, "prepare_data", prepare)
    monkeypatch.setattr(grading, "grade_notebook", grade)
    return seen


def test_the_probe_runs_while_the_data_is_prepared_and_grading_waits_for_it(monkeypatch, notebook):
    seen = _stand_ins(monkeypatch)
    began = time.monotonic()
    grading.check_private_copy(Settings.load(ROOT, timeout=None), "cnn_step_by_step", notebook)
    took = time.monotonic() - began
    assert seen["graded"] and seen["grading began"] >= seen["probe done"]
    assert took < 2 * PAUSE - 0.1, f"probe and data one after the other: {took:.2f} s"


def test_a_refused_sandbox_still_stops_the_check_before_any_kernel(monkeypatch, notebook):
    refusal = grading.SandboxUnavailable("the sandbox for students' kernels cannot be set up on this machine")
    seen = _stand_ins(monkeypatch, refusal)
    with pytest.raises(grading.SandboxUnavailable, match="cannot be set up"):
        grading.check_private_copy(Settings.load(ROOT, timeout=None), "cnn_step_by_step", notebook)
    assert not seen["graded"]
