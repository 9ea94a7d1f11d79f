"""The one comparator used by every check: strict shapes, one precise diagnostic.

Unlike ``np.allclose`` it never broadcasts: a (3, 1) answer does not pass for a
(3,) expectation. On failure it raises :class:`CheckFailure` naming the output,
what was expected, what came back and the first index that differs.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers

import numpy as np


class CheckFailure(AssertionError):
    """A check found a wrong answer; the message says what and where."""


_CONCEALED = contextvars.ContextVar("course_concealed", default=False)


def concealing() -> bool:
    """True inside :func:`concealed`: a message must not name the expected value."""
    return _CONCEALED.get()


@contextlib.contextmanager
def concealed():
    """Inside, failure messages name what came back and where, never the expected value (hidden tests)."""
    token = _CONCEALED.set(True)
    try:
        yield
    finally:
        _CONCEALED.reset(token)


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}"


def assert_scalar_close(name: str, got, expected: float, *, atol: float = 1e-8, rtol: float = 1e-7) -> None:
    """``got`` must be one real number (Python or numpy scalar, or a 0-d array) close to ``expected``."""
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    if isinstance(got, np.ndarray):
        raise CheckFailure(
            f"{name}: expected a single number, got an {_describe(got)}. "
            "Turn a one-element array into a number, e.g. with .item() or np.squeeze()."
        )
    if isinstance(got, bool) or not isinstance(got, (numbers.Real, np.floating, np.integer)):
        raise CheckFailure(f"{name}: expected a number, got {_describe(got)}.")
    got = float(got)
    if not np.isfinite(got) or abs(got - expected) > atol + rtol * abs(expected):
        if _CONCEALED.get():
            raise CheckFailure(f"{name}: got {got:.10g}, which is not the expected value.")
        raise CheckFailure(f"{name}: expected {expected:.10g}, got {got:.10g}.")


def assert_array_close(name: str, got, expected, *, atol: float | None = None, rtol: float = 1e-7) -> None:
    """``got`` must be an ndarray of exactly ``expected``'s shape, numerically close everywhere.

    ``atol`` defaults to 1e-7 times the largest magnitude in ``expected`` (the
    scale of the answer), so tiny float reordering passes and real errors do not.
    Boolean expectations are compared exactly.
    """
    expected = np.asarray(expected)
    if not isinstance(got, np.ndarray):
        raise CheckFailure(f"{name}: expected a numpy array of shape {expected.shape}, got {_describe(got)}.")
    if got.shape != expected.shape:
        raise CheckFailure(f"{name}: expected shape {expected.shape}, got shape {got.shape}.")
    if expected.dtype == bool:
        if got.dtype != bool:
            raise CheckFailure(f"{name}: expected a boolean array, got dtype {got.dtype}.")
        wrong = got != expected
    else:
        if got.dtype.kind not in "fiu":
            raise CheckFailure(f"{name}: expected a numeric array, got dtype {got.dtype}.")
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        tol = (1e-7 * max(scale, 1.0)) if atol is None else atol
        got_f = got.astype(np.float64)
        wrong = ~np.isfinite(got_f) | (np.abs(got_f - expected) > tol + rtol * np.abs(expected))
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        count = int(wrong.sum())
        if _CONCEALED.get():
            raise CheckFailure(f"{name}: {count} of {expected.size} values differ; first at index {index}, "
                               f"where you have {_scalar(got[index])}.")
        raise CheckFailure(
            f"{name}: {count} of {expected.size} values differ; first at index {index}: "
            f"expected {_scalar(expected[index])}, got {_scalar(got[index])}."
        )


def _scalar(value) -> str:
    """One array element as a reader writes it: 0.87349991, True, 3 (not np.float32(0.87349991))."""
    item = np.asarray(value).item()
    return f"{item:.10g}" if isinstance(item, float) else repr(item)


def assert_equal(name: str, got, expected) -> None:
    """Plain equality for small non-array values (shapes, dict keys, tuples of scalars)."""
    if got != expected:
        if _CONCEALED.get():
            raise CheckFailure(f"{name}: got {got!r}, which is not the expected value.")
        raise CheckFailure(f"{name}: expected {expected!r}, got {got!r}.")


def assert_is(name: str, got, expected) -> None:
    """``got`` must be the very object ``expected`` (e.g. a cache keeping its inputs, not copies)."""
    if got is not expected:
        raise CheckFailure(f"{name}: expected the input object itself, got {_describe(got)}.")
