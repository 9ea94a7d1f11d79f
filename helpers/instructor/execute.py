"""Run a notebook cell by cell so that no cell can stop the others from being graded.

* A cell running past ``timeout`` seconds is interrupted; if the kernel does not answer a
  probe after that, it is killed and restarted.
* A kernel that dies (``os._exit``, a segfault, the memory limit) is restarted; the cells that
  had run without error before are replayed quietly to rebuild the state, and grading goes on
  with the next cell.
* A cell's output is capped at ``max_output_chars``; the rest is dropped with a note. The data a
  graded function sends back to the grader (:mod:`helpers.wire`) has its own, larger cap. Before
  either, no message from the kernel larger than :data:`MAX_KERNEL_MESSAGE_BYTES` is ever received:
  ZeroMQ drops it unread (``MAXMSGSIZE`` on every socket to the kernel), so what a kernel displays
  never costs the grader more memory than that, whatever its size.
* What the kernel writes outside the notebook (its stdout and stderr: library warnings, crash
  reports) goes through a pipe of which the grader keeps the first and last :data:`LOG_KEEP_BYTES`
  (:class:`CappedLog`).
* The whole notebook has a budget of ``notebook_timeout`` seconds: a cell never gets more than what
  is left, and the cells after an exhausted budget are not run.
* Test cells are not sent to the kernel: the grader judges them in its own process
  (:mod:`helpers.instructor.judge`), calling the student's functions in the kernel.

Every code cell gets a status: ``ok``, ``error``, ``timeout``, ``kernel died`` or ``not run``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import select
import tempfile
import threading
import time
from dataclasses import dataclass, field

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell, new_output
from traitlets import Type, default
from traitlets.config import Config
from zmq.utils.monitor import recv_monitor_message

from helpers import wire
from helpers.instructor import sandbox
from helpers.instructor.grader_log import LOGGER

MAX_RESTARTS = 3
MAX_RECORD_CHARS = 128 << 20  # data sent back by graded functions, per test cell (a ResNet-50 graph is about 0.2 MB)
PROBE_SECONDS = 10
# The largest message the grader accepts from a kernel: one graded call's data (helpers.wire) and its envelope.
MAX_KERNEL_MESSAGE_BYTES = wire.MAX_MESSAGE_BYTES + (1 << 20)
LOG_KEEP_BYTES = 64 << 10  # of the kernel's own stdout/stderr: this much of its start and of its end


class _KernelStuck(RuntimeError):
    pass


class IopubLost(DeadKernelError):
    """The kernel sent a message over :data:`MAX_KERNEL_MESSAGE_BYTES`: ZeroMQ dropped it and, with it, the
    connection on which the kernel's outputs arrive. The kernel is restarted like one that died."""


class KernelLost(BaseException):
    """The kernel died or stopped answering during a scratch cell (:meth:`ScratchKernel.run`).

    A ``BaseException``: a check's ``except Exception`` in a test cell judged by the grader cannot catch it.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _error_output(ename: str, evalue: str):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _bounded_context() -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets drop (unread) any message over :data:`MAX_KERNEL_MESSAGE_BYTES`.

    The limit is checked by ZeroMQ as the message's header arrives, before its body is buffered: a kernel
    that displays a gigabyte costs the grader nothing. ZeroMQ then closes that connection for good;
    :meth:`_GuardedClient.iopub_lost` sees it, and the kernel is restarted (:class:`IopubLost`).
    """
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, MAX_KERNEL_MESSAGE_BYTES)
    return context


class BoundedKernelClient(AsyncKernelClient):
    """nbclient's kernel client, on a :func:`_bounded_context`."""

    @default("context")
    def _context_default(self):
        self._created_context = True
        return _bounded_context()


