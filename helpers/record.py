"""What crosses from a student's kernel to the grader: function calls and results as plain data.

While grading, each test cell runs through :func:`run_test`: the graded functions it names are
wrapped so that every top-level call records a fingerprint of its arguments and its result, encoded
as JSON (arrays as base64 bytes with dtype and shape; Keras blocks and models as their layer graph,
see :mod:`helpers.keras_graph`; never pickle or code). A check can also mark a value computed from
the student's code as an observation (:func:`observed`: what a function did besides returning, such
as the minibatches ``model`` asked for, or a result computed inside a ``tf.function``). The records
leave the kernel as one display output of type ``application/vnd.course.record+json``. The grader
then runs the same test code again in its own process, where the student's functions are replaced by
players of these records and observations are read back from them
(:mod:`helpers.instructor.replay`): the verdict comes from trusted numpy, trusted Keras and trusted
checks, whatever the student's code patched inside the kernel.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import functools
import json
import math
import types

import numpy as np

MIME = "application/vnd.course.record+json"
_MAX_ARRAY_BYTES = 64 << 20

# Who answers observed() now: the kernel's recorder while a test cell runs under grading, the
# grader's playback while it replays one, nobody otherwise (the check then just computes).
_SESSION: contextvars.ContextVar = contextvars.ContextVar("course_record_session", default=None)

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
        return {"__npscalar__": encode(np.asarray(value)), }
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
    if data.nbytes > _MAX_ARRAY_BYTES:
        return {"__unserializable__": f"array of {data.nbytes} bytes"}
    return {"__ndarray__": base64.b64encode(data.tobytes()).decode("ascii"), "dtype": data.dtype.str,
            "shape": list(data.shape)}


def _encode_framework(value):
    """TensorFlow and Keras objects, recognised by class name so that this module never imports them."""
    cls = type(value)
    names = {c.__module__.split(".")[0] + "." + c.__name__ for c in cls.__mro__}
    try:
        if "keras.Model" in names or any(n.endswith(".Functional") or n.endswith(".Sequential") for n in names):
            from helpers import keras_graph

            return {"__keras__": keras_graph.describe_model(value)}
        if any(n.endswith(".KerasTensor") for n in names):
            return {"__keras_tensor__": [None if d is None else int(d) for d in value.shape],
                    "dtype": str(value.dtype)}
        if any(n.endswith("TensorSpec") for n in names):
            return {"__tensorspec__": [None if d is None else int(d) for d in value.shape],
                    "dtype": value.dtype.name, "name": value.name}
        if any(n.endswith("Variable") or n.endswith("ResourceVariable") for n in names) and hasattr(value, "numpy"):
            return {"__tf_variable__": _encode_array(np.asarray(value.numpy())), "name": str(getattr(value, "name", ""))}
        if hasattr(value, "numpy") and any("Tensor" in n for n in names):
            return {"__tf_tensor__": _encode_array(np.asarray(value.numpy()))}
    except Exception as exc:  # a student's object that misbehaves while being read
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

                return {"__keras__": keras_graph.describe_tensor(result, inputs)}
            except Exception as exc:  # noqa: BLE001 - e.g. an output not connected to the inputs
                return {"__unserializable__": f"Keras tensor whose layers cannot be read back "
                                              f"({type(exc).__name__}: {str(exc)[:300]})"}
    return encode(result)


def decode(data, inputs: list | None = None):
    """The value ``data`` stands for; ``inputs`` are the KerasTensors a recorded block is applied to."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__ndarray__" in data:
        return np.frombuffer(base64.b64decode(data["__ndarray__"]), dtype=np.dtype(data["dtype"])) \
            .reshape(tuple(data["shape"])).copy()
    if "__float__" in data:
        return float(data["__float__"])
    if "__npscalar__" in data:
        return decode(data["__npscalar__"])[()]
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {k: decode(v) for k, v in data["__dict__"]}
    if "__tf_tensor__" in data:
        import tensorflow as tf
        return tf.constant(decode(data["__tf_tensor__"]))
    if "__tf_variable__" in data:
        import tensorflow as tf
        return tf.Variable(decode(data["__tf_variable__"]))
    if "__tensorspec__" in data:
        import tensorflow as tf
        return tf.TensorSpec(shape=data["__tensorspec__"], dtype=tf.as_dtype(data["dtype"]), name=data["name"])
    if "__keras_tensor__" in data:
        import keras
        return keras.KerasTensor(shape=tuple(data["__keras_tensor__"]), dtype=data["dtype"])
    if "__keras__" in data:
        from helpers import keras_graph
        return keras_graph.rebuild(data["__keras__"], inputs)
    if "__unserializable__" in data:
        return Unserializable(str(data["__unserializable__"]))
    return Unserializable("unknown record")


# ------------------------------------------------------------------ fingerprints of arguments

_WEIGHTS: dict[int, np.ndarray] = {}


