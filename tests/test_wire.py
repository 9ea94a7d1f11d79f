"""What crosses from the kernel to the grader: the codec, observations, and Keras graphs rebuilt under limits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import keras_graph, record
from helpers.instructor import replay


def _through_json(value):
    return json.loads(json.dumps(value))


def test_codec_keeps_arrays_numbers_and_containers_exactly():
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "t": (1, 2.5, np.int64(7)), "l": [None, "x", True],
             "inf": float("inf")}
    back = record.decode(_through_json(record.encode(value)))
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], value["a"])
    assert back["t"] == (1, 2.5, 7) and isinstance(back["t"], tuple)
    assert back["l"] == [None, "x", True] and back["inf"] == float("inf")


def test_codec_turns_unknown_objects_into_values_that_equal_nothing():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    back = record.decode(_through_json(record.encode([AlwaysEqual()])))[0]
    assert isinstance(back, record.Unserializable)
    assert back != back and back != 0


def test_observed_computes_outside_grading_records_in_the_kernel_and_plays_back_in_the_grader():
    assert record.observed("x", lambda: 41 + 1) == 42
    recorder = record._Recorder()
    with record.session(recorder):
        value = record.observed("the answer", lambda: np.array([1.0, 2.0]))
    assert np.array_equal(value, [1.0, 2.0])
    entries = _through_json(recorder.calls)
    assert entries[0]["observe"] == "the answer"

    def must_not_run():
        raise AssertionError("the grader must not compute an observation")

    playback = replay.Playback(entries)
    with record.session(playback):
        back = record.observed("the answer", must_not_run)
    assert np.array_equal(back, [1.0, 2.0]) and playback.used == 1
    with record.session(replay.Playback(entries)), pytest.raises(replay.ReplayMismatch):
        record.observed("another label", must_not_run)


def test_an_error_inside_an_observation_is_recorded_and_raised_again():
    recorder = record._Recorder()
    with record.session(recorder), pytest.raises(ZeroDivisionError):
        record.observed("boom", lambda: 1 / 0)
    with record.session(replay.Playback(_through_json(recorder.calls))), pytest.raises(replay.StudentError,
                                                                                       match="ZeroDivisionError"):
        record.observed("boom", lambda: None)


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
    data = _through_json(keras_graph.describe_tensor(out, [X]))
    X2 = keras.Input((5, 5, 3))
    rebuilt = keras.Model(X2, keras_graph.rebuild(data, [X2]))
    assert [type(layer).__name__ for layer in rebuilt.layers] == [type(layer).__name__ for layer in original.layers]
    for layer in rebuilt.layers:
        if layer.weights:
            layer.set_weights(original.get_layer(layer.name).get_weights())
    x = np.random.default_rng(0).standard_normal((2, 5, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(rebuilt(x, training=False)), np.asarray(original(x, training=False)),
                               rtol=1e-6, atol=1e-6)


def test_a_model_travels_as_its_configuration(keras):
    X = keras.Input((8, 8, 1))
    model = keras.Model(X, keras.layers.Dense(4, activation="softmax")(keras.layers.Flatten()(X)), name="tiny")
    rebuilt = record.decode(_through_json(record.encode(model)))
    assert type(rebuilt).__name__ == "Functional" and rebuilt.count_params() == model.count_params()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]


def _graph_with(keras, layer, shape=(4, 4, 3)):
    X = keras.Input(shape)
    return _through_json(keras_graph.describe_tensor(layer(X), [X])), shape


@pytest.mark.parametrize("what", ["lambda", "foreign module", "too many parameters", "huge tensor", "disconnected"])
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
    else:
        data, shape = _graph_with(keras, keras.layers.Conv2D(2, 1, name="c"))
        data["graph"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["nowhere", 0, 0]
        match = "do not connect"
    with pytest.raises(keras_graph.GraphRefused, match=match):
        keras_graph.rebuild(data, [keras.Input(shape)])
    # Nothing refused is left behind to be given memory later.
    with keras.StatelessScope():
        pass