class _SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through :mod:`helpers.instructor.sandbox` when a spec is attached; its sockets
    and its client's are bounded (:func:`_bounded_context`)."""

    sandbox_spec = None
    fork_server = None  # a kernel_forks.ForkServer: the kernel is forked from its preloaded interpreter
    client_factory = Type(BoundedKernelClient, klass=AsyncKernelClient)

    @default("context")
    def _context_default(self):
        self._created_context = True
        return _bounded_context()

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        uid = getattr(self.sandbox_spec, "uid", None)
        if uid is not None and os.path.exists(self.connection_file):
            os.chown(self.connection_file, uid, uid)  # the kernel's user must read its own connection file
        return result

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.sandbox_spec is None:
            return cmd
        if self.fork_server is not None and self.fork_server.ready():
            return self.fork_server.command(self.sandbox_spec, cmd)
        return sandbox.wrap_command(self.sandbox_spec, cmd)


class _GuardedClient(NotebookClient):
    """nbclient with a record of timed-out cells and a cap on each cell's output."""

    def __init__(
        self, *args, max_output_chars: int, sandbox_spec=None, socket_dir: str = "", fork_server=None, **kwargs
    ):
        super().__init__(*args, kernel_manager_class=_SandboxedKernelManager, **kwargs)
        self.max_output_chars = max_output_chars
        self.sandbox_spec = sandbox_spec
        self.fork_server = fork_server
        self.socket_dir = socket_dir
        self.timed_out = False
        self._output_chars: dict[int, int] = {}
        self._record_chars: dict[int, int] = {}
        self._iopub_monitor = None

    def start_new_kernel_client(self):
        kc = super().start_new_kernel_client()
        self._watch_iopub()
        return kc

    def _watch_iopub(self) -> None:
        """Be told when the connection that carries the kernel's outputs is dropped (see :func:`_bounded_context`)."""
        self._stop_watching()
        address = f"inproc://iopub-monitor-{os.urandom(6).hex()}"
        self.kc.iopub_channel.socket.monitor(address, zmq.EVENT_DISCONNECTED)
        self._iopub_monitor = zmq.Context.shadow(self.kc.context.underlying).socket(zmq.PAIR)
        self._iopub_monitor.connect(address)

    def _stop_watching(self) -> None:
        if self._iopub_monitor is not None:
            channel = getattr(self.kc, "_iopub_channel", None)  # not the property: it would open a channel
            with contextlib.suppress(zmq.ZMQError, AttributeError):
                channel.socket.disable_monitor()
            self._iopub_monitor.close(linger=0)  # before the client's context ends: it waits for every socket
            self._iopub_monitor = None

    async def _async_cleanup_kernel(self) -> None:
        self._stop_watching()
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    def iopub_lost(self) -> bool:
        """Whether the kernel's output connection was dropped since the kernel started."""
        while self._iopub_monitor is not None:
            try:
                event = recv_monitor_message(self._iopub_monitor, zmq.NOBLOCK)
            except zmq.Again:
                return False
            if event["event"] == zmq.EVENT_DISCONNECTED:
                return True
        return False

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.sandbox_spec = self.sandbox_spec
        km.fork_server = self.fork_server
        # The kernel may run as another user: its connection file and sockets live in the job folder.
        km.connection_file = os.path.join(self.socket_dir, f"kernel-{os.urandom(4).hex()}.json")
        return km

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def _update_display_id(self, display_id, msg):
        # The kernel chooses display ids and when to update them: an update may only touch outputs that
        # are still in the notebook (a scratch cell's are gone once it ends).
        places = self._display_id_map.get(display_id, {})
        for cell_index in list(places):
            outputs = self.nb.cells[cell_index].get("outputs", []) if 0 <= cell_index < len(self.nb.cells) else []
            kept = [i for i in places[cell_index] if 0 <= i < len(outputs)]
            if kept:
                places[cell_index] = kept
            else:
                del places[cell_index]
        super()._update_display_id(display_id, msg)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        data = content.get("data") if isinstance(content.get("data"), dict) else {}
        if wire.MIME in data:
            # What a graded function sends back is for the grader, not a reader: its own, larger budget.
            used = self._record_chars.get(cell_index, 0)
            size = len(json.dumps(data[wire.MIME]))
            self._record_chars[cell_index] = used + size
            if used + size > MAX_RECORD_CHARS:
                LOGGER.info(
                    "cell %d: a result of %d characters dropped (over %d for the cell)",
                    cell_index,
                    size,
                    MAX_RECORD_CHARS,
                )
                outs.append(
                    new_output(
                        "stream", name="stderr", text=f"\n[result dropped: more than {MAX_RECORD_CHARS:,} characters]\n"
                    )
                )
                return None
            return super().output(outs, msg, display_id, cell_index)
        size = (
            len(str(content.get("text", "")))
            + len(str(content.get("data", "")))
            + len(str(content.get("traceback", "")))
        )
        used = self._output_chars.get(cell_index, 0)
        self._output_chars[cell_index] = used + size
        if used + size > self.max_output_chars and msg.get("msg_type") != "error":
            if used <= self.max_output_chars:
                LOGGER.info("cell %d: output cut at %d characters", cell_index, self.max_output_chars)
                outs.append(
                    new_output(
                        "stream",
                        name="stderr",
                        text=f"\n[output cut: this cell printed more than {self.max_output_chars:,} characters]\n",
                    )
                )
            return None
        return super().output(outs, msg, display_id, cell_index)


