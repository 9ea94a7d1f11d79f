"""Decide each test cell in the grader's own process, from the calls recorded in the kernel.

The test code comes from ``source/`` and runs here with trusted numpy, trusted helpers and the
setup cell's imports; each graded function it calls is a :class:`Player` that hands back, in order,
what the student's function returned in the kernel for the same arguments (checked by fingerprint);
a Keras block comes back as its layer graph, rebuilt here on the test's own inputs, so the trusted
test sets its weights and computes its outputs itself. Values a check marks as observations
(:func:`helpers.record.observed`) are read back in order from the record instead of computed.
A cell passes only if this trusted run passes and consumes exactly the recorded calls.
"""

from __future__ import annotations

import contextlib
import io
import re

from helpers import record
from helpers.compare import CheckFailure
from helpers.instructor import notebooks as nbu


class ReplayMismatch(CheckFailure):
    """The calls recorded in the kernel are not the calls the test makes."""


class StudentError(Exception):
    """The student's function raised this error in the kernel."""


class Player:
    def __init__(self, name: str, calls: list[dict]):
        self.__name__ = self.__qualname__ = name
        self.__globals__: dict = {}  # checks that swap a function's helpers find a harmless namespace
        self._calls = calls
        self.used = 0

    def __call__(self, *args, **kwargs):
        if self.used >= len(self._calls):
            raise ReplayMismatch(f"the calls your notebook made to {self.__name__} differ from the test's: "
                                 "it was called fewer times there (were the checks changed in the notebook?).")
        entry = self._calls[self.used]
        self.used += 1
        if not record.same_fingerprint(entry.get("args"), record.fingerprint([list(args), dict(kwargs)])):
            raise ReplayMismatch(f"the calls your notebook made to {self.__name__} differ from the test's: "
                                 "other arguments (were the checks changed in the notebook, or does the "
                                 "function change its inputs?).")
        for arg, after in zip(args, entry.get("args_after") or []):
            if after is not None and hasattr(arg, "shape"):
                changed = record.decode(after)
                if getattr(arg, "shape", None) == changed.shape:
                    arg[...] = changed  # the student's function changed this input in place
        if "raised" in entry:
            raise StudentError(f"{entry['raised']}: {entry.get('message', '')}")
        return record.decode(entry["result"], inputs=record.keras_inputs(args, kwargs))


class Playback:
    """Answers :func:`helpers.record.observed` from the recorded observations, in order."""

    def __init__(self, entries: list[dict]):
        self.entries = entries
        self.used = 0

    def observe(self, label: str, compute):
        if self.used >= len(self.entries) or self.entries[self.used].get("observe") != label:
            raise ReplayMismatch(f"the notebook's run did not record {label!r} where the test expects it "
                                 "(were the checks changed in the notebook?).")
        entry = self.entries[self.used]
        self.used += 1
        if "raised" in entry:
            raise StudentError(f"{entry['raised']}: {entry.get('message', '')}")
        return record.decode(entry.get("result"))


def _graded_names(source_nb) -> list[str]:
    return [nbu.grade_id(c) for c in nbu.solution_cells(source_nb)]


def names_in(test_source: str, graded: list[str]) -> tuple[str, ...]:
    return tuple(n for n in graded if re.search(rf"\b{re.escape(n)}\b", test_source))


def instrument(test_source: str, grade_id: str, graded: list[str]) -> str:
    """The code the kernel runs in place of a test cell: the same test, with its calls recorded."""
    names = names_in(test_source, graded)
    return (f"__import__('helpers.record').record.run_test({grade_id!r}, {names!r}, {test_source!r}, globals())")


def _strip_magics(code: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())


def trusted_namespace(source_nb) -> dict:
    """The setup cells' imports, executed here (locked code cells that are neither tests nor solutions)."""
    namespace: dict = {"__name__": "__course_replay__"}
    for cell in source_nb.cells:
        if cell.cell_type == "code" and nbu.nbgrader_meta(cell).get("locked") and not nbu.is_test(cell) \
                and not nbu.is_solution(cell):
            exec(compile(_strip_magics(cell.source), f"<setup {nbu.grade_id(cell)}>", "exec"), namespace)
    return namespace


def extract_records(cell) -> dict | None:
    """Take the record output out of an executed test cell (it is not for human eyes)."""
    found, kept = None, []
    for out in cell.get("outputs", []):
        data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
        if record.MIME in data:
            found = data[record.MIME]
        else:
            kept.append(out)
    cell["outputs"] = kept
    return found


def verdict(test_source: str, grade_id: str, graded: list[str], records: dict | None, namespace: dict) -> str:
    """'' when the test passes on the recorded calls, else the reason."""
    if not isinstance(records, dict) or records.get("grade_id") != grade_id:
        return "no record of this test's calls came back from the notebook"
    calls = records.get("calls") or []
    names = names_in(test_source, graded)
    players = {n: Player(n, [c for c in calls if c.get("function") == n]) for n in names}
    playback = Playback([c for c in calls if "observe" in c])
    scope = dict(namespace)
    scope.update(players)
    try:
        with contextlib.redirect_stdout(io.StringIO()), record.session(playback):
            exec(compile(test_source, f"<trusted test {grade_id}>", "exec"), scope)
    except Exception as exc:  # noqa: BLE001 - any failure of the trusted test is the verdict
        message = str(exc).strip()
        return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    unused = {n: len(p._calls) - p.used for n, p in players.items() if p.used != len(p._calls)}
    if playback.used != len(playback.entries):
        unused["observations"] = len(playback.entries) - playback.used
    if unused:
        return f"the notebook's run made other calls than the test ({unused})"
    return ""
