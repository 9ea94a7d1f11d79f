"""Tests of assignment 3, ``residual_networks``: references, the stand-in blocks, grading end to end, pretrain.

The slow tests read the source solutions and the untouched release graded in real kernels once per
session (``conftest.graded_references``); the catalogue's variants are judged in ``test_catalogue.py``.
The pretrain test runs ``course pretrain`` on a tiny budget (a few images, one epoch) into a
temporary folder and checks the manifest and that the weights load.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import MIN_CORPUS, assert_blank_earns_zero, judge_in_process, pack_of, variant_names
from helpers.instructor import catalogue, demo
from helpers.instructor import notebooks as nbu
from helpers.paths import course_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ASSIGNMENT = "residual_networks"
ROOT = course_root(Path(__file__).resolve().parent)
SOURCE = ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
GRADED_FUNCTIONS = ["identity_block", "convolutional_block", "ResNet50"]


def _variants() -> dict:
    return catalogue.load_variants(ROOT, ASSIGNMENT)


@pytest.fixture(scope="module")
def solutions():
    from helpers.instructor.references import solution_namespace

    return solution_namespace(ASSIGNMENT, ROOT)


@pytest.fixture(scope="module")
def check():
    from helpers.checks import residual_networks

    return residual_networks


# ------------------------------------------------------------------ references and checks


@pytest.fixture
def graded_mode():
    """Checks run as the grader runs them: the source solutions give the expected values."""
    from helpers.checks import Solutions, using_solutions
    from helpers.instructor.references import solution_namespace

    with using_solutions(Solutions(ASSIGNMENT, solution_namespace(ASSIGNMENT, ROOT))) as found:
        yield found


def test_stored_references_match_a_fresh_computation(solutions, check):
    fresh = check.compute_references(solutions)
    with np.load(check.REFERENCE_FILE) as stored:
        assert sorted(stored.files) == sorted(fresh), "run `course refs residual_networks`"
        for key in stored.files:
            if stored[key].dtype.kind == "f":
                expected = stored[key]
                scale = max(float(np.max(np.abs(expected))), 1.0)
                np.testing.assert_allclose(
                    fresh[key],
                    expected,
                    rtol=check.RTOL,
                    atol=check.ATOL_SCALE * scale,
                    strict=True,
                    err_msg=f"{key} is stale: run `course refs {ASSIGNMENT}`",
                )
            else:
                assert str(fresh[key]) == str(stored[key]), f"{key} is stale: run `course refs {ASSIGNMENT}`"


def test_reference_numbers_are_the_course_ones(check):
    expected = check._expected_resnet("visible")
    params = expected["params"]
    assert params["total"] == 23_600_006 and params["non_trainable"] == 53_120
    rows = expected["rows"]
    names = [r["name"] for r in rows]
    for name in (
        "conv1",
        "bn_conv1",
        "fc6",
        "convolutional_block_2a_f3_64_64_256_s1",
        "identity_block_4f_f3_256_256_1024",
        "convolutional_block_5a_f3_512_512_2048_s2",
    ):
        assert name in names
    assert sum(bool(check.STAND_IN.match(n)) for n in names) == 16  # 4 convolutional + 12 identity blocks
    assert rows[-1]["output_shape"] == [None, 6] and rows[-1]["activation"] == "softmax"


def test_the_checks_pass_the_source_solutions(solutions, check, graded_mode, capsys):
    for training in (False, True):
        for case in check.IDENTITY_CASES:
            check.identity_block(solutions["identity_block"], training=training, case=case)
        for case in check.CONVOLUTIONAL_CASES:
            check.convolutional_block(solutions["convolutional_block"], training=training, case=case)
    for which in ("visible", "hidden"):
        check.identity_block_shapes(solutions["identity_block"], which)
        check.convolutional_block_shapes(solutions["convolutional_block"], which)
    assert capsys.readouterr().out.count("All tests passed.") == 16


def test_stand_in_blocks_keep_the_shapes_and_name_the_call(solutions, check, graded_mode):
    """A stand-in has the block's output shape and a name that spells out the call; it is not the block."""
    import keras

    X = keras.Input(shape=(6, 6, 8))
    for kind, args in (
        ("convolutional_block", dict(f=3, filters=[4, 5, 9], stage=3, block="a", s=2)),
        ("identity_block", dict(f=3, filters=[4, 5, 8], stage=3, block="b")),
    ):
        real = keras.Model(X, solutions[kind](X, **args))
        stand_in = keras.Model(X, check.STAND_INS[kind](X, **args))
        assert stand_in.output.shape == real.output.shape
        assert len(stand_in.layers) == 2 and len(real.layers) > 8
        assert check._block_call(stand_in.layers[-1].name).startswith(f"{kind}(f=3, filters=[4, 5, ")
    check.ResNet50_layers(solutions["ResNet50"])
    check.ResNet50_layers(solutions["ResNet50"], case="hidden_128x64_10")
    check.ResNet50_parameters(solutions["ResNet50"], case="hidden_128x64_10")


