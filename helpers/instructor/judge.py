"""The grader judges: every test cell runs in the grader's process, the student's code in the kernel.

While a notebook is graded, its ordinary cells run in the student's (sandboxed) kernel as usual.
A test cell does not: its whole code, hidden tests included, runs here, with trusted numpy, trusted
checks and the source solutions (:func:`helpers.checks.using_solutions`). Each graded function the
test names is a :class:`KernelFunction`: calling it sends the arguments to the kernel as data
(:mod:`helpers.wire`), the kernel calls the student's function there (:func:`helpers.calls.serve`)
and its outcome comes back as data, validated before use. So:

* the kernel never sees a hidden test's code, inputs it is not asked about, or an expected value;
* nothing the kernel sends can change this process's state: arguments are copies, results are
  decoded into new objects, and a Keras graph is rebuilt under limits (:mod:`helpers.keras_graph`);
* while a graded function runs in the kernel, the graded functions it depends on are stand-ins that
  ask :class:`ReferenceServer` for exactly that call; it answers with the source solution's output,
  only for that function's dependencies and only while that call runs;
* the hidden tests draw their inputs from a seed each judge draws for its notebook
  (:func:`helpers.checks.hidden_rng`; it never leaves this process), so the inputs a student's code
  saw, and the stand-ins' answers on them, are of no use in the next round of feedback.

A test cell passes when its code runs to its end here; the message of the first failure is its
reason. Its outputs (what the checks print, what the student's functions printed) go into the
autograded notebook; its code and hidden inputs do not reach the kernel.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import os
import re
import socket
import struct
import sys
import threading
import time

import nbformat
from nbformat.v4 import new_output

from helpers import calls, compare, i18n, messages, wire
from helpers.checks import Solutions, new_run_seed, using_run_seed, using_solutions
from helpers.compare import CheckFailure
from helpers.instructor import diagnosis
from helpers.instructor import notebooks as nbu
from helpers.instructor.deadline import Deadline
from helpers.instructor.execute import KernelLost, ScratchKernel
from helpers.instructor.grader_log import LOGGER
from helpers.solutions import check_module, solution_namespace

MAX_CONNECTIONS = 4
INLINE_REQUEST_BYTES = 64 << 10  # a call's request up to this size goes in the scratch cell's code; larger, in a file
DIAGNOSIS_SECONDS = 120  # the grader's time for naming a mistake, beside the test cell's own (a TensorFlow
# diagnosis rebuilds and runs several catalogue variants; on a loaded two-core machine that took over 20 s)


class CellTimedOut(BaseException):
    """The test cell used up its time: the student's function in the kernel, or the grader's work on it."""


class DiagnosisOverBudget(BaseException):
    """Naming the mistake took longer than :data:`DIAGNOSIS_SECONDS`: the verdict stands without a name."""


# ------------------------------------------------------------------ the source, in this process

# source notebook's hash -> its set-up and solutions, for every assignment this process has judged: a worker
# grades a class's assignments interleaved (student by student), and the solutions' stored examples and
# memos of visible cases (seconds of TensorFlow for residual_networks) are the same for every student.
_SOURCES: dict[str, tuple[dict, Solutions]] = {}
MAX_SOURCES = 8  # a long-lived process whose source notebooks change keeps only the latest ones


def trusted_setup(assignment: str, source_nb) -> tuple[dict, Solutions]:
    """The setup cells' names (imports, the check module) and the solutions, built once per process."""
    key = hashlib.sha256(nbformat.writes(source_nb).encode()).hexdigest()
    if key not in _SOURCES:
        namespace: dict = {"__name__": "__course_judge__"}
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in nbu.set_up_cells(source_nb):
                exec(compile(nbu.without_magics(cell.source), f"<setup {nbu.grade_id(cell)}>", "exec"), namespace)
            found = Solutions(assignment, solution_namespace(assignment, notebook=source_nb))
            found.stored()  # the examples' expected values, before any student's code is judged
        while len(_SOURCES) >= MAX_SOURCES:
            del _SOURCES[next(iter(_SOURCES))]  # the oldest
        _SOURCES[key] = (namespace, found)
    return _SOURCES[key]


