"""Student self-checks, one module per assignment.

A notebook imports its module as ``check`` and calls e.g. ``check.conv_forward(conv_forward)``:
it prints "All tests passed." or raises :class:`helpers.compare.CheckFailure` with one precise
diagnostic. What the modules share lives here: the stored reference outputs and the swap of a
function's helpers for stand-ins (reference answers, or a network that is not the answer) while it is checked.
"""

from __future__ import annotations

import contextlib
import inspect
from functools import cache
from pathlib import Path
from typing import Callable

import numpy as np

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


@cache
def load_references(assignment: str) -> dict[str, np.ndarray]:
    """``helpers/reference/<assignment>.npz``, produced by ``course refs`` from the source solutions."""
    path = REFERENCE_DIR / f"{assignment}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the package is incomplete. Reinstall it, or run `course refs`.")
    with np.load(path) as data:
        return {key: data[key] for key in data.files}


@contextlib.contextmanager
def swapped_globals(function: Callable, replacements: dict[str, Callable]):
    """While inside, the names in ``replacements`` mean the given objects for ``function``'s code.

    A mistake in one graded function then costs only that function's points: the others it calls are
    replaced by stand-ins while it is checked.
    """
    namespace = getattr(inspect.unwrap(function), "__globals__", {})
    saved = {name: namespace[name] for name in replacements if name in namespace}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name in replacements:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)
