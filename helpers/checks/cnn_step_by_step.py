"""Checks for ``cnn_step_by_step``.

Each visible check rebuilds the course's example inputs (``np.random.seed(1)`` then
the draws in the course's order), calls the student's function and compares every
output with the reference stored in ``helpers/reference/cnn_step_by_step.npz``.
That file is produced by running the source solutions
(``course refs``), never typed in; it reproduces the course's published values.

A function is checked on its own: while it runs, the functions it calls
(``zero_pad``, ``conv_single_step``, ``create_mask_from_window``,
``distribute_value``) are replaced by trusted versions built on
:mod:`helpers.vectorized`, so a mistake costs the points of one function only.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np

from helpers import vectorized
from helpers.checks import REFERENCE_DIR, load_references, swapped_globals
from helpers.compare import CheckFailure, assert_array_close, assert_equal, assert_scalar_close
from helpers.gradcheck import check_gradients

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


# ------------------------------------------------------ trusted dependencies

def _trusted_zero_pad(X, pad):
    return vectorized.pad_spatial(np.asarray(X), pad)


def _trusted_conv_single_step(a_slice_prev, W, b):
    out = vectorized.conv_forward(a_slice_prev[None], W[..., None], np.reshape(b, (1, 1, 1, 1)),
                                  {"stride": 1, "pad": 0})
    return out.item()


def _trusted_mask(x):
    x = np.asarray(x)
    return x == x.max()


def _trusted_distribute(dz, shape):
    return np.full(shape, dz / (shape[0] * shape[1]), dtype=np.float64)


TRUSTED = {
    "zero_pad": _trusted_zero_pad,
    "conv_single_step": _trusted_conv_single_step,
    "create_mask_from_window": _trusted_mask,
    "distribute_value": _trusted_distribute,
}

DEPENDENCIES = {
    "conv_forward": ("zero_pad", "conv_single_step"),
    "conv_backward": ("zero_pad",),
    "pool_backward": ("create_mask_from_window", "distribute_value"),
}


def trusted_dependencies(function: Callable):
    """While inside, the helpers ``function`` calls by name are the trusted versions."""
    name = inspect.unwrap(function).__name__
    return swapped_globals(function, {dep: TRUSTED[dep] for dep in DEPENDENCIES.get(name, ())})


def call_isolated(function: Callable, *args, **kwargs):
    with trusted_dependencies(function):
        return function(*args, **kwargs)


# --------------------------------------------------------------- references

def reference(key: str) -> np.ndarray:
    return load_references(ASSIGNMENT)[key]


def compute_references(solutions: dict[str, Callable]) -> dict[str, np.ndarray]:
    """Run the reference solutions on the example inputs; the result is what the npz stores."""
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
    return {key: np.asarray(value) for key, value in refs.items()}


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


# ------------------------------------------------- checks on any inputs (hidden tests use these)

def conv_forward_matches_oracle(conv_forward, A_prev, W, b, hparameters):
    """Student's conv_forward equals the vectorized one on these inputs."""
    Z, _ = _unpack("conv_forward", call_isolated(conv_forward, A_prev, W, b, hparameters), 2)
    assert_array_close(f"Z for A_prev {A_prev.shape}, W {W.shape}, {hparameters}", Z,
                       vectorized.conv_forward(A_prev, W, b, hparameters))


def pool_forward_matches_oracle(pool_forward, A_prev, hparameters, mode):
    A, _ = _unpack("pool_forward", pool_forward(A_prev, hparameters, mode=mode), 2)
    assert_array_close(f"A for A_prev {A_prev.shape}, {hparameters}, mode={mode!r}", A,
                       vectorized.pool_forward(A_prev, hparameters, mode))


def conv_backward_gradcheck(conv_backward, A_prev, W, b, hparameters, seed=0, verbose=False):
    """dA_prev, dW, db agree with central differences of the (trusted) forward pass."""
    Z = vectorized.conv_forward(A_prev, W, b, hparameters)
    dZ = np.random.default_rng(seed).standard_normal(Z.shape)
    grads = _unpack("conv_backward", call_isolated(conv_backward, dZ, (A_prev, W, b, hparameters)), 3)
    check_gradients(f"conv_backward with {hparameters}",
                    lambda A_prev, W, b: vectorized.conv_forward(A_prev, W, b, hparameters),
                    {"A_prev": A_prev, "W": W, "b": b}, dict(zip(("A_prev", "W", "b"), grads)), dZ,
                    verbose=verbose)


def pool_backward_gradcheck(pool_backward, A_prev, hparameters, mode, seed=0, verbose=False):
    A = vectorized.pool_forward(A_prev, hparameters, mode)
    dA = np.random.default_rng(seed).standard_normal(A.shape)
    dA_prev = call_isolated(pool_backward, dA, (A_prev, hparameters), mode=mode)
    check_gradients(f"pool_backward with {hparameters}, mode={mode!r}",
                    lambda A_prev: vectorized.pool_forward(A_prev, hparameters, mode),
                    {"A_prev": A_prev}, {"A_prev": dA_prev}, dA, verbose=verbose)
