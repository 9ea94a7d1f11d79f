"""Student self-checks, one module per assignment, and where their expected values come from.

A notebook imports its module as ``check`` and calls e.g. ``check.conv_forward(conv_forward)``:
it prints "All tests passed." or raises :class:`helpers.compare.CheckFailure` with one precise
diagnostic.

The same check code runs in two places, with two sources of expected values:

* in a student's notebook, the visible checks compare with the course's published examples,
  stored in ``helpers/reference/<assignment>.npz`` (``course refs`` records them by running the
  source solutions; they are the values of the notebook's "Expected output" tables);
* under grading, the whole test cell (hidden tests included) runs in the grader's process, where
  :func:`using_solutions` makes the source solutions available: every expected value, for the
  examples and for every hidden input, is computed there, on fresh copies, every time.

Nothing a student's kernel can read answers a hidden test: the package holds the published examples
only, and the hidden tests' inputs and expected values exist only in the grader.

Hidden tests draw their inputs from :func:`hidden_rng`: under grading from a seed the grader draws
afresh for each notebook it grades (:func:`using_run_seed`), so the values a student's function
received, or a stand-in answered, in one round of feedback answer nothing in the next; elsewhere (an
instructor running ``source/``, ``course refs``) from the fixed stream number alone.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import os
import traceback
from functools import cache
from pathlib import Path

import numpy as np

from helpers import messages
from helpers.calls import FunctionError
from helpers.compare import CheckFailure
from helpers.i18n import message
from helpers.paths import course_root
from helpers.solutions import check_module, solution_namespace, source_path

__tracebackhide__ = True

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"

_SOLUTIONS: contextvars.ContextVar = contextvars.ContextVar("course_solutions", default=None)
_RUN_SEED: contextvars.ContextVar = contextvars.ContextVar("course_run_seed", default=None)


class Solutions:
    """The source notebook's solutions, in the grader's process: expected values computed on demand."""

    def __init__(self, assignment: str, namespace: dict):
        self.assignment = assignment
        self.namespace = namespace
        self.memo: dict = {}  # what a check module computes once from the solutions
        self._stored: dict | None = None

    def function(self, name: str):
        return self.namespace[name]

    def call(self, name: str, *args, **kwargs):
        """The reference output of ``name`` on copies of the arguments (the caller's stay untouched)."""
        result = self.namespace[name](*copy.deepcopy(args), **copy.deepcopy(kwargs))
        return _fresh(result)

    def stored(self) -> dict[str, np.ndarray]:
        """What ``course refs`` stores, computed here from the solutions (once per grading process)."""
        if self._stored is None:
            self._stored = check_module(self.assignment).compute_references(self.namespace)
        return self._stored


def _fresh(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def solutions() -> Solutions | None:
    """The grader's solutions while a test cell is judged; None in a student's notebook."""
    return _SOLUTIONS.get()


@cache
def _instructor_solutions(assignment: str) -> Solutions | None:
    """The source notebook's solutions, where its file can be read: an instructor running ``source/``.

    A grading kernel cannot read ``source/`` (the sandbox hides it), and a released notebook has no
    hidden tests that would ask.
    """
    root = course_root()
    path = source_path(assignment, root)
    try:
        if not path.is_file() or not os.access(path, os.R_OK):
            return None
        return Solutions(assignment, solution_namespace(assignment, root))
    except Exception:  # noqa: BLE001 - no readable source: the hidden checks cannot run here
        return None


@contextlib.contextmanager
def using_solutions(found: Solutions):
    token = _SOLUTIONS.set(found)
    try:
        yield found
    finally:
        _SOLUTIONS.reset(token)


def new_run_seed() -> int:
    """A seed for the hidden inputs of one grading run, from the operating system's randomness."""
    return int.from_bytes(os.urandom(8), "big")


@contextlib.contextmanager
def using_run_seed(seed: int | None):
    """While inside, :func:`hidden_rng` draws from ``seed`` (the grader's, never sent to a kernel)."""
    token = _RUN_SEED.set(seed)
    try:
        yield seed
    finally:
        _RUN_SEED.reset(token)


def hidden_seed(stream: int) -> int:
    """The seed of a hidden test's input stream ``stream``: mixed with the run's seed under grading, else
    ``stream`` itself. What a test covers (shapes, strides, modes) never depends on it, only the values."""
    run = _RUN_SEED.get()
    if run is None:
        return stream
    return int(np.random.SeedSequence([run, stream]).generate_state(1, np.uint64)[0] >> 1)


def hidden_rng(stream: int) -> np.random.Generator:
    """The generator a hidden test draws its inputs from: ``np.random.default_rng(stream)`` outside grading,
    a generator seeded by this grading run and ``stream`` under grading (see :func:`hidden_seed`)."""
    return np.random.default_rng(hidden_seed(stream))


def reference_solutions(assignment: str) -> Solutions | None:
    """The solutions that give hidden tests their expected values: the grader's, or an instructor's source."""
    found = solutions()
    return found if found is not None else _instructor_solutions(assignment)


def expected_call(assignment: str, name: str, *args, **kwargs):
    """The reference output of graded function ``name`` for these inputs (under grading, or in ``source/``)."""
    found = reference_solutions(assignment)
    if found is None:
        raise CheckFailure(
            message(
                "the expected output of {name} for these inputs is known only when the notebook is graded "
                "(course check, or your instructor's grader).",
                name=name,
            )
        )
    return found.call(name, *args, **kwargs)


@cache
def load_references(assignment: str) -> dict[str, np.ndarray]:
    """``helpers/reference/<assignment>.npz``: the course's published examples."""
    path = REFERENCE_DIR / f"{assignment}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the course package is incomplete; reinstall it.")
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


def stored_reference(assignment: str, key: str) -> np.ndarray:
    """An example's expected value: computed from the solutions under grading, else the published one."""
    found = solutions()
    table = found.stored() if found is not None and found.assignment == assignment else load_references(assignment)
    return np.array(table[key])


# ------------------------------------------------------------------ what a student reads in a notebook


def _notebook_error(shell, etype, value, tb, tb_offset=None):
    """A failed check in one line, without the checks' own frames; an unwritten function said plainly."""
    if issubclass(etype, NotImplementedError) and not isinstance(value, FunctionError):
        frames = traceback.extract_tb(tb)
        last = frames[-1] if frames else None
        if last is None or "site-packages" in last.filename or "/helpers/" in last.filename or str(value):
            return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        name, text = "NotImplementedError", messages.not_written(last.name)
    else:
        name = value.ename if isinstance(value, FunctionError) else "CheckFailure"
        text = str(value)
    line = messages.headline(name, text)
    first, _, rest = line.partition("\n")
    structured = [f"\x1b[0;31m{first}\x1b[0m" + (f"\n{rest}" if rest else "")]
    shell._showtraceback(etype, value, structured)
    return structured


def _install_notebook_messages() -> None:
    # Only a notebook's shell gets the one-line messages; the grader and scripts import the checks too.
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "_course_messages", False):
        return
    shell.set_custom_exc((CheckFailure, FunctionError, NotImplementedError), _notebook_error)
    shell._course_messages = True


_install_notebook_messages()
