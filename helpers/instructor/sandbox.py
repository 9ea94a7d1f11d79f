"""Start a grading kernel locked away from everything but its own working folder.

``course grade`` starts each student's kernel through this module (as the kernel command):

    python -m helpers.instructor.sandbox SPEC_JSON -- python -m ipykernel_launcher -f CONNECTION_FILE

When the grader runs as root (a grading server, CI), the kernel gets, without Docker:

* its own **network namespace** with no interface up: no network at all (the grader talks to it
  over Unix sockets in the job folder);
* its own **PID namespace**: a process it leaves behind dies with it;
* its own **file system root**, built from an allow-list: the system's programs and libraries
  (``/usr``, ``/lib*``, ``/bin``, ``/etc``), ``/dev``, ``/sys`` and a ``/proc`` of its own, the Python
  installation, and of the course only ``helpers/``, ``datasets/`` and ``weights/``, all read-only; its
  job folder is the one place it can write. Nothing else of the machine exists for it: not the
  course's ``source/``, ``submitted/``, ``autograded/``, ``feedback/`` or gradebook (whenever they
  appear), not an nbgrader exchange, another checkout, a backup or anyone's home folder;
* its own **IPC namespace**: no System V shared memory, semaphores or message queues shared with
  another kernel or left behind;
* an **unprivileged user** (a numeric uid that one job holds at a time, no groups, whatever runs the
  job: a local worker, a Dask worker of any number of threads), so it can write only its job folder
  (mode 0700) and cannot read another student's; when the notebook is done, every process of that
  user is killed, so nothing it started outlives its grading;
* **limits on the kernel as a whole**: a memory cgroup (v1 ``memory`` or v2) caps the memory of all
  its processes together, tmpfs included, and a ``pids`` cgroup their number; per process, CPU
  seconds, address space, open files, file size, no core files;
* **private, size-capped** ``/tmp``, ``/var/tmp`` and ``/dev/shm``: fresh tmpfs mounts of its own that
  vanish with it (the job folders live under ``/run/course-grading`` instead).

Without root the same limits apply, but the namespaces need unprivileged user namespaces, and the
file system is the machine's with ``source/``, ``submitted/``, ``autograded/``, ``feedback/``, the
gradebook and ``grades.csv`` covered by empty, read-only mounts. Where this sandbox cannot be set up
(no ``unshare``, no namespaces, a sandbox user that cannot run Python), grading refuses
(:func:`helpers.instructor.grading.probe_sandbox`); with ``c.CourseGrader.sandbox = False`` the kernel
runs with the grader's rights and only the resource limits apply, and the command says so. See the
README's "Isolation" section.

Whatever kills the grader (Ctrl-C, ``kill -9``, the OOM killer), its kernels die with it: the sandbox
launcher and the kernel are started with a parent-death signal.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field


@dataclass
class SandboxSpec:
    workdir: str
    hide_dirs: list[str] = field(default_factory=list)
    hide_files: list[str] = field(default_factory=list)
    uid: int | None = None  # None: keep the current user
    cpu_seconds: int = 900
    memory_bytes: int = 8 << 30
    max_processes: int = 1024
    max_open_files: int = 256
    max_file_bytes: int = 256 << 20
    namespaces: bool = True
    expose: list[str] = field(default_factory=list)  # what the kernel may read (Python, parts of the course)
    writable: list[str] = field(default_factory=list)  # what it may also write (where its job folder lives)
    cgroups: list[str] = field(default_factory=list)  # cgroup folders the kernel joins (made by KernelCgroups)
    tmp_bytes: int = 512 << 20  # each private temporary folder (/tmp, /var/tmp, /dev/shm)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _probe_namespaces() -> tuple[str | None, str]:
    """('root' or 'userns', '') where this machine can give a kernel namespaces of its own, else (None, why not)."""
    unshare = shutil.which("unshare")
    if not unshare:
        return None, "util-linux's `unshare` is not on PATH"
    flags = ["--mount", "--net", "--pid", "--ipc", "--fork"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user", *flags]
    command = " ".join(["unshare", *flags, "true"])
    try:
        proc = subprocess.run([unshare, *flags, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"`{command}` failed ({exc})"
    if proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        return None, f"`{command}` failed" + (f": {said[-1]}" if said else f" (exit status {proc.returncode})")
    return ("root" if os.geteuid() == 0 else "userns"), ""


_NAMESPACES: tuple[str | None, str] | None = None


def namespace_mode() -> str | None:
    """'root', 'userns' or None: how this machine can give a kernel namespaces of its own (probed once)."""
    return namespace_probe()[0]


def namespace_probe() -> tuple[str | None, str]:
    """:func:`namespace_mode` and, where it is None, why: what an instructor is told."""
    global _NAMESPACES
    if _NAMESPACES is None:
        _NAMESPACES = _probe_namespaces()
    return _NAMESPACES


def sandbox_problem(spec: SandboxSpec) -> str | None:
    """None if a kernel can start inside this sandbox (namespaces, user, limits), else what went wrong.

    It starts what a kernel's start needs (Python importing ``helpers`` and ``ipykernel``) exactly as a
    kernel is started, so whatever would stop a kernel stops this first.
    """
    probe = [sys.executable, "-c", "import helpers, ipykernel"]
    try:
        proc = subprocess.run(wrap_command(spec, probe), capture_output=True, timeout=120, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"Python could not be started in it ({exc})"
    if proc.returncode == 0:
        return None
    said = [line for line in proc.stderr.decode(errors="replace").strip().splitlines() if line.strip()]
    return "Python could not start in it" + (
        f": {said[-1].strip()[:300]}" if said else f" (exit status {proc.returncode})"
    )


_PDEATHSIG: list[str] | None | bool = False


def _pdeathsig_prefix() -> list[str]:
    """``setpriv --pdeathsig KILL --`` where util-linux has it: the launcher dies with the grader."""
    global _PDEATHSIG
    if _PDEATHSIG is False:
        _PDEATHSIG = None
        setpriv = shutil.which("setpriv")
        if setpriv:
            try:
                ok = (
                    subprocess.run(
                        [setpriv, "--pdeathsig", "KILL", "--", "true"], capture_output=True, timeout=10
                    ).returncode
                    == 0
                )
            except (OSError, subprocess.TimeoutExpired):
                ok = False
            _PDEATHSIG = [setpriv, "--pdeathsig", "KILL", "--"] if ok else None
    return list(_PDEATHSIG or [])


def die_with_parent() -> None:
    """Have Linux SIGKILL this process when its parent ends (call it in a process of one thread)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the uid sweep (kill_user) still ends what a kernel leaves behind


