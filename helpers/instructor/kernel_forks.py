"""Students' kernels forked from an interpreter that has already imported what the notebook imports.

Every kernel of an assignment imports the same modules in its set-up cell: TensorFlow, Keras,
matplotlib and ``helpers`` for the two TensorFlow notebooks (5-6 s of CPU each time), numpy and
matplotlib for ``cnn_step_by_step``, and ipykernel for all. ``course grade`` runs a whole class: each
grading process keeps a :class:`ForkServer` per assignment, a fresh interpreter (never a fork of the
grader, whose memory holds the source solutions) that imports the set-up cell's modules once and then
forks one kernel per notebook. The forked kernel then enters exactly the sandbox an executed one does
(:func:`helpers.instructor.sandbox.enter`): namespaces, its own root, cgroups, user and limits,
before any student code runs.

Three processes stand for one kernel:

* the **stand-in** that jupyter_client starts as the kernel command
  (``python -m helpers.instructor.kernel_forks attach SOCKET SPEC -- KERNEL_COMMAND``): it hands the
  server its standard streams and its environment, passes on the signals it receives (an interrupt),
  and ends with the kernel's exit status, so jupyter_client manages it as it would the kernel;
* the **keeper**, forked by the server: in the kernel's new PID, mount, network and IPC namespaces
  (root) it forks the kernel and passes signals on to it;
* the **kernel**, PID 1 of its namespace, which dies with the keeper (a parent-death signal), and
  the keeper with the server.

When the stand-in ends (jupyter_client killed it, or the grader died), the server kills the keeper,
and with it the kernel's whole PID namespace; the job's end kills every process of the job's user as
before. A fork server is used only where the sandbox needs no user namespace: as root, or with the
sandbox off; a grader without root starts each kernel afresh.
"""

from __future__ import annotations

import ast
import contextlib
import ctypes
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback

from helpers.instructor import sandbox
from helpers.instructor.grader_log import LOGGER
from helpers.notebook_cells import without_magics

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x08000000, 0x40000000, 0x20000000
MS_REC, MS_PRIVATE = 0x4000, 1 << 18
PR_SET_DUMPABLE = 4
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
MAX_REQUEST_BYTES = 1 << 20
KERNEL_MODULE = "ipykernel_launcher"


def set_up_imports(source: str) -> str:
    """The import statements of a set-up cell's code (magics dropped), as code to run: what a server preloads."""
    try:
        tree = ast.parse(without_magics(source))
    except SyntaxError:
        return ""
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))


def usable(spec: sandbox.SandboxSpec) -> bool:
    """Whether a kernel of this sandbox can be forked: no user namespace to make (root, or the sandbox off)."""
    return not spec.namespaces or sandbox.namespace_mode() == "root"


class ForkServer:
    """One server process of this grading process: it preloads ``imports`` and forks kernels on request.

    It starts importing at once; :meth:`ready` waits for it (the grader makes its judge meanwhile)."""

    def __init__(self, imports: str, env: dict[str, str], startup_timeout: float = 120):
        self.folder = tempfile.mkdtemp(prefix=sandbox.scratch_prefix("forks"), dir=sandbox.scratch_root())
        os.chmod(self.folder, 0o700)  # only the grader's user may ask for a kernel
        self.path = os.path.join(self.folder, "server.sock")
        self.startup_timeout = startup_timeout
        self._ready: bool | None = None
        self._lock = threading.Lock()
        # matplotlib remembers its folder from the import: one in the grader's /tmp, which no kernel has
        # (a kernel's /tmp is its own), so a kernel's matplotlib finds nothing there, as a fresh one would
        self.matplotlib = tempfile.mkdtemp(prefix=sandbox.scratch_prefix("forks"))
        env = dict(env, HOME=self.folder, MPLCONFIGDIR=self.matplotlib)
        self.process = subprocess.Popen(
            [*sandbox._pdeathsig_prefix(), sys.executable, "-m", __name__, "serve", self.path, imports],
            stdin=subprocess.PIPE,  # the server ends when this process closes it, or ends
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
        )

    def ready(self) -> bool:
        """Whether the server has its imports and takes requests (waited for once; False: start kernels afresh)."""
        with self._lock:  # a Dask worker's threads share this process's servers
            return self._wait()

    def _wait(self) -> bool:
        if self._ready is None:
            said = _read_line(self.process.stdout, self.startup_timeout)
            self._ready = said == "ready"
            if not self._ready:
                LOGGER.info("the kernels' fork server did not start (%s): kernels start afresh", said or "no answer")
                self.close()
        return self._ready and self.alive()

    def alive(self) -> bool:
        return self.process.poll() is None

    def command(self, spec: sandbox.SandboxSpec, kernel_cmd: list[str]) -> list[str]:
        """The kernel command for jupyter_client: the stand-in, which asks this server for the kernel."""
        return [sys.executable, "-m", __name__, "attach", self.path, spec.to_json(), "--", *kernel_cmd]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):
            self.process.stdout.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.folder)
        shutil.rmtree(self.matplotlib, ignore_errors=True)


