"""Checks for ``cnn_step_by_step``.

Each visible check rebuilds the course's example inputs (``np.random.seed(1)`` then
the draws in the course's order), calls the student's function and compares every
output with the reference stored in ``helpers/reference/cnn_step_by_step.npz``.
That file is produced by running the source solutions (``course refs``), never typed
in; it reproduces the course's published values.

The other inputs the hidden tests use are answered the same way: ``course refs`` runs
every test cell of the source notebook with the solutions and stores, per function,
a table from a digest of the inputs to the reference output (:data:`TABLES`). Nothing
here computes a convolution or a pooling itself.

A function is checked on its own: while it runs, the graded functions it calls
(``zero_pad``, ``conv_single_step``, ``create_mask_from_window``,
``distribute_value``) answer from those tables, so a mistake costs the points of one
function only. A call the tables do not know (a student's own way of slicing, say)
goes to the student's function.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import json
import sys
from functools import cache
from typing import Callable

import numpy as np

from helpers.checks import REFERENCE_DIR, load_references, swapped_globals
from helpers.compare import CheckFailure, assert_array_close, assert_equal, assert_scalar_close

ASSIGNMENT = "cnn_step_by_step"
REFERENCE_FILE = REFERENCE_DIR / f"{ASSIGNMENT}.npz"


# ---------------------------------------------------------------- example inputs
# Each case draws its inputs exactly as the course's notebook does, so the outputs
# can be compared with the course's "Expected output" tables.

def case_zero_pad():
    np.random.seed(1)
    return {"X": np.random.randn(4, 3, 3, 2), "pad": 2}


def case_conv_single_step():
    np.random.seed(1)
    a = np.random.randn(4, 4, 3)
    W = np.random.randn(4, 4, 3)
    b = np.random.randn(1, 1, 1)
    return {"a_slice_prev": a, "W": W, "b": b}


def case_conv_forward():
    np.random.seed(1)
    A_prev = np.random.randn(10, 4, 4, 3)
    W = np.random.randn(2, 2, 3, 8)
    b = np.random.randn(1, 1, 1, 8)
    return {"A_prev": A_prev, "W": W, "b": b, "hparameters": {"pad": 2, "stride": 2}}


def case_pool_forward():
    np.random.seed(1)
    return {"A_prev": np.random.randn(2, 4, 4, 3), "hparameters": {"f": 3, "stride": 2}}


def case_create_mask_from_window():
    np.random.seed(1)
    return {"x": np.random.randn(2, 3)}


def case_distribute_value():
    return {"dz": 2, "shape": (2, 2)}


def case_pool_backward():
    np.random.seed(1)
    A_prev = np.random.randn(5, 5, 3, 2)
    hparameters = {"stride": 1, "f": 2}
    dA = np.random.randn(5, 4, 2, 2)
    return {"A_prev": A_prev, "hparameters": hparameters, "dA": dA}


# ------------------------------------------------------ tables of reference outputs

# table -> the solution function that fills it while `course refs` records
TABLES = ("zero_pad", "conv_single_step", "create_mask_from_window", "distribute_value",
          "conv_forward", "pool_forward", "conv_backward", "pool_backward")

DEPENDENCIES = {
    "conv_forward": ("zero_pad", "conv_single_step"),
    "conv_backward": ("zero_pad",),
    "pool_backward": ("create_mask_from_window", "distribute_value"),
}

_recording: dict | None = None  # while `course refs` runs: {"solutions": ..., "tables": {table: {digest: value}}}


def _canonical(value, out: list) -> None:
    if isinstance(value, dict):
        out.append(b"{")
        for key in sorted(value, key=str):
            out.append(str(key).encode() + b":")
            _canonical(value[key], out)
        out.append(b"}")
    elif isinstance(value, (list, tuple)) and not all(isinstance(v, (int, np.integer)) for v in value):
        out.append(b"[")
        for item in value:
            _canonical(item, out)
        out.append(b"]")
    elif isinstance(value, str):
        out.append(b"s" + value.encode())
    else:
        array = np.asarray(value, dtype=np.float64)
        if array.size == 1:  # b as (1, 1, 1) or as a number: the same input
            array = array.reshape(())
        out.append(repr(array.shape).encode() + array.tobytes())


def digest(*inputs) -> str:
    parts: list = []
    for value in inputs:
        _canonical(value, parts)
        parts.append(b"|")
    return hashlib.sha256(b"".join(parts)).hexdigest()[:32]


@cache
def _load_tables() -> dict[str, dict[str, object]]:
    refs = load_references(ASSIGNMENT)
    tables: dict[str, dict[str, object]] = {}
    for table in TABLES:
        index = json.loads(str(refs[f"table/{table}/index"]))
        flat = refs[f"table/{table}/values"]
        entries = {}
        for key, parts, is_tuple in index:
            values = [flat[start:start + int(np.prod(shape, dtype=np.int64))].reshape(shape).astype(dtype)
                      for start, shape, dtype in parts]
            entries[key] = tuple(values) if is_tuple else values[0]
        tables[table] = entries
    return tables


def _pack(tables: dict[str, dict[str, object]]) -> dict[str, np.ndarray]:
    packed = {}
    for table in TABLES:
        index, chunks, start = [], [], 0
        for key, value in sorted(tables.get(table, {}).items()):
            values = value if isinstance(value, tuple) else (value,)
            parts = []
            for item in values:
                array = np.asarray(item)
                parts.append([start, list(array.shape), array.dtype.str])
                chunks.append(array.astype(np.float64).ravel())
                start += array.size
            index.append([key, parts, isinstance(value, tuple)])
        packed[f"table/{table}/index"] = np.asarray(json.dumps(index))
        packed[f"table/{table}/values"] = np.concatenate(chunks) if chunks else np.zeros(0)
    return packed


def _copy(value):
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    array = np.array(value)
    return array[()] if array.ndim == 0 else array


def answer(table: str, *inputs, fallback: Callable | None = None):
    """The reference output of ``table`` (a graded function) for these inputs.

    While ``course refs`` records, the solution computes it and it is stored. Otherwise it is read
    from the stored table; for inputs the table does not know, ``fallback`` is called, or, without
    one, the check cannot go on (the references are older than the tests).
    """
    key = digest(*inputs)
    if _recording is not None:
        tables = _recording["tables"].setdefault(table, {})
        if key not in tables:
            output = _recording["solutions"][table](*inputs)
            tables[key] = _copy(output[0] if table in ("conv_forward", "pool_forward") else output)
        return _copy(tables[key])
    stored = _load_tables()[table]
    if key in stored:
        return _copy(stored[key])
    if fallback is not None:
        return fallback(*inputs)
    raise CheckFailure(f"no stored reference of {table} for these inputs: the references are out of date; "
                       "run `course refs cnn_step_by_step`.")


def _stand_in(name: str, own: Callable | None) -> Callable:
    def stand_in(*args):
        return answer(name, *args, fallback=own)

    stand_in.__name__ = name
    return stand_in


def table_dependencies(function: Callable):
    """While inside, the graded functions ``function`` calls by name answer from the tables."""
    namespace = getattr(inspect.unwrap(function), "__globals__", {})
    name = inspect.unwrap(function).__name__
    return swapped_globals(function, {dep: _stand_in(dep, namespace.get(dep)) for dep in DEPENDENCIES.get(name, ())})


def call_isolated(function: Callable, *args, **kwargs):
    with table_dependencies(function):
        return function(*args, **kwargs)


# --------------------------------------------------------------- references

def reference(key: str) -> np.ndarray:
    if _recording is not None:
        return _recording["refs"][key]
    return load_references(ASSIGNMENT)[key]


def compute_references(solutions: dict[str, Callable], test_sources: list[str] = ()) -> dict[str, np.ndarray]:
    """Run the reference solutions on the example inputs, then every test cell (``test_sources``,
    hidden tests included) to fill the tables; the result is what the npz stores."""
    global _recording
    refs = {}
    c = case_zero_pad()
    refs["zero_pad/x_pad"] = solutions["zero_pad"](c["X"], c["pad"])
    c = case_conv_single_step()
    refs["conv_single_step/Z"] = np.asarray(float(solutions["conv_single_step"](**c)))
    c = case_conv_forward()
    Z, _ = solutions["conv_forward"](**c)
    refs["conv_forward/Z"] = Z
    for mode in ("max", "average"):
        c = case_pool_forward()
        refs[f"pool_forward/{mode}/A"] = solutions["pool_forward"](c["A_prev"], c["hparameters"], mode=mode)[0]
    c = case_conv_forward()
    dA, dW, db = solutions["conv_backward"](Z, (c["A_prev"], c["W"], c["b"], c["hparameters"]))
    refs["conv_backward/dA_prev"], refs["conv_backward/dW"], refs["conv_backward/db"] = dA, dW, db
    refs["create_mask_from_window/mask"] = solutions["create_mask_from_window"](**case_create_mask_from_window())
    refs["distribute_value/a"] = solutions["distribute_value"](**case_distribute_value())
    for mode in ("max", "average"):
        c = case_pool_backward()
        refs[f"pool_backward/{mode}/dA_prev"] = solutions["pool_backward"](
            c["dA"], (c["A_prev"], c["hparameters"]), mode=mode)
    refs = {key: np.asarray(value) for key, value in refs.items()}
    _recording = {"solutions": dict(solutions), "tables": {}, "refs": refs}  # a copy: checks swap names in theirs
    try:
        for code in test_sources:
            namespace = {"np": np, "check": sys.modules[__name__], **solutions}
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, "<test cell>", "exec"), namespace)
        tables = _recording["tables"]
    finally:
        _recording = None
    refs.update(_pack(tables))
    return refs


def output_size(n_prev: int, f: int, stride: int, pad: int = 0) -> int:
    return (n_prev + 2 * pad - f) // stride + 1


# ------------------------------------------------------------ visible checks

def _same_input(name, got, expected):
    """A cache entry must hold the input it was given (the same values; a copy is fine)."""
    if isinstance(expected, dict):
        assert_equal(name, got, expected)
    else:
        assert_array_close(name, got, expected, atol=0, rtol=0)


def _passed():
    print("All tests passed.")


def _unpack(name: str, result, count: int):
    if not isinstance(result, tuple) or len(result) != count:
        raise CheckFailure(f"{name} must return a tuple of {count} values, got {type(result).__name__}"
                           + (f" of length {len(result)}" if isinstance(result, tuple) else "") + ".")
    return result


def zero_pad(zero_pad):
    c = case_zero_pad()
    X_before = c["X"].copy()
    x_pad = zero_pad(c["X"], c["pad"])
    assert_array_close("zero_pad(x, 2)", x_pad, reference("zero_pad/x_pad"), atol=0)
    assert_array_close("x (the input must not be modified)", c["X"], X_before, atol=0)
    _passed()


def conv_single_step(conv_single_step):
    c = case_conv_single_step()
    Z = conv_single_step(**c)
    assert_scalar_close("conv_single_step(a_slice_prev, W, b)", Z, float(reference("conv_single_step/Z")))
    _passed()


def conv_forward(conv_forward):
    c = case_conv_forward()
    result = _unpack("conv_forward", call_isolated(conv_forward, **c), 2)
    Z, cache_conv = result
    assert_array_close("Z", Z, reference("conv_forward/Z"))
    cache_conv = _unpack("the cache of conv_forward", cache_conv, 4)
    for k, (name, got, expected) in enumerate(zip(("A_prev", "W", "b", "hparameters"), cache_conv,
                                                  (c["A_prev"], c["W"], c["b"], c["hparameters"]))):
        _same_input(f"cache[{k}] ({name})", got, expected)
    _passed()


def pool_forward(pool_forward, mode="max"):
    c = case_pool_forward()
    result = _unpack(f"pool_forward(mode={mode!r})", pool_forward(c["A_prev"], c["hparameters"], mode=mode), 2)
    A, cache_pool = result
    assert_array_close(f"A (mode={mode!r})", A, reference(f"pool_forward/{mode}/A"))
    cache_pool = _unpack("the cache of pool_forward", cache_pool, 2)
    _same_input("cache[0] (A_prev)", cache_pool[0], c["A_prev"])
    _same_input("cache[1] (hparameters)", cache_pool[1], c["hparameters"])
    _passed()


def conv_backward(conv_backward):
    c = case_conv_forward()
    cache_conv = (c["A_prev"], c["W"], c["b"], c["hparameters"])
    dZ = reference("conv_forward/Z")
    grads = _unpack("conv_backward", call_isolated(conv_backward, dZ, cache_conv), 3)
    for name, got in zip(("dA_prev", "dW", "db"), grads):
        assert_array_close(name, got, reference(f"conv_backward/{name}"))
    _passed()


def create_mask_from_window(create_mask_from_window):
    c = case_create_mask_from_window()
    mask = create_mask_from_window(**c)
    assert_array_close("mask", mask, reference("create_mask_from_window/mask"))
    _passed()


def distribute_value(distribute_value):
    a = distribute_value(**case_distribute_value())
    assert_array_close("distribute_value(2, (2, 2))", a, reference("distribute_value/a"))
    _passed()


def pool_backward(pool_backward, mode="max"):
    c = case_pool_backward()
    dA_prev = call_isolated(pool_backward, c["dA"], (c["A_prev"], c["hparameters"]), mode=mode)
    assert_array_close(f"dA_prev (mode={mode!r})", dA_prev, reference(f"pool_backward/{mode}/dA_prev"))
    _passed()


# ------------------------------------------------- checks on other inputs (hidden tests use these)

def conv_forward_matches_oracle(conv_forward, A_prev, W, b, hparameters):
    """Student's conv_forward equals the reference output for these inputs."""
    Z, _ = _unpack("conv_forward", call_isolated(conv_forward, A_prev, W, b, hparameters), 2)
    assert_array_close(f"Z for A_prev {A_prev.shape}, W {W.shape}, {hparameters}", Z,
                       answer("conv_forward", A_prev, W, b, hparameters))


