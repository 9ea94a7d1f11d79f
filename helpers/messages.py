"""The one builder of what a student reads when a function fails a check.

Every failure message says, in this order: which function, on which input (shapes and settings),
what was expected, what came back and where they differ, and the pattern of the difference when one
stands out (whole examples of the batch wrong or zero, one channel, the border ring, a constant
factor, swapped axes, a shift). A crash names the student's own line and, for errors with a known
cause, why; framework internals (TensorFlow's node names, the exception name said twice) are left
out. The checks (:mod:`helpers.compare`, :mod:`helpers.calls`) and the grader's diagnosis
(:mod:`helpers.instructor.diagnosis`) build their sentences here, so that the wording is one and
every sentence goes through :func:`_` (:func:`helpers.i18n.gettext`, the message catalogue).

This module is in the student layer: a student's kernel imports it, it never imports the grader.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from helpers.i18n import gettext as _
from helpers.i18n import ngettext


def count(n: int, singular: str, plural: str | None = None) -> str:
    """'1 epoch', '2 epochs', '0 figures': a number with its noun in the right form (and language).

    ``singular`` and ``plural`` are English: they are translated here, as a pair (ngettext), so a caller
    never passes them through :func:`_` first (a translation has no English plural to look up).
    """
    return f"{n} {ngettext(singular, plural or singular + 's', n)}"


def number(value) -> str:
    """One value as a reader writes it: 0.87349991, True, 3 (not np.float32(0.87349991))."""
    item = np.asarray(value).item()
    return f"{item:.10g}" if isinstance(item, float) else repr(item)


# ------------------------------------------------------------------ which function, on which input


def subject(what: str, call: str = "") -> str:
    """'dA_prev of conv_backward(dZ of shape (10, 4, 4, 8), ...)', or ``what`` alone without a call."""
    return _("{what} of {call}").format(what=what, call=call) if call else what


# ------------------------------------------------------------------ a check's verdict


def all_passed() -> str:
    """What a visible check prints when every comparison held."""
    return _("All tests passed.")


def not_a_tuple(what: str, result, size: int) -> str:
    """'conv_forward must return a tuple of 2 values, got list.' (or '..., got tuple of length 3.')."""
    if isinstance(result, tuple):
        return _("{what} must return a tuple of {size} values, got tuple of length {length}.").format(
            what=what, size=size, length=len(result)
        )
    return _("{what} must return a tuple of {size} values, got {kind}.").format(
        what=what, size=size, kind=type(result).__name__
    )


# ------------------------------------------------------------------ a value that differs


def mismatch(
    what: str, got: np.ndarray, expected: np.ndarray, wrong: np.ndarray, *, call: str = "", concealed: bool = False
) -> str:
    """Two arrays of one shape differ where ``wrong`` is True: how many, the first place, the pattern."""
    index = tuple(int(i) for i in np.argwhere(wrong)[0])
    head = _("{subject}: {wrong} of {total} values differ; first at index {index}").format(
        subject=subject(what, call), wrong=int(wrong.sum()), total=expected.size, index=index
    )
    if concealed:
        text = head + _(", where you have {got}.").format(got=number(got[index]))
    else:
        text = head + _(": expected {expected}, got {got}.").format(
            expected=number(expected[index]), got=number(got[index])
        )
    found = _pattern_or_nothing(got, expected)
    return text + ("\n    " + pattern_line(found) if found else "")


def wrong_shape(what: str, got: np.ndarray, expected: np.ndarray, *, call: str = "") -> str:
    text = _("{subject}: expected shape {expected}, got shape {got}.").format(
        subject=subject(what, call), expected=expected.shape, got=got.shape
    )
    found = _pattern_or_nothing(got, expected)
    return text + ("\n    " + pattern_line(found) if found else "")


def scalar_mismatch(what: str, got: float, expected: float, *, call: str = "", concealed: bool = False) -> str:
    if concealed:
        text = _("{subject}: got {got:.10g}, which is not the expected value.")
    else:
        text = _("{subject}: expected {expected:.10g}, got {got:.10g}.")
    text = text.format(subject=subject(what, call), got=got, expected=expected)
    found = _pattern_or_nothing(np.float64(got), np.float64(expected))
    return text + ("\n    " + pattern_line(found) if found else "")


def pattern_line(found: str) -> str:
    """The line that shows the pattern of a difference (a check's own, or the grader's diagnosis)."""
    return _("What the error looks like: {pattern}").format(pattern=found)


def with_diagnosis(reason: str, diagnosis: str, named: bool) -> str:
    """A failed cell's message with the grader's diagnosis under it: a named mistake always; a pattern only
    where the check's message shows none (the same pattern twice says nothing more)."""
    if not diagnosis or (not named and pattern_line("") in reason):
        return reason
    return f"{reason}\n{diagnosis}"