class CappedLog:
    """The kernel's stdout and stderr: a pipe whose first and last :data:`LOG_KEEP_BYTES` are kept.

    A thread reads the pipe as the kernel writes it and drops the middle, so a kernel that prints
    without end costs a bounded amount of memory and no disk. On leaving, what was kept is written to
    ``path`` (nothing is written if the kernel printed nothing), with a line saying how much was left out.
    """

    def __init__(self, path: str | None, keep: int = LOG_KEEP_BYTES):
        self.path, self.keep = path, keep
        self.head, self.tail = bytearray(), bytearray()
        self.total = 0
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self._read_fd = read_fd
        self.writer = os.fdopen(write_fd, "wb", buffering=0)  # what the kernel's launcher inherits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True, name="kernel-log")
        self._thread.start()

    def __enter__(self) -> CappedLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _take(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.keep - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            del self.tail[: -self.keep]

    def _drain(self) -> None:
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self._read_fd], [], [], 0.2)
                if ready and not self._read_some():
                    return
            for _ in range(16):  # what is still in the pipe; a process that still writes is ended by the sweep
                if not self._read_some():
                    return
        except OSError:
            return
        finally:
            os.close(self._read_fd)

    def _read_some(self) -> bool:
        """Read what the pipe holds now; False at its end or when it is empty."""
        try:
            chunk = os.read(self._read_fd, 1 << 16)
        except BlockingIOError:
            return not self._stop.is_set()
        if chunk:
            self._take(chunk)
        return bool(chunk)

    def text(self) -> str:
        """What was kept, with a line for what was left out."""
        dropped = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {dropped:,} bytes of the kernel's output left out ...]\n".encode() if dropped > 0 else b""
        return (bytes(self.head) + middle + bytes(self.tail)).decode("utf-8", "replace")

    def close(self) -> None:
        self.writer.close()
        self._stop.set()
        self._thread.join(timeout=5)
        if self.path and self.total:
            with open(self.path, "w", encoding="utf-8") as handle:
                handle.write(self.text())


@dataclass
class ExecutionReport:
    statuses: dict[int, str] = field(default_factory=dict)  # cell index -> status
    reasons: dict[int, str] = field(default_factory=dict)  # test cell index -> why it failed (the judge's words)
    mistakes: dict[int, str] = field(default_factory=dict)  # test cell index -> the catalogue's name for it
    seconds_of: dict[int, float] = field(default_factory=dict)  # cell index -> wall-clock seconds it took
    restarts: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # PHASES -> wall-clock seconds spent in it

    def spent(self, phase: str, seconds: float) -> None:
        self.phases[phase] = round(self.phases.get(phase, 0.0) + max(0.0, seconds), 3)


