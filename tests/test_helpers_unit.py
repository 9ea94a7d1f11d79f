"""Unit tests of the helpers (comparator, gradient check, grading-mode switch) and of the benchmark's vectorized layers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import mode
from helpers.compare import CheckFailure, assert_array_close, assert_scalar_close
from helpers.gradcheck import check_gradients, numeric_gradient, relative_error
from helpers.instructor.references import solution_namespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import vectorized  # noqa: E402  (benchmarks/vectorized.py)


@pytest.fixture(scope="module")
def solutions():
    return solution_namespace("cnn_step_by_step")


# ---------------------------------------------------------------- comparator


def test_array_compare_refuses_broadcasting():
    with pytest.raises(CheckFailure, match=r"expected shape \(3,\), got shape \(3, 1\)"):
        assert_array_close("x", np.zeros((3, 1)), np.zeros(3))


def test_array_compare_names_first_differing_index():
    expected = np.arange(12.0).reshape(3, 4)
    got = expected.copy()
    got[1, 2] += 1e-3
    got[2, 0] += 1
    with pytest.raises(CheckFailure, match=r"2 of 12 values differ; first at index \(1, 2\)"):
        assert_array_close("Z", got, expected)


def test_array_compare_tolerates_float_reordering_only():
    expected = np.random.default_rng(0).standard_normal((4, 5)) * 100
    assert_array_close("Z", expected * (1 + 1e-12), expected)
    with pytest.raises(CheckFailure):
        assert_array_close("Z", expected + 1e-3, expected)


def test_array_compare_rejects_lists_nan_and_wrong_bool():
    with pytest.raises(CheckFailure, match="numpy array"):
        assert_array_close("x", [1.0, 2.0], np.array([1.0, 2.0]))
    with pytest.raises(CheckFailure):
        assert_array_close("x", np.array([np.nan]), np.array([1.0]))
    with pytest.raises(CheckFailure, match="boolean"):
        assert_array_close("mask", np.array([1, 0]), np.array([True, False]))


def test_scalar_compare_accepts_any_scalar_and_explains_arrays():
    for value in (1.5, np.float64(1.5), np.array(1.5), np.float32(1.5)):
        assert_scalar_close("Z", value, 1.5)
    with pytest.raises(CheckFailure, match=r"\.item\(\)"):
        assert_scalar_close("Z", np.ones((1, 1, 1)) * 1.5, 1.5)


# ---------------------------------------------------------------- vectorized layers

CONFIGS = [
    ((2, 5, 7, 3), 3, 4, 1, 0),
    ((3, 7, 5, 2), 3, 2, 2, 1),
    ((1, 6, 6, 1), 1, 3, 3, 0),
    ((2, 5, 5, 2), 2, 1, 3, 2),
    ((10, 4, 4, 3), 2, 8, 2, 2),
]


@pytest.mark.parametrize("shape,f,n_C,stride,pad", CONFIGS)
def test_vectorized_conv_equals_loops_and_tensorflow(solutions, shape, f, n_C, stride, pad):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    A, W, b = (
        rng.standard_normal(shape),
        rng.standard_normal((f, f, shape[-1], n_C)),
        rng.standard_normal((1, 1, 1, n_C)),
    )
    hp = {"stride": stride, "pad": pad}
    fast = vectorized.conv_forward(A, W, b, hp)
    loops, _ = solutions["conv_forward"](A, W, b, hp)
    assert_array_close("vectorized vs loops", fast, loops, atol=1e-10)
    with tf.device("/CPU:0"):
        reference = tf.nn.conv2d(vectorized.pad_spatial(A, pad), W, strides=stride, padding="VALID").numpy() + b
    assert_array_close("vectorized vs tf.nn.conv2d", fast, reference, atol=1e-9)


@pytest.mark.parametrize("mode_name", ["max", "average"])
@pytest.mark.parametrize("shape,f,stride", [((2, 5, 7, 3), 2, 1), ((1, 7, 6, 2), 3, 2), ((2, 6, 5, 2), 2, 3)])
def test_vectorized_pooling_equals_loops(solutions, mode_name, shape, f, stride):
    A = np.random.default_rng(2).standard_normal(shape)
    hp = {"f": f, "stride": stride}
    assert_array_close(
        "pool forward",
        vectorized.pool_forward(A, hp, mode_name),
        solutions["pool_forward"](A, hp, mode=mode_name)[0],
        atol=1e-12,
    )
    dA = np.random.default_rng(3).standard_normal(vectorized.pool_forward(A, hp, mode_name).shape)
    assert_array_close(
        "pool backward",
        vectorized.pool_backward(dA, A, hp, mode_name),
        solutions["pool_backward"](dA, (A, hp), mode=mode_name),
        atol=1e-12,
    )


def test_vectorized_conv_backward_equals_loops(solutions):
    rng = np.random.default_rng(4)
    A, W, b = rng.standard_normal((2, 5, 6, 3)), rng.standard_normal((3, 3, 3, 2)), rng.standard_normal((1, 1, 1, 2))
    hp = {"stride": 2, "pad": 1}
    dZ = rng.standard_normal(vectorized.conv_forward(A, W, b, hp).shape)
    for name, fast, slow in zip(
        ("dA_prev", "dW", "db"), vectorized.conv_backward(dZ, A, W, hp), solutions["conv_backward"](dZ, (A, W, b, hp))
    ):
        assert_array_close(name, fast, slow, atol=1e-10)


def test_vectorized_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        vectorized.pool_forward(np.zeros((1, 4, 4, 1)), {"f": 2, "stride": 2}, "median")


# ---------------------------------------------------------------- gradient check


def test_numeric_gradient_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    grad = numeric_gradient(lambda: float(np.sum(x**2)), x)
    assert relative_error(grad, 2 * x) < 1e-9
    assert np.array_equal(x, [1.0, -2.0, 3.0])  # restored after perturbation


def test_gradient_check_catches_a_wrong_gradient():
    rng = np.random.default_rng(5)
    A, W, b = rng.standard_normal((1, 4, 4, 2)), rng.standard_normal((2, 2, 2, 3)), rng.standard_normal((1, 1, 1, 3))
    hp = {"stride": 1, "pad": 0}
    dZ = rng.standard_normal(vectorized.conv_forward(A, W, b, hp).shape)
    dA, dW, db = vectorized.conv_backward(dZ, A, W, hp)
    forward = lambda A_prev, W, b: vectorized.conv_forward(A_prev, W, b, hp)  # noqa: E731
    errors = check_gradients(
        "ok", forward, {"A_prev": A, "W": W, "b": b}, {"A_prev": dA, "W": dW, "b": db}, dZ, verbose=False
    )
    assert max(errors.values()) < 1e-7
    with pytest.raises(CheckFailure, match="dW"):
        check_gradients("bad", forward, {"A_prev": A, "W": W, "b": b}, {"W": dW * 1.01}, dZ, verbose=False)


# ---------------------------------------------------------------- grading-mode switch


def test_mode_switch(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_FAST", raising=False)
    assert not mode.grading() and not mode.fast() and mode.epochs(100, 2) == 100
    monkeypatch.setenv("COURSE_FAST", "1")
    assert mode.fast() and not mode.grading() and mode.epochs(100, 2) == 2
    assert "fast mode" in capsys.readouterr().out
    assert mode.epochs(100, 1) == 1 and "cut to 1 epoch instead of 100" in capsys.readouterr().out
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert mode.grading() and mode.fast()


def test_setup_turns_off_labs_news_prompt_and_keeps_what_the_environment_sets(tmp_path):
    import json

    from helpers.instructor import release

    path = release.lab_settings_file(tmp_path)
    assert "no news-feed prompt (" in release.quiet_lab_notices(tmp_path)
    assert json.loads(path.read_text()) == release.LAB_SETTINGS
    assert "already set" in release.quiet_lab_notices(tmp_path)
    plugin = "@jupyterlab/apputils-extension:notification"
    path.write_text(json.dumps({plugin: {"fetchNews": "true"}, "@jupyterlab/x:y": {"a": 1}}))
    release.quiet_lab_notices(tmp_path)
    assert json.loads(path.read_text()) == {
        plugin: {"fetchNews": "true", "checkForUpdates": False},
        "@jupyterlab/x:y": {"a": 1},
    }
    path.write_text("// a comment: not JSON\n{}")
    assert "left as they are" in release.quiet_lab_notices(tmp_path)
    assert path.read_text() == "// a comment: not JSON\n{}"


# ---------------------------------------------------------------- what the grader computes for a kernel


def test_stand_in_requests_outside_the_contract_are_refused_before_any_work():
    from helpers.checks.cnn_step_by_step import dependency_call_allowed as allowed

    rng = np.random.default_rng(0)
    # the calls an honest conv_forward and pool_backward make
    assert allowed("zero_pad", (rng.standard_normal((2, 4, 4, 3)), 2), {}) == ""
    assert allowed("conv_single_step", (np.ones((3, 3, 4)), np.ones((3, 3, 4)), np.zeros((1, 1, 1))), {}) == ""
    assert (
        allowed(
            "conv_single_step", (), {"a_slice_prev": np.ones((2, 2, 1)), "W": np.ones((2, 2, 1)), "b": np.float64(0.5)}
        )
        == ""
    )
    assert allowed("create_mask_from_window", (np.ones((2, 3)),), {}) == ""
    # a plain float for b is not what the docstring asks for: said plainly, not as the solution's AttributeError
    assert "b must be a numpy array of shape (1, 1, 1)" in allowed(
        "conv_single_step", (np.ones((2, 2, 1)), np.ones((2, 2, 1)), 0.5), {}
    )
    assert allowed("distribute_value", (1.5, (2, 2)), {}) == ""
    k = 15_000  # broadcasting alone would make a 15000 x 15000 product
    assert "too large" in allowed("conv_single_step", (np.ones((k, 1, 1)), np.ones((1, k, 1)), np.zeros((1, 1, 1))), {})
    assert "numpy array" in allowed("zero_pad", ([[[[0.0] * 100]]], 1024), {})  # a list skips no size check
    assert "too large" in allowed("zero_pad", (np.ones((1, 1, 1, 100)), 1024), {})
    assert "pad=" in allowed("zero_pad", (np.ones((1, 2, 2, 1)), True), {})
    assert "shape must be" in allowed("distribute_value", (1.0, (10**6, 10**6, 1)), {})
    assert "too large" in allowed("distribute_value", (1.0, (10**6, 10**6)), {})
    assert "takes" in allowed("zero_pad", (np.ones((1, 2, 2, 1)), 1), {"mode": "wrap"})
    assert "does not compute" in allowed("conv_forward", (), {})


def test_a_display_update_after_a_scratch_cell_touches_only_outputs_that_exist():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from helpers.instructor.execute import _GuardedClient

    nb = new_notebook(cells=[new_code_cell("x", outputs=[new_output("display_data", data={"text/plain": "a"})])])
    client = _GuardedClient(nb, max_output_chars=1000)
    # a scratch cell at index 0 left three outputs under the display id "d"; only one is in the notebook
    client._display_id_map = {"d": {0: [0, 1, 2]}, "gone": {5: [0]}}
    message = {
        "header": {"msg_type": "update_display_data"},
        "msg_type": "update_display_data",
        "content": {"data": {"text/plain": "b"}, "metadata": {}, "transient": {"display_id": "d"}},
    }
    client._update_display_id("d", message)
    client._update_display_id("gone", dict(message, content=dict(message["content"], transient={"display_id": "gone"})))
    assert nb.cells[0].outputs[0]["data"] == {"text/plain": "b"}
    assert nbformat.validate(nb) is None


def test_hidden_tests_run_concealed_with_their_own_line_numbers():
    from helpers.compare import assert_scalar_close, concealed
    from helpers.instructor.judge import test_cell_parts

    source = "check(f)\n### BEGIN HIDDEN TESTS\nx = 1\n\nboom()\n### END HIDDEN TESTS\nafter = 2\n"
    parts = test_cell_parts(source, "<test t>")
    assert [hidden for _, hidden in parts] == [False, True, False]
    with pytest.raises(NameError) as err:
        exec(parts[1][0], {})
    assert err.traceback[-1].lineno + 1 == 5  # boom() is line 5 of the cell
    with pytest.raises(CheckFailure) as err:
        assert_scalar_close("cost", 1.5, 2.25)
    assert "expected 2.25" in str(err.value)
    with concealed(), pytest.raises(CheckFailure) as err:
        assert_scalar_close("cost", 1.5, 2.25)
    assert "2.25" not in str(err.value) and "got 1.5" in str(err.value)
    with concealed(), pytest.raises(CheckFailure) as err:
        assert_array_close("a", np.array([1.0, 7.0]), np.array([1.0, 3.0]))
    assert "3" not in str(err.value).split(":", 1)[1].replace("index (1,)", "") and "7" in str(err.value)


# ---------------------------------------------------------------- the one message builder (helpers.messages)


def test_a_wrong_value_names_the_call_its_inputs_and_the_pattern(solutions):
    """conv_backward with one example of dA_prev left at 0: the call's shapes and settings, and the pattern."""
    from helpers.checks import cnn_step_by_step as check

    def conv_backward(dZ, cache):
        dA_prev, dW, db = solutions["conv_backward"](dZ, cache)
        dA_prev[3] = 0
        return dA_prev, dW, db

    with pytest.raises(CheckFailure) as err:
        check.conv_backward(conv_backward)
    text = str(err.value)
    assert text.startswith(
        "dA_prev of conv_backward(dZ of shape (10, 4, 4, 8), cache=(an array of shape "
        "(10, 4, 4, 3), an array of shape (2, 2, 3, 8), an array of shape (1, 1, 1, 8), "
        "{'pad': 2, 'stride': 2})): 48 of 480 values differ; first at index (3, 0, 0, 0)"
    )
    assert (
        "What the error looks like: examples [3] of the batch (of 10) are all 0; the other examples are right" in text
    )