def fingerprint(value):
    """A small summary of an argument, compared with a tolerance (float results vary in the last bits)."""
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [fingerprint(v) for v in value]]
    if isinstance(value, dict):
        return ["dict", sorted([str(k), fingerprint(v)] for k, v in value.items())]
    if isinstance(value, (bool, str)) or value is None:
        return ["value", value]
    if isinstance(value, (int, float, np.integer, np.floating)):
        return ["number", float(value)]
    array = _as_array(value)
    if array is None:
        shape = getattr(value, "shape", None)
        return ["object", type(value).__name__, None if shape is None else [None if d is None else int(d) for d in shape]]
    flat = array.astype(np.float64, copy=False).ravel()
    if flat.size not in _WEIGHTS:
        _WEIGHTS[flat.size] = np.random.default_rng(flat.size).standard_normal(flat.size)
    return ["array", list(array.shape), float(flat.sum()), float(np.abs(flat).sum()),
            float(flat @ _WEIGHTS[flat.size])]


def _as_array(value):
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return value
    if hasattr(value, "numpy") and ("Tensor" in type(value).__name__ or "Variable" in type(value).__name__):
        try:
            array = np.asarray(value.numpy())
            return array if array.dtype.kind in "biuf" else None
        except Exception:
            return None
    return None


def same_fingerprint(a, b, rtol: float = 1e-4) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        if a and a[0] == "array" and b and b[0] == "array":
            if a[1] != b[1]:
                return False
            scale = max(1.0, abs(a[3]), abs(b[3]))
            return all(abs(x - y) <= rtol * scale for x, y in zip(a[2:], b[2:]))
        return all(same_fingerprint(x, y, rtol) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= rtol * max(1.0, abs(a), abs(b))
    return a == b


# ------------------------------------------------------------------ the kernel side


class _Recorder:
    def __init__(self):
        self.calls: list[dict] = []
        self.depth = 0

    def run(self, entry: dict, compute):
        """``compute()`` one level down (the calls inside are not recorded); an error it raises is recorded."""
        self.depth += 1
        try:
            return compute()
        except BaseException as exc:
            entry["raised"] = type(exc).__name__
            entry["message"] = str(exc)[:2000]
            self.calls.append(entry)
            raise
        finally:
            self.depth -= 1

    def observe(self, label: str, compute):
        if self.depth:
            return compute()
        entry = {"observe": label}
        value = self.run(entry, compute)
        entry["result"] = encode(value)
        self.calls.append(entry)
        return value

    def wrap(self, name: str, function):
        """A recording stand-in for ``function`` that shares its globals.

        Checks that swap the helpers a function calls do it through ``function.__globals__``; the
        stand-in is rebuilt on the student's globals so that this keeps working, and therefore it
        looks up nothing global itself: everything it needs comes through its closure.
        """
        recorder, fingerprint_, encode_, encode_result_, ndarray = self, fingerprint, encode, encode_result, np.ndarray

        def recorded(*args, **kwargs):
            if recorder.depth:
                return function(*args, **kwargs)
            entry = {"function": name, "args": fingerprint_([list(args), dict(kwargs)])}
            result = recorder.run(entry, lambda: function(*args, **kwargs))
            entry["result"] = encode_result_(result, args, kwargs)
            entry["args_after"] = [encode_(a) if type(a) is ndarray else None for a in args]
            recorder.calls.append(entry)
            return result

        globals_ = getattr(function, "__globals__", None)
        if isinstance(globals_, dict):
            recorded = types.FunctionType(recorded.__code__, globals_, name, None, recorded.__closure__)
        return functools.update_wrapper(recorded, function)


def observed(label: str, compute):
    """``compute()``, a value made by the student's code; under grading it is recorded as plain data.

    In the kernel the value is computed and recorded under ``label``; when the grader replays the
    test, the recorded value is returned instead (``compute`` is not called). Outside grading this is
    just ``compute()``.
    """
    session = _SESSION.get()
    return compute() if session is None else session.observe(label, compute)


@contextlib.contextmanager
def session(answerer):
    """While inside, :func:`observed` asks ``answerer.observe(label, compute)``."""
    token = _SESSION.set(answerer)
    try:
        yield answerer
    finally:
        _SESSION.reset(token)


def run_test(grade_id: str, names: tuple[str, ...], source: str, namespace: dict) -> None:
    """Run one test cell's code in the notebook's namespace, recording calls to the graded ``names``."""
    recorder = _Recorder()
    originals = {n: namespace[n] for n in names if callable(namespace.get(n))}
    for name, function in originals.items():
        namespace[name] = recorder.wrap(name, function)
    try:
        with session(recorder):
            exec(compile(source, f"<test {grade_id}>", "exec"), namespace)
    finally:
        for name, function in originals.items():
            namespace[name] = function
        _emit({"grade_id": grade_id, "calls": recorder.calls})


def _emit(payload: dict) -> None:
    from IPython.display import display

    display({MIME: json.loads(json.dumps(payload)), "text/plain": f"[{len(payload['calls'])} call(s) recorded]"},
            raw=True)