def test_a_broken_block_costs_neither_resnet_check_under_grading(check, monkeypatch):
    """With stand-ins, a broken identity_block changes nothing in the layer check; under grading the parameter
    count takes the reference blocks too, while in a notebook it counts the student's own (and says it broke)."""
    from helpers.calls import FunctionError
    from helpers.checks import Solutions, using_solutions
    from helpers.instructor.references import solution_namespace

    student = solution_namespace(ASSIGNMENT, ROOT)

    def identity_block(X, f, filters, stage, block):
        raise RuntimeError("broken block")

    student["identity_block"] = identity_block
    import helpers.checks

    monkeypatch.setattr(helpers.checks, "_instructor_solutions", lambda assignment: None)  # a student's kernel
    check.ResNet50_layers(student["ResNet50"])
    with pytest.raises(FunctionError, match="identity_block.* raised RuntimeError: broken block"):
        check.ResNet50_parameters(student["ResNet50"])
    monkeypatch.undo()
    with using_solutions(Solutions(ASSIGNMENT, solution_namespace(ASSIGNMENT, ROOT))):
        check.ResNet50_layers(student["ResNet50"])
        check.ResNet50_parameters(student["ResNet50"])
    assert student["identity_block"] is identity_block


def test_weights_do_not_depend_on_the_initialiser(solutions, check):
    """A block built with another initialiser (and layers created in another order) gives the same output."""
    import keras

    case = check.IDENTITY_CASES["visible"]
    X = check.example_input(case["shape"], case["seed"])
    outputs = []
    for init_seed in (0, 123):
        keras.utils.set_random_seed(init_seed)
        model = check.block_model(
            solutions["identity_block"], case["shape"][1:], case["f"], case["filters"], case["stage"], case["block"]
        )
        for layer in model.layers:  # scramble whatever the initialisers drew
            for w in layer.weights:
                w.assign(np.random.default_rng(init_seed).standard_normal(tuple(w.shape)).astype(np.float32))
        check.set_test_weights(model, case["seed"])
        outputs.append(np.asarray(model(X, training=False)))
    np.testing.assert_array_equal(outputs[0], outputs[1])


# One 1x1 convolution with the block's last filters and its stride: the block's output shape, not its values.
ONE_CONV_BLOCKS = """
def identity_block(X, f, filters, stage, block):
    return Conv2D(filters[2], (1, 1), name="res" + str(stage) + block + "_branch2c")(X)


def convolutional_block(X, f, filters, stage, block, s=2):
    return Conv2D(filters[2], (1, 1), strides=(s, s), name="res" + str(stage) + block + "_branch2c")(X)
"""


def test_a_block_that_only_gets_the_shape_right_earns_none_of_its_points(check, graded_mode):
    """The output shapes are checked beside the values, so such blocks lose every point of both blocks."""
    from helpers.instructor import judge
    from helpers.instructor.references import solution_namespace

    source = nbu.read_notebook(SOURCE)
    student = solution_namespace(ASSIGNMENT, notebook=source)
    exec(ONE_CONV_BLOCKS, student)
    check.identity_block_shapes(student["identity_block"], "hidden")  # the shapes alone would pass
    check.convolutional_block_shapes(student["convolutional_block"], "hidden")
    local = judge.LocalJudge(ASSIGNMENT, source, student)
    functions = nbu.function_of_tests(source)
    earned = {}
    for index, cell in enumerate(source.cells):
        if nbu.is_test(cell) and functions[nbu.grade_id(cell)] in ("identity_block", "convolutional_block"):
            status, _ = local.run_test_cell(None, copy.deepcopy(cell), index)
            earned[nbu.grade_id(cell)] = nbu.points(cell) if status == "ok" else 0
    assert len(earned) == 4 and sum(earned.values()) == 0, earned


def test_variants_apply_to_the_current_source():
    variants = _variants()
    assert set(variants["partial_student"]) <= {v["name"] for v in variants["variants"]}
    assert len(variants["partial_student"]) == 2
    test_ids = {nbu.grade_id(c) for c in nbu.test_cells(nbu.read_notebook(SOURCE))}
    for variant in variants["variants"]:
        assert set(variant["fails"]) <= test_ids
        # A block costs its own cells, and the parameter count when it changes it: that count is the whole model's.
        assert all(f.startswith(variant["cell"] + "_") or f == "ResNet50_parameters" for f in variant["fails"]), (
            variant["name"]
        )
        demo.filled_notebook(ROOT, ASSIGNMENT, [variant["name"]])  # raises if a replacement no longer applies
    required = {
        "convolutional_block_missing_shortcut_bn",
        "identity_block_relu_before_add",
        "convolutional_block_stride_on_middle_conv",
        "ResNet50_missing_stage4_block",
    }
    assert required <= {v["name"] for v in variants["variants"]}


