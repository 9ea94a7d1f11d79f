"""The grading-mode switch: heavy work is skipped or shortened when it would only cost time.

``grading()`` is true while nbgrader (or ``course grade``/``course check``) executes a
notebook: they set ``NBGRADER_EXECUTION``. ``fast()`` is also true when
``COURSE_FAST=1`` is set, as CI does. Notebooks ask these before long training runs
and print what they skipped.
"""

from __future__ import annotations

import os

from helpers.messages import count


def grading() -> bool:
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def fast() -> bool:
    return grading() or os.environ.get("COURSE_FAST", "").strip() not in ("", "0", "false", "no")


def epochs(full: int, short: int = 1) -> int:
    """``full`` in a normal run, ``short`` when grading or in fast mode (and say so)."""
    if fast():
        reason = "grading" if grading() else "fast mode (COURSE_FAST)"
        print(f"{reason}: training cut to {count(short, 'epoch')} instead of {full}.")
        return short
    return full