# Where a notebook's wall-clock time goes (ExecutionReport.phases, Result.phases; the throughput benchmark
# prints them): the kernel's start (and restarts, with their replays), its first code cell (the notebook's
# imports), the other cells the student runs, the student's functions called by test cells, the grader's own
# work in test cells (building inputs and expected values, rebuilding graphs, comparing), naming a failure's
# likely mistake (probes included), and waiting for the judge to be made; the grader adds its own set-up
# before the kernel starts and, after its last cell, the rest: the kernel's end, the job's clean-up, the
# scores, the autograded notebook and the feedback.
PHASES = (
    "grader set-up",
    "kernel start",
    "set-up cell",
    "student cells",
    "calls in the kernel",
    "checks in the grader",
    "diagnosis",
    "waiting for the judge",
    "clean-up and writing",
)


def _cell_failed(cell) -> bool:
    return any(out.get("output_type") == "error" for out in cell.get("outputs", []))


def execute_notebook(
    nb: nbformat.NotebookNode,
    env: dict[str, str],
    timeout: int,
    startup_timeout: int = 120,
    max_output_chars: int = 200_000,
    replayable=lambda cell: True,
    sandbox_spec: sandbox.SandboxSpec | None = None,
    workdir: str | None = None,
    log_path: str | None = None,
    make_judge=None,
    is_test=lambda cell: False,
    notebook_timeout: int = 0,
    fork_server=None,
) -> ExecutionReport:
    """Execute ``nb`` in place (outputs are written into its cells) and report each cell's status.

    The kernel runs in ``sandbox_spec.workdir`` (or ``workdir``) and, with a spec, inside the sandbox;
    what it prints outside the notebook (library warnings, crash reports) goes to ``log_path``, capped
    (:class:`CappedLog`; no file when it printed nothing).
    ``make_judge(socket_dir)`` gives the :class:`~helpers.instructor.judge.Judge` of the cells for
    which ``is_test(cell)`` holds; it is called in a thread while the kernel starts (:class:`MadeMeanwhile`).
    With a ``fork_server`` (:mod:`helpers.instructor.kernel_forks`; a spec needed), the kernel is forked
    from its preloaded interpreter instead of started afresh.
    """
    with (
        tempfile.TemporaryDirectory(prefix=sandbox.scratch_prefix("kernel"), dir=sandbox.scratch_root()) as socket_dir,
        CappedLog(log_path) as log,
    ):
        if sandbox_spec is not None and sandbox_spec.uid is not None:
            os.chown(socket_dir, sandbox_spec.uid, sandbox_spec.uid)
        cwd = sandbox_spec.workdir if sandbox_spec is not None else (workdir or os.getcwd())
        judge = MadeMeanwhile(make_judge, socket_dir) if make_judge is not None else None
        try:
            return _execute(
                nb,
                cwd,
                env,
                timeout,
                startup_timeout,
                max_output_chars,
                replayable,
                socket_dir,
                sandbox_spec,
                log,
                judge,
                is_test,
                notebook_timeout,
                fork_server,
            )
        finally:
            if judge is not None:
                judge.close()


