"""The grader judges the TensorFlow assignments too: cheats inside the kernel gain nothing.

One batch with both TensorFlow assignments: students who patch the checks, the comparator or numpy
next to wrong answers, a block the grader refuses to rebuild (a ``Lambda`` layer holds code), a
network too large to rebuild though inside every count of layers and parameters, a block too costly
to run (refused by its multiply-adds), blocks that only get the output shape right, a ``model``
whose last lines crash, and two that earn points without the work: an ``initialize_parameters`` that
returns the published example's values, and a ``model`` that never trains (a least-squares fit of
the stand-in network, ``random_mini_batches`` called once per epoch and ignored). Each earns exactly
the points of its honest cells, with the real reason.
"""

from __future__ import annotations

import nbformat
import pytest

from conftest import make_course_copy, write_submissions
from helpers.instructor import batch, demo
from helpers.instructor import notebooks as nbu
from helpers.instructor.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.exhaustive]

APP, RESNET = "cnn_application", "residual_networks"

PATCH_APP_CHECKS = """
for _name in ("forward_propagation", "forward_propagation_oracle", "forward_propagation_in_graph",
              "model_training", "model_training_run", "convolutional_model", "convolutional_model_matches",
              "convolutional_model_probabilities"):
    setattr(check, _name, lambda *a, **k: print("All tests passed."))
"""

PATCH_COMPARE = """
import numpy as np, helpers.compare as compare
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
compare.assert_array_close = lambda *a, **k: None
compare.assert_equal = lambda *a, **k: None
check.assert_array_close = lambda *a, **k: None
check.assert_equal = lambda *a, **k: None
"""

PATCH_RESNET_CHECKS = """
for _name in ("identity_block", "ResNet50_layers", "ResNet50_parameters"):
    setattr(check, _name, lambda *a, **k: print("All tests passed."))
"""

FINAL_RELU = 'X = Add()([X, X_shortcut])\n    X = Activation("relu")(X)'
LAMBDA_RELU = "X = Add()([X, X_shortcut])\n    X = keras.layers.Lambda(lambda t: tf.nn.relu(t))(X)"
# The block's own cells only: ResNet50's checks take the reference blocks.
LAMBDA_FAILS = {"identity_block_inference", "identity_block_training"}

# Blocks that only get the output shape right: one 1x1 convolution with the block's last filters and stride.
# They earn none of the blocks' points (the output shapes are checked beside the values).
ONE_CONV_BLOCKS = {
    "identity_block": """def identity_block(X, f, filters, stage, block):
    return Conv2D(filters[2], (1, 1), name="res" + str(stage) + block + "_branch2c")(X)
""",
    "convolutional_block": """def convolutional_block(X, f, filters, stage, block, s=2):
    return Conv2D(filters[2], (1, 1), strides=(s, s), name="res" + str(stage) + block + "_branch2c")(X)
""",
}

# Cheap to build and inside every count of layers, parameters and values, but costly to run: upsampling
# by 32, one 120x120 convolution, pooling back to the block's shape. The grader refuses it by its
# multiply-adds per example before running it (without that it spent minutes of its own time per cell).
COSTLY_BLOCK = """def identity_block(X, f, filters, stage, block):
    Y = keras.layers.UpSampling2D((32, 32))(X)
    Y = Conv2D(X.shape[-1], (120, 120), padding="same")(Y)
    return keras.layers.MaxPooling2D((32, 32))(Y)
"""

