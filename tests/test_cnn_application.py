"""Tests of assignment 2, ``cnn_application``: references, notebook structure, and grading end to end.

The slow tests read the source solutions and the untouched release graded in real kernels once per
session (``conftest.graded_references``); the catalogue's variants are judged in ``test_catalogue.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import MIN_CORPUS, assert_blank_earns_zero, variant_names
from helpers.instructor import catalogue, demo
from helpers.instructor import notebooks as nbu
from helpers.paths import course_root

ASSIGNMENT = "cnn_application"
ROOT = course_root(Path(__file__).resolve().parent)
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADED_FUNCTIONS = [
    "create_placeholders",
    "initialize_parameters",
    "forward_propagation",
    "compute_cost",
    "model",
    "convolutional_model",
]
MARKERS = (nbu.BEGIN_SOLUTION, nbu.END_SOLUTION, nbu.BEGIN_HIDDEN, nbu.END_HIDDEN)


def _variants() -> dict:
    return catalogue.load_variants(ROOT, ASSIGNMENT)


def _without_names(rows: list[dict]) -> list[dict]:
    """Keras numbers layer names per process (conv2d, conv2d_1, ...): compare everything else."""
    return [{k: v for k, v in row.items() if k != "name"} for row in rows]


# ------------------------------------------------------------------ references


def test_stored_references_match_a_fresh_run():
    from helpers.checks import cnn_application as check
    from helpers.instructor import references

    fresh = references.compute(ASSIGNMENT, ROOT)
    with np.load(check.REFERENCE_FILE) as stored_file:
        stored = {key: stored_file[key] for key in stored_file.files}
    assert sorted(fresh) == sorted(stored), "run `course refs cnn_application`"
    for key, value in fresh.items():
        value, expected = np.asarray(value), stored[key]
        if expected.dtype.kind in "US":
            got_json, expected_json = json.loads(str(value)), json.loads(str(expected))
            if key.startswith("convolutional_model/"):
                got_json, expected_json = _without_names(got_json), _without_names(expected_json)
            assert got_json == expected_json, f"{key} differs from a fresh run: run `course refs {ASSIGNMENT}`"
        else:
            assert value.shape == expected.shape, key
            np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5, err_msg=key)


# ------------------------------------------------------------------ notebook structure


def test_source_structure():
    source = nbu.read_notebook(SOURCE)
    solutions = [nbu.grade_id(c) for c in nbu.solution_cells(source)]
    assert solutions == GRADED_FUNCTIONS
    tests = nbu.test_cells(source)
    assert sum(nbu.points(c) for c in tests) == 100
    ids = [nbu.grade_id(c) for c in source.cells if nbu.grade_id(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    for cell in tests:
        assert nbu.docstring_line(cell.source), f"{nbu.grade_id(cell)} has no one-line docstring"
        assert nbu.BEGIN_HIDDEN in cell.source and nbu.END_HIDDEN in cell.source, nbu.grade_id(cell)
        assert "check." in cell.source.split(nbu.BEGIN_HIDDEN)[0], f"{nbu.grade_id(cell)}: no visible check"
    for cell in nbu.solution_cells(source):
        text = cell.source
        assert text.count("### START CODE HERE ###") == text.count("### END CODE HERE ###") >= 1
        assert text.count(nbu.BEGIN_SOLUTION) == text.count(nbu.END_SOLUTION) == text.count("### START CODE HERE ###")
    for cell in source.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, "source has stored outputs"


def test_release_has_no_solution_or_hidden_markers():
    release = nbu.read_notebook(RELEASE)
    for cell in release.cells:
        for marker in MARKERS:
            assert marker not in cell.source, f"{marker!r} left in the release ({nbu.grade_id(cell)})"
        if cell.cell_type == "code":
            assert not cell.get("outputs"), "the release has stored outputs"
    source = nbu.read_notebook(SOURCE)
    assert [nbu.grade_id(c) for c in nbu.test_cells(release)] == [nbu.grade_id(c) for c in nbu.test_cells(source)]
    assert (RELEASE.parent / "my_sign.png").is_file()
    assert not (RELEASE.parent / "wrong_variants.json").exists()
    for path in (ROOT / "helpers" / "checks" / f"{ASSIGNMENT}.py",):
        text = path.read_text()
        for marker in MARKERS:
            assert marker not in text


def test_wrong_variants_apply_to_the_source():
    variants = _variants()
    source = nbu.read_notebook(SOURCE)
    test_ids = {nbu.grade_id(c) for c in nbu.test_cells(source)}
    names = [v["name"] for v in variants["variants"]]
    assert len(names) == len(set(names))
    for wanted in ("padding", "pool_size", "softmax_twice", "not_averaged", "no_shuffling"):
        assert any(wanted in name for name in names), wanted
    assert 2 <= len(variants["partial_student"]) <= 3
    for variant in variants["variants"]:
        assert variant["cell"] in GRADED_FUNCTIONS
        assert variant["fails"] and set(variant["fails"]) <= test_ids
        demo.filled_notebook(ROOT, ASSIGNMENT, [variant["name"]])  # raises if a replacement no longer applies


# ------------------------------------------------------------------ grading, end to end


@pytest.fixture
def graded(graded_references):
    return graded_references[ASSIGNMENT]


@pytest.mark.slow
def test_reference_earns_full_marks(graded):
    result = graded["reference"]
    assert result.status == "graded"
    assert result.score == result.max_score == 100, {c.grade_id: c.message for c in result.cells if c.message}
    print(f"reference graded in {result.seconds:.1f} s")


@pytest.mark.slow
def test_release_earns_zero_without_crashing(graded):
    assert_blank_earns_zero(graded["blank"])


def test_the_corpora_are_large_enough():
    assert len(variant_names(ASSIGNMENT, "wrong")) >= MIN_CORPUS
    assert len(variant_names(ASSIGNMENT, "correct")) >= MIN_CORPUS
