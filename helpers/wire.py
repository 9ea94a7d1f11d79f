"""What crosses between a student's kernel and the grader: values as plain JSON data.

Arrays travel as base64 bytes with dtype and shape; numbers, strings, tuples, lists and dicts as
themselves; TensorFlow tensors and variables as arrays; a Keras block or model as its layer graph
(:mod:`helpers.keras_graph`). Never pickle, never code. Anything else becomes a marker that equals
nothing. :func:`decode` checks sizes before it gives memory to anything, so a forged message costs
the grader at most :data:`MAX_MESSAGE_BYTES`.
"""

from __future__ import annotations

import base64
import math

import numpy as np

MIME = "application/vnd.course.call+json"
MAX_ARRAY_BYTES = 64 << 20
MAX_MESSAGE_BYTES = 96 << 20  # one call's arguments or outcome, as JSON text
MAX_DEPTH = 20

# ------------------------------------------------------------------ the codec


def encode(value, depth: int = 0):
    """Plain JSON-able data for ``value``; anything unknown becomes an 'unserializable' marker."""
    if depth > 20:
        return {"__unserializable__": "nesting too deep"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and not isinstance(value, np.generic):
        return int(value)  # a subclass with a doctored __eq__ arrives as a plain int
    if isinstance(value, float) and not isinstance(value, np.generic):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return {
            "__npscalar__": encode(np.asarray(value)),
        }
    if type(value) is np.ndarray:
        return _encode_array(value)
    if type(value) is tuple:
        return {"__tuple__": [encode(v, depth + 1) for v in value]}
    if type(value) is list:
        return [encode(v, depth + 1) for v in value]
    if type(value) is dict and all(type(k) is str for k in value):
        return {"__dict__": [[k, encode(v, depth + 1)] for k, v in value.items()]}
    return _encode_framework(value)


def _encode_array(array: np.ndarray):
    if array.dtype.kind not in "biufc" or array.dtype.hasobject:
        return {"__unserializable__": f"array of dtype {array.dtype}"}
    data = np.array(array, order="C", copy=True)  # (ascontiguousarray would turn 0-d into 1-d)
    if data.nbytes > MAX_ARRAY_BYTES:
        return {"__unserializable__": f"array of {data.nbytes} bytes"}
    return {
        "__ndarray__": base64.b64encode(data.tobytes()).decode("ascii"),
        "dtype": data.dtype.str,
        "shape": list(data.shape),
    }


def _encode_framework(value):
    """TensorFlow and Keras objects, recognised by class name so that this module never imports them."""
    cls = type(value)
    names = {c.__module__.split(".")[0] + "." + c.__name__ for c in cls.__mro__}
    try:
        if "keras.Model" in names or any(n.endswith(".Functional") or n.endswith(".Sequential") for n in names):
            from helpers import keras_graph

            return {"__keras__": keras_graph.model_graph(value)}
        if any(n.endswith(".KerasTensor") for n in names):
            return {"__keras_tensor__": [None if d is None else int(d) for d in value.shape], "dtype": str(value.dtype)}
        if any(n.endswith("TensorSpec") for n in names):
            shape = None if value.shape.rank is None else [None if d is None else int(d) for d in value.shape]
            return {"__tensorspec__": shape, "dtype": value.dtype.name, "name": value.name}
        if any(n.endswith("Variable") or n.endswith("ResourceVariable") for n in names) and hasattr(value, "numpy"):
            return {
                "__tf_variable__": _encode_array(np.asarray(value.numpy())),
                "name": str(getattr(value, "name", "")),
            }
        if hasattr(value, "numpy") and any("Tensor" in n for n in names):
            return {"__tf_tensor__": _encode_array(np.asarray(value.numpy()))}
    except Exception as exc:  # noqa: BLE001 - a student's object that misbehaves while being read
        return {"__unserializable__": f"{cls.__name__} ({type(exc).__name__})"}
    return {"__unserializable__": cls.__name__}


class Unserializable:
    """Stands for a value that could not leave the kernel as plain data; it equals nothing."""

    def __init__(self, what: str):
        self.what = what

    def __repr__(self) -> str:
        return f"<a {self.what} that cannot be checked>"

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


def keras_inputs(args, kwargs) -> list:
    """The KerasTensors among a call's arguments, in order (a block's symbolic inputs)."""
    found = []

    def visit(value):
        if isinstance(value, (list, tuple)):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item)
        elif any(c.__name__ == "KerasTensor" for c in type(value).__mro__):
            found.append(value)

    visit((args, kwargs))
    return found


