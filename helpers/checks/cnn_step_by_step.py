"""Checks for ``cnn_step_by_step``.

Each visible check rebuilds the course's example inputs (``np.random.seed(1)`` then the draws in
the course's order), calls the student's function and compares every output with the expected one:
in a notebook, the course's published example outputs (``helpers/reference/cnn_step_by_step.npz``,
recorded from the source solutions by ``course refs``); under grading, the source solutions run in
the grader on the same inputs. The hidden tests' other inputs are judged only in the grader, and
their values (not their shapes and settings) are drawn afresh for each notebook it grades
(:func:`helpers.checks.hidden_rng`, which the hidden tests and the functions below use).

A function is checked on its own: under grading, the graded functions it calls (``zero_pad``,
``conv_single_step``, ``create_mask_from_window``, ``distribute_value``) are stand-ins that ask the
grader for the reference output of each call (see :mod:`helpers.calls`), so a mistake costs the
points of one function only. Nothing here computes a convolution or a pooling itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers import calls, messages
from helpers.calls import describe_call
from helpers.checks import REFERENCE_DIR, expected_call, hidden_rng, reference_solutions, stored_reference
from helpers.compare import CheckFailure, assert_array_close, assert_equal, assert_scalar_close
from helpers.i18n import message

__tracebackhide__ = True

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


# ------------------------------------------------------ what is checked with what

# While a function is checked, the graded functions it calls are replaced (see helpers.calls):
# under grading each asks the grader for the reference output of exactly that call.
DEPENDENCIES = {
    "conv_forward": ("zero_pad", "conv_single_step"),
    "conv_backward": ("zero_pad",),
    "pool_backward": ("create_mask_from_window", "distribute_value"),
}

# What each returned value is called, for diagnoses ("dW: every value is 2 times the expected one").
OUTPUT_NAMES = {
    "conv_forward": ("Z", "cache"),
    "pool_forward": ("A", "cache"),
    "conv_backward": ("dA_prev", "dW", "db"),
}


def _probes_conv(backward: bool):
    rng = hidden_rng(101)
    found = []
    for shape, f, n_C, stride, pad in [
        ((2, 5, 7, 3), 3, 4, 1, 0),
        ((1, 7, 5, 2), 3, 2, 2, 1),
        ((2, 6, 6, 1), 2, 3, 3, 2),
    ]:
        A_prev, W = rng.standard_normal(shape), rng.standard_normal((f, f, shape[-1], n_C))
        b, hparameters = rng.standard_normal((1, 1, 1, n_C)), {"stride": stride, "pad": pad}
        if backward:
            dZ = rng.standard_normal(
                (shape[0], output_size(shape[1], f, stride, pad), output_size(shape[2], f, stride, pad), n_C)
            )
            found.append(((dZ, (A_prev, W, b, hparameters)), {}))
        else:
            found.append(((A_prev, W, b, hparameters), {}))
    return found


def _probes_pool(backward: bool):
    rng = hidden_rng(102)
    found = []
    for shape, f, stride in [((2, 5, 7, 2), 2, 1), ((1, 7, 6, 2), 3, 2), ((1, 6, 6, 1), 2, 3)]:
        A_prev, hparameters = rng.standard_normal(shape), {"f": f, "stride": stride}
        for mode in ("max", "average"):
            if backward:
                dA = rng.standard_normal(
                    (shape[0], output_size(shape[1], f, stride), output_size(shape[2], f, stride), shape[-1])
                )
                found.append(((dA, (A_prev, hparameters)), {"mode": mode}))
            else:
                found.append(((A_prev, hparameters), {"mode": mode}))
    return found


# More inputs for the diagnosis (helpers.instructor.diagnosis): where catalogue entries match a failed
# cell's calls, the grader asks the student's function for these too, to tell the entries apart.
DIAGNOSIS_PROBES = {
    "zero_pad": lambda: [
        ((hidden_rng(103).standard_normal(s), p), {})
        for s, p in [((2, 3, 5, 2), 1), ((1, 4, 2, 3), 2), ((2, 3, 3, 1), 0)]
    ],
    "conv_single_step": lambda: [
        ((r.standard_normal(s), r.standard_normal(s), r.standard_normal((1, 1, 1))), {})
        for r in [hidden_rng(104)]
        for s in [(3, 3, 2), (2, 2, 1)]
    ],
    "conv_forward": lambda: _probes_conv(False),
    "conv_backward": lambda: _probes_conv(True),
    "pool_forward": lambda: _probes_pool(False),
    "pool_backward": lambda: _probes_pool(True),
    "create_mask_from_window": lambda: [((hidden_rng(105).standard_normal(s),), {}) for s in [(3, 3), (2, 4)]],
    "distribute_value": lambda: [((dz, s), {}) for dz, s in [(-1.5, (2, 4)), (3.0, (3, 3)), (0.25, (1, 1))]],
}

_MAX_VALUES = 1 << 22

# The functions the grader computes for a stand-in, with their parameters and what each must be. The
# arguments come from a student's code: the grader computes nothing outside this contract, so the work
# of any one request is bounded by _MAX_VALUES (and requests are answered one at a time).
SERVED = {
    "zero_pad": ("X", "pad"),
    "conv_single_step": ("a_slice_prev", "W", "b"),
    "create_mask_from_window": ("x",),
    "distribute_value": ("dz", "shape"),
}


def _real_array(value, name: str, ndim: int | None = None, lang: str | None = None) -> str:
    if type(value) is not np.ndarray or value.dtype.kind not in "biuf":
        return message(
            "{name} must be a numpy array of numbers, not {type}", lang, name=name, type=type(value).__name__
        )
    if ndim is not None and value.ndim != ndim:
        return message("{name} must have {ndim} dimensions, not {got}", lang, name=name, ndim=ndim, got=value.ndim)
    if value.size > _MAX_VALUES:
        return message("{name} has {count:,} values, too many", lang, name=name, count=value.size)
    return ""


def _describe(value, lang: str | None = None) -> str:
    if isinstance(value, np.ndarray):
        return message("an array of shape {shape}", lang, shape=value.shape)
    return message("a {type}", lang, type=type(value).__name__)


def _small_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def dependency_call_allowed(name: str, args: tuple, kwargs: dict, lang: str | None = None) -> str:
    """'' when the grader may compute ``name`` on these arguments for a stand-in, else why not, in ``lang``
    (the student's language: the judge's socket thread passes it, see judge.ReferenceServer)."""
    params = SERVED.get(name)
    if params is None:
        return message("the grader does not compute this function", lang)
    if len(args) > len(params) or set(kwargs) - set(params[len(args) :]):
        return message("takes ({parameters}) only", lang, parameters=", ".join(params))
    given = dict(zip(params, args), **kwargs)
    if set(given) != set(params):
        return message("needs all of ({parameters})", lang, parameters=", ".join(params))
    if name == "zero_pad":
        X, pad = given["X"], given["pad"]
        if not _small_int(pad) or not 0 <= int(pad) <= 1024:
            return message("pad={pad!r} is not a small non-negative integer", lang, pad=pad)
        why = _real_array(X, "X", 4, lang)
        if why:
            return why
        m, h, w, c = X.shape
        too_large = m * (h + 2 * pad) * (w + 2 * pad) * c > _MAX_VALUES
        return message("the padded array would be too large", lang) if too_large else ""
    if name == "conv_single_step":
        b = given["b"]
        why = _real_array(given["a_slice_prev"], "a_slice_prev", lang=lang) or _real_array(given["W"], "W", lang=lang)
        if why:
            return why
        if not isinstance(b, (np.ndarray, np.number)) or np.size(b) != 1:  # what the docstring says b is
            return message(
                "b must be a numpy array of shape (1, 1, 1), as the docstring says, not {got}",
                lang,
                got=_describe(b, lang),
            )
        try:
            shape = np.broadcast_shapes(given["a_slice_prev"].shape, given["W"].shape, np.shape(b))
        except ValueError:
            return ""  # the solution raises numpy's own error, as the student's function would
        too_large = int(np.prod(shape, dtype=np.float64)) > _MAX_VALUES
        return message("a_slice_prev * W would be too large", lang) if too_large else ""
    if name == "create_mask_from_window":
        return _real_array(given["x"], "x", 2, lang)
    dz, shape = given["dz"], given["shape"]
    if not (
        isinstance(dz, (int, float, np.number))
        and not isinstance(dz, bool)
        or type(dz) is np.ndarray
        and dz.size == 1
        and dz.dtype.kind in "biuf"
    ):
        return message("dz must be a number, not {type}", lang, type=type(dz).__name__)
    if not isinstance(shape, (tuple, list)) or len(shape) != 2 or not all(_small_int(n) and n >= 0 for n in shape):
        return message("shape must be a pair of non-negative integers, not {shape!r}", lang, shape=shape)
    if shape[0] * shape[1] > _MAX_VALUES:
        return message("a window of shape {shape} is too large", lang, shape=tuple(shape))
    return ""


def reference(key: str) -> np.ndarray:
    return stored_reference(ASSIGNMENT, key)


def _value(outcome, parameters=None):
    """The result of a call, or the student's error, named with the call's inputs."""
    return outcome.value(describe_call(outcome.name, outcome.args, outcome.kwargs, parameters))


def _call(function: Callable, *args, **kwargs):
    """Call as the grader does. Where the source solutions can be read (stock nbgrader, an instructor's
    or a self-learner's checkout), the dependencies answer from them here too; in a student's own
    kernel without them, the student's own functions are used."""
    name = getattr(function, "__name__", "")
    found = None if hasattr(function, "__course_call__") else reference_solutions(ASSIGNMENT)
    if found is not None and DEPENDENCIES.get(name):
        outcome = calls.run(
            function, args, kwargs, ask=lambda dep, a, k: found.call(dep, *a, **k), depends_on=DEPENDENCIES[name]
        )
    else:
        outcome = calls.call(function, *args, **kwargs)
    return _value(outcome, _PARAMETERS.get(name))


_PARAMETERS = {
    "zero_pad": ["X", "pad"],
    "conv_single_step": ["a_slice_prev", "W", "b"],
    "conv_forward": ["A_prev", "W", "b", "hparameters"],
    "pool_forward": ["A_prev", "hparameters", "mode"],
    "conv_backward": ["dZ", "cache"],
    "create_mask_from_window": ["x"],
    "distribute_value": ["dz", "shape"],
    "pool_backward": ["dA", "cache", "mode"],
}


def compute_references(solutions: dict[str, Callable]) -> dict[str, np.ndarray]:
    """Run the reference solutions on the course's examples; the result is what the npz stores."""
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
            c["dA"], (c["A_prev"], c["hparameters"]), mode=mode
        )
    return {key: np.asarray(value) for key, value in refs.items()}