def test_cell_parts(source: str, filename: str) -> list[tuple]:
    """A test cell's code as (compiled part, hidden) in order, each part keeping its line numbers.

    ``hidden`` marks nbgrader's hidden-tests region: there the comparator names no expected value, so
    what a student learns from one round of feedback cannot answer the next.
    """
    parts, body, first, hidden = [], [], 0, False
    for number, line in enumerate(source.splitlines(keepends=True)):
        marker = line.strip()
        if marker == (nbu.END_HIDDEN if hidden else nbu.BEGIN_HIDDEN):
            parts.append((first, body, hidden))
            body, first, hidden = [], number, not hidden
        body.append(line)
    parts.append((first, body, hidden))
    return [
        (compile("\n" * first + "".join(lines), filename, "exec"), concealed)
        for first, lines, concealed in parts
        if "".join(lines).strip()
    ]


# ------------------------------------------------------------------ the stand-ins' server


class ReferenceServer:
    """Answers the kernel's stand-ins: the source solution's output for one dependency call.

    Listens on a Unix socket in the kernel's socket folder. Between calls, and for any function that
    is not a dependency of the function now running in the kernel, it refuses.
    """

    def __init__(self, path: str, uid: int | None, solutions: Solutions, allowed_call=None):
        self.path = path
        self.solutions = solutions
        # (name, args, kwargs, lang=...) -> '' or why the grader will not compute it, in ``lang``
        self.allowed_call = allowed_call
        # The student's language, the refusals' (see answering): they are written on the server's own threads,
        # which do not share the grading thread's i18n.reading().
        self.lang = i18n.DEFAULT
        self.allowed: frozenset[str] = frozenset()
        self.answered = 0
        self._open = 0
        self._lock = threading.Lock()
        self._computing = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        if uid is not None:
            os.chown(path, uid, uid)
        os.chmod(path, 0o600)
        self.sock.listen(MAX_CONNECTIONS)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="reference-server").start()

    @contextlib.contextmanager
    def answering(self, names, lang: str):
        """Inside, the calls of ``names`` are answered; refusals are written in ``lang`` (and stay in it after)."""
        self.lang = lang
        self.allowed = frozenset(names)
        try:
            yield
        finally:
            self.allowed = frozenset()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                if self._open >= MAX_CONNECTIONS:
                    conn.close()
                    continue
                self._open += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            with conn:
                conn.settimeout(600)
                while not self._closed:
                    try:
                        request = calls._receive(conn, wire.MAX_MESSAGE_BYTES)
                    except (ConnectionError, OSError, ValueError):
                        return
                    reply = json.dumps(self._answer(request)).encode()
                    conn.sendall(struct.pack("!I", len(reply)) + reply)
        finally:
            with self._lock:
                self._open -= 1

    def _answer(self, request: bytes) -> dict:
        try:
            data = json.loads(request)
            name = data["function"]
            if not isinstance(name, str) or name not in self.allowed:
                return {
                    "error": {
                        "ename": "RuntimeError",
                        "message": i18n.message(
                            "{name!r} cannot be asked for now (only the functions that the function under test "
                            "calls, while it runs)",
                            self.lang,
                            name=name,
                        ),
                    }
                }
            args, kwargs = wire.decode(data["args"]), wire.decode(data["kwargs"])
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise wire.Malformed(i18n.message("arguments must be a list and a dict", self.lang))
        except (ValueError, KeyError, TypeError) as exc:
            return {
                "error": {
                    "ename": "RuntimeError",
                    "message": i18n.message("malformed request ({error})", self.lang, error=exc),
                }
            }
        refused = self.allowed_call(name, tuple(args), kwargs, lang=self.lang) if self.allowed_call else ""
        if refused:
            LOGGER.info("a dependency call of %s refused: %s", name, refused)
            return {"error": {"ename": "ValueError", "message": f"{name}: {refused}"}}
        try:
            with self._computing:  # one answer at a time: a flood of requests cannot multiply the work
                result = self.solutions.call(name, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the call was wrong: the student's code learns why
            return {"error": {"ename": type(exc).__name__, "message": str(exc)[:500]}}
        self.answered += 1
        return {"result": wire.encode(result)}


# ------------------------------------------------------------------ proxies of the student's functions


class KernelFunction:
    """Stands for the student's function ``name`` in the grader; each call runs it in the kernel."""

    def __init__(self, name: str, judge: CellJudge):
        self.__name__ = self.__qualname__ = name
        self._judge = judge

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"

    def __course_call__(self, args: tuple, kwargs: dict, harness: str | None = None) -> calls.Outcome:
        return self._judge.call_in_kernel(self.__name__, args, kwargs, harness)

    def __call__(self, *args, **kwargs):
        outcome = self.__course_call__(args, kwargs)
        return outcome.value(calls.describe_call(self.__name__, args, kwargs, self._judge.parameters(self.__name__)))


# ------------------------------------------------------------------ one notebook's judge


class CellJudge:
    """Runs the test cells of one notebook here; how the student's functions are called is a subclass's
    :meth:`call_in_kernel` (:class:`Judge`: in the student's kernel; :class:`LocalJudge`: in this process).

    Each test cell has its ``seconds`` (``timeout`` unless the notebook's budget leaves less) for all of
    it: the student's calls and this process's own work on what they return (decoding, rebuilding a
    Keras graph, running it, comparing), under a :class:`~helpers.instructor.deadline.Deadline`.
    Diagnosis has its own ``diagnosis_seconds``.
    """

    diagnosis_seconds = DIAGNOSIS_SECONDS
    _deadline: Deadline | None = None  # of the work now under way: a test cell's, or a diagnosis's

    def __init__(
        self, assignment: str, source_nb, timeout: int, catalogue: list[dict] | None = None, run_seed: int | None = None
    ):
        self.assignment = assignment
        # The hidden tests' inputs of this notebook (helpers.checks.hidden_rng): drawn afresh for each
        # notebook graded, so nothing recorded in one round of feedback answers the next.
        self.run_seed = new_run_seed() if run_seed is None else run_seed
        self.namespace, self.solutions = trusted_setup(assignment, source_nb)
        self.graded = [nbu.grade_id(c) for c in nbu.solution_cells(source_nb)]
        self.checks = check_module(assignment)
        self.dependencies = getattr(self.checks, "DEPENDENCIES", {})
        self.timeout = timeout
        self.kernel: ScratchKernel | None = None
        self._cell: tuple | None = None  # (cell, index, deadline) of the test cell being judged
        self.proxies = {name: KernelFunction(name, self) for name in self.graded}
        self.function_of_test = nbu.function_of_tests(source_nb)
        self.diagnoser = diagnosis.Diagnoser(
            assignment, source_nb, catalogue or [], self.parameters, getattr(self.checks, "OUTPUT_NAMES", {})
        )
        self.probes = getattr(self.checks, "DIAGNOSIS_PROBES", {})
        self.recorded: list[diagnosis.Call] = []  # the calls of the test cell being judged
        self.last_call: dict[str, diagnosis.Call] = {}  # function -> its latest call in this notebook
        self.mistakes: dict[int, str] = {}  # test cell index -> the catalogue name of its likely mistake
        # Wall-clock seconds in this notebook's test cells, by phase (execute.PHASES): the student's
        # functions in the kernel (outside a diagnosis), naming mistakes (its probes included).
        self.seconds = {"calls in the kernel": 0.0, "diagnosis": 0.0}
        self._diagnosing = False

    def close(self) -> None:
        pass

    def call_in_kernel(self, name: str, args: tuple, kwargs: dict, harness: str | None) -> calls.Outcome:
        raise NotImplementedError

    def parameters(self, name: str) -> list[str] | None:
        function = self.solutions.namespace.get(name)
        return calls.parameter_names(function) if function is not None else None

    # -------------------------------------------------------------- one test cell

    def run_test_cell(
        self, kernel: ScratchKernel | None, cell, index: int, seconds: float | None = None
    ) -> tuple[str, str]:
        """Judge ``cell`` (outputs written into it) within ``seconds`` (default ``timeout``); returns
        ('ok' | 'error' | 'timeout', the reason).

        Raises :class:`~helpers.instructor.execute.KernelLost` when the kernel dies or stops answering.
        """
        self.kernel = kernel
        seconds = self.timeout if seconds is None else seconds
        cell.outputs = []
        limit = self._deadline = Deadline(seconds, CellTimedOut)
        began = time.monotonic()
        deadline = began + seconds
        self._cell = (cell, index, deadline)
        stdout = sys.stdout
        namespace = dict(self.namespace)
        names = [n for n in self.graded if n in cell.source]
        namespace.update({n: self.proxies[n] for n in names})
        printed = self._stdout = _CellStdout(cell)
        status, reason = "ok", ""
        self.recorded = []
        self.mistakes.pop(index, None)
        try:
            with (
                limit,
                contextlib.redirect_stdout(printed),
                using_solutions(self.solutions),
                using_run_seed(self.run_seed),
            ):
                for code, hidden in test_cell_parts(cell.source, f"<test {nbu.grade_id(cell)}>"):
                    with compare.concealed() if hidden else contextlib.nullcontext():
                        exec(code, namespace)
        except CellTimedOut:
            status = "timeout"
            if limit.fired:  # the time ran out here, not in the kernel
                LOGGER.info("test cell %s: the grader's work ran past the cell's %s s", nbu.grade_id(cell), seconds)
                reason = (
                    f"the grader's work on what your code returned took longer than this cell's "
                    f"{seconds} s (a network or an array too costly to check?)"
                )
        except KernelLost:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the test code is the verdict
            status, reason = "error", verdict_message(exc)
            found = self._diagnose(cell)
            if found:
                reason = messages.with_diagnosis(reason, found.text, bool(found.mistake))
                if found.mistake:
                    self.mistakes[index] = found.mistake
            printed.flush()
            ename = exc.ename if isinstance(exc, calls.FunctionError) else type(exc).__name__
            cell.outputs.append(
                new_output("error", ename=ename, evalue=reason, traceback=[messages.headline(ename, reason)])
            )
        finally:
            sys.stdout = stdout  # even if the deadline struck while a context was being left
            printed.flush()
            self._cell = None
            self._deadline = None
            self.recorded = []
        LOGGER.debug(
            "test cell %s: %s in %.2f s%s",
            nbu.grade_id(cell),
            status,
            time.monotonic() - began,
            f" ({self.mistakes[index]})" if index in self.mistakes else "",
        )
        return status, reason

    def _record(self, call: diagnosis.Call) -> None:
        self.recorded.append(call)
        self.last_call[call.name] = call

    def _diagnose(self, cell) -> diagnosis.Diagnosis:
        """The likely mistake behind the failure of ``cell``, from the calls it made (never fails grading).

        A check may judge an outcome it obtained in an earlier cell (``model``'s one short run): where
        the cell made no call of its function, that function's last call stands for it.
        """
        function = self.function_of_test.get(nbu.grade_id(cell))
        recorded = self.recorded
        if function and not any(c.name == function for c in recorded) and function in self.last_call:
            recorded = [self.last_call[function]]
        if not function or not recorded:
            return diagnosis.Diagnosis()
        probes = self.probes.get(function)

        def probe(args, kwargs):
            return self.call_in_kernel(function, args, kwargs, None)

        stdout = sys.stdout
        limit = self._deadline = Deadline(self.diagnosis_seconds, DiagnosisOverBudget)
        began, self._diagnosing = time.monotonic(), True
        try:
            with limit, contextlib.redirect_stdout(io.StringIO()), using_run_seed(self.run_seed):  # the probes' inputs
                return self.diagnoser.diagnose(
                    function, recorded, self.solutions.call, probe, probes() if probes else ()
                )
        except (CellTimedOut, DiagnosisOverBudget):
            LOGGER.info("diagnosis of %s ran out of time: the cell fails unnamed", function)
            return diagnosis.Diagnosis()  # out of time while naming it: no name, the verdict stands
        except Exception as exc:  # noqa: BLE001 - a diagnosis is extra: the verdict stands without it
            LOGGER.info("diagnosis of %s failed (%s: %s): the cell fails unnamed", function, type(exc).__name__, exc)
            return diagnosis.Diagnosis()
        finally:
            sys.stdout = stdout
            self._deadline = None
            self._diagnosing = False
            self.seconds["diagnosis"] += time.monotonic() - began


class Judge(CellJudge):
    """The grader's judge: the student's functions run in the student's kernel, one scratch cell per call
    (:class:`~helpers.instructor.execute.ScratchKernel`); their dependencies are answered by a
    :class:`ReferenceServer` on a socket in the kernel's ``socket_dir``."""

    def __init__(
        self,
        assignment: str,
        source_nb,
        socket_dir: str,
        uid: int | None,
        timeout: int,
        catalogue: list[dict] | None = None,
        run_seed: int | None = None,
    ):
        super().__init__(assignment, source_nb, timeout, catalogue, run_seed)
        self.socket_dir, self.uid = socket_dir, uid
        self._requests = 0
        self.server = ReferenceServer(
            os.path.join(socket_dir, "reference.sock"),
            uid,
            self.solutions,
            getattr(self.checks, "dependency_call_allowed", None),
        )

    def close(self) -> None:
        self.server.close()

    def call_in_kernel(self, name: str, args: tuple, kwargs: dict, harness: str | None) -> calls.Outcome:
        if self._cell is None or self.kernel is None:
            raise RuntimeError("the student's functions can be called only while a test cell is judged")
        cell, index, deadline = self._cell
        left = deadline - time.monotonic()
        if left <= 0:
            raise CellTimedOut()
        depends_on = tuple(self.dependencies.get(name, ()))
        request = {
            "function": name,
            "args": wire.encode(list(args)),
            "kwargs": wire.encode(dict(kwargs)),
            "harness": harness,
            "depends_on": list(depends_on),
            "callback": self.server.path if depends_on else None,
        }
        text = json.dumps(request)
        if len(text) > wire.MAX_MESSAGE_BYTES:
            LOGGER.info(
                "a call of %s refused: its inputs (%d bytes) are over %d", name, len(text), wire.MAX_MESSAGE_BYTES
            )
            raise CheckFailure(i18n.message("the inputs of this call of {name} are too large to send", name=name))
        request_file = None
        if len(text) > INLINE_REQUEST_BYTES:  # IPython reads a cell's code slowly: 4 s for 8 MB
            self._requests += 1
            request_file = os.path.join(self.socket_dir, f"request-{self._requests}.json")
            descriptor = os.open(request_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with open(descriptor, "w", encoding="utf-8") as handle:
                if self.uid is not None:
                    os.fchown(handle.fileno(), self.uid, self.uid)  # the kernel's user reads it
                handle.write(text)
            code = f"__import__('helpers.calls', fromlist=['serve_file']).serve_file({request_file!r})"
        else:
            code = f"__import__('helpers.calls', fromlist=['serve']).serve({text!r})"
        # i18n.language(): the notebook's, from the grading thread's i18n.reading(), given to the server's threads.
        with (
            self.server.answering(depends_on, i18n.language()),
            self._deadline.paused() if self._deadline else contextlib.nullcontext(),
        ):
            started = time.monotonic()
            try:
                ran = self.kernel.run(code, index, left, doing=name)
            finally:
                if request_file is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(request_file)
        if not self._diagnosing:
            self.seconds["calls in the kernel"] += time.monotonic() - started
        LOGGER.debug(
            "call of %s in the kernel: %.2f s%s",
            name,
            time.monotonic() - started,
            ", out of time" if ran.timed_out else "",
        )
        if ran.timed_out:
            raise CellTimedOut()
        outcome = self._outcome(name, args, kwargs, ran.outputs, cell)
        self._record(diagnosis.Call(name, diagnosis._copy(args), diagnosis._copy(kwargs), harness, outcome))
        return outcome

    def _outcome(self, name, args, kwargs, outputs: list, cell) -> calls.Outcome:
        message, failure = None, None
        for out in outputs:
            data = out.get("data", {}) if out.get("output_type") in ("display_data", "execute_result") else {}
            if wire.MIME in data:
                message = data[wire.MIME]
            elif out.get("output_type") == "error":
                failure = f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
            else:
                self._stdout.flush()  # the checks' lines so far come first
                cell.outputs.append(out)  # what the student's function printed or showed
        outcome = calls.Outcome(name=name, args=args, kwargs=kwargs)
        if not isinstance(message, dict):
            outcome.error = {
                "ename": "RuntimeError",
                "message": i18n.message("the notebook did not answer the call ({failure})", failure=failure)
                if failure
                else i18n.message("the notebook did not answer the call"),
            }
            return outcome
        error = message.get("error")
        try:
            if error is not None:
                if not isinstance(error, dict):
                    raise wire.Malformed("malformed error")
                outcome.error = {
                    "ename": str(error.get("ename", "Exception"))[:100],
                    "message": str(error.get("message", ""))[:2000],
                    "where": [
                        [str(w[0])[:100], str(w[1])[:300]]
                        for w in (error.get("where") or [])[:3]
                        if isinstance(w, list) and len(w) == 2
                    ],
                    "undefined_function": bool(error.get("undefined_function")),
                }
            else:
                outcome.result = wire.decode(message.get("result"), inputs=wire.keras_inputs(args, kwargs))
            observations = wire.decode(message.get("observations") or {"__dict__": []})
            outcome.observations = observations if isinstance(observations, dict) else {}
        except Exception as exc:  # noqa: BLE001 - a result that cannot be read is wrong, not a grader crash
            outcome.result = None
            outcome.error = {"ename": "ValueError", "message": str(exc)[:2000], "unreadable": True}
        return outcome


def verdict_message(exc: BaseException) -> str:
    """The reason a test cell lost its points, in the student's terms."""
    message = ANSI.sub("", str(exc)).strip()
    if isinstance(exc, (calls.FunctionError, CheckFailure)):
        return message
    # An error of a check itself on an unexpected result: name what came back, not the check's internals.
    return messages.headline(type(exc).__name__, message) if message else type(exc).__name__


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class _CellStdout(io.TextIOBase):
    """What the checks print while a test cell is judged, as stream outputs of that cell, in order."""

    def __init__(self, cell):
        self.cell = cell
        self.buffer: list[str] = []

    def write(self, text: str) -> int:
        self.buffer.append(text)
        return len(text)

    def flush(self) -> None:
        if self.buffer:
            text = "".join(self.buffer)
            self.buffer = []
            self.cell.outputs.append(new_output("stream", name="stdout", text=text))


class LocalJudge(CellJudge):
    """A judge whose "kernel" is this process: the test cells run as in grading, the student's functions
    (``namespace``, e.g. built from the source with a variant's edits) are called here through
    :func:`helpers.calls.run` with the reference answering their dependencies.

    For measuring diagnoses and checking catalogues quickly (``benchmarks/diagnosis_quality.py``);
    never for grading a student's notebook, whose code must run in its sandboxed kernel.
    """

    def __init__(
        self,
        assignment: str,
        source_nb,
        namespace: dict,
        catalogue: list[dict] | None = None,
        timeout: int = 600,
        run_seed: int | None = None,
    ):
        super().__init__(assignment, source_nb, timeout, catalogue, run_seed)
        self.student = namespace

    def call_in_kernel(self, name: str, args: tuple, kwargs: dict, harness: str | None) -> calls.Outcome:
        function = self.student.get(name)
        if not callable(function):
            outcome = calls.Outcome(
                name=name,
                args=args,
                kwargs=kwargs,
                error={"ename": "NameError", "message": f"name {name!r} is not defined", "undefined_function": True},
            )
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                outcome = calls.run(
                    function,
                    diagnosis._copy(args),
                    diagnosis._copy(kwargs),
                    harness=harness,
                    ask=lambda n, a, k: self.solutions.call(n, *a, **k),
                    depends_on=tuple(self.dependencies.get(name, ())),
                )
            outcome.args, outcome.kwargs = args, kwargs
        self._record(diagnosis.Call(name, diagnosis._copy(args), diagnosis._copy(kwargs), harness, outcome))
        return outcome

    def judge_notebook(self, source_nb) -> list[tuple[str, str, str, str]]:
        """(grade_id, status, reason, mistake) for every test cell of ``source_nb``, run in order."""
        found = []
        for index, cell in enumerate(source_nb.cells):
            if nbu.is_test(cell):
                cell = copy.deepcopy(cell)
                status, reason = self.run_test_cell(None, cell, index)
                found.append((nbu.grade_id(cell), status, reason, self.mistakes.get(index, "")))
        return found
