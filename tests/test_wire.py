"""What crosses between the kernel and the grader: the codec, forged messages, calls, Keras graphs rebuilt under limits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import calls, keras_graph, wire


def _through_json(value):
    return json.loads(json.dumps(value))


def test_codec_keeps_arrays_numbers_and_containers_exactly():
    value = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "t": (1, 2.5, np.int64(7)),
        "l": [None, "x", True],
        "inf": float("inf"),
    }
    back = wire.decode(_through_json(wire.encode(value)))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], value["a"])
    assert back["t"] == (1, 2.5, 7) and isinstance(back["t"], tuple)
    assert back["l"] == [None, "x", True] and back["inf"] == float("inf")


def test_codec_turns_unknown_objects_into_values_that_equal_nothing():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    back = wire.decode(_through_json(wire.encode([AlwaysEqual()])))[0]
    assert isinstance(back, wire.Unserializable)
    assert back != back and back != 0


@pytest.mark.parametrize(
    "forged, match",
    [
        ({"__ndarray__": "AAAA", "dtype": "<f8", "shape": [1000, 1000, 1000]}, "larger than"),
        ({"__ndarray__": "AAAA", "dtype": "<f8", "shape": [4]}, "carries"),
        ({"__ndarray__": "AAAA", "dtype": "|O", "shape": [1]}, "cannot be read"),
        ({"__float__": "__import__('os')"}, "special float"),
        ({"__dict__": [[1, 2]]}, "pairs"),
        ({"__tuple__": {"a": 1}}, "expected a list"),
        ({"__what__": 1}, "unknown"),
        ({"__npscalar__": [1, 2]}, "0-d"),
    ],
)
def test_a_forged_message_is_refused_before_memory_is_given(forged, match):
    with pytest.raises(wire.Malformed, match=match):
        wire.decode(forged)


def test_nesting_is_bounded():
    deep = 1
    for _ in range(50):
        deep = [deep]
    with pytest.raises(wire.Malformed, match="nesting"):
        wire.decode(deep)


def test_the_same_call_runs_the_same_way_in_a_notebook_and_for_the_grader():
    """calls.call on a plain function runs it here; the outcome carries the result or the student's error."""

    def zero_pad(X, pad):
        return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))

    def broken(X, pad):
        raise IndexError("index 5 is out of bounds")

    X = np.ones((1, 2, 2, 1))
    assert calls.call(zero_pad, X, pad=1).value().shape == (1, 4, 4, 1)
    outcome = calls.call(broken, X, 1)
    assert outcome.raised
    with pytest.raises(calls.FunctionError) as info:
        outcome.value(calls.describe_call("zero_pad", (X, 1), {}, ["X", "pad"]))
    text = str(info.value)
    assert "zero_pad(X of shape (1, 2, 2, 1), pad=1) raised IndexError: index 5 is out of bounds" in text
    assert 'raise IndexError("index 5 is out of bounds")' in text  # the student's own line

    def not_written(X, pad):
        raise NotImplementedError()

    with pytest.raises(calls.FunctionError, match="not written yet"):
        calls.call(not_written, X, 1).value()


def test_dependencies_are_replaced_only_while_the_function_runs():
    namespace = {}
    exec("def helper(x):\n    return x + 1\ndef outer(x):\n    return helper(x) * 10\n", namespace)
    outcome = calls.run(namespace["outer"], (1,), {}, ask=lambda name, args, kwargs: 100, depends_on=("helper",))
    assert outcome.result == 1000
    assert namespace["outer"](1) == 20  # the student's own helper is back


# ------------------------------------------------------------------ Keras graphs


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


def _block(keras, X):
    """A small residual block with a layer used twice (two nodes of one layer)."""
    relu = keras.layers.Activation("relu")
    Y = keras.layers.Conv2D(3, 3, padding="same", name="conv_a")(X)
    Y = keras.layers.BatchNormalization(axis=3, name="bn_a")(Y)
    Y = relu(Y)
    return relu(keras.layers.Add()([Y, X]))


def test_a_block_travels_as_its_graph_and_computes_the_same_outputs(keras):
    X = keras.Input((5, 5, 3))
    out = _block(keras, X)
    original = keras.Model(X, out)
    data = _through_json(keras_graph.tensor_graph(out, [X]))
    X2 = keras.Input((5, 5, 3))
    rebuilt = keras.Model(X2, keras_graph.rebuild(data, [X2]))
    assert [type(layer).__name__ for layer in rebuilt.layers] == [type(layer).__name__ for layer in original.layers]
    for layer in rebuilt.layers:
        if layer.weights:
            layer.set_weights(original.get_layer(layer.name).get_weights())
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(
        np.asarray(rebuilt(x, training=False)), np.asarray(original(x, training=False)), rtol=1e-6, atol=1e-6
    )


