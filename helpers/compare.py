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

from helpers import messages
from helpers.i18n import message


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
        return message("array of shape {shape}, dtype {dtype}", shape=value.shape, dtype=value.dtype)
    return f"{type(value).__name__} {value!r}"


def assert_scalar_close(
    name: str, got, expected: float, *, atol: float = 1e-8, rtol: float = 1e-7, call: str = ""
) -> None:
    """``got`` must be one real number (Python or numpy scalar, or a 0-d array) close to ``expected``.

    ``call`` says on which input (``calls.describe_call``); the message names it.
    """
    if isinstance(got, np.ndarray) and got.ndim == 0:
        got = got[()]
    what = messages.subject(name, call)
    if isinstance(got, np.ndarray):
        raise CheckFailure(
            message(
                "{what}: expected a single number, got an {value}. "
                "Turn a one-element array into a number, e.g. with .item() or np.squeeze().",
                what=what,
                value=_describe(got),
            )
        )
    if isinstance(got, bool) or not isinstance(got, (numbers.Real, np.floating, np.integer)):
        raise CheckFailure(message("{what}: expected a number, got {value}.", what=what, value=_describe(got)))
    got = float(got)
    if not np.isfinite(got) or abs(got - expected) > atol + rtol * abs(expected):
        raise CheckFailure(messages.scalar_mismatch(name, got, expected, call=call, concealed=_CONCEALED.get()))


def assert_array_close(
    name: str, got, expected, *, atol: float | None = None, rtol: float = 1e-7, call: str = ""
) -> None:
    """``got`` must be an ndarray of exactly ``expected``'s shape, numerically close everywhere.

    ``call`` says on which input (``calls.describe_call``); the message names it, with the pattern
    of the difference when one stands out (:func:`helpers.messages.pattern`).

    ``atol`` defaults to 1e-7 times the largest magnitude in ``expected`` (the
    scale of the answer), so tiny float reordering passes and real errors do not.
    Boolean expectations are compared exactly.
    """
    expected = np.asarray(expected)
    what = messages.subject(name, call)
    if not isinstance(got, np.ndarray):
        raise CheckFailure(
            message(
                "{what}: expected a numpy array of shape {shape}, got {value}.",
                what=what,
                shape=expected.shape,
                value=_describe(got),
            )
        )
    if got.shape != expected.shape:
        raise CheckFailure(messages.wrong_shape(name, got, expected, call=call))
    if expected.dtype == bool:
        if got.dtype != bool:
            raise CheckFailure(
                message("{what}: expected a boolean array, got dtype {dtype}.", what=what, dtype=got.dtype)
            )
        wrong = got != expected
    else:
        if got.dtype.kind not in "fiu":
            raise CheckFailure(
                message("{what}: expected a numeric array, got dtype {dtype}.", what=what, dtype=got.dtype)
            )
        scale = float(np.max(np.abs(expected))) if expected.size else 0.0
        tol = (1e-7 * max(scale, 1.0)) if atol is None else atol
        got_f = got.astype(np.float64)
        wrong = ~np.isfinite(got_f) | (np.abs(got_f - expected) > tol + rtol * np.abs(expected))
    if wrong.any():
        raise CheckFailure(messages.mismatch(name, got, expected, wrong, call=call, concealed=_CONCEALED.get()))


def assert_equal(name: str, got, expected) -> None:
    """Plain equality for small non-array values (shapes, dict keys, tuples of scalars)."""
    if got != expected:
        if _CONCEALED.get():
            raise CheckFailure(message("{name}: got {got!r}, which is not the expected value.", name=name, got=got))
        raise CheckFailure(
            message("{name}: expected {expected!r}, got {got!r}.", name=name, expected=expected, got=got)
        )


def assert_is(name: str, got, expected) -> None:
    """``got`` must be the very object ``expected`` (e.g. a cache keeping its inputs, not copies)."""
    if got is not expected:
        raise CheckFailure(
            message("{name}: expected the input object itself, got {value}.", name=name, value=_describe(got))
        )
