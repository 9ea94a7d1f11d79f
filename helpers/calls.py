"""Calling a graded function the way the checks call it, in a notebook and under grading.

Checks never call a student's function directly; they call :func:`call`::

    outcome = calls.call(conv_forward, A_prev, W, b, hparameters)
    Z, cache = outcome.value()          # the result, or the student's error raised as FunctionError

In a student's own notebook ``conv_forward`` is the student's function and it runs right here.
Under grading the check runs in the grader's process and ``conv_forward`` is a proxy
(:mod:`helpers.instructor.judge`): the arguments travel to the kernel as data, the kernel runs
:func:`serve`, which calls the student's function through the same :func:`run` as below, and the
outcome travels back as data. Either way, while the function runs:

* **the graded functions it depends on are replaced**, so one mistake costs one function. Under
  grading each is a stand-in that asks the grader for exactly that call: the grader runs the source
  solution on those arguments and sends back its result (it answers only the dependencies of the
  function being checked, and only while that call runs). In a notebook, where no grader is at hand,
  the student's own functions are used, and a failing check says so.
* a check may ask for a **harness** of its assignment's check module (``HARNESSES``): stand-ins
  that are not the answer (``model`` trains a linear classifier; ``ResNet50`` gets one layer per
  block call), a call inside a ``tf.function``, or a second call after changing the first result.
  A harness may also report **observations**, what the function did besides returning (the seeds
  ``model`` gave ``random_mini_batches``, the variables it trained).

Nothing here knows an answer: the kernel only ever runs the student's code on given inputs.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import re
import socket
import struct
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers import messages, wire
from helpers.i18n import N_, gettext, message

__tracebackhide__ = True  # IPython leaves this module's frames out of a student's traceback


class FunctionError(Exception):
    """The student's function raised an error; the message names it and the student's line."""

    def __init__(self, message: str, ename: str = "Exception", not_written: bool = False):
        super().__init__(message)
        self.ename = ename
        self.not_written = not_written


@dataclass
class Outcome:
    """What one call of a graded function did."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    result: Any = None
    error: dict | None = None  # {"ename", "message", "where": [[function, line text], ...]}
    observations: dict = field(default_factory=dict)

    @property
    def raised(self) -> bool:
        return self.error is not None

    def value(self, description: str | None = None):
        """The result, or :class:`FunctionError` saying what the student's function raised and where."""
        if self.error is not None:
            raise student_error(self.name, self.error, description)
        return self.result


def describe_call(name: str, args: tuple, kwargs: dict, parameters: list[str] | None = None) -> str:
    """``conv_forward(A_prev of shape (2, 5, 7, 3), ..., hparameters={'stride': 1, 'pad': 0})``."""
    parts = []
    for k, value in enumerate(args):
        label = parameters[k] if parameters and k < len(parameters) else None
        parts.append(_describe_argument(label, value))
    parts += [_describe_argument(key, value) for key, value in kwargs.items()]
    return f"{name}({', '.join(parts)})"


def _describe_argument(label: str | None, value, depth: int = 0) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (int, float)):
        try:
            dims = tuple(None if d is None else int(d) for d in shape)
        except TypeError:
            dims = shape
        if label:
            return message("{label} of shape {shape}", label=label, shape=dims)
        return message("an array of shape {shape}", shape=dims)
    if isinstance(value, (tuple, list)) and depth == 0 and 0 < len(value) <= 5:
        inner = ", ".join(_describe_argument(None, item, 1) for item in value)
        text = f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
        return f"{label}={text}" if label else text
    text = repr(value)
    if len(text) > 60:
        text = message("a {kind}", kind=type(value).__name__)
    return f"{label}={text}" if label else text