def output_size(n_prev: int, f: int, stride: int, pad: int = 0) -> int:
    return (n_prev + 2 * pad - f) // stride + 1


# ------------------------------------------------------------ visible checks


def _same_input(name, got, expected):
    """A cache entry must hold the input it was given (the same values; a copy is fine)."""
    if isinstance(expected, dict):
        assert_equal(name, got, expected)
    else:
        assert_array_close(name, got, expected, atol=0, rtol=0)


def _inputs(name: str, *args, **kwargs) -> str:
    """The call a failure message names: ``conv_backward(dZ of shape (10, 4, 4, 8), cache=(...))``."""
    return describe_call(name, args, kwargs, _PARAMETERS.get(name))


def _passed():
    print(messages.all_passed())


def _unpack(name: str, result, count: int):
    if not isinstance(result, tuple) or len(result) != count:
        raise CheckFailure(messages.not_a_tuple(name, result, count))
    return result


def zero_pad(zero_pad):
    c = case_zero_pad()
    X_before = c["X"].copy()
    x_pad = _call(zero_pad, c["X"], c["pad"])
    assert_array_close("x_pad", x_pad, reference("zero_pad/x_pad"), atol=0, call=_inputs("zero_pad", c["X"], c["pad"]))
    assert_array_close(message("x (the input must not be modified)"), c["X"], X_before, atol=0)
    _passed()


