"""Start a grading kernel locked away from everything but its own working folder.

``course grade`` starts each student's kernel through this module (as the kernel command):

    python -m helpers.instructor.sandbox SPEC_JSON -- python -m ipykernel_launcher -f CONNECTION_FILE

When the grader runs as root (a grading server, CI), the kernel gets, without Docker:

* its own **network namespace** with no interface up: no network at all (the grader talks to it
  over Unix sockets in the job folder);
* its own **PID namespace**: a process it leaves behind dies with it;
* its own **mount namespace** in which ``source/``, ``submitted/``, ``autograded/``, ``feedback/``,
  the gradebook and ``grades.csv`` are covered by empty, read-only mounts;
* an **unprivileged user** (a numeric uid of its own per worker slot, no groups), so it can write only
  its job folder (mode 0700) and cannot read another student's;
* **resource limits**: CPU seconds, address space, processes/threads, open files, file size, no core files.

Without root the same limits apply, but the namespaces need unprivileged user namespaces; where those
are unavailable the kernel runs with the grader's rights and only the resource limits apply
(``course grade`` says so once). See the README's "Isolation" section.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
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
    expose: list[str] = field(default_factory=list)  # folders the kernel must reach (Python, the course)

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _probe_namespaces() -> str | None:
    """'root', 'userns' or None: how this machine can give a kernel namespaces of its own."""
    unshare = shutil.which("unshare")
    if not unshare:
        return None
    flags = ["--mount", "--net", "--pid", "--fork"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user", *flags]
    try:
        proc = subprocess.run([unshare, *flags, "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    return "root" if os.geteuid() == 0 else "userns"


_NAMESPACES: str | None | bool = False
_UID_OK: dict[int, bool] = {}


def sandbox_works(spec: "SandboxSpec") -> bool:
    """Can a kernel start inside this sandbox (namespaces, user, limits)? Probed once per uid."""
    key = spec.uid if spec.uid is not None else -1
    if key not in _UID_OK:
        probe = [sys.executable, "-c", "import helpers, ipykernel"]
        try:
            proc = subprocess.run(wrap_command(spec, probe), capture_output=True, timeout=120, cwd="/")
            _UID_OK[key] = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _UID_OK[key] = False
    return _UID_OK[key]


def namespace_mode() -> str | None:
    global _NAMESPACES
    if _NAMESPACES is False:
        _NAMESPACES = _probe_namespaces()
    return _NAMESPACES  # type: ignore[return-value]


def wrap_command(spec: SandboxSpec, kernel_cmd: list[str]) -> list[str]:
    """The command that starts ``kernel_cmd`` inside the sandbox described by ``spec``."""
    inner = [sys.executable, "-m", "helpers.instructor.sandbox", "--inside", spec.to_json(), "--", *kernel_cmd]
    mode = namespace_mode() if spec.namespaces else None
    if mode is None:
        return inner
    flags = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if mode == "userns":
        flags = ["--user", "--map-root-user", *flags]
    return [shutil.which("unshare") or "unshare", *flags, "--", *inner]


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _blocking_ancestor(path: str) -> str | None:
    """The first folder above ``path`` that other users may not enter (e.g. a 0700 home)."""
    current = "/"
    for part in os.path.abspath(path).strip("/").split("/")[:-1]:
        current = os.path.join(current, part)
        if not os.stat(current).st_mode & 0o001:
            return current
    return None


def _expose(paths: list[str], staging: str) -> None:
    """Cover each closed ancestor of ``paths`` with an empty read-only folder and put the paths back in it.

    A Python installed in root's home (0700) becomes reachable for the sandbox user while the rest of
    that home stays out of sight.
    """
    by_ancestor: dict[str, list[str]] = {}
    for path in paths:
        ancestor = _blocking_ancestor(path)
        if ancestor and os.path.exists(path):
            by_ancestor.setdefault(ancestor, []).append(path)
    for k, (ancestor, inner) in enumerate(sorted(by_ancestor.items())):
        staged = []
        for j, path in enumerate(inner):
            stage = os.path.join(staging, f"{k}-{j}")
            os.makedirs(stage, exist_ok=True)
            _mount("--rbind", path, stage)
            staged.append((stage, path))
        _mount("-t", "tmpfs", "-o", "mode=755,size=64k", "tmpfs", ancestor)
        for stage, path in staged:
            os.makedirs(path, exist_ok=True)
            _mount("--rbind", stage, path)


def _inside(spec: SandboxSpec, kernel_cmd: list[str]) -> None:
    in_namespace = os.environ.get("COURSE_SANDBOX_NS") != "0" and os.getpid() == 1
    if in_namespace:
        if spec.uid is not None and os.geteuid() == 0:
            staging = os.path.join(os.path.dirname(spec.workdir), ".stage")
            _expose(spec.expose, staging)
        for path in spec.hide_dirs:
            if os.path.isdir(path):
                _mount("-t", "tmpfs", "-o", "ro,size=4k,mode=000", "tmpfs", path)
        for path in spec.hide_files:
            if os.path.isfile(path):
                _mount("--bind", "/dev/null", path)
    limits = [
        (resource.RLIMIT_CPU, spec.cpu_seconds),
        (resource.RLIMIT_AS, spec.memory_bytes),
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
    os.chdir(spec.workdir)
    os.environ["HOME"] = spec.workdir
    os.environ["MPLCONFIGDIR"] = os.path.join(spec.workdir, ".matplotlib")
    os.umask(0o077)
    os.execvp(kernel_cmd[0], kernel_cmd)


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[0] != "--inside" or "--" not in argv:
        raise SystemExit("usage: python -m helpers.instructor.sandbox --inside SPEC_JSON -- KERNEL_COMMAND...")
    spec = SandboxSpec(**json.loads(argv[1]))
    _inside(spec, argv[argv.index("--") + 1:])


if __name__ == "__main__":
    main(sys.argv[1:])