def test_a_model_travels_as_its_configuration(keras):
    X = keras.Input((8, 8, 1))
    model = keras.Model(X, keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(X)), name="tiny")
    rebuilt = wire.decode(_through_json(wire.encode(model)))
    assert type(rebuilt).__name__ == "Functional" and rebuilt.count_params() == model.count_params()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]


def _graph_with(keras, layer, shape=(4, 4, 3)):
    X = keras.Input(shape)
    return _through_json(keras_graph.tensor_graph(layer(X), [X])), shape


@pytest.mark.parametrize(
    "what",
    [
        "lambda",
        "foreign module",
        "too many parameters",
        "huge tensor",
        "disconnected",
        "too costly",
        "too costly in a sequential model",
    ],
)
def test_what_could_harm_the_grader_is_refused_before_it_is_built(keras, monkeypatch, what):
    if what == "lambda":
        data, shape = _graph_with(keras, keras.layers.Lambda(lambda t: t * 2))
        match = "holds code"
    elif what == "foreign module":
        data, shape = _graph_with(keras, keras.layers.Conv2D(2, 1, name="c"))
        data["graph"]["layers"][1]["module"] = "os"
        match = "only Keras's own"
    elif what == "too many parameters":
        data, shape = _graph_with(keras, keras.layers.Dense(8), shape=(16,))
        monkeypatch.setattr(keras_graph, "MAX_PARAMETERS", 100)
        match = "parameters: more than"
    elif what == "huge tensor":
        data, shape = _graph_with(keras, keras.layers.UpSampling2D(size=(3000, 3000)))
        match = "values per example"
    elif what == "too costly":  # small in values and parameters: only its work per example is too much
        X = keras.Input((64, 64, 3))
        Y = keras.layers.UpSampling2D(8)(X)
        Y = keras.layers.Conv2D(3, 120, padding="same")(Y)
        data, shape = _through_json(keras_graph.tensor_graph(keras.layers.MaxPooling2D(8)(Y), [X])), (64, 64, 3)
        match = "multiply-adds per example"
    elif what == "too costly in a sequential model":
        model = keras.Sequential(
            [keras.Input((64, 64, 3)), keras.layers.UpSampling2D(8), keras.layers.Conv2D(3, 120, padding="same")]
        )
        data, shape = _through_json(keras_graph.model_graph(model)), None
        match = "multiply-adds per example"
    else:
        data, shape = _graph_with(keras, keras.layers.Conv2D(2, 1, name="c"))
        data["graph"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["nowhere", 0, 0]
        match = "do not connect"
    with pytest.raises(keras_graph.GraphRefused, match=match):
        keras_graph.rebuild(data, [keras.Input(shape)] if shape else None)
    # Nothing refused is left behind to be given memory later.
    with keras.StatelessScope():
        pass


def test_the_cost_of_a_layer_is_its_multiply_adds_per_example(keras):
    X = keras.Input((10, 12, 3))
    conv = keras.layers.Conv2D(5, 3, strides=2, padding="valid")
    Y = conv(X)  # (4, 5, 5)
    reads, writes = 10 * 12 * 3, 4 * 5 * 5
    assert keras_graph.multiply_adds(conv, X, Y) == 4 * 5 * (3 * 3 * 3 * 5) + reads + writes
    dense = keras.layers.Dense(7)
    F = keras.Input((20,))
    assert keras_graph.multiply_adds(dense, F, dense(F)) == 20 * 7 + 20 + 7
    pool = keras.layers.AveragePooling2D((2, 2))
    assert keras_graph.multiply_adds(pool, X, pool(X)) == 5 * 6 * 3 * 4


def test_the_course_resnet_is_far_inside_the_cost_limit(keras):
    from helpers.instructor.references import solution_namespace

    model = solution_namespace("residual_networks")["ResNet50"](input_shape=(64, 64, 3), classes=6)
    cost = sum(
        keras_graph.multiply_adds(layer, layer.input, layer.output)
        for layer in model.layers
        if type(layer).__name__ != "InputLayer"
    )
    assert 2e8 < cost < keras_graph.MAX_MULTIPLY_ADDS / 4, f"{cost:.3g} multiply-adds per example"
    assert keras_graph.rebuild(_through_json(keras_graph.model_graph(model))).count_params() == model.count_params()
