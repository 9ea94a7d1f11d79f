"""A deadline for the grader's own work on a student's data, in whatever thread it runs.

The judge works on what a kernel sent (decoding it, rebuilding and running a Keras graph, comparing,
diagnosing) in its own process. Those steps are bounded in size before they start
(:mod:`helpers.wire`, :mod:`helpers.keras_graph`); :class:`Deadline` bounds them in time as well:
when it passes, the exception it was given is raised in the thread that armed it, at the next
Python instruction there. It works in any thread (a Dask worker's too), unlike ``signal.alarm``,
which only reaches the main thread.

Waiting for the kernel is not the grader's work, and nbclient must never be interrupted half-way
through a message: :meth:`Deadline.paused` marks such a stretch, and the caller checks the time
itself when it ends. An exception swallowed by a broad ``except`` is raised again every
:data:`REPEAT_SECONDS` until the work ends. A C call already under way finishes first; the size
limits keep each of those short.
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
import time

REPEAT_SECONDS = 0.5


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Have ``thread_id`` raise ``exception`` at its next instruction (None: cancel a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


class Deadline:
    """Within ``with Deadline(seconds, exception):``, ``exception`` is raised once ``seconds`` have passed.

    ``exception`` must be a class that takes no arguments; ``fired`` tells afterwards whether it was raised.
    """

    def __init__(self, seconds: float, exception: type[BaseException]):
        self.seconds, self.exception = seconds, exception
        self.end = 0.0
        self.fired = False
        self._thread_id = 0
        self._paused = 0
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._watchdog: threading.Thread | None = None

    def left(self) -> float:
        return self.end - time.monotonic()

    def __enter__(self) -> Deadline:
        self._thread_id = threading.get_ident()
        self.end = time.monotonic() + self.seconds
        self._watchdog = threading.Thread(target=self._watch, daemon=True, name="grader-deadline")
        self._watchdog.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        with self._lock:
            self._done.set()
            if self.fired and exc_type is not self.exception:
                _raise_in(self._thread_id, None)  # raised too late to matter: it must not escape this block
        if self._watchdog is not None:
            self._watchdog.join()
        return False

    @contextlib.contextmanager
    def paused(self):
        """A stretch that is not the grader's work (waiting for the kernel): never interrupted."""
        with self._lock:
            self._paused += 1
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1

    def _watch(self) -> None:
        wait = self.left()
        while not self._done.wait(max(0.0, wait)):
            with self._lock:
                if self._done.is_set():
                    return
                if not self._paused:
                    self.fired = True
                    _raise_in(self._thread_id, self.exception)
            wait = REPEAT_SECONDS