# Fourteen layers and 838 parameters, but tensors of 512 x 512 x 32 values: more activations
# per example than the grader rebuilds (keras_graph.MAX_ACTIVATIONS), though none alone is too large.
WIDE_NETWORK = """def convolutional_model(input_shape):
    input_img = tf.keras.Input(shape=input_shape)
    X = tfl.UpSampling2D(8)(tfl.Conv2D(32, 1, padding="same")(input_img))
    for _ in range(8):
        X = tfl.DepthwiseConv2D(1, padding="same")(X)
    outputs = tfl.Dense(units=6, activation="softmax")(tfl.Flatten()(tfl.MaxPool2D(512)(X)))
    return tf.keras.Model(inputs=input_img, outputs=outputs)
"""
# The published example's values, read from the visible check's reference data, which the kernel can read.
PUBLISHED_PARAMETERS = """def initialize_parameters():
    return {name: tf.Variable(check.reference(f"initialize_parameters/{name}"), name=name)
            for name in ("W1", "W2", "W3", "b3")}
"""
# No training: random_mini_batches is called once per epoch with the recipe's seeds and ignored; the
# parameters come from a least-squares fit of the grader's stand-in network (a linear classifier on
# 8x8-averaged pixels), and every one of them moves, so the cost falls and the accuracies are theirs.
LEAST_SQUARES_MODEL = """def model(X_train, Y_train, X_test, Y_test, learning_rate=0.009, num_epochs=100,
          minibatch_size=64, print_cost=True, history=None):
    seed = 3
    (m, n_H0, n_W0, n_C0) = X_train.shape
    n_y = Y_train.shape[1]
    X_spec, Y_spec = create_placeholders(n_H0, n_W0, n_C0, n_y)
    parameters = initialize_parameters()
    for epoch in range(num_epochs):
        seed = seed + 1
        random_mini_batches(X_train, Y_train, minibatch_size, seed)
    features = tf.reshape(tf.nn.avg_pool2d(X_train, 8, 8, "VALID") - 0.5, (m, -1)).numpy()
    W, *_ = np.linalg.lstsq(features, 10 * (Y_train - 1 / n_y), rcond=None)
    parameters["W1"].assign(W.astype(np.float32))
    parameters["W2"].assign(parameters["W2"] * 1.01)
    parameters["W3"].assign(parameters["W3"] * 1.01)
    parameters["b3"].assign(np.full(n_y, 0.01, np.float32))
    accuracies = [float(np.mean(np.argmax(forward_propagation(X, parameters), axis=1)
                                == np.argmax(Y, axis=1))) for X, Y in ((X_train, Y_train), (X_test, Y_test))]
    return accuracies[0], accuracies[1], parameters
"""
CRASH_AFTER_TRAINING = (
    "train_accuracy = float(np.mean(train_predictions == np.argmax(Y_train, axis=1)))",
    "train_accuracy = float(np.mean(train_predictions == np.argmax(Y_train, axis=2)))",
)


def _with_cell(nb, code: str):
    """``code`` in a cell of its own just before the first test cell."""
    k = next(i for i, c in enumerate(nb.cells) if nbu.is_test(c))
    cell = nbformat.v4.new_code_cell(code)
    cell.pop("id", None)  # the release is nbformat 4.4, which has no cell ids
    nb.cells.insert(k, cell)
    return nb


def _replace_in_solution(nb, grade_id: str, old: str, new: str):
    cell = next(c for c in nb.cells if nbu.grade_id(c) == grade_id)
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course_copy(tmp_path_factory.mktemp("replay") / "course", [APP, RESNET])
    app_wrong = ["forward_propagation_wrong_padding", "model_no_shuffling", "convolutional_model_no_softmax"]
    app_numeric = ["compute_cost_not_averaged", "initialize_parameters_glorot_normal"]
    resnet_wrong = ["identity_block_relu_before_add", "ResNet50_missing_stage4_block"]
    cases = {
        APP: {
            "patched_checks": (
                _with_cell(demo.filled_notebook(root, APP, app_wrong), PATCH_APP_CHECKS),
                demo.expected_score(root, APP, app_wrong),
            ),
            "patched_compare": (
                _with_cell(demo.filled_notebook(root, APP, app_numeric), PATCH_COMPARE),
                demo.expected_score(root, APP, app_numeric),
            ),
            "wide_network": (
                _replace_cell(demo.filled_notebook(root, APP), "convolutional_model", WIDE_NETWORK),
                100 - _points(root, APP, "convolutional_model_layers"),
            ),
            "crash_after_training": (
                _replace_in_solution(demo.filled_notebook(root, APP), "model", *CRASH_AFTER_TRAINING),
                100 - _points(root, APP, "model_accuracy"),
            ),
            "published_parameters": (
                _replace_cell(demo.filled_notebook(root, APP), "initialize_parameters", PUBLISHED_PARAMETERS),
                100 - _points(root, APP, "initialize_parameters_values"),
            ),
            "least_squares_model": (
                _replace_cell(demo.filled_notebook(root, APP), "model", LEAST_SQUARES_MODEL),
                100 - _points(root, APP, "model_training") - _points(root, APP, "model_accuracy"),
            ),
        },
        RESNET: {
            "patched_checks": (
                _with_cell(demo.filled_notebook(root, RESNET, resnet_wrong), PATCH_RESNET_CHECKS),
                demo.expected_score(root, RESNET, resnet_wrong),
            ),
            "lambda_block": (
                _replace_in_solution(demo.filled_notebook(root, RESNET), "identity_block", FINAL_RELU, LAMBDA_RELU),
                100 - sum(_points(root, RESNET, gid) for gid in LAMBDA_FAILS),
            ),
            "one_conv_blocks": (
                _replace_cell(
                    _replace_cell(
                        demo.filled_notebook(root, RESNET), "identity_block", ONE_CONV_BLOCKS["identity_block"]
                    ),
                    "convolutional_block",
                    ONE_CONV_BLOCKS["convolutional_block"],
                ),
                100 - _points_of_functions(root, RESNET, ONE_CONV_BLOCKS),
            ),
            "costly_block": (
                _replace_cell(demo.filled_notebook(root, RESNET), "identity_block", COSTLY_BLOCK),
                100 - _points_of_functions(root, RESNET, {"identity_block"}),
            ),
        },
    }
    for assignment, students in cases.items():
        write_submissions(root, assignment, {s: nb for s, (nb, _) in students.items()})
    settings = Settings.load(root)
    jobs = [batch.Job(s, a) for a, students in cases.items() for s in students]
    results = batch.grade_all(settings, jobs, workers=2, force=True, progress=False)
    return {(r.assignment, r.student): r for r in results}, cases