def parameter_names(function) -> list[str] | None:
    try:
        return [
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return None


def student_error(name: str, error: dict, description: str | None = None) -> FunctionError:
    ename = str(error.get("ename", "Exception"))
    message = str(error.get("message", ""))
    if ename == "NotImplementedError" and not message:
        return FunctionError(messages.not_written(name), ename, not_written=True)
    if ename == "NameError" and error.get("undefined_function"):
        return FunctionError(messages.not_defined(name), ename)
    call = description or name
    if error.get("unreadable"):
        return FunctionError(messages.unreadable(call, message), ename)
    where = [w for w in error.get("where") or [] if isinstance(w, list) and len(w) == 2]
    return FunctionError(messages.crash(call, ename, message, where, known_cause(ename, message)), ename)


# Errors whose message names the symptom but not the cause a student needs: (exception name, pattern, cause).
# numpy 2 says "only 0-dimensional arrays ..."; numpy 1 said "only length-1 / size-1 arrays ...".
_KNOWN_CAUSES = (
    (
        "TypeError",
        re.compile(r"only (0-dimensional|length-1|size-1) arrays can be converted to Python scalars"),
        N_(
            "float() or int() was given a numpy array that still has dimensions, such as a bias of shape "
            "(1, 1, 1), a slice like b[:, :, :, c], or Z + b (adding an array gives an array). Under numpy 2 "
            "they convert only an array of shape (), even when the array holds a single value. Take the value "
            "out first: b.item(), b[0, 0, 0] or np.squeeze(b)."
        ),
    ),
)


def known_cause(ename: str, message: str) -> str:
    """What usually causes this error, in a student's terms; '' when it is not one of the known ones."""
    for name, pattern, cause in _KNOWN_CAUSES:
        if ename == name and pattern.search(message):
            return gettext(cause)
    return ""


# ------------------------------------------------------------------ the one way checks call a function


def call(function: Callable, *args, harness: str | None = None, **kwargs) -> Outcome:
    """Call a graded function as the checks do.

    ``harness`` is ``"<assignment>:<name>"``, one of ``helpers.checks.<assignment>.HARNESSES``.
    """
    remote = getattr(function, "__course_call__", None)
    if remote is not None:  # a proxy of the grader: the call happens in the student's kernel
        return remote(args, kwargs, harness)
    return run(function, args, kwargs, harness=harness)


def run(
    function: Callable,
    args: tuple,
    kwargs: dict,
    harness: str | None = None,
    ask: Callable | None = None,
    depends_on: tuple[str, ...] = (),
) -> Outcome:
    """Run ``function(*args, **kwargs)`` under ``harness``; ``ask(name, args, kwargs)`` answers dependencies."""
    name = getattr(function, "__name__", "the function")
    replacements: dict[str, Callable] = {}
    if ask is not None:
        for dependency in depends_on:
            replacements[dependency] = _asking_stand_in(dependency, ask)
    procedure, observe = None, None
    if harness:
        assignment, _, key = str(harness).partition(":")
        factory = getattr(_check_module(assignment), "HARNESSES", {}).get(key)
        if factory is None:
            raise ValueError(f"no harness {key!r} in helpers.checks.{assignment}")
        made = factory()
        replacements.update(made.get("replace", {}))
        procedure, observe = made.get("call"), made.get("observe")
    outcome = Outcome(name=name, args=tuple(args), kwargs=dict(kwargs))
    try:
        with swapped_globals(function, replacements):
            if procedure is not None:
                outcome.result = procedure(function, *args, **kwargs)
            else:
                outcome.result = function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the student's error is part of the outcome
        outcome.error = describe_error(exc)
    if observe is not None:
        try:
            outcome.observations = observe()
        except Exception as exc:  # noqa: BLE001
            outcome.observations = {"error": f"{type(exc).__name__}: {exc}"}
    return outcome


def _check_module(assignment: str):
    if assignment not in ("cnn_step_by_step", "cnn_application", "residual_networks"):
        raise ValueError(f"no check module for {assignment!r}")
    return importlib.import_module(f"helpers.checks.{assignment}")


def describe_error(exc: BaseException) -> dict:
    """An error as data: its type, message and the student's own frames (not the course's)."""
    where = []
    for frame in traceback.extract_tb(exc.__traceback__):
        filename = frame.filename or ""
        if os.sep + "helpers" + os.sep in filename or "site-packages" in filename or "/lib/python" in filename:
            continue
        where.append([frame.name, frame.line or ""])
    message = _ANSI.sub("", str(exc)).strip()
    # TensorFlow and Keras quote their own frames and arguments in the message: keep the student's part.
    lines = [
        line
        for line in message.splitlines()
        if not any(mark in line for mark in (os.sep + "helpers" + os.sep, "site-packages", "ag__."))
    ]
    message = "\n".join(lines).split("\nArguments received by")[0].strip()
    return {"ename": type(exc).__name__, "message": message[:2000], "where": where[-3:]}


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@contextlib.contextmanager
def swapped_globals(function: Callable, replacements: dict[str, Callable]):
    """While inside, the names in ``replacements`` mean the given objects for ``function``'s code."""
    namespace = getattr(inspect.unwrap(function), "__globals__", None)
    if not isinstance(namespace, dict) or not replacements:
        yield
        return
    missing = object()
    saved = {name: namespace.get(name, missing) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def _asking_stand_in(name: str, ask: Callable) -> Callable:
    def stand_in(*args, **kwargs):
        return ask(name, args, kwargs)

    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


# ------------------------------------------------------------------ the kernel's side, under grading


def serve_file(path: str) -> None:
    """:func:`serve` for a request the grader wrote to a file (a large one: IPython reads a cell's code slowly)."""
    with open(path, encoding="utf-8") as handle:
        request_text = handle.read()
    serve(request_text)


def serve(request_text: str) -> None:
    """Run one call the grader asks for, in the notebook's namespace; display the outcome as data."""
    # IPython is there in a kernel, the only place that serves; the grader imports this module too.
    from IPython import get_ipython
    from IPython.display import display

    request = json.loads(request_text)
    name = request["function"]
    shell = get_ipython()
    namespace = shell.user_ns if shell is not None else {}
    function = namespace.get(name)
    link = _GraderLink(request["callback"]) if request.get("callback") else None
    args, kwargs = [], {}
    try:
        if not callable(function):
            outcome = Outcome(
                name=name,
                error={"ename": "NameError", "message": f"name {name!r} is not defined", "undefined_function": True},
            )
        else:
            args = wire.decode(request["args"])
            kwargs = wire.decode(request["kwargs"])
            outcome = run(
                function,
                tuple(args),
                dict(kwargs),
                harness=request.get("harness"),
                ask=link.ask if link else None,
                depends_on=tuple(request.get("depends_on") or ()),
            )
        if outcome.error is None:
            encoded = wire.encode_result(outcome.result, args, kwargs)
        else:
            encoded = None
        message = {"result": encoded, "error": outcome.error, "observations": wire.encode(outcome.observations)}
    finally:
        if link is not None:
            link.close()
    display({wire.MIME: message, "text/plain": f"[outcome of {name}]"}, raw=True)


class _GraderLink:
    """The stand-ins' line to the grader: length-prefixed JSON over the Unix socket it named."""

    def __init__(self, path: str):
        self.path = path
        self.sock: socket.socket | None = None

    def ask(self, name: str, args: tuple, kwargs: dict):
        if self.sock is None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(self.path)
        payload = json.dumps(
            {"function": name, "args": wire.encode(list(args)), "kwargs": wire.encode(dict(kwargs))}
        ).encode()
        self.sock.sendall(struct.pack("!I", len(payload)) + payload)
        reply = json.loads(_receive(self.sock))
        if reply.get("error"):
            error = reply["error"]
            raise _EXCEPTIONS.get(error.get("ename"), RuntimeError)(error.get("message", ""))
        return wire.decode(reply["result"])

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


_EXCEPTIONS = {
    cls.__name__: cls
    for cls in (TypeError, ValueError, IndexError, KeyError, AttributeError, ZeroDivisionError, NotImplementedError)
}


def _receive(sock: socket.socket, limit: int = 96 << 20) -> bytes:
    header = _exactly(sock, 4)
    (size,) = struct.unpack("!I", header)
    if size > limit:
        raise ValueError(f"message of {size} bytes is larger than {limit}")
    return _exactly(sock, size)


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
