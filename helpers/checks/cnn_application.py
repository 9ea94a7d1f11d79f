"""Checks for ``cnn_application``.

The example inputs are drawn with fixed numpy seeds. In a notebook the expected outputs are the
course's published examples (``helpers/reference/cnn_application.npz``, recorded from the source
solutions by ``course refs``); under grading the source solutions compute them in the grader, for
the examples and for the hidden tests' other inputs alike.

``initialize_parameters`` has no inputs, so its published output alone could pass a check that only
calls it: the hidden test also calls it with the seed of every Keras random initializer moved by a
number the grader draws for each run (the ``reseeded_initializer`` harness), and compares with what
the source solution gives under the same move.

``model`` is checked on its own: while it runs, the graded functions it calls
(``create_placeholders``, ``initialize_parameters``, ``forward_propagation``, ``compute_cost``) are
stand-ins with the same signatures that are not the answers (a linear classifier on 8x8-averaged
pixels with a squared-error cost, input signatures of any shape), in the notebook and under grading
alike (the ``model`` harness). ``model`` is never graded on a long run: it trains for a few epochs
on a seeded slice of SIGNS, and the checks verify what any correct training loop must do with
whatever network it is given (the cost falls, every parameter moves, the minibatches are reshuffled
every epoch). Where the source solutions are at hand (under grading), they also verify that the
loop did the recipe's work: the harness records the stand-in's parameters whenever the loop asks
``random_mini_batches`` for an epoch's minibatches, and the source ``model``, run here on the same
slice, from the same start and with the same seeds, must leave the same parameters after every epoch.
The training is judged from the stand-in's variables as the loop left them, so a crash in the
accuracy lines costs the accuracy cell only; the accuracy cell pays only for parameters obtained by
that training (the training's checks pass and the returned parameters are the trained ones).

Float32 results are compared with tolerances that survive thread counts and oneDNN.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import numbers
import weakref
from collections.abc import Callable
from functools import cache

import numpy as np

from helpers import calls, messages
from helpers.checks import REFERENCE_DIR, expected_call, hidden_rng, hidden_seed, reference_solutions, stored_reference
from helpers.compare import CheckFailure, assert_array_close, assert_equal, concealing
from helpers.i18n import message
from helpers.messages import count

__tracebackhide__ = True

ASSIGNMENT = "cnn_application"
REFERENCE_FILE = REFERENCE_DIR / f"{ASSIGNMENT}.npz"

PREAMBLE = (
    "import numpy as np\n"
    "import tensorflow as tf\n"
    "import matplotlib.pyplot as plt\n"
    "from tqdm.auto import tqdm\n"
    "from tensorflow.keras import layers as tfl\n"
    "from helpers import plotting\n"
    "from helpers.signs import random_mini_batches\n"
)

PARAMETER_SHAPES = {"W1": (4, 4, 3, 8), "W2": (2, 2, 8, 16), "W3": (64, 6), "b3": (6,)}
FLOAT32_RTOL = 1e-4
# The parameters of a training loop after an epoch, compared with the recipe's: the same float32 steps
# in another process (thread counts and oneDNN may reorder sums); see model_training_run.
RECIPE_ATOL, RECIPE_RTOL = 1e-5, 1e-4


def _tf():
    import tensorflow as tf

    return tf


# ---------------------------------------------------------------- example inputs


def case_create_placeholders():
    return {"n_H0": 64, "n_W0": 64, "n_C0": 3, "n_y": 6}


def case_forward_propagation_X():
    np.random.seed(1)
    return np.random.randn(2, 64, 64, 3).astype(np.float32)


def case_compute_cost():
    np.random.seed(3)
    Z3 = np.random.randn(4, 6).astype(np.float32)
    labels = np.random.randint(0, 6, size=4)
    Y = np.eye(6, dtype=np.float32)[labels]
    return {"Z3": Z3, "Y": Y}


# small_grey: sides that 8 and then 4 do not divide, so "same" and "valid" pooling build different networks
KERAS_INPUT_SHAPES = {"signs": (64, 64, 3), "small_grey": (36, 36, 1)}


def case_forward_propagation_random(m, seed, scale=1.0):
    """Random images and random (not Glorot) parameters, drawn afresh for each notebook graded."""
    rng = hidden_rng(seed)
    X = rng.random((m, 64, 64, 3), dtype=np.float32)
    parameters = {
        name: (scale * rng.standard_normal(shape)).astype(np.float32) for name, shape in PARAMETER_SHAPES.items()
    }
    return X, parameters


def case_compute_cost_random(m, seed):
    """Random logits and one-hot labels (what compute_cost's docstring promises), drawn afresh for each notebook."""
    rng = hidden_rng(seed)
    Z3 = (3 * rng.standard_normal((m, 6))).astype(np.float32)
    Y = np.eye(6, dtype=np.float32)[rng.integers(0, 6, size=m)]
    return Z3, Y


# ------------------------------------------------------ stand-ins for model's dependencies

STAND_IN_POOL = 8
# The course's parameter names, so that a model that reads parameters["W1"] works; not the course's
# shapes or network: a linear classifier W1 with a gain W2, and a bias b3 with a gain W3.
STAND_IN_SHAPES = {"W1": ((64 // STAND_IN_POOL) ** 2 * 3, 6), "W2": (1,), "W3": (1,), "b3": (6,)}


# The stand-ins have the real functions' signatures, so every way of calling those works on them.


def _stand_in_create_placeholders(n_H0, n_W0, n_C0, n_y):
    """Signatures that accept float32 tensors of any shape (not the answer, which fixes the shapes)."""
    tf = _tf()
    return tf.TensorSpec(None, tf.float32, name="X"), tf.TensorSpec(None, tf.float32, name="Y")


def _stand_in_initialize_parameters():
    tf = _tf()
    rng = np.random.default_rng(0)
    return {
        "W1": tf.Variable((0.01 * rng.standard_normal(STAND_IN_SHAPES["W1"])).astype(np.float32), name="W1"),
        "W2": tf.Variable(np.ones(STAND_IN_SHAPES["W2"], np.float32), name="W2"),
        "W3": tf.Variable(np.ones(STAND_IN_SHAPES["W3"], np.float32), name="W3"),
        "b3": tf.Variable(np.zeros(STAND_IN_SHAPES["b3"], np.float32), name="b3"),
    }


def stand_in_forward(X, parameters):
    """A linear classifier on 8x8-averaged pixels, centred on 0.5: logits (m, 6)."""
    tf = _tf()
    pooled = tf.nn.avg_pool2d(tf.cast(X, tf.float32), STAND_IN_POOL, STAND_IN_POOL, "VALID") - 0.5
    flat = tf.reshape(pooled, (tf.shape(pooled)[0], -1))
    return (flat @ parameters["W1"]) * parameters["W2"] + parameters["b3"] * parameters["W3"]


def _stand_in_cost(Z3, Y):
    """Squared distance between the softmax and the labels, averaged over the examples."""
    tf = _tf()
    return tf.reduce_mean(tf.reduce_sum(tf.square(tf.nn.softmax(Z3) - Y), axis=1))


_stand_in_create_placeholders.__name__ = "create_placeholders"
_stand_in_initialize_parameters.__name__ = "initialize_parameters"
_stand_in_cost.__name__ = "compute_cost"


MAX_EPOCH_SNAPSHOTS = 32  # parameters recorded at most this many times per run (the checks' runs have 8 epochs)


def _parameter_values(parameters) -> dict | None:
    """The current values of a parameters dict as numpy arrays; None where they cannot be read."""
    try:
        return {
            name: np.array(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float32)
            for name, value in parameters.items()
        }
    except Exception:  # noqa: BLE001 - the loop replaced the stand-in's variables: nothing to record
        return None


def _model_harness(seeds: list[int] | None = None) -> dict:
    """``model`` with the stand-ins; observes its calls of random_mini_batches and the variables it trained.

    At each call of random_mini_batches (the start of an epoch) the stand-in's parameters are recorded
    (``epoch_start_parameters``), so that the grader can compare them with the recipe's run after every
    epoch. ``seeds``, for the grader's own run of the source ``model``: the seed of each call is taken
    from this list instead (the student's seeds), so that both runs see the same minibatches.
    """
    from helpers.signs import random_mini_batches as course_random_mini_batches

    minibatch_calls: list[dict] = []
    created: list[dict] = []
    snapshots: list[dict | None] = []

    def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
        if len(snapshots) < MAX_EPOCH_SNAPSHOTS:
            snapshots.append(_parameter_values(created[-1]) if created else None)
        if seeds is not None and len(minibatch_calls) < len(seeds):
            seed = seeds[len(minibatch_calls)]
        minibatch_calls.append({"m": int(np.shape(X)[0]), "mini_batch_size": mini_batch_size, "seed": seed})
        return course_random_mini_batches(X, Y, mini_batch_size, seed)

    def initialize_parameters():
        parameters = _stand_in_initialize_parameters()
        created.append(parameters)
        return parameters

    def forward_propagation(X, parameters):
        return stand_in_forward(X, parameters)

    def observe() -> dict:
        trained = _parameter_values(created[-1]) if created else None
        return {
            "minibatch_calls": minibatch_calls,
            "parameters": trained,
            "initialized": len(created),
            "epoch_start_parameters": snapshots,
        }

    return {
        "replace": {
            "create_placeholders": _stand_in_create_placeholders,
            "initialize_parameters": initialize_parameters,
            "forward_propagation": forward_propagation,
            "compute_cost": _stand_in_cost,
            "random_mini_batches": random_mini_batches,
        },
        "observe": observe,
    }


def _second_call_harness() -> dict:
    """Call twice, setting the first call's variables to zero in between: the second result is returned."""

    def twice(function, *args, **kwargs):
        first = function(*args, **kwargs)
        for value in first.values() if isinstance(first, dict) else []:
            if hasattr(value, "assign") and hasattr(value, "shape"):
                value.assign(np.zeros(tuple(value.shape.as_list()), np.float32))
        return function(*args, **kwargs)

    return {"call": twice}


def _in_tf_function_harness() -> dict:
    """Call inside a tf.function whose first input has a free batch size."""

    def compiled(function, X, *rest, **kwargs):
        tf = _tf()
        spec = tf.TensorSpec([None, *np.shape(X)[1:]], tf.float32)
        graph = tf.function(lambda X: function(X, *rest, **kwargs), input_signature=[spec])
        return graph(X)

    return {"call": compiled}


def _random_initializer_class():
    """Keras's base class of the seeded initializers (GlorotUniform, RandomNormal, ... under every alias)."""
    import keras

    found = [c for c in keras.initializers.GlorotUniform.__mro__ if c.__name__ == "RandomInitializer"]
    if not found:
        raise RuntimeError("this Keras has no RandomInitializer class: the course's checks need updating")
    return found[0]


def _reseeded_initializer_harness() -> dict:
    """Call with the integer seed of every Keras random initializer moved by ``shift`` (the call's one argument).

    Its ``seed`` attribute is read through a property while the call runs, so initializers created before
    the call move too, and any way of writing ``GlorotUniform(seed=1)`` gives the values of seed 1 + shift.
    """

    def reseeded(function, shift):
        base = _random_initializer_class()

        def moved_seed(initializer):
            seed = initializer.__dict__.get("seed")
            if isinstance(seed, int) and not isinstance(seed, bool):
                return (seed + int(shift)) % 2**32
            return seed

        def set_seed(initializer, value):
            initializer.__dict__["seed"] = value

        missing = object()
        saved = base.__dict__.get("seed", missing)
        base.seed = property(moved_seed, set_seed)
        try:
            return function()
        finally:
            if saved is missing:
                del base.seed
            else:
                base.seed = saved

    return {"call": reseeded}


HARNESSES = {
    "model": _model_harness,
    "second_call_after_zeroing": _second_call_harness,
    "in_tf_function": _in_tf_function_harness,
    "reseeded_initializer": _reseeded_initializer_harness,
}


def _reference_parameters():
    """Fresh tf.Variables holding the initial parameters of the reference solution (stored data)."""
    tf = _tf()
    return {
        name: tf.Variable(reference(f"initialize_parameters/{name}").astype(np.float32), name=name)
        for name in PARAMETER_SHAPES
    }


# --------------------------------------------------------------- references


def reference(key: str) -> np.ndarray:
    return stored_reference(ASSIGNMENT, key)


def reference_rows(key: str) -> list[dict]:
    return json.loads(str(reference(key)))


def _spec_description(spec) -> dict:
    return {
        "class": type(spec).__name__,
        "shape": None if spec.shape.rank is None else list(spec.shape.as_list()),
        "dtype": getattr(spec.dtype, "name", str(spec.dtype)),
    }


def compute_references(solutions: dict[str, Callable]) -> dict[str, np.ndarray]:
    """Run the reference solutions on the example inputs; the result is what the npz stores."""
    import keras

    keras.backend.clear_session()  # fresh name counters: automatic layer names do not depend on history
    refs: dict[str, np.ndarray] = {}
    specs = solutions["create_placeholders"](**case_create_placeholders())
    refs["create_placeholders/specs"] = np.asarray(json.dumps([_spec_description(s) for s in specs]))
    parameters = solutions["initialize_parameters"]()
    for name in PARAMETER_SHAPES:
        refs[f"initialize_parameters/{name}"] = np.asarray(parameters[name].numpy(), dtype=np.float32)
    Z3 = solutions["forward_propagation"](case_forward_propagation_X(), parameters)
    refs["forward_propagation/Z3"] = np.asarray(Z3.numpy(), dtype=np.float32)
    cost = solutions["compute_cost"](**case_compute_cost())
    refs["compute_cost/cost"] = np.asarray(float(cost), dtype=np.float64)
    from helpers.model_compare import describe_model

    keras.utils.set_random_seed(1)
    built = solutions["convolutional_model"](KERAS_INPUT_SHAPES["signs"])
    refs["convolutional_model/signs/rows"] = np.asarray(json.dumps(describe_model(built)))
    return refs


# ------------------------------------------------------------ helpers of the checks


def _passed():
    print(messages.all_passed())


def _numpy(name: str, value) -> np.ndarray:
    tf = _tf()
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return value.numpy()
    if isinstance(value, np.ndarray):
        return value
    raise CheckFailure(
        message("{name}: expected a TensorFlow tensor, got {kind}.", name=name, kind=type(value).__name__)
    )


def _f32_tolerance(expected) -> float:
    scale = float(np.max(np.abs(expected))) if np.size(expected) else 0.0
    return 1e-5 * max(scale, 1.0)


def _as_number(name: str, value) -> float:
    tf = _tf()
    if isinstance(value, (tf.Tensor, tf.Variable)):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise CheckFailure(
                message(
                    "{name}: expected a single number, got an array of shape {shape}.", name=name, shape=value.shape
                )
            )
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise CheckFailure(
            message(
                "{name}: expected a number, got {kind} {value!r}.", name=name, kind=type(value).__name__, value=value
            )
        )
    return float(value)


# ------------------------------------------------------------ create_placeholders


def create_placeholders_matches(create_placeholders, n_H0, n_W0, n_C0, n_y):
    tf = _tf()
    result = create_placeholders(n_H0, n_W0, n_C0, n_y)
    if not isinstance(result, tuple) or len(result) != 2:
        raise CheckFailure(
            message(
                "create_placeholders must return a tuple (X, Y) of two tf.TensorSpec, got {kind}.",
                kind=type(result).__name__,
            )
        )
    for name, spec, shape in zip("XY", result, ([None, n_H0, n_W0, n_C0], [None, n_y])):
        call = f"create_placeholders({n_H0}, {n_W0}, {n_C0}, {n_y})"
        if not isinstance(spec, tf.TensorSpec):
            raise CheckFailure(
                message(
                    "{call}: {name} should be a tf.TensorSpec, got {kind}.",
                    call=call,
                    name=name,
                    kind=type(spec).__name__,
                )
            )
        got_shape = None if spec.shape.rank is None else spec.shape.as_list()
        assert_equal(
            message("{call}: the shape of {name} (None keeps the batch size free)", call=call, name=name),
            got_shape,
            shape,
        )
        assert_equal(message("{call}: the dtype of {name}", call=call, name=name), spec.dtype, tf.float32)
    return result


def create_placeholders(create_placeholders):
    c = case_create_placeholders()
    specs = create_placeholders_matches(create_placeholders, **c)
    expected = json.loads(str(reference("create_placeholders/specs")))
    assert_equal("create_placeholders(64, 64, 3, 6)", [_spec_description(s) for s in specs], expected)
    print("X =", specs[0])
    print("Y =", specs[1])
    _passed()


# ------------------------------------------------------------ initialize_parameters


def _check_variables(parameters, shapes: dict, where: str = "", keys_hint: str = "") -> None:
    """``parameters`` is a dict of float32 tf.Variables with exactly these names and shapes."""
    tf = _tf()
    if not isinstance(parameters, dict):
        raise CheckFailure(
            message(
                "the parameters{where} should be a dict of tf.Variables, got {kind}.",
                where=where,
                kind=type(parameters).__name__,
            )
        )
    assert_equal(
        message("the keys of the parameters{where}{hint}", where=where, hint=keys_hint),
        sorted(parameters),
        sorted(shapes),
    )
    for name, shape in shapes.items():
        value = parameters[name]
        if not isinstance(value, tf.Variable):
            raise CheckFailure(
                message(
                    "parameters[{name!r}]{where} should be a tf.Variable (so that training can change it), got {kind}.",
                    name=name,
                    where=where,
                    kind=type(value).__name__,
                )
            )
        assert_equal(
            message("the shape of parameters[{name!r}]{where}", name=name, where=where),
            tuple(value.shape.as_list()),
            shape,
        )
        assert_equal(
            message("the dtype of parameters[{name!r}]{where}", name=name, where=where), value.dtype, tf.float32
        )


def initialize_parameters_structure(initialize_parameters):
    parameters = initialize_parameters()
    _check_variables(parameters, PARAMETER_SHAPES)
    return parameters


def initialize_parameters(initialize_parameters):
    parameters = initialize_parameters_structure(initialize_parameters)
    for name in PARAMETER_SHAPES:
        expected = reference(f"initialize_parameters/{name}")
        assert_array_close(f"parameters[{name!r}]", parameters[name].numpy(), expected, atol=1e-6, rtol=1e-5)
    _passed()


INITIALIZER_SEED_STREAM = 201  # hidden_seed stream of the move of the initializers' seeds


def initialize_parameters_properties(initialize_parameters):
    """Seeded, new variables on every call (zeroing the first call's must not touch the second's),
    Glorot-uniform range, zero bias."""
    initialize_parameters_structure(initialize_parameters)
    second = calls.call(initialize_parameters, harness="cnn_application:second_call_after_zeroing").value(
        message("initialize_parameters(), called a second time")
    )
    _check_variables(second, PARAMETER_SHAPES, message(" of a second call"))
    for name, shape in PARAMETER_SHAPES.items():
        assert_array_close(
            message(
                "parameters[{name!r}] of a second call, after the first call's variables were set to "
                "zero (seed the initializer, and create new tf.Variables on every call)",
                name=name,
            ),
            second[name].numpy(),
            reference(f"initialize_parameters/{name}"),
            atol=1e-6,
            rtol=1e-5,
        )
        if name.startswith("W"):
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            limit = np.sqrt(6.0 / (receptive * shape[-2] + receptive * shape[-1]))
            values = second[name].numpy()
            if np.abs(values).max() > limit * (1 + 1e-6):
                raise CheckFailure(
                    message(
                        "parameters[{name!r}]: Glorot-uniform values lie in [-{limit:.4f}, {limit:.4f}], "
                        "got {low:.4f}..{high:.4f}.",
                        name=name,
                        limit=limit,
                        low=values.min(),
                        high=values.max(),
                    )
                )
    assert_array_close("parameters['b3']", second["b3"].numpy(), np.zeros(6, np.float32), atol=0)


def initialize_parameters_reseeded(initialize_parameters):
    """The values come from the seeded initializer called in the function, not from a copy of its output:
    with the seed of every Keras random initializer moved (by a number drawn for each grading run), they
    are what the source solution gives under the same move."""
    found = reference_solutions(ASSIGNMENT)
    if found is None:
        raise CheckFailure(
            message(
                "initialize_parameters with the initializer's seed moved is checked only when the "
                "notebook is graded (course check, or your instructor's grader)."
            )
        )
    shift = 1 + hidden_seed(INITIALIZER_SEED_STREAM) % (2**32 - 1)
    harness = f"{ASSIGNMENT}:reseeded_initializer"
    what = message("initialize_parameters(), with the seed of every Keras initializer moved")
    moved = calls.call(initialize_parameters, shift, harness=harness).value(what)
    _check_variables(moved, PARAMETER_SHAPES, message(" of {what}", what=what))
    expected = calls.run(found.function("initialize_parameters"), (shift,), {}, harness=harness).value()
    for name in PARAMETER_SHAPES:
        assert_array_close(
            message(
                "parameters[{name!r}] of {what} (create W1, W2 and W3 in the function with the "
                "initializer GlorotUniform(seed=1), called with each shape)",
                name=name,
                what=what,
            ),
            moved[name].numpy(),
            expected[name].numpy(),
            atol=1e-6,
            rtol=1e-5,
        )


# ------------------------------------------------------------ forward_propagation


def forward_propagation_matches(forward_propagation, X, parameters, expected, what: str):
    tf = _tf()
    Z3 = calls.call(forward_propagation, X, parameters).value(f"forward_propagation(X, parameters) {what}")
    if not isinstance(Z3, tf.Tensor):
        raise CheckFailure(
            message(
                "forward_propagation should return a tf.Tensor (the logits Z3), got {kind}.", kind=type(Z3).__name__
            )
        )
    assert_array_close(f"Z3 {what}", Z3.numpy(), expected, atol=_f32_tolerance(expected), rtol=FLOAT32_RTOL)
    return Z3


def forward_propagation(forward_propagation):
    parameters = _reference_parameters()
    Z3 = forward_propagation_matches(
        forward_propagation,
        case_forward_propagation_X(),
        parameters,
        reference("forward_propagation/Z3"),
        message("for the example batch of 2 images"),
    )
    print("Z3 =", Z3.numpy())
    _passed()


def forward_propagation_oracle(forward_propagation, m, seed, scale=1.0):
    """Random images and random (not Glorot) parameters: the logits equal the reference ones."""
    tf = _tf()
    X, values = case_forward_propagation_random(m, seed, scale)
    parameters = {name: tf.Variable(value, name=name) for name, value in values.items()}
    expected = np.asarray(expected_call(ASSIGNMENT, "forward_propagation", X, parameters))
    forward_propagation_matches(
        forward_propagation, X, parameters, expected, message("for {m} random images and random parameters", m=m)
    )


def forward_propagation_in_graph(forward_propagation):
    """forward_propagation also works inside a tf.function with a free batch size."""
    tf = _tf()
    parameters = _reference_parameters()
    X = case_forward_propagation_X()
    Z3 = calls.call(forward_propagation, X, parameters, harness="cnn_application:in_tf_function").value(
        message("forward_propagation inside a tf.function (input signature [None, 64, 64, 3])")
    )
    if not isinstance(Z3, tf.Tensor):
        raise CheckFailure(
            message(
                "forward_propagation inside a tf.function should return a tf.Tensor, got {kind}.",
                kind=type(Z3).__name__,
            )
        )
    assert_array_close(
        message("Z3 computed inside a tf.function"),
        Z3.numpy(),
        reference("forward_propagation/Z3"),
        atol=_f32_tolerance(reference("forward_propagation/Z3")),
        rtol=FLOAT32_RTOL,
    )


# ------------------------------------------------------------ compute_cost


def compute_cost_matches(compute_cost, Z3, Y, expected: float, what: str):
    tf = _tf()
    cost = calls.call(compute_cost, tf.constant(Z3), tf.constant(Y)).value(f"compute_cost(Z3, Y) {what}")
    if not isinstance(cost, tf.Tensor):
        raise CheckFailure(message("compute_cost should return a tf.Tensor, got {kind}.", kind=type(cost).__name__))
    if cost.shape.rank != 0:
        raise CheckFailure(
            message(
                "compute_cost {what}: expected a scalar tensor (shape ()), got shape {shape}: average over the examples.",
                what=what,
                shape=tuple(cost.shape.as_list()),
            )
        )
    got = float(cost.numpy())
    if not abs(got - expected) <= 1e-5 * max(1.0, abs(expected)):
        if concealing():
            raise CheckFailure(
                message("compute_cost {what}: got {got:.7f}, which is not the expected cost.", what=what, got=got)
            )
        raise CheckFailure(
            message(
                "compute_cost {what}: expected {expected:.7f}, got {got:.7f}.", what=what, expected=expected, got=got
            )
        )
    return got


def compute_cost(compute_cost):
    c = case_compute_cost()
    got = compute_cost_matches(
        compute_cost, c["Z3"], c["Y"], float(reference("compute_cost/cost")), message("for the example logits")
    )
    print("cost =", f"{got:.7f}")
    _passed()


def compute_cost_oracle(compute_cost, m, seed):
    tf = _tf()
    Z3, Y = case_compute_cost_random(m, seed)
    expected = float(expected_call(ASSIGNMENT, "compute_cost", tf.constant(Z3), tf.constant(Y)))
    compute_cost_matches(compute_cost, Z3, Y, expected, message("for {m} random examples", m=m))


# ------------------------------------------------------------ model

MODEL_RUNS = {
    # name: (examples per class in the training slice, test slice per class, epochs, minibatch size, data seed)
    "visible": (16, 4, 8, 32, 0),
    "hidden": (12, 5, 8, 16, 7),
}


@cache
def _signs_arrays():
    from helpers import signs

    X_train, Y_train, X_test, Y_test, _ = signs.load_dataset(verbose=False)
    return X_train, Y_train.reshape(-1), X_test, Y_test.reshape(-1)


def _slice(X, y, per_class, rng):
    picks = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(6)])
    picks = rng.permutation(picks)
    return (X[picks] / 255.0).astype(np.float32), np.eye(6, dtype=np.float32)[y[picks]]


def model_slice(run: str):
    per_train, per_test, _, _, seed = MODEL_RUNS[run]
    X_train, y_train, X_test, y_test = _signs_arrays()
    rng = np.random.default_rng(seed)
    return _slice(X_train, y_train, per_train, rng) + _slice(X_test, y_test, per_test, rng)


_runs: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _run_model(model, run: str) -> dict:
    """The short run of ``model`` on a slice, the stand-ins in place; once per function and run."""
    runs = _runs.setdefault(model, {})
    if run not in runs:
        _, _, num_epochs, minibatch_size, _ = MODEL_RUNS[run]
        X_train, Y_train, X_test, Y_test = model_slice(run)
        outcome = calls.call(
            model,
            X_train,
            Y_train,
            X_test,
            Y_test,
            learning_rate=0.009,
            num_epochs=num_epochs,
            minibatch_size=minibatch_size,
            print_cost=False,
            harness="cnn_application:model",
        )
        runs[run] = {
            "outcome": outcome,
            "epochs": num_epochs,
            "minibatch_size": minibatch_size,
            "data": (X_train, Y_train, X_test, Y_test),
        }
    return runs[run]


def _model_result(model, run: str):
    run_data = _run_model(model, run)
    outcome = run_data["outcome"]
    result = outcome.value(_short_run(run_data["epochs"]))
    if not isinstance(result, tuple) or len(result) != 3:
        raise CheckFailure(_not_the_triple(result))
    return run_data, result


def _short_run(epochs: int) -> str:
    """How the checks name the short training run of ``model`` whose result they read."""
    return message("model (a short run of {epochs} on a slice of SIGNS)", epochs=count(epochs, "epoch"))


def _not_the_triple(result) -> str:
    if isinstance(result, tuple):
        return message(
            "model must return a tuple (train_accuracy, test_accuracy, parameters), got tuple of length {length}.",
            length=len(result),
        )
    return message(
        "model must return a tuple (train_accuracy, test_accuracy, parameters), got {kind}.", kind=type(result).__name__
    )


def _cost_of(parameters, X, Y) -> float:
    return float(_stand_in_cost(stand_in_forward(X, parameters), Y).numpy())


def model_training_run(model, run: str):
    """Judged from the stand-in's variables as the training loop left them, whatever model did afterwards."""
    tf = _tf()
    run_data = _run_model(model, run)
    outcome = run_data["outcome"]
    X_train, Y_train, _, _ = run_data["data"]
    epochs, size = run_data["epochs"], run_data["minibatch_size"]
    what = message(
        "after {epochs} on {m} examples, minibatch_size={size}",
        epochs=count(epochs, "epoch"),
        m=X_train.shape[0],
        size=size,
    )
    trained = outcome.observations.get("parameters")
    minibatch_calls = outcome.observations.get("minibatch_calls") or []
    if outcome.raised and len(minibatch_calls) < epochs:  # it stopped before the training was done
        outcome.value(_short_run(epochs))
    if not isinstance(trained, dict) or sorted(trained) != sorted(STAND_IN_SHAPES):
        raise CheckFailure(message("model did not call initialize_parameters: create the parameters with it."))
    parameters = {name: tf.Variable(np.asarray(trained[name], np.float32), name=name) for name in STAND_IN_SHAPES}
    initial = _stand_in_initialize_parameters()
    for name in STAND_IN_SHAPES:
        change = float(np.max(np.abs(parameters[name].numpy() - initial[name].numpy())))
        if not np.isfinite(change):
            raise CheckFailure(message("parameters[{name!r}] {what} holds NaN or inf.", name=name, what=what))
        if change < 1e-6:
            raise CheckFailure(
                message(
                    "parameters[{name!r}] {what} still equals its initial value: the optimizer must "
                    "update every variable (apply the gradients of all of them).",
                    name=name,
                    what=what,
                )
            )
    before, after = _cost_of(initial, X_train, Y_train), _cost_of(parameters, X_train, Y_train)
    if not after < before - 0.03:
        raise CheckFailure(
            message(
                "the training cost did not fall {what}: {before:.4f} with the initial parameters, "
                "{after:.4f} with the returned ones.",
                what=what,
                before=before,
                after=after,
            )
        )
    if len(minibatch_calls) != epochs:
        raise CheckFailure(
            message(
                "model called random_mini_batches {times} for {epochs}: "
                "reshuffle the training set once at the start of every epoch.",
                times=count(len(minibatch_calls), "time"),
                epochs=count(epochs, "epoch"),
            )
        )
    for call in minibatch_calls:
        if call["m"] != X_train.shape[0] or call["mini_batch_size"] != size:
            raise CheckFailure(
                message(
                    "random_mini_batches was called on {got_m} examples with mini_batch_size={got_size}; "
                    "expected the whole training set ({m} examples) and minibatch_size={size}.",
                    got_m=call["m"],
                    got_size=call["mini_batch_size"],
                    m=X_train.shape[0],
                    size=size,
                )
            )
    seeds = [call["seed"] for call in minibatch_calls]
    if len(set(map(repr, seeds))) != len(seeds):
        raise CheckFailure(
            message(
                "random_mini_batches was called with seeds {seeds}: the same seed gives the same "
                "minibatches every epoch. Increment the seed once per epoch.",
                seeds=seeds,
            )
        )
    _compare_with_recipe(run_data, outcome.observations, trained)
    return before, after


SEED_LIMIT = 2**32  # np.random.seed's range, which random_mini_batches seeds


def _recipe_run(run_data: dict, seeds: list[int]) -> dict | None:
    """The source ``model``'s observations on the same slice, from the same start, with these seeds; None
    where no source solutions are at hand (a student's own notebook). Run once per student's run."""
    found = reference_solutions(ASSIGNMENT)
    if found is None:
        return None
    if run_data.get("recipe_seeds") != seeds:
        # The recipe's run depends only on the slice, the minibatch size and the seeds, the same for every
        # honest student: a grading process runs it once for each (and for the source solutions in use).
        X_train, Y_train, X_test, Y_test = run_data["data"]
        recipes = _RECIPES.setdefault(found, {})
        key = (
            run_data["minibatch_size"],
            tuple(seeds),
            *(hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() for a in run_data["data"]),
        )
        if key not in recipes:
            reference_model = found.function("model")
            made = _model_harness(seeds=seeds)
            with calls.swapped_globals(reference_model, made["replace"]), _tensorflow_warnings_off():
                reference_model(
                    X_train.copy(),
                    Y_train.copy(),
                    X_test.copy(),
                    Y_test.copy(),
                    learning_rate=0.009,
                    num_epochs=len(seeds),
                    minibatch_size=run_data["minibatch_size"],
                    print_cost=False,
                )
            while len(recipes) >= MAX_RECIPES:
                del recipes[next(iter(recipes))]  # the oldest
            recipes[key] = made["observe"]()
        run_data["recipe_seeds"], run_data["recipe"] = list(seeds), copy.deepcopy(recipes[key])
    return run_data["recipe"]


# source solutions -> (minibatch size, seeds, the slice's digests) -> the recipe's run
_RECIPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
MAX_RECIPES = 16


@contextlib.contextmanager
def _tensorflow_warnings_off():
    """The source solutions are compiled from the notebook's text, which AutoGraph cannot read back: it runs
    ``train_step`` as written (the same graph) and would log a warning about it on every replay."""
    logger = logging.getLogger("tensorflow")
    saved = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _compare_with_recipe(run_data: dict, observations: dict, trained: dict) -> None:
    """The parameters after every epoch are those of the recipe (the source ``model``) from the same start.

    The loop's epochs are told apart by its calls of random_mini_batches: the parameters it held at the
    start of epoch e + 1 are those after epoch e; the last epoch's are those it left."""
    seeds = [call["seed"] for call in observations.get("minibatch_calls") or []]
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < SEED_LIMIT:
            raise CheckFailure(
                message(
                    "random_mini_batches was called with seed={seed!r}: give it an integer seed "
                    "(0 to {top}), the recipe's seed increased by one every epoch.",
                    seed=seed,
                    top=SEED_LIMIT - 1,
                )
            )
    recipe = _recipe_run(run_data, [int(seed) for seed in seeds])
    if recipe is None:
        return
    got_epochs = list(observations.get("epoch_start_parameters") or [])[1 : len(seeds)] + [trained]
    want_epochs = list(recipe["epoch_start_parameters"])[1 : len(seeds)] + [recipe["parameters"]]
    steps = -(-len(run_data["data"][0]) // run_data["minibatch_size"])  # minibatches per epoch
    for epoch, (got, want) in enumerate(zip(got_epochs, want_epochs), start=1):
        where = message(
            "after epoch {epoch} of {epochs} ({steps} training steps on the minibatches random_mini_batches gave)",
            epoch=epoch,
            epochs=len(seeds),
            steps=epoch * steps,
        )
        if not isinstance(got, dict) or sorted(got) != sorted(want):
            raise CheckFailure(
                message(
                    "the parameters {where} are not the tf.Variables initialize_parameters created: "
                    "train those variables, in place.",
                    where=where,
                )
            )
        for name in sorted(want):
            assert_array_close(
                message(
                    "parameters[{name!r}] {where}, compared with the recipe's training from the same start "
                    "(each step: forward_propagation and compute_cost under a tf.GradientTape, then "
                    "optimizer.apply_gradients of the gradients of every variable)",
                    name=name,
                    where=where,
                ),
                np.asarray(got[name]),
                want[name],
                atol=RECIPE_ATOL,
                rtol=RECIPE_RTOL,
            )


def model_training(model):
    before, after = model_training_run(model, "visible")
    print(
        message(
            "cost on the training slice: {before:.4f} before training, {after:.4f} after", before=before, after=after
        )
    )
    _passed()


def model_accuracy_run(model, run: str):
    """The accuracies returned are those of the returned parameters, which must be the ones the training
    obtained: model_training's checks of the same run pass, and they are the variables the loop trained."""
    try:
        model_training_run(model, run)
    except CheckFailure as failure:
        raise CheckFailure(
            message(
                "the accuracies count only for parameters obtained by the recipe's training, and "
                "the training check fails: {failure}",
                failure=failure,
            )
        ) from None
    run_data, (train_accuracy, test_accuracy, parameters) = _model_result(model, run)
    X_train, Y_train, X_test, Y_test = run_data["data"]
    if not isinstance(parameters, dict) or sorted(parameters) != sorted(STAND_IN_SHAPES):
        raise CheckFailure(
            message(
                "model must return, as third value, the dict of trained parameters that initialize_parameters gave it."
            )
        )
    trained = run_data["outcome"].observations.get("parameters")
    for name in sorted(STAND_IN_SHAPES):
        returned = _numpy(message("parameters[{name!r}] returned by model", name=name), parameters[name])
        assert_array_close(
            message(
                "parameters[{name!r}] returned by model, compared with the variable the training "
                "loop trained (return the parameters dict that initialize_parameters gave it)",
                name=name,
            ),
            np.asarray(returned, dtype=np.float32),
            np.asarray(trained[name]),
            atol=0,
            rtol=0,
        )
    results = []
    for name, got, X, Y in (
        ("train_accuracy", train_accuracy, X_train, Y_train),
        ("test_accuracy", test_accuracy, X_test, Y_test),
    ):
        value = _as_number(name, got)
        predictions = np.argmax(stand_in_forward(X, parameters).numpy(), axis=1)
        expected = float(np.mean(predictions == np.argmax(Y, axis=1)))
        if abs(value - expected) > 1e-6:
            raise CheckFailure(
                message(
                    "{name}: the returned parameters classify {expected:.6f} of the "
                    "{m} examples correctly, model returned {value:.6f}.",
                    name=name,
                    expected=expected,
                    m=X.shape[0],
                    value=value,
                )
            )
        results.append(value)
    return tuple(results)


def model_accuracy(model):
    train_accuracy, test_accuracy = model_accuracy_run(model, "visible")
    print(
        message(
            "train_accuracy = {train:.6f}, test_accuracy = {test:.6f} (short run on a slice)",
            train=train_accuracy,
            test=test_accuracy,
        )
    )
    _passed()


# ------------------------------------------------------------ convolutional_model


def convolutional_model_matches(convolutional_model, input_key: str):
    import keras

    from helpers.model_compare import compare_model

    shape = KERAS_INPUT_SHAPES[input_key]
    keras.utils.set_random_seed(1)
    built = convolutional_model(shape)
    if not isinstance(built, keras.Model):
        raise CheckFailure(
            message("convolutional_model should return a keras Model, got {kind}.", kind=type(built).__name__)
        )
    if type(built).__name__ != "Functional":
        raise CheckFailure(
            message(
                "convolutional_model should build the model with the Functional API "
                "(keras.Model(inputs=..., outputs=...)), got a {kind}.",
                kind=type(built).__name__,
            )
        )
    compare_model(built, _expected_rows(input_key))
    return built


def _expected_rows(input_key: str) -> list[dict]:
    """The reference model's layers: built from the solution under grading, else the published example's."""
    found = reference_solutions(ASSIGNMENT)
    if found is None:
        return reference_rows(f"convolutional_model/{input_key}/rows")
    import keras

    from helpers.model_compare import describe_model

    keras.utils.set_random_seed(1)
    return describe_model(found.call("convolutional_model", KERAS_INPUT_SHAPES[input_key]))


def convolutional_model(convolutional_model):
    from helpers.model_compare import describe_model, print_summary

    built = convolutional_model_matches(convolutional_model, "signs")
    print_summary(describe_model(built))
    _passed()


def convolutional_model_probabilities(convolutional_model):
    """The outputs of the model are class probabilities: non-negative, summing to one per example."""
    import keras

    keras.utils.set_random_seed(1)
    built = convolutional_model((64, 64, 3))
    X = hidden_rng(5).random((3, 64, 64, 3), dtype=np.float32)
    probabilities = np.asarray(built(X, training=False))
    assert_equal(message("the shape of the model's output for 3 images"), probabilities.shape, (3, 6))
    if probabilities.min() < 0 or np.abs(probabilities.sum(axis=1) - 1).max() > 1e-5:
        raise CheckFailure(
            message(
                "the model's outputs should be probabilities (a softmax over 6 classes); rows sum to {sums}.",
                sums=probabilities.sum(axis=1),
            )
        )