def headline(ename: str, text: str) -> str:
    """A failure as shown under a cell: ``<name>: <text>``, the exception's name said once (a crash's
    text already says "raised <name>", and the text's own leading "<name>:" is not repeated)."""
    if not ename or _("raised {ename}").format(ename=ename) in text:
        return text
    return f"{ename}: {clean_error_text(ename, text)}"


# ------------------------------------------------------------------ a crash

# TensorFlow quotes its graph's node names and device in an error's text; none of it is the student's.
_FRAMEWORK_NOISE = (
    re.compile(r"\{\{function_node [^}]*\}\}\s*"),
    re.compile(r"\[Op:[^\]]*\]\s*(name:\s*\S*)?"),
    re.compile(r"\s*\[\[\{\{node [^}]*\}\}\]\]"),
    re.compile(r"/job:localhost/replica:\d+/task:\d+/device:\w+:\d+"),
)


def clean_error_text(ename: str, message: str) -> str:
    """An exception's message without framework internals and without its own name repeated in front."""
    text = str(message)
    for noise in _FRAMEWORK_NOISE:
        text = noise.sub("", text)
    text = text.strip()
    for _round in range(3):  # "InvalidArgumentError: InvalidArgumentError: ..." said once, or not at all
        stripped = re.sub(rf"^(\w+\.)*{re.escape(ename)}\s*:\s*", "", text) if ename else text
        if stripped == text:
            break
        text = stripped.strip()
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def crash(call: str, ename: str, message: str, where: list | None = None, cause: str = "") -> str:
    """'<call> raised <ename>: <message>', the student's line, and why (when the cause is known)."""
    message = clean_error_text(ename, message)
    text = _("{call} {raised}").format(call=call, raised=_("raised {ename}").format(ename=ename))
    text += f": {message}" if message else ""
    if where:
        function, line = where[-1]
        line = str(line).strip()
        text += (
            _("\n    in {function}: {line}").format(function=function, line=line)
            if line
            else _("\n    in {function}").format(function=function)
        )
    if cause:
        text += _("\n    Why: {cause}").format(cause=cause)
    return text


def unreadable(call: str, message: str) -> str:
    return _("what {call} returned cannot be checked: {message}").format(call=call, message=message)


def not_written(name: str) -> str:
    return _(
        "{name} is not written yet: write it between ### START CODE HERE ### and ### END CODE HERE ### "
        "in its cell, then run that cell."
    ).format(name=name)


def not_defined(name: str) -> str:
    return _("{name} is not defined: run the cell that defines it.").format(name=name)


# The first code line of every graded test cell. A test cell run before the set-up cell would otherwise
# stop at a bare "NameError: name 'check' is not defined"; the guard runs in the student's kernel before
# anything of the course is imported, so it is plain Python (tests keep the notebooks' copies equal to this).
SETUP_GUARD = 'assert "check" in dir(), "Run the set-up cell first (the first code cell), then this cell."'


def crash_on_one_input(function: str, ran: int, ename: str, trigger: list[str]) -> str:
    """A function that ran on ``ran`` inputs raises on one; ``trigger`` is what only the failing inputs have."""
    what = (
        _("only for inputs where {trigger}").format(trigger=", ".join(trigger)) if trigger else _("on one input only")
    )
    return _("{function} ran on {earlier} of this test and raises {ename} {what}.").format(
        function=function, earlier=count(ran, "earlier input", "earlier inputs"), ename=ename, what=what
    )


# ------------------------------------------------------------------ patterns of a difference