def _read_line(stream, seconds: float) -> str:
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    try:
        if not selector.select(seconds):
            return ""
        return stream.readline().decode(errors="replace").strip()
    finally:
        selector.close()


_SERVERS: dict[tuple, ForkServer] = {}
_SERVERS_LOCK = threading.Lock()


def server_for(imports: str, env: dict[str, str], startup_timeout: float = 120) -> ForkServer:
    """This process's server for kernels that import ``imports`` in an environment like ``env``, started on
    first use (and again where it died)."""
    key = (imports, tuple(sorted(env.items())))
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is not None and server._ready is not None and not server.ready():
            server.close()
            server = None
        if server is None:
            server = _SERVERS[key] = ForkServer(imports, env, startup_timeout)
            LOGGER.info("a fork server started for kernels that import:\n%s", imports)
        return server


def close_servers() -> None:
    with _SERVERS_LOCK:
        while _SERVERS:
            _SERVERS.popitem()[1].close()


# ------------------------------------------------------------------ the server process


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    if _libc().unshare(flags) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare: {os.strerror(errno)}")


def _mount_private_proc() -> None:
    """What ``unshare --mount --mount-proc`` does: nothing mounted here reaches the host; /proc of this PID namespace."""
    libc = _libc()
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount --make-rprivate /: {os.strerror(errno)}")
    sandbox._mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", "/proc")


def serve(path: str, imports: str) -> None:
    """The server: preload, then fork a kernel for each stand-in that connects, until standard input closes."""
    sandbox.die_with_parent()
    ready = os.dup(1)  # "ready" goes there, and nothing else: what the imports print goes to stderr
    os.dup2(2, 1)
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.getcwd():
        del sys.path[0]  # as in ipykernel_launcher: not this process's working folder
    exec(compile(imports, "<set-up imports>", "exec"), {"__name__": "__preload__"})
    from ipykernel import kernelapp  # noqa: F401 - preloaded for every kernel

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "parent")
    keepers: dict[int, list] = {}  # pidfd -> [stand-in's connection or None once it ended, keeper's pid]
    os.write(ready, b"ready\n")
    os.close(ready)
    while True:
        for key, _ in selector.select():
            if key.data == "parent":
                if not os.read(sys.stdin.fileno(), 4096):
                    for _, pid in keepers.values():
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                    return
            elif key.data == "accept":
                connection, _ = listener.accept()
                fds = []
                try:
                    message, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST_BYTES, 3)
                    request = json.loads(message)
                    if len(fds) != 3:
                        raise ValueError("three standard streams expected")
                except (OSError, ValueError) as exc:
                    print(f"fork server: a request refused ({exc})", file=sys.stderr)
                    for fd in fds:
                        os.close(fd)
                    connection.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    # The keeper: nothing of the server stays open in it, then the kernel's sandbox.
                    try:
                        selector.close()
                        listener.close()
                        for pidfd, (other, _) in keepers.items():
                            os.close(pidfd)
                            if other is not None:
                                other.close()
                        connection.close()
                        _keep(request, fds)
                    except KernelReady:
                        raise  # the kernel, in its sandbox: out of the server's frames, to the module's top
                    except BaseException:  # noqa: BLE001 - whatever stopped it goes to the kernel's log
                        traceback.print_exc()
                    os._exit(1)
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                keepers[pidfd] = [connection, pid]
                selector.register(pidfd, selectors.EVENT_READ, "keeper")
                selector.register(connection, selectors.EVENT_READ, pidfd)
            elif key.data == "keeper":
                connection, pid = keepers.pop(key.fd)
                _, status = os.waitpid(pid, 0)
                selector.unregister(key.fd)
                os.close(key.fd)
                if connection is not None:
                    selector.unregister(connection)
                    with contextlib.suppress(OSError):
                        connection.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
                    connection.close()
            else:  # a stand-in spoke: a signal to pass on, or its end
                record = keepers[key.data]
                connection, pid = record
                try:
                    message = connection.recv(4096)
                except OSError:
                    message = b""
                try:
                    number = int(json.loads(message)["signal"]) if message else signal.SIGKILL
                except (ValueError, KeyError, TypeError):
                    number = signal.SIGKILL
                if number not in FORWARDED:
                    number = signal.SIGKILL  # the stand-in ended (or spoke nonsense): so does the kernel
                if number == signal.SIGKILL:
                    selector.unregister(connection)
                    connection.close()
                    record[0] = None  # its keeper's end is reported to nobody
                with contextlib.suppress(OSError):
                    os.kill(pid, number)