def _replace_cell(nb, grade_id: str, code: str):
    next(c for c in nb.cells if nbu.grade_id(c) == grade_id).source = code
    return nb


def _points(root, assignment: str, grade_id: str) -> float:
    source = nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    return next(nbu.points(c) for c in nbu.test_cells(source) if nbu.grade_id(c) == grade_id)


def _points_of_functions(root, assignment: str, functions) -> float:
    """All the points of the test cells of ``functions``."""
    source = nbu.read_notebook(root / "source" / assignment / f"{assignment}.ipynb")
    owner = nbu.function_of_tests(source)
    return sum(nbu.points(c) for c in nbu.test_cells(source) if owner[nbu.grade_id(c)] in functions)


def _messages(result) -> dict[str, str]:
    return {c.grade_id: c.message for c in result.cells if c.points < c.max_points}


def test_each_cheat_earns_exactly_its_honest_points(graded):
    results, cases = graded
    wrong = {
        key: (results[key].score, expected, _messages(results[key]))
        for assignment, students in cases.items()
        for student, (_, expected) in students.items()
        if results[(key := (assignment, student))].score != expected
    }
    assert wrong == {}


def test_patched_checks_change_nothing_the_grader_says(graded):
    results, _ = graded
    messages = _messages(results[(APP, "patched_checks")])
    assert set(messages) == {
        "forward_propagation_values",
        "model_training",
        "model_accuracy",
        "convolutional_model_layers",
    }
    assert "Z3" in messages["forward_propagation_values"] and "seeds" in messages["model_training"]
    messages = _messages(results[(RESNET, "patched_checks")])
    assert "ResNet50 should call identity_block" in messages["ResNet50_layers"]


def test_patched_comparators_fail_with_the_real_reason(graded):
    results, _ = graded
    messages = _messages(results[(APP, "patched_compare")])
    assert "compute_cost for the example logits: expected 2.1059444" in messages["compute_cost_value"]
    assert "parameters['W1']" in messages["initialize_parameters_values"]


def test_a_block_with_code_is_refused_not_run(graded):
    results, _ = graded
    messages = _messages(results[(RESNET, "lambda_block")])
    assert set(messages) == LAMBDA_FAILS
    assert all("Lambda" in m for m in messages.values()), messages


def test_a_network_too_large_to_rebuild_is_refused_before_memory_is_given(graded):
    results, _ = graded
    messages = _messages(results[(APP, "wide_network")])
    assert set(messages) == {"convolutional_model_layers"}
    assert "too large to be checked" in messages["convolutional_model_layers"]


def test_a_crash_after_training_costs_the_accuracy_only(graded):
    results, _ = graded
    messages = _messages(results[(APP, "crash_after_training")])
    assert set(messages) == {"model_accuracy"}
    assert "raised" in messages["model_accuracy"] and "axis 2 is out of bounds" in messages["model_accuracy"]


def test_published_values_without_the_initializer_earn_nothing(graded):
    results, _ = graded
    messages = _messages(results[(APP, "published_parameters")])
    assert set(messages) == {"initialize_parameters_values"}
    assert "with the seed of every Keras initializer moved" in messages["initialize_parameters_values"]
    assert "where you have" in messages["initialize_parameters_values"]  # a hidden test: no expected value


def test_a_model_that_never_trains_earns_neither_model_cell(graded):
    results, _ = graded
    messages = _messages(results[(APP, "least_squares_model")])
    assert set(messages) == {"model_training", "model_accuracy"}
    assert "after epoch 1 of 8" in messages["model_training"] and "recipe's training" in messages["model_training"]
    assert messages["model_accuracy"].startswith("the accuracies count only for parameters obtained by the recipe")


def test_a_block_too_costly_to_run_is_refused_before_it_runs(graded):
    results, _ = graded
    result = results[(RESNET, "costly_block")]
    messages = _messages(result)
    assert set(messages) == {"identity_block_inference", "identity_block_training"}
    assert all("too costly to be checked" in m for m in messages.values()), messages
    assert max(c.seconds for c in result.cells) < 60, [(c.grade_id, c.seconds) for c in result.cells]
    assert max(r.grader_peak_mb for r in results.values()) < 4000