def scalar_pattern(got: float, expected: float) -> str:
    if not np.isfinite(got):
        return _("the result is {got} where a finite number was expected.").format(got=got)
    if expected != 0 and abs(got + expected) <= 1e-6 * abs(expected):
        return _("the result has the wrong sign.")
    if expected != 0 and got != 0:
        ratio = got / expected
        for k in (2, 3, 4, 0.5):
            if abs(ratio - k) < 1e-6:
                return _("the result is {k:g} times the expected one.").format(k=k)
    return ""


# Past this many values only the cheap patterns are looked for (each reordering of the axes is a copy).
_PATTERN_LIMIT = 1 << 20


def _pattern_or_nothing(got, expected) -> str:
    """:func:`pattern`, or '' if the values defeat it: a pattern adds to a message, it never replaces one."""
    try:
        return pattern(got, expected)
    except Exception:  # noqa: BLE001 - whatever a student's values are, the message stands without it
        return ""


def pattern(got: np.ndarray, expected: np.ndarray) -> str:
    """The shape of the difference between two arrays in one sentence, or '' where none stands out."""
    got, expected = np.asarray(got), np.asarray(expected)
    if got.dtype == bool or expected.dtype == bool:
        return _mask_pattern(got, expected)
    if got.dtype.kind not in "fiu" or expected.dtype.kind not in "fiu":
        return ""
    got, expected = got.astype(np.float64), expected.astype(np.float64)
    if got.shape != expected.shape:
        return _axes_pattern(got, expected)
    if got.shape == ():
        return scalar_pattern(float(got), float(expected))
    bad = ~np.isfinite(got)
    if bad.any():
        return _("{bad} of {total} values are NaN or infinite (a division by zero, or an overflow?).").format(
            bad=int(bad.sum()), total=got.size
        )
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    tol = 1e-6 * scale

    def close(a, b):
        return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol + 1e-6 * np.abs(b)))

    wrong = np.abs(got - expected) > tol + 1e-6 * np.abs(expected)
    if not wrong.any():
        return ""
    if not np.any(got):
        return _("every value is 0: nothing was written into the output.")
    batch = got.ndim == 4 and got.shape[0] > 1
    if batch:
        examples = sorted({int(i) for i in np.argwhere(wrong)[:, 0]})
        if len(examples) < got.shape[0] and all(not np.any(got[i]) for i in examples):
            return _(
                "examples {examples} of the batch (of {m}) are all 0; the other examples are right: "
                "does the loop over the examples stop early, or write into one example only?"
            ).format(examples=examples, m=got.shape[0])
    if np.all(got[wrong] == 0):
        return _("{wrong} of {total} values are 0 where values were expected; all other values are right.").format(
            wrong=int(wrong.sum()), total=got.size
        )
    if close(got, -expected):
        return _("every value has the wrong sign.")
    denominator = float(np.sum(expected * expected))
    if denominator > 0:
        k = float(np.sum(got * expected)) / denominator
        if abs(k - 1) > 1e-6 and close(got, k * expected):
            return _("every value is {k:.4g} times the expected one (a constant factor).").format(k=k)
    offset = got - expected
    if np.ptp(offset) <= tol and abs(float(offset.flat[0])) > tol:
        return _("every value is off by the same amount ({offset:.4g}): a constant offset.").format(
            offset=float(offset.flat[0])
        )
    if got.size > _PATTERN_LIMIT:
        return ""
    for perm in itertools.permutations(range(got.ndim)):
        if perm != tuple(range(got.ndim)) and close(np.transpose(got, perm), expected):
            moved = [k for k in range(got.ndim) if perm[k] != k]
            if len(moved) == 2:
                return _("the values are right but two axes are swapped: {first} and {second}.").format(
                    first=_axis_name(moved[0], got.ndim), second=_axis_name(moved[1], got.ndim)
                )
            return _(
                "the values are right but the axes are in the wrong order: np.transpose(yours, {perm}) "
                "is the expected array."
            ).format(perm=perm)
    spatial = (1, 2) if got.ndim == 4 else (0, 1) if got.ndim == 2 else ()
    for axis in spatial:
        shifted = _shift(got, expected, axis, close)
        if shifted:
            return shifted
    if len(spatial) == 2 and got.shape[spatial[0]] >= 3 and got.shape[spatial[1]] >= 3:
        ring = _ring(wrong.any(axis=tuple(a for a in range(got.ndim) if a not in spatial)))
        if ring:
            return ring
    if batch:
        examples = sorted({int(i) for i in np.argwhere(wrong)[:, 0]})
        if len(examples) < got.shape[0]:
            return _("only examples {examples} of the batch (of {m}) are wrong; the others are right.").format(
                examples=examples, m=got.shape[0]
            )
    if got.ndim == 4 and got.shape[-1] > 1:
        channels = sorted({int(i) for i in np.argwhere(wrong)[:, -1]})
        if len(channels) < got.shape[-1]:
            return _("only channels {channels} (of {n}) are wrong; the others are right.").format(
                channels=channels, n=got.shape[-1]
            )
    return ""