def wrap_command(spec: SandboxSpec, kernel_cmd: list[str]) -> list[str]:
    """The command that starts ``kernel_cmd`` inside the sandbox described by ``spec``."""
    inner = [sys.executable, "-m", "helpers.instructor.sandbox", "--inside", spec.to_json(), "--", *kernel_cmd]
    mode = namespace_mode() if spec.namespaces else None
    if mode is None:
        return [*_pdeathsig_prefix(), *inner]
    flags = ["--mount", "--net", "--pid", "--ipc", "--fork", "--kill-child", "--mount-proc"]
    if mode == "userns":
        flags = ["--user", "--map-root-user", *flags]
    return [*_pdeathsig_prefix(), shutil.which("unshare") or "unshare", *flags, "--", *inner]


# ------------------------------------------------------------------ the kernels' users

_LOCK_DIR = os.path.join(tempfile.gettempdir(), "course-sandbox-users")
_RUN_DIR = "/run/course-grading"
PRIVATE_TEMP = ("/tmp", "/var/tmp", "/dev/shm")


def scratch_root() -> str:
    """Where job folders and kernel sockets live: outside the kernel's private temporary folders as root."""
    if os.geteuid() == 0 and os.path.isdir("/run") and os.access("/run", os.W_OK):
        os.makedirs(_RUN_DIR, mode=0o711, exist_ok=True)
        os.chmod(_RUN_DIR, 0o711)
        return _RUN_DIR
    return tempfile.gettempdir()