def conv_single_step(conv_single_step):
    c = case_conv_single_step()
    Z = _call(conv_single_step, **c)
    assert_scalar_close("Z", Z, float(reference("conv_single_step/Z")), call=_inputs("conv_single_step", **c))
    _passed()


def conv_forward(conv_forward):
    c = case_conv_forward()
    result = _unpack("conv_forward", _call(conv_forward, **c), 2)
    Z, cache_conv = result
    assert_array_close("Z", Z, reference("conv_forward/Z"), call=_inputs("conv_forward", **c))
    cache_conv = _unpack(message("the cache of {function}", function="conv_forward"), cache_conv, 4)
    for k, (name, got, expected) in enumerate(
        zip(("A_prev", "W", "b", "hparameters"), cache_conv, (c["A_prev"], c["W"], c["b"], c["hparameters"]))
    ):
        _same_input(f"cache[{k}] ({name})", got, expected)
    _passed()


def pool_forward(pool_forward, mode="max"):
    c = case_pool_forward()
    result = _unpack(f"pool_forward(mode={mode!r})", _call(pool_forward, c["A_prev"], c["hparameters"], mode=mode), 2)
    A, cache_pool = result
    assert_array_close(
        "A",
        A,
        reference(f"pool_forward/{mode}/A"),
        call=_inputs("pool_forward", c["A_prev"], c["hparameters"], mode=mode),
    )
    cache_pool = _unpack(message("the cache of {function}", function="pool_forward"), cache_pool, 2)
    _same_input("cache[0] (A_prev)", cache_pool[0], c["A_prev"])
    _same_input("cache[1] (hparameters)", cache_pool[1], c["hparameters"])
    _passed()