# ------------------------------------------------------------------ grading end to end


@pytest.fixture
def graded(graded_references):
    return graded_references[ASSIGNMENT]


@pytest.mark.slow
def test_reference_earns_full_marks_quickly(graded):
    result = graded["reference"]
    assert result.status == "graded"
    assert result.score == result.max_score == 100, {c.grade_id: c.message for c in result.cells if c.message}
    assert result.seconds < 90, f"grading took {result.seconds:.0f} s"
    print(f"reference graded in {result.seconds:.1f} s")


@pytest.mark.slow
def test_release_earns_zero_without_crashing(graded):
    assert_blank_earns_zero(graded["blank"])


def test_the_corpora_are_large_enough():
    assert len(variant_names(ASSIGNMENT, "wrong")) >= MIN_CORPUS
    assert len(variant_names(ASSIGNMENT, "correct")) >= MIN_CORPUS


def test_a_missing_block_call_is_named():
    """Judged in process (test_catalogue.py proves the in-process judge agrees with a kernel)."""
    cells = judge_in_process(ASSIGNMENT, pack_of(ASSIGNMENT, "ResNet50_missing_stage4_block")[1])
    message = {gid: message for gid, _, _, _, message in cells}["ResNet50_layers"]
    assert "should call identity_block(f=3, filters=[256, 256, 1024], stage=4" in message, message


@pytest.mark.slow
def test_graded_notebook_says_the_training_was_skipped(graded_references):
    notebook = nbu.read_notebook(
        graded_references.root / "autograded" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    )
    text = "".join(
        "".join(out.get("text", ""))
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "grading: the 2-epoch training is skipped" in text


# ------------------------------------------------------------------ pretrain


@pytest.mark.exhaustive  # 1-2 minutes of ResNet-50 training; the batching is tested in the fast tier
def test_pretrain_plumbing_on_a_tiny_budget(tmp_path, capsys):
    """`course pretrain --epochs 1 --limit 24` writes weights and a manifest that the notebook's loader accepts."""
    from helpers import cli, pretrain, signs

    out = tmp_path / "weights"
    assert pretrain.load_pretrained(object(), out) is None
    assert "course pretrain" in capsys.readouterr().out
    code = cli.main(
        ["pretrain", "--epochs", "1", "--limit", "24", "--batch-size", "8", "--extra", "1", "--out", str(out)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "test accuracy: 0." in printed and "drew 6 more generated training hands" in printed
    manifest = json.loads((out / pretrain.MANIFEST_FILE).read_text())
    assert manifest["epochs"] == 1 and manifest["limited"] and manifest["training_images"] == 24 + 6
    assert manifest["extra_generated_images"] == 6 and manifest["settings"]["extra_per_class"] == 1
    assert manifest["data"]["files"] == signs.describe()["files"]
    assert manifest["parameters"] == 23_600_006
    assert 0.0 <= manifest["test_accuracy"] <= 1.0
    assert {"tensorflow", "keras", "numpy", "python"} <= set(manifest["versions"])
    assert len(manifest["history"]["loss"]) == 1
    size = (out / pretrain.WEIGHTS_FILE).stat().st_size
    assert 90e6 < size < 100e6, f"{size:,} bytes: 23.6 M float32 weights, without the optimizer's state"
    model = pretrain.build_model(ROOT)
    assert pretrain.load_pretrained(model, out) == manifest
    loaded = capsys.readouterr().out
    assert "Loaded resnet50_signs.weights.h5" in loaded and "shortened test run" in loaded


def test_pretrain_batches_walk_through_every_image_once_per_pass():
    """Epochs shorter than a pass over a large set go on where the last one stopped; repeatable."""
    from helpers import pretrain

    X = np.random.default_rng(0).uniform(size=(50, 8, 8, 3)).astype(np.float32)
    Y = np.arange(50, dtype=np.float32)[:, None]  # each label names its image
    data = pretrain.batches(X, Y, batch_size=8, seed=3, steps=4)
    assert len(data) == 4
    seen = []
    for _epoch in range(5):  # 5 x 4 x 8 = 160 images: three whole passes and part of a fourth
        for i in range(len(data)):
            images, labels = data[i]
            assert images.shape == (8, 8, 8, 3) and 0 <= images.min() and images.max() <= 1
            seen += labels[:, 0].astype(int).tolist()
        data.on_epoch_end()
    for k in range(3):
        assert sorted(seen[50 * k : 50 * (k + 1)]) == list(range(50))
    assert seen[:50] != seen[50:100]  # each pass in a new order
    again = pretrain.batches(X, Y, batch_size=8, seed=3, steps=4)
    assert np.array_equal(again[2][0], pretrain.batches(X, Y, batch_size=8, seed=3, steps=4)[2][0])
    assert [int(v) for v in again[2][1][:, 0]] == seen[16:24]