class MadeMeanwhile:
    """The judge, made in a thread of its own while the kernel starts and runs the cells before the first test
    cell, which do not need it: making it runs the source's set-up and solutions in this process (TensorFlow
    for two assignments: seconds), as long as the kernel's own start. :meth:`get` waits for it and raises
    what making it raised.
    """

    def __init__(self, make, *args):
        self._made = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._make, args=(make, *args), daemon=True, name="judge-setup")
        self._thread.start()

    def _make(self, make, *args) -> None:
        try:
            self._made = make(*args)
        except BaseException as exc:  # noqa: BLE001 - whatever it is, get() raises it in the grading thread
            self._error = exc

    def get(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._made

    def close(self) -> None:
        self._thread.join()
        if self._made is not None:
            self._made.close()


def _execute(
    nb,
    cwd,
    env,
    timeout,
    startup_timeout,
    max_output_chars,
    replayable,
    socket_dir,
    sandbox_spec,
    log,
    judge=None,
    is_test=lambda cell: False,
    notebook_timeout=0,
    fork_server=None,
) -> ExecutionReport:
    report = ExecutionReport()
    started = time.monotonic()
    budget_end = started + notebook_timeout if notebook_timeout else None
    code = [k for k, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    for k in code:
        nb.cells[k].outputs = []
        nb.cells[k].execution_count = None
    client = _GuardedClient(
        nb,
        timeout=timeout,
        startup_timeout=startup_timeout,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        record_timing=False,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"cell ran longer than {timeout} s", "traceback": []},
        iopub_timeout=4,
        raise_on_iopub_timeout=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": cwd}},
        max_output_chars=max_output_chars,
        sandbox_spec=sandbox_spec,
        socket_dir=socket_dir,
        fork_server=fork_server,
        # Unix sockets instead of TCP ports: nothing listens on the network, and no port clashes
        # between parallel workers.
        # The socket path must be absolute: the kernel runs in another working folder.
        config=Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(socket_dir, "kernel")}}),
    )
    kernel = ScratchKernel(client)
    position = 0
    while position < len(code):
        try:
            starting = time.monotonic()
            with client.setup_kernel(env=env, stdout=log.writer, stderr=log.writer):
                if report.restarts:
                    _replay(
                        client,
                        nb,
                        [k for k in code[:position] if report.statuses.get(k) == "ok" and replayable(nb.cells[k])],
                    )
                report.spent("kernel start", time.monotonic() - starting)
                while position < len(code):
                    index = code[position]
                    cell = nb.cells[index]
                    tester = None
                    if judge is not None and is_test(cell):
                        waited = time.monotonic()
                        tester = judge.get()
                        report.spent("waiting for the judge", time.monotonic() - waited)
                        if budget_end is not None:  # the wait is the grader's, not the notebook's
                            budget_end += time.monotonic() - waited
                    if budget_end is not None and time.monotonic() >= budget_end:
                        LOGGER.info(
                            "the notebook used up its %d s: %d code cells not run",
                            notebook_timeout,
                            len(code) - position,
                        )
                        for rest in code[position:]:
                            report.statuses[rest] = "not run"
                            nb.cells[rest].outputs = [
                                _error_output("NotRun", f"not run: the notebook used up its {notebook_timeout} s")
                            ]
                        position = len(code)
                        break
                    cell_timeout = (
                        timeout
                        if budget_end is None
                        else max(1, min(timeout, int(budget_end - time.monotonic() + 0.999)))
                    )
                    client.timeout = cell_timeout
                    client.timed_out = False
                    cell_started = time.monotonic()
                    if tester is not None:
                        spent_before = dict(tester.seconds)
                        status, reason = tester.run_test_cell(kernel, cell, index, cell_timeout)
                        judged = time.monotonic() - cell_started
                        for phase, seconds in tester.seconds.items():
                            report.spent(phase, seconds - spent_before.get(phase, 0.0))
                            judged -= seconds - spent_before.get(phase, 0.0)
                        report.spent("checks in the grader", judged)
                        if reason:
                            report.reasons[index] = reason
                        if index in tester.mistakes:
                            report.mistakes[index] = tester.mistakes[index]
                        if status == "timeout":
                            client.timed_out = True
                    else:
                        client.execute_cell(cell, index)
                        if client.iopub_lost():
                            raise IopubLost()
                    report.seconds_of[index] = time.monotonic() - cell_started
                    if tester is None:
                        report.spent("set-up cell" if position == 0 else "student cells", report.seconds_of[index])
                    if client.timed_out:
                        LOGGER.info("cell %d ran past its %d s and was interrupted", index, cell_timeout)
                        report.statuses[index] = "timeout"
                        cell.outputs.append(
                            _error_output(
                                "CellTimeoutError",
                                report.reasons.get(index)
                                or f"this cell ran longer than {cell_timeout} s and was interrupted",
                            )
                        )
                        position += 1
                        if not _responsive(client):
                            raise _KernelStuck()
                    else:
                        report.statuses[index] = "error" if _cell_failed(cell) else "ok"
                        position += 1
                    LOGGER.debug("cell %d: %s in %.2f s", index, report.statuses[index], report.seconds_of[index])
        except (DeadKernelError, _KernelStuck, KernelLost) as exc:
            client.timeout = timeout
            if isinstance(exc, _KernelStuck):
                LOGGER.info("the kernel did not answer after an interrupt: restarted")
            else:
                index = code[position]
                LOGGER.info("cell %d: %s", index, lost_because(exc))
                report.statuses[index] = "kernel died"
                nb.cells[index].outputs.append(_error_output("DeadKernelError", lost_because(exc)))
                position += 1
            report.restarts += 1
            client.km = None
            client.kc = None
            if report.restarts > MAX_RESTARTS:
                LOGGER.info("the kernel died %d times: %d code cells not run", report.restarts, len(code) - position)
                for index in code[position:]:
                    report.statuses[index] = "not run"
                    nb.cells[index].outputs = [_error_output("NotRun", "not run: the kernel died too many times")]
                break
    report.seconds = time.monotonic() - started
    LOGGER.debug("notebook ran in %.1f s (%d restarts)", report.seconds, report.restarts)
    return report