def conv_backward(conv_backward):
    c = case_conv_forward()
    cache_conv = (c["A_prev"], c["W"], c["b"], c["hparameters"])
    dZ = reference("conv_forward/Z")
    grads = _unpack("conv_backward", _call(conv_backward, dZ, cache_conv), 3)
    for name, got in zip(("dA_prev", "dW", "db"), grads):
        assert_array_close(name, got, reference(f"conv_backward/{name}"), call=_inputs("conv_backward", dZ, cache_conv))
    _passed()


def create_mask_from_window(create_mask_from_window):
    c = case_create_mask_from_window()
    mask = _call(create_mask_from_window, **c)
    assert_array_close(
        "mask", mask, reference("create_mask_from_window/mask"), call=_inputs("create_mask_from_window", **c)
    )
    _passed()


def distribute_value(distribute_value):
    c = case_distribute_value()
    a = _call(distribute_value, **c)
    assert_array_close("a", a, reference("distribute_value/a"), call=_inputs("distribute_value", **c))
    _passed()


def pool_backward(pool_backward, mode="max"):
    c = case_pool_backward()
    dA_prev = _call(pool_backward, c["dA"], (c["A_prev"], c["hparameters"]), mode=mode)
    assert_array_close(
        "dA_prev",
        dA_prev,
        reference(f"pool_backward/{mode}/dA_prev"),
        call=_inputs("pool_backward", c["dA"], (c["A_prev"], c["hparameters"]), mode=mode),
    )
    _passed()


# ------------------------------------------------- checks on other inputs (hidden tests use these)


def conv_forward_matches_oracle(conv_forward, A_prev, W, b, hparameters):
    """Student's conv_forward equals the reference output for these inputs."""
    Z, _ = _unpack("conv_forward", _call(conv_forward, A_prev, W, b, hparameters), 2)
    assert_array_close(
        "Z",
        Z,
        expected_call(ASSIGNMENT, "conv_forward", A_prev, W, b, hparameters)[0],
        call=_inputs("conv_forward", A_prev, W, b, hparameters),
    )


def pool_forward_matches_oracle(pool_forward, A_prev, hparameters, mode):
    A, _ = _unpack("pool_forward", _call(pool_forward, A_prev, hparameters, mode=mode), 2)
    assert_array_close(
        "A",
        A,
        expected_call(ASSIGNMENT, "pool_forward", A_prev, hparameters, mode=mode)[0],
        call=_inputs("pool_forward", A_prev, hparameters, mode=mode),
    )


def conv_backward_gradcheck(conv_backward, A_prev, W, b, hparameters, seed=0):
    """dA_prev, dW, db equal the reference gradients for a random dZ (tests verify those numerically)."""
    m, n_H_prev, n_W_prev, _ = A_prev.shape
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    dZ = hidden_rng(seed).standard_normal(
        (m, output_size(n_H_prev, f, stride, pad), output_size(n_W_prev, f, stride, pad), W.shape[-1])
    )
    grads = _unpack("conv_backward", _call(conv_backward, dZ, (A_prev, W, b, hparameters)), 3)
    expected = expected_call(ASSIGNMENT, "conv_backward", dZ, (A_prev, W, b, hparameters))
    for name, got, want in zip(("dA_prev", "dW", "db"), grads, expected):
        assert_array_close(name, got, want, call=_inputs("conv_backward", dZ, (A_prev, W, b, hparameters)))


def pool_backward_gradcheck(pool_backward, A_prev, hparameters, mode, seed=0):
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    f, stride = hparameters["f"], hparameters["stride"]
    dA = hidden_rng(seed).standard_normal((m, output_size(n_H_prev, f, stride), output_size(n_W_prev, f, stride), n_C))
    dA_prev = _call(pool_backward, dA, (A_prev, hparameters), mode=mode)
    assert_array_close(
        "dA_prev",
        dA_prev,
        expected_call(ASSIGNMENT, "pool_backward", dA, (A_prev, hparameters), mode=mode),
        call=_inputs("pool_backward", dA, (A_prev, hparameters), mode=mode),
    )