@pytest.mark.parametrize(
    "got, words",
    [
        (lambda E: E * 3, "every value is 3 times the expected one"),
        (
            lambda E: np.where(np.arange(2)[:, None, None, None] == 0, 0.0, E),
            "examples [0] of the batch (of 2) are all 0",
        ),
        (
            lambda E: np.transpose(E, (0, 2, 1, 3)),
            "the values are right but two axes are swapped: the height (axis 1) and the width (axis 2)",
        ),
    ],
)
def test_the_pattern_is_part_of_the_checks_own_message(got, words):
    E = np.random.default_rng(3).standard_normal((2, 5, 5, 3)) + 2
    with pytest.raises(CheckFailure) as err:
        assert_array_close("A", got(E), E, call="pool_forward(A_prev of shape (2, 6, 6, 3))")
    assert str(err.value).startswith("A of pool_forward(A_prev of shape (2, 6, 6, 3)): ")
    assert f"What the error looks like: {words}" in str(err.value)


def test_a_tensorflow_error_loses_its_node_names_and_says_its_name_once():
    from helpers import calls, messages

    raw = (
        "{{function_node __wrapped____MklMatMul_device_/job:localhost/replica:0/task:0/device:CPU:0}} "
        "Matrix size-incompatible: In[0]: [2,64], In[1]: [32,6] [Op:MatMul] name: "
    )
    error = {"ename": "InvalidArgumentError", "message": raw, "where": [["forward_propagation", "Z3 = F @ W3"]]}
    text = str(calls.student_error("forward_propagation", error, "forward_propagation(X of shape (2, 64, 64, 3))"))
    assert text == (
        "forward_propagation(X of shape (2, 64, 64, 3)) raised InvalidArgumentError: Matrix "
        "size-incompatible: In[0]: [2,64], In[1]: [32,6]\n    in forward_propagation: Z3 = F @ W3"
    )
    assert messages.headline("InvalidArgumentError", text) == text  # shown under the cell: the name once
    assert messages.headline("ValueError", "ValueError: ValueError: bad shape") == "ValueError: bad shape"
    no_text = {"ename": "IndexError", "message": "m", "where": [["f", ""]]}  # a frame whose line cannot be read
    assert str(calls.student_error("f", no_text, "f(x)")) == "f(x) raised IndexError: m\n    in f"


def test_counts_take_the_singular_for_one():
    from helpers import messages

    assert [messages.count(n, "epoch") for n in (0, 1, 2)] == ["0 epochs", "1 epoch", "2 epochs"]
    assert messages.count(1, "axis", "axes") == "1 axis" and messages.count(3, "axis", "axes") == "3 axes"


def test_a_one_epoch_history_is_drawn_as_points_and_a_summary_keeps_layer_numbers(capsys):
    import matplotlib

    matplotlib.use("Agg")
    from helpers import plotting
    from helpers.model_compare import print_summary

    fig = plotting.training_curves({"loss": [1.2], "accuracy": [0.4], "val_loss": [1.5], "val_accuracy": [0.3]})
    for ax in fig.axes:
        assert ax.lines and all(line.get_marker() == "o" for line in ax.lines)
    rows = [{"class": "Dense", "output_shape": [None, k], "params": k} for k in range(1, 21)]
    print_summary(rows, head=2, tail=3)
    numbers = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert numbers == ["0", "1", "...", "17", "18", "19"]