def _keep(request: dict, fds: list[int]) -> None:
    """The keeper: make the kernel's namespaces, fork the kernel into them, pass signals on, end with it."""
    for number, fd in enumerate(fds):
        os.dup2(fd, number)
        os.close(fd)
    sandbox.die_with_parent()
    spec = sandbox.SandboxSpec(**request["spec"])
    if spec.namespaces:
        _unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC)
    kernel = os.fork()
    if kernel == 0:
        try:
            sandbox.die_with_parent()
            if spec.namespaces:
                _mount_private_proc()
            _start_kernel(spec, request)  # raises KernelReady once in the sandbox
        except KernelReady:
            raise
        except BaseException:  # noqa: BLE001 - to the kernel's log
            traceback.print_exc()
        os._exit(1)
    for number in FORWARDED:
        signal.signal(number, lambda received, frame: os.kill(kernel, received))
    _, status = os.waitpid(kernel, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _start_kernel(spec: sandbox.SandboxSpec, request: dict) -> None:
    """In the kernel's namespaces: its environment, its sandbox, then ipykernel in this interpreter."""
    kernel_cmd = request["argv"]
    if kernel_cmd[1:3] != ["-m", KERNEL_MODULE]:
        raise ValueError(f"not a kernel command: {kernel_cmd[:3]}")
    os.environ.clear()
    os.environ.update(request["env"])
    for number in FORWARDED:
        signal.signal(number, signal.SIG_DFL)
    # numpy's global generator was seeded in the server: a kernel's own, as a fresh interpreter's
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()

    # ipykernel read these variables when the server imported it: the kernel's own values, as arguments
    argv = [*kernel_cmd[3:]] + [
        f"--IPKernelApp.{name}={int(os.environ[variable])}"
        for name, variable in (("parent_handle", "JPY_PARENT_PID"), ("interrupt", "JPY_INTERRUPT_EVENT"))
        if os.environ.get(variable, "").isdigit()
    ]

    def ready() -> None:
        # The process is the user's now: dumpable again, as after an exec (the change of user cleared it)
        if _libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")
        sys.argv = [kernel_cmd[0], *argv]
        raise KernelReady(argv)

    sandbox.enter(spec, kernel_cmd, ready)


class KernelReady(BaseException):
    """Raised in a forked kernel once it is in its sandbox: it unwinds the server's frames, and the module's
    top level starts ipykernel (a student's code sees a stack like a kernel started afresh)."""

    def __init__(self, argv: list[str]):
        super().__init__()
        self.argv = argv


# ------------------------------------------------------------------ the stand-in


def attach(path: str, spec_json: str, kernel_cmd: list[str]) -> int:
    """The kernel command: ask the server at ``path`` for a kernel, stand for it until it ends."""
    sandbox.die_with_parent()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    connection.connect(path)
    request = {"spec": json.loads(spec_json), "argv": kernel_cmd, "env": dict(os.environ)}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])

    def forward(number, frame):
        with contextlib.suppress(OSError):
            connection.send(json.dumps({"signal": number}).encode())

    for number in FORWARDED:
        signal.signal(number, forward)
    while True:
        message = connection.recv(4096)
        if not message:
            return 1
        with contextlib.suppress(ValueError, KeyError, TypeError):
            code = int(json.loads(message)["exit"])
            return code if code >= 0 else 128 - code


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "serve":
        serve(argv[1], argv[2])
        return 0
    if len(argv) > 4 and argv[0] == "attach" and argv[3] == "--":
        return attach(argv[1], argv[2], argv[4:])
    raise SystemExit(
        "usage: python -m helpers.instructor.kernel_forks serve SOCKET IMPORTS | attach SOCKET SPEC -- KERNEL..."
    )


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KernelReady as started:
        _kernel_argv = started.argv
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=_kernel_argv)