def _axis_name(axis: int, ndim: int) -> str:
    if ndim == 4:
        return (
            _("the examples (axis 0)"),
            _("the height (axis 1)"),
            _("the width (axis 2)"),
            _("the channels (axis 3)"),
        )[axis]
    return _("axis {axis}").format(axis=axis)


def _shift(got, expected, axis: int, close) -> str:
    n = got.shape[axis]
    label = (
        {1: _("height"), 2: _("width")}.get(axis, _("axis {axis}").format(axis=axis))
        if got.ndim == 4
        else _("axis {axis}").format(axis=axis)
    )
    for k in (1, 2, 3):
        if n <= k:
            break
        head, tail = [slice(None)] * got.ndim, [slice(None)] * got.ndim
        head[axis], tail[axis] = slice(0, n - k), slice(k, n)
        if close(got[tuple(head)], expected[tuple(tail)]):
            return _(
                "the output is shifted by {k} along the {label}: your value at {label} index i is the expected "
                "one at i + {k}."
            ).format(k=k, label=label)
        if close(got[tuple(tail)], expected[tuple(head)]):
            return _(
                "the output is shifted by {k} along the {label}: your value at {label} index i + {k} is the "
                "expected one at i."
            ).format(k=k, label=label)
    return ""


def _ring(grid: np.ndarray) -> str:
    """Wrong places (height x width) all in an outer ring, or all inside it."""
    h, w = grid.shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    depth = np.minimum(np.minimum(rows, h - 1 - rows), np.minimum(cols, w - 1 - cols))  # distance to the edge
    width = int(depth[grid].max()) + 1
    if 2 * width < min(h, w):
        return (
            _("only values on the border (the first and last row and column) are wrong; the interior is right.")
            if width == 1
            else _(
                "only values in the outer ring {width} wide (the border, where padding goes) are wrong; the "
                "interior is right."
            ).format(width=width)
        )
    if not grid[depth == 0].any():
        return _("only interior values are wrong; the border (first and last rows and columns) is right.")
    return ""


def _axes_pattern(got: np.ndarray, expected: np.ndarray) -> str:
    if sorted(got.shape) == sorted(expected.shape):
        for perm in itertools.permutations(range(got.ndim)):
            moved = np.transpose(got, perm)
            if moved.shape == expected.shape and np.allclose(moved, expected, rtol=1e-6, atol=1e-9):
                return _(
                    "the values are right but the axes are swapped: your shape {got}, expected {expected}."
                ).format(got=got.shape, expected=expected.shape)
        return _("your shape {got} has the right sizes in the wrong order (expected {expected}): swapped axes.").format(
            got=got.shape, expected=expected.shape
        )
    if got.ndim == expected.ndim:
        off = [(k, g - e) for k, (g, e) in enumerate(zip(got.shape, expected.shape)) if g != e]
        sizes = ", ".join(
            _("axis {k} has {n} {more}").format(k=k, n=abs(d), more=_("more") if d > 0 else _("fewer")) for k, d in off
        )
        return _("the output's size is wrong along {axes}: {sizes} than expected.").format(
            axes=count(len(off), "axis", "axes"), sizes=sizes
        )
    return ""


def _mask_pattern(got: np.ndarray, expected: np.ndarray) -> str:
    if got.shape != expected.shape or got.dtype != bool:
        return ""
    if got.all():
        return _("every entry is True: the comparison does not single out one entry.")
    if not got.any():
        return _("every entry is False.")
    if np.array_equal(got, ~expected):
        return _("the mask is inverted: True exactly where False was expected.")
    return ""