class UserClaim:
    """One job's sandbox user: ``uid``, held by a lock until :meth:`release` (or the holder's end)."""

    def __init__(self, uid: int, fd: int):
        self.uid, self._fd = uid, fd

    def release(self) -> None:
        """Kill every process of the uid (whatever the job's kernel started, however it hid), then free it."""
        if self._fd is None:
            return
        try:
            kill_user(self.uid)
        finally:
            os.close(self._fd)  # closing the lock file's only descriptor drops its lock
            self._fd = None


def claim_user(base: int, count: int = 1000) -> UserClaim:
    """A uid in ``[base, base + count)`` that no other job holds, for one job; release it when done.

    Each job (one notebook being graded) takes the first uid whose lock file it can lock, through a
    descriptor of its own, so two kernels never share a user: not across grading processes, not
    across concurrent ``course grade`` runs on one machine, and not between two jobs of one process
    (a Dask worker with several threads). A lock dies with its process: the processes a killed
    grader's kernel left under that uid are killed here before the uid is used again. Root only.
    """
    os.makedirs(_LOCK_DIR, mode=0o700, exist_ok=True)
    info = os.lstat(_LOCK_DIR)
    if info.st_uid != os.geteuid() or info.st_mode & 0o077 or not os.path.isdir(_LOCK_DIR):
        raise RuntimeError(
            f"{_LOCK_DIR} must be a folder of this user with mode 0700 (it holds the locks of the "
            "sandbox users); remove it and grade again"
        )
    for uid in range(base, base + count):
        # flock belongs to the open file, not the process: a second open() of the same lock file in
        # this process (another thread's job) does not get it while this one holds it.
        fd = os.open(os.path.join(_LOCK_DIR, f"{uid}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            kill_user(uid)  # leftovers of a grader that was killed while it held this uid
        except BaseException:
            os.close(fd)
            raise
        return UserClaim(uid, fd)
    raise RuntimeError(f"all {count} sandbox users from {base} are in use: grade with fewer workers")


def scratch_prefix(kind: str) -> str:
    """Prefix of a temporary folder of this process (a job folder, a kernel's sockets): see sweep_scratch."""
    return f"course-{kind}-{os.getpid()}-"


def sweep_scratch() -> None:
    """Remove the temporary folders and cgroups of grading processes that no longer live (a run killed with -9)."""
    KernelCgroups.sweep()
    for entry in os.scandir(scratch_root()):
        parts = entry.name.split("-")
        if (
            len(parts) < 4
            or parts[0] != "course"
            or parts[1] not in ("job", "kernel", "forks")
            or not parts[2].isdigit()
        ):
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        if os.geteuid() != 0 and entry.stat(follow_symlinks=False).st_uid != os.geteuid():
            continue  # root hands a kernel's socket folder to the kernel's user; others sweep only their own
        try:
            os.kill(int(parts[2]), 0)
            continue  # its process lives
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)


def kill_user(uid: int) -> None:
    """SIGKILL every process of ``uid`` (the kernel's user), from a helper that runs as that user."""
    if uid <= 0 or os.geteuid() != 0:
        raise ValueError(f"kill_user needs root and a sandbox uid, not {uid}")
    # kill(-1) as that user reaches all its processes, in any PID namespace, and nothing else. The
    # shell is one every user may run (the grader's own Python may sit in a closed home folder).
    subprocess.run(
        ["/bin/sh", "-c", "kill -s KILL -- -1 2>/dev/null; exit 0"],
        user=uid,
        group=uid,
        extra_groups=[],
        cwd="/",
        env={},
        capture_output=True,
        timeout=30,
        check=True,
    )


class KernelCgroups:
    """A memory and a pids cgroup for one kernel, made by the (root) grader and removed after it.

    cgroup v2 where the machine mounts it with the memory controller, else v1's ``memory`` and
    ``pids`` hierarchies. Names carry the grader's pid, so :meth:`sweep` can remove a dead run's.
    """

    def __init__(self, paths: list[str]):
        self.paths = paths

    @staticmethod
    def _bases() -> list[tuple[str, str]]:
        """(controller, folder under which this process may make cgroups)."""
        found = []
        try:
            lines = open("/proc/self/cgroup").read().splitlines()
        except OSError:
            return found
        own = {}
        for line in lines:
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else ["<v2>"]:
                own[controller] = path
        v2 = "/sys/fs/cgroup"
        if (
            "<v2>" in own
            and os.path.isfile(os.path.join(v2, "cgroup.controllers"))
            and "memory" in open(os.path.join(v2, "cgroup.controllers")).read().split()
        ):
            return [("v2", v2 + own["<v2>"])]
        for controller in ("memory", "pids"):
            folder = os.path.join("/sys/fs/cgroup", controller)
            if controller in own and os.path.isdir(folder):
                found.append((controller, folder + own[controller]))
        return found

    @classmethod
    def create(cls, name: str, memory_bytes: int, max_processes: int) -> KernelCgroups | None:
        """None where this machine or user cannot make cgroups (the per-process limits still apply)."""
        if os.geteuid() != 0:
            return None
        paths = []
        try:
            for controller, base in cls._bases():
                path = os.path.join(base, f"course-{os.getpid()}-{name}")
                os.makedirs(path, exist_ok=True)
                paths.append(path)
                if controller in ("v2", "memory"):
                    limit = "memory.max" if controller == "v2" else "memory.limit_in_bytes"
                    with open(os.path.join(path, limit), "w") as handle:
                        handle.write(str(memory_bytes))
                if controller in ("v2", "pids"):
                    with open(os.path.join(path, "pids.max"), "w") as handle:
                        handle.write(str(max_processes))
        except OSError:
            cls(paths).remove()
            return None
        return cls(paths) if paths else None

    def remove(self) -> None:
        for path in self.paths:
            for _ in range(50):  # the kernel's processes may take a moment to leave after SIGKILL
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    import time

                    time.sleep(0.05)

    @classmethod
    def sweep(cls) -> None:
        if os.geteuid() != 0:
            return
        for _, base in cls._bases():
            try:
                entries = list(os.scandir(base))
            except OSError:
                continue
            for entry in entries:
                parts = entry.name.split("-")
                if len(parts) < 3 or parts[0] != "course" or not parts[1].isdigit():
                    continue
                try:
                    os.kill(int(parts[1]), 0)
                    continue
                except ProcessLookupError:
                    pass
                except PermissionError:
                    continue
                cls([entry.path]).remove()


def _join_cgroups(paths: list[str]) -> None:
    for path in paths:
        with open(os.path.join(path, "cgroup.procs"), "w") as handle:
            handle.write("0")  # this process; the kernel and everything it starts follow


def _private_temp(size: int, root: str = "/") -> None:
    """Fresh tmpfs mounts on /tmp, /var/tmp and /dev/shm: the kernel's own, gone with its namespace."""
    for path in PRIVATE_TEMP:
        target = os.path.join(root, path.lstrip("/"))
        if root != "/" or os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
            _mount("-t", "tmpfs", "-o", f"mode=1777,size={size},nosuid,nodev", "tmpfs", target)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


# What every kernel sees of the machine besides Python and its own folders, read-only.
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def _place(path: str, root: str, writable: bool = False) -> None:
    """Make ``path`` appear at the same place under ``root``: a link stays a link, anything else is bound."""
    target = os.path.join(root, path.lstrip("/"))
    if os.path.lexists(target):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.islink(path) and path in SYSTEM_PATHS:  # /bin -> usr/bin on merged-/usr systems
        os.symlink(os.readlink(path), target)
        return
    if os.path.isdir(path):
        os.makedirs(target)
    else:
        open(target, "a").close()
    _mount("--rbind", path, target)
    if not writable:
        _mount("-o", "remount,bind,ro", target)


def _new_root(spec: SandboxSpec, root: str) -> None:
    """Build the kernel's file system under ``root`` from the allow-list and enter it (as root, before
    the change of user: the kernel's user cannot leave it)."""
    os.makedirs(root, exist_ok=True)
    _mount("-t", "tmpfs", "-o", "mode=755,size=1m", "tmpfs", root)
    for path in SYSTEM_PATHS:
        if os.path.lexists(path):
            _place(path, root)
    _place("/dev", root, writable=True)
    _place("/sys", root)
    os.makedirs(os.path.join(root, "proc"))
    _mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", os.path.join(root, "proc"))
    _private_temp(spec.tmp_bytes, root)  # first: what is allowed below stays visible on top of them
    for path in sorted(set(spec.expose), key=len):
        if os.path.exists(path):
            real = os.path.realpath(path)
            _place(real, root)
            link = os.path.join(root, os.path.abspath(path).lstrip("/"))
            if real != os.path.abspath(path) and not os.path.lexists(link):  # e.g. datasets/ linked to a share
                with contextlib.suppress(OSError):
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    os.symlink(real, link)
    for path in [*spec.writable, spec.workdir]:
        if not any(os.path.realpath(path).startswith(os.path.realpath(w) + os.sep) for w in spec.writable):
            _place(os.path.realpath(path), root, writable=True)
    os.chroot(root)
    os.chdir("/")


def enter(spec: SandboxSpec, kernel_cmd: list[str], start=None) -> None:
    """Enter the sandbox ``spec`` (this process: in its namespaces, as root where it gets a user of its
    own), then execute ``kernel_cmd``, or call ``start()`` (a kernel forked by
    :mod:`helpers.instructor.kernel_forks`, whose interpreter has its imports already)."""
    in_namespace = os.environ.get("COURSE_SANDBOX_NS") != "0" and os.getpid() == 1
    if spec.cgroups and os.geteuid() == 0:
        _join_cgroups(spec.cgroups)
    if in_namespace:
        if spec.uid is not None and os.geteuid() == 0:
            _new_root(spec, os.path.join(os.path.dirname(spec.workdir), ".root"))
        else:  # no user of its own to become: the machine's file system, with what it must not read covered
            for path in spec.hide_dirs:
                if os.path.isdir(path):
                    _mount("-t", "tmpfs", "-o", "ro,size=4k,mode=000", "tmpfs", path)
            for path in spec.hide_files:
                if os.path.isfile(path):
                    _mount("--bind", "/dev/null", path)
    limits = [
        (resource.RLIMIT_CPU, spec.cpu_seconds),
        # Address space is not memory (TensorFlow and OpenBLAS reserve much more than they use): with a
        # memory cgroup it is bounded loosely, per process; without one it is the only bound there is.
        (resource.RLIMIT_AS, spec.memory_bytes * (4 if spec.cgroups else 1)),
        (resource.RLIMIT_NOFILE, spec.max_open_files),
        (resource.RLIMIT_FSIZE, spec.max_file_bytes),
        (resource.RLIMIT_CORE, 0),
    ]
    if spec.uid is not None:  # counted per user: only meaningful for a uid of the sandbox's own
        limits.append((resource.RLIMIT_NPROC, spec.max_processes))
    for which, value in limits:
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value if which != resource.RLIMIT_CPU else value + 5))
    if spec.uid is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(spec.uid)
        os.setuid(spec.uid)
    die_with_parent()  # again: a change of user clears it (the parent is the launcher, or the grader)
    os.chdir(spec.workdir)
    os.environ["HOME"] = spec.workdir
    os.environ["MPLCONFIGDIR"] = os.path.join(spec.workdir, ".matplotlib")
    os.umask(0o077)
    if start is not None:
        start()
        return
    os.execvp(kernel_cmd[0], kernel_cmd)


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[0] != "--inside" or "--" not in argv:
        raise SystemExit("usage: python -m helpers.instructor.sandbox --inside SPEC_JSON -- KERNEL_COMMAND...")
    spec = SandboxSpec(**json.loads(argv[1]))
    enter(spec, argv[argv.index("--") + 1 :])


if __name__ == "__main__":
    main(sys.argv[1:])