def encode_result(result, args, kwargs):
    """Like :func:`encode`; a KerasTensor built from KerasTensor arguments travels as its layer graph."""
    if any(c.__name__ == "KerasTensor" for c in type(result).__mro__):
        inputs = keras_inputs(args, kwargs)
        if inputs:
            try:
                from helpers import keras_graph

                return {"__keras__": keras_graph.tensor_graph(result, inputs)}
            except Exception as exc:  # noqa: BLE001 - e.g. an output not connected to the inputs
                return {
                    "__unserializable__": f"Keras tensor whose layers cannot be read back "
                    f"({type(exc).__name__}: {str(exc)[:300]})"
                }
    return encode(result)


class Malformed(ValueError):
    """A message that does not describe a value (forged, truncated or too big)."""


_DTYPE_KINDS = "biufc"


def _decode_array(data: dict) -> np.ndarray:
    try:
        dtype = np.dtype(str(data["dtype"]))
        shape = tuple(int(n) for n in data["shape"])
        text = data["__ndarray__"]
    except (KeyError, TypeError, ValueError) as exc:
        raise Malformed(f"array description is malformed ({exc})") from None
    if dtype.kind not in _DTYPE_KINDS or dtype.hasobject or any(n < 0 for n in shape) or not isinstance(text, str):
        raise Malformed(f"array of dtype {dtype} and shape {shape} cannot be read")
    count = int(np.prod(shape, dtype=np.float64))
    if count * dtype.itemsize > MAX_ARRAY_BYTES or len(text) > 4 * MAX_ARRAY_BYTES // 3 + 4:
        raise Malformed(f"array of shape {shape} is larger than {MAX_ARRAY_BYTES:,} bytes")
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) != count * dtype.itemsize:
        raise Malformed(f"array of shape {shape} and dtype {dtype} carries {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(data, inputs: list | None = None, depth: int = 0):
    """The value ``data`` stands for; ``inputs`` are the KerasTensors a recorded block is applied to.

    Raises :class:`Malformed` for anything that is not a description :func:`encode` makes.
    """
    if depth > MAX_DEPTH:
        raise Malformed("nesting too deep")
    if isinstance(data, list):
        return [decode(v, depth=depth + 1) for v in data]
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict):
        raise Malformed(f"a {type(data).__name__} is not a value description")
    if "__ndarray__" in data:
        return _decode_array(data)
    if "__float__" in data:
        text = str(data["__float__"])
        if text not in ("inf", "-inf", "nan"):
            raise Malformed(f"{text!r} is not a special float")
        return float(text)
    if "__npscalar__" in data:
        value = decode(data["__npscalar__"], depth=depth + 1)
        if not isinstance(value, np.ndarray) or value.ndim != 0:
            raise Malformed("a numpy scalar must be a 0-d array")
        return value[()]
    if "__tuple__" in data:
        return tuple(decode(v, depth=depth + 1) for v in _list(data["__tuple__"]))
    if "__dict__" in data:
        pairs = _list(data["__dict__"])
        if not all(isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise Malformed("a dict must be a list of [str, value] pairs")
        return {k: decode(v, depth=depth + 1) for k, v in pairs}
    if "__tf_tensor__" in data:
        import tensorflow as tf

        return tf.constant(_decode_array(data["__tf_tensor__"]))
    if "__tf_variable__" in data:
        import tensorflow as tf

        return tf.Variable(_decode_array(data["__tf_variable__"]), name=_name(data.get("name")))
    if "__tensorspec__" in data:
        import tensorflow as tf

        shape = data["__tensorspec__"]
        if shape is not None:
            shape = [None if d is None else int(d) for d in _list(shape)]
        return tf.TensorSpec(shape=shape, dtype=tf.as_dtype(str(data["dtype"])), name=_name(data.get("name")))
    if "__keras_tensor__" in data:
        import keras

        shape = tuple(None if d is None else int(d) for d in _list(data["__keras_tensor__"]))
        return keras.Input(batch_shape=shape, dtype=str(data.get("dtype", "float32")))
    if "__keras__" in data:
        from helpers import keras_graph

        return keras_graph.rebuild(data["__keras__"], inputs)
    if "__unserializable__" in data:
        return Unserializable(str(data["__unserializable__"])[:200])
    raise Malformed("unknown value description")


def _list(value) -> list:
    if not isinstance(value, list):
        raise Malformed(f"expected a list, got {type(value).__name__}")
    return value


def _name(value) -> str | None:
    if value is None:
        return None
    text = str(value).split(":")[0][:100]
    return "".join(ch for ch in text if ch.isalnum() or ch in "_-.") or None
