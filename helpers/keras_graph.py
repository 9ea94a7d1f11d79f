"""Keras graphs as plain data, and rebuilt from it under limits.

A function that builds layers on symbolic inputs (a ResNet block: ``X -> ... -> output``) is
described by the graph between its inputs and its output; a function that returns a model, by the
model's configuration. Both are JSON (Keras's own functional configuration: layer class, settings
and inbound tensors), never code. :func:`rebuild` turns such a description back into layers
applied to given inputs, one node at a time, and refuses what could harm the process that
rebuilds it:

- only Keras's own layer classes (``module`` under ``keras``), Keras's safe mode on
  (no ``Lambda`` with code);
- at most :data:`MAX_LAYERS` layers, :data:`MAX_PARAMETERS` parameters (the variables are created
  uninitialised inside a ``keras.StatelessScope`` and counted before any memory is given to them),
  :data:`MAX_ELEMENTS` values per example in any tensor and :data:`MAX_ACTIVATIONS` in all of them
  together (what running the graph on one example costs in memory), and :data:`MAX_MULTIPLY_ADDS`
  multiply-adds per example (what it costs in time: :func:`multiply_adds`), all checked on the symbolic
  graph, layer by layer as it is rebuilt, before any memory is given to a tensor or anything runs.

The grader uses it to take a student's block or model out of the kernel as data
(:mod:`helpers.wire`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

MAX_LAYERS = 2000
MAX_PARAMETERS = 64_000_000
MAX_ELEMENTS = 1 << 24
MAX_ACTIVATIONS = 1 << 26  # values per example in all the tensors the graph makes together (256 MB in float32)
# Multiply-adds per example in the whole graph. The course's ResNet-50 on its 64x64 images needs about
# 0.31 G (tests/test_wire.py measures it): this is about six times as much, seconds per example.
MAX_MULTIPLY_ADDS = 2_000_000_000
_RECURRENT = ("SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Bidirectional", "RNN")


class GraphRefused(ValueError):
    """The description cannot be rebuilt: it is malformed, uses foreign code, or is too big."""


# ---------------------------------------------------------------- describing


def tensor_graph(output, inputs: list) -> dict:
    """``{"graph": ...}``: the functional configuration of the graph from the KerasTensors ``inputs`` to the
    KerasTensor ``output`` (what :func:`rebuild` applies to new inputs)."""
    import keras

    model = keras.Model(inputs=inputs if len(inputs) > 1 else inputs[0], outputs=output)
    return {"graph": json.loads(model.to_json())["config"]}


def model_graph(model) -> dict:
    """``{"model": ...}``: the model's whole configuration (what :func:`rebuild` turns back into a model).

    Not :func:`helpers.model_compare.describe_model`, which gives a summary's rows for comparing and printing.
    """
    return {"model": json.loads(model.to_json())}


# ---------------------------------------------------------------- rebuilding


def _check_config(value, where: str) -> None:
    """Every serialized object inside a layer configuration must be one of Keras's own."""
    if isinstance(value, dict):
        module = value.get("module")
        if module is not None and not (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
            raise GraphRefused(
                f"{where}: {value.get('class_name')!r} comes from {module!r}; only Keras's own layers can be checked."
            )
        if value.get("registered_name") not in (None, value.get("class_name")):
            raise GraphRefused(f"{where}: custom object {value.get('registered_name')!r} cannot be checked.")
        for item in value.values():
            _check_config(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_config(item, where)


def _deserialize_layer(layer: dict):
    import keras

    if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
        raise GraphRefused("a layer description is malformed")
    where = f"layer {layer.get('name')!r}"
    _check_config(layer, where)
    if layer.get("class_name") in ("Lambda", "TFSMLayer", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"):
        raise GraphRefused(f"{where}: a {layer['class_name']} layer holds code, which cannot be checked.")
    spec = {k: layer.get(k) for k in ("module", "class_name", "registered_name")}
    spec["config"] = layer["config"]
    try:
        return keras.saving.deserialize_keras_object(spec, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - whatever Keras refuses, the graph is refused
        raise GraphRefused(f"{where} cannot be rebuilt: {type(exc).__name__}: {exc}") from exc


def _resolve(value, tensors: dict):
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = value.get("config", {}).get("keras_history")
        key = tuple(history) if isinstance(history, list) else None
        if key not in tensors:
            raise KeyError(key)
        return tensors[key]
    if isinstance(value, list):
        return [_resolve(v, tensors) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, tensors) for k, v in value.items()}
    return value


def _tensor_specs(value) -> list[list]:
    """Keras writes one tensor as [name, node, index] and several as a list of those."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and all(isinstance(i, int) for i in v[1:])
        for v in value
    ):
        raise GraphRefused(f"malformed tensor list {str(value)[:80]}")
    return value


def _check_size(name: str, tensor, total: list) -> None:
    """Refuse a tensor too large per example, or one that takes the whole graph past MAX_ACTIVATIONS."""
    for item in tensor if isinstance(tensor, (list, tuple)) else [tensor]:
        shape = getattr(item, "shape", None)
        if shape is None:
            continue
        batch = shape[0] if len(shape) and shape[0] is not None else 1
        per_example = float(np.prod([d for d in shape[1:] if d is not None], dtype=np.float64))
        if per_example > MAX_ELEMENTS:
            raise GraphRefused(
                f"layer {name!r} makes a tensor of shape {tuple(shape)}: more than {MAX_ELEMENTS:,} values per example."
            )
        total[0] += per_example * batch
        if total[0] > MAX_ACTIVATIONS:
            raise GraphRefused(
                f"the layers up to {name!r} make more than {MAX_ACTIVATIONS:,} values per example "
                "in all: the network is too large to be checked."
            )


def _tensors(value) -> list:
    """The tensors (anything with a shape) in a layer call's arguments or results."""
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return [value] if getattr(value, "shape", None) is not None else []


def _per_example(tensor) -> float:
    return float(np.prod([d for d in tensor.shape[1:] if d is not None], dtype=np.float64))


def _positions(tensor) -> float:
    """Values per example divided by the channels: where a kernel is applied (pixels, time steps...)."""
    shape = tensor.shape
    channels = shape[-1] if len(shape) > 1 and shape[-1] else 1
    return _per_example(tensor) / channels


def multiply_adds(layer, inputs, outputs) -> float:
    """An estimate of the multiply-adds per example of one call of ``layer`` (built, on these tensors).

    A layer with a kernel costs the kernel's size at every position of its output (exact for
    convolutions, dense and depthwise layers; an over-estimate for transposed convolutions); a
    recurrent one, at every time step of its input; a pooling layer, its window at every output value;
    attention, its queries times its keys; anything else, one operation per value it reads and writes.
    """
    inputs, outputs = _tensors(inputs), _tensors(outputs)
    reads = sum(_per_example(t) for t in inputs)
    writes = sum(_per_example(t) for t in outputs)
    kind = type(layer).__name__
    if kind == "Embedding":
        return writes
    kernels = [w for w in getattr(layer, "weights", []) if len(w.shape) >= 2]
    if kernels:
        if kind in _RECURRENT:
            positions = max((_positions(t) for t in inputs), default=1.0)
        else:
            positions = max((_positions(t) for t in outputs), default=1.0)
        total = positions * sum(float(np.prod(w.shape, dtype=np.float64)) for w in kernels)
        if "Attention" in kind and len(inputs) >= 2:
            total += _positions(inputs[0]) * _positions(inputs[1]) * float(inputs[0].shape[-1] or 1) * 2
        return total + reads + writes
    if "Attention" in kind and len(inputs) >= 2:
        return _positions(inputs[0]) * _positions(inputs[1]) * float(inputs[0].shape[-1] or 1) * 2 + writes
    window = getattr(layer, "pool_size", None)
    if window is not None and "Global" not in kind:
        return writes * float(np.prod(window if isinstance(window, (tuple, list)) else [window], dtype=np.float64))
    return reads + writes


def _check_cost(name: str, layer, inputs, outputs, total: list) -> None:
    """Refuse a layer that takes the graph past MAX_MULTIPLY_ADDS per example."""
    total[0] += multiply_adds(layer, inputs, outputs)
    if total[0] > MAX_MULTIPLY_ADDS:
        raise GraphRefused(
            f"the layers up to {name!r} need more than {MAX_MULTIPLY_ADDS:,} multiply-adds per "
            "example: the network is too costly to be checked."
        )


def _apply(config: dict, inputs: list | None) -> tuple[list, list, list]:
    """Rebuild the layers of a functional ``config`` on ``inputs``; returns (outputs, input tensors, layers)."""
    import keras

    layers = config.get("layers")
    if not isinstance(layers, list):
        raise GraphRefused("the description has no layer list")
    if len(layers) > MAX_LAYERS:
        raise GraphRefused(f"{len(layers)} layers: more than {MAX_LAYERS}.")
    input_names = [spec[0] for spec in _tensor_specs(config.get("input_layers"))]
    tensors: dict[tuple, object] = {}
    if inputs is None:
        by_name = {layer.get("name"): layer for layer in layers}
        inputs = []
        for name in input_names:
            layer_config = by_name.get(name, {}).get("config", {})
            shape = layer_config.get("batch_shape") or layer_config.get("batch_input_shape")
            if not isinstance(shape, list) or not shape:
                raise GraphRefused(f"input {name!r} has no shape")
            inputs.append(
                keras.Input(batch_shape=tuple(shape), dtype=layer_config.get("dtype", "float32"), name=str(name))
            )
    if len(inputs) != len(input_names):
        raise GraphRefused(f"the graph has {len(input_names)} input(s), {len(inputs)} given")
    for name, tensor in zip(input_names, inputs):
        tensors[(name, 0, 0)] = tensor
    pending, instances = [], []
    activations, cost = [0.0], [0.0]
    for tensor in inputs:
        _check_size("input", tensor, activations)
    for layer in layers:
        if layer.get("class_name") == "InputLayer":
            continue
        instance = _deserialize_layer(layer)
        instances.append(instance)
        for index, node in enumerate(layer.get("inbound_nodes") or []):
            pending.append((layer.get("name"), index, instance, node))
    while pending:
        waiting = []
        for name, index, instance, node in pending:
            try:
                args = _resolve(node.get("args", []), tensors)
                kwargs = {k: v for k, v in _resolve(node.get("kwargs", {}), tensors).items() if v is not None}
            except KeyError:
                waiting.append((name, index, instance, node))
                continue
            out = instance(*args, **kwargs)
            _check_size(name, out, activations)
            _check_cost(name, instance, [args, kwargs], out, cost)
            for position, tensor in enumerate(out if isinstance(out, (list, tuple)) else [out]):
                tensors[(name, index, position)] = tensor
        if len(waiting) == len(pending):
            raise GraphRefused("the graph's layers do not connect its inputs to its output")
        pending = waiting
    outputs = []
    for spec in _tensor_specs(config.get("output_layers")):
        key = tuple(spec)
        if key not in tensors:
            raise GraphRefused(f"output {spec!r} is not made by any layer")
        outputs.append(tensors[key])
    if not outputs:
        raise GraphRefused("the graph has no output")
    return outputs, inputs, instances


def _parameter_count(layers) -> int:
    # operations such as the `+` of two tensors are nodes too, with no weights
    return int(sum(np.prod(w.shape, dtype=np.float64) for layer in layers for w in getattr(layer, "weights", [])))


def _limited(build: Callable):
    """Run ``build`` with uninitialised variables; give them memory only if they are few enough."""
    import keras

    with keras.StatelessScope(initialize_variables=False):
        try:
            result, layers = build()
            count = _parameter_count(layers)
            if count > MAX_PARAMETERS:
                raise GraphRefused(f"{count:,} parameters: more than {MAX_PARAMETERS:,}.")
        except Exception:
            keras.backend.clear_session()  # drop the uninitialised variables with the refused graph
            raise
    with keras.StatelessScope():
        pass  # leaving the outermost scope initialises the variables created above
    return result


def rebuild(data: dict, inputs: list | None = None):
    """The KerasTensor (``graph``, applied to ``inputs``) or the Model (``model``) that ``data`` describes.

    Raises :class:`GraphRefused` for anything it will not build.
    """
    import keras

    if not isinstance(data, dict):
        raise GraphRefused("not a graph description")
    if "graph" in data:

        def build():
            outputs, _, layers = _apply(data["graph"], list(inputs or []))
            return (outputs[0] if len(outputs) == 1 else outputs), layers

        return _limited(build)
    if "model" in data:
        model = data["model"]
        if not isinstance(model, dict) or not isinstance(model.get("config"), dict):
            raise GraphRefused("a model description is malformed")
        config = model["config"]
        if model.get("class_name") == "Sequential":

            def build():
                import keras as k

                layers = [_deserialize_layer(layer) for layer in config.get("layers", [])]
                if len(layers) > MAX_LAYERS:
                    raise GraphRefused(f"{len(layers)} layers: more than {MAX_LAYERS}.")
                built = k.Sequential(layers, name=config.get("name"))
                if built.built:  # it has an input shape: the same limits as a functional graph, layer by layer
                    activations, cost = [0.0], [0.0]
                    for layer in built.layers:
                        _check_size(layer.name, layer.output, activations)
                        _check_cost(layer.name, layer, layer.input, layer.output, cost)
                return built, built.layers

            return _limited(build)
        if model.get("class_name") not in ("Functional", "Model"):
            raise GraphRefused(
                f"a {model.get('class_name')!r} model cannot be checked: build it with the Functional API"
            )

        def build():
            outputs, used, _ = _apply(config, None)
            built = keras.Model(
                inputs=used if len(used) > 1 else used[0],
                outputs=outputs if len(outputs) > 1 else outputs[0],
                name=config.get("name"),
            )
            return built, built.layers

        return _limited(build)
    raise GraphRefused("not a graph description")
