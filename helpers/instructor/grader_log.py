"""The grader's log: what ran, how long it took, and what was refused or cut.

Every module of the grading path logs to :data:`LOGGER` (``course.grader``): at DEBUG each cell and
each call of a student's function, at INFO each notebook graded (score, seconds, restarts) and every
limit that acted (a cell over its time, the notebook's budget used up, an output cut or dropped, a
message over the size the grader accepts, files beside a submission left out, a dependency call
refused), at WARNING what went wrong in the grader itself. Nothing is shown below WARNING unless
asked: ``course grade --log-level INFO`` (or DEBUG). What an instructor must read (the plan, the
table of grades, a sandbox that is off) is printed, not logged.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys

LOGGER = logging.getLogger("course.grader")
LEVELS = ("DEBUG", "INFO", "WARNING")
# The level travels to the local worker processes, which start afresh (spawn), through the environment.
LEVEL_VARIABLE = "COURSE_LOG_LEVEL"
FORMAT = "%(asctime)s %(levelname)s [%(job)s] %(message)s"
_JOB = contextvars.ContextVar("course_grader_job", default="-")


@contextlib.contextmanager
def job(name: str):
    """Within: the lines logged name the notebook being graded (``student/assignment``)."""
    token = _JOB.set(name)
    try:
        yield
    finally:
        _JOB.reset(token)


class _JobFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.job = _JOB.get()
        return True


def configure(level: str | None = None) -> None:
    """Show the grader's log at ``level`` (default: this process's :data:`LEVEL_VARIABLE`, else WARNING)
    on stderr, in this process and in the worker processes it starts afterwards."""
    chosen = (level or os.environ.get(LEVEL_VARIABLE) or "WARNING").upper()
    if chosen not in LEVELS:
        raise ValueError(f"log level {chosen!r} is not one of {', '.join(LEVELS)}")
    os.environ[LEVEL_VARIABLE] = chosen
    LOGGER.setLevel(chosen)
    if not any(getattr(h, "_course_grader", False) for h in LOGGER.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, "%H:%M:%S"))
        handler.addFilter(_JobFilter())
        handler._course_grader = True
        LOGGER.addHandler(handler)
        LOGGER.propagate = False  # shown once, in this format, whatever the root logger does