def lost_because(exc: BaseException) -> str:
    """Why the kernel was restarted during a cell, in the student's terms."""
    if isinstance(exc, IopubLost) or isinstance(exc.__cause__, IopubLost):
        return (
            f"this cell sent one output larger than the grader accepts ({MAX_KERNEL_MESSAGE_BYTES >> 20} MB): "
            "it was dropped and the kernel restarted"
        )
    return "the kernel died while running this cell (crash, os._exit or memory limit)"


def execute_scratch(client: NotebookClient, scratch, index: int, **kwargs) -> None:
    """Run a cell that is not part of the notebook (nbclient would put it at ``index``); its outputs
    count against cell ``index``'s output cap."""
    kept = client.nb.cells[index]
    displays = copy.deepcopy(client._display_id_map)
    try:
        client.execute_cell(scratch, index, **kwargs)
    finally:
        client.nb.cells[index] = kept
        client._display_id_map = displays  # the scratch cell's outputs are gone: so are its display ids


@dataclass
class ScratchRun:
    """What a scratch cell left: its outputs, and whether it ran out of time (and was interrupted)."""

    outputs: list
    timed_out: bool


class ScratchKernel:
    """The student's running kernel as the judge sees it: it may run one scratch cell at a time, nothing else.

    The client, its timeouts and its recovery stay here; the judge gets a cell's outputs back, or
    :class:`KernelLost` where the kernel died during the cell.
    """

    def __init__(self, client: _GuardedClient):
        self._client = client

    def run(self, code: str, index: int, seconds: float, doing: str = "a call") -> ScratchRun:
        """Run ``code`` for at most ``seconds``, as a cell that is not part of the notebook; its outputs count
        against cell ``index``'s output cap and it leaves no history. ``doing`` names it in a lost kernel's reason.
        """
        client = self._client
        scratch = new_code_cell(code)
        saved = client.timeout
        client.timeout = max(1, int(seconds + 0.999))
        client.timed_out = False
        try:
            execute_scratch(client, scratch, index, store_history=False)
            if client.iopub_lost():
                raise IopubLost()
        except DeadKernelError as exc:
            raise KernelLost(f"the kernel died while running {doing}") from exc
        finally:
            client.timeout = saved
        return ScratchRun(outputs=scratch.outputs, timed_out=client.timed_out)


def _replay(client: _GuardedClient, nb, indices: list[int]) -> None:
    """Re-run cells that succeeded before a restart, discarding their outputs."""
    for index in indices:
        scratch = copy.deepcopy(nb.cells[index])
        scratch.outputs = []
        execute_scratch(client, scratch, index)


def _responsive(client: _GuardedClient) -> bool:
    """After an interrupt: does the kernel answer a trivial request within a few seconds?"""
    saved = client.timeout
    client.timeout = PROBE_SECONDS
    client.timed_out = False
    try:
        execute_scratch(client, new_code_cell("pass"), 0)
    finally:
        client.timeout = saved
    return not client.timed_out