def pool_forward_matches_oracle(pool_forward, A_prev, hparameters, mode):
    A, _ = _unpack("pool_forward", pool_forward(A_prev, hparameters, mode=mode), 2)
    assert_array_close(f"A for A_prev {A_prev.shape}, {hparameters}, mode={mode!r}", A,
                       answer("pool_forward", A_prev, hparameters, mode))


def conv_backward_gradcheck(conv_backward, A_prev, W, b, hparameters, seed=0):
    """dA_prev, dW, db equal the reference gradients for a random dZ (tests verify those numerically)."""
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    dZ = np.random.default_rng(seed).standard_normal(
        (m, output_size(n_H_prev, f, stride, pad), output_size(n_W_prev, f, stride, pad), W.shape[-1]))
    grads = _unpack("conv_backward", call_isolated(conv_backward, dZ, (A_prev, W, b, hparameters)), 3)
    expected = answer("conv_backward", dZ, (A_prev, W, b, hparameters))
    for name, got, want in zip(("dA_prev", "dW", "db"), grads, expected):
        assert_array_close(f"{name} for A_prev {A_prev.shape}, W {W.shape}, {hparameters}", got, want)


def pool_backward_gradcheck(pool_backward, A_prev, hparameters, mode, seed=0):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    dA = np.random.default_rng(seed).standard_normal(
        (m, output_size(n_H_prev, f, stride), output_size(n_W_prev, f, stride), n_C))
    dA_prev = call_isolated(pool_backward, dA, (A_prev, hparameters), mode=mode)
    assert_array_close(f"dA_prev for A_prev {A_prev.shape}, {hparameters}, mode={mode!r}", dA_prev,
                       answer("pool_backward", dA, (A_prev, hparameters), mode))
