"""Kernels forked from a preloaded interpreter (``helpers.instructor.kernel_forks``) are in the same sandbox
as kernels started afresh, grade the same, and leave nothing behind.

The graded class of ``test_grading.py`` (an endless loop interrupted, a kernel that exits and is
restarted, hostile notebooks) and the exhaustive fault matrix are graded by ``course grade``'s
workers, which fork their kernels wherever this machine's sandbox allows it; this module compares a
forked kernel with one started afresh, side by side.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest

import helpers
from conftest import make_course_copy, write_submissions
from helpers.instructor import batch, demo, grading, kernel_forks, sandbox
from helpers.instructor.settings import Settings

pytestmark = pytest.mark.slow
ASSIGNMENT = "cnn_step_by_step"
MARK = "# fork probe"
forkable = pytest.mark.skipif(
    not (os.geteuid() == 0 and sandbox.namespace_mode() == "root"),
    reason="kernels are forked only where the sandbox needs no user namespace (root)",
)

# What the kernel sees of itself and of the machine, as JSON: everything the sandbox decides.
PROBE = f"""{MARK}
import ctypes, inspect, json, os, resource, socket, sys
def _mounts():
    seen = []
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        seen.append((fields[4], fields[5].split(",")[0], line.split(" - ")[1].split()[0]))
    return sorted(seen)
def _open_files():
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{{fd}}")
        except OSError:
            continue
        found.append(target.split(":")[0] + ":" if target.startswith(("socket:", "pipe:")) else target)
    return sorted(t for t in found if not t.startswith("/proc/"))
print(json.dumps({{
    "preloaded": "matplotlib.pyplot" in sys.modules,
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "pid": os.getpid(), "ppid": os.getppid(),
    "net": sorted(name for _, name in socket.if_nameindex()), "cwd": os.getcwd(), "env": sorted(os.environ),
    "home": os.environ.get("HOME"), "lang": os.environ.get("COURSE_LANG"),
    "limits": [resource.getrlimit(getattr(resource, n)) for n in
               ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE")],
    "cgroup": ["course-" in line for line in open("/proc/self/cgroup")],
    "mounts": _mounts(), "open_files": _open_files(), "tmp": sorted(os.listdir("/tmp")),
    "course": os.path.exists(COURSE_SOURCE), "umask": os.umask(0o077),
    "tensorflow": "tensorflow" in sys.modules, "stack": [frame.function for frame in inspect.stack()],
    "dumpable": ctypes.CDLL(None).prctl(3, 0, 0, 0, 0), "path0": sys.path[0] if sys.path else None,
}}))
"""


def _probed(root: Path, fork: bool, student: str, tmp_path: Path) -> tuple[dict, object]:
    """Grade the reference with the probe as its first cell (before the set-up cell); what the probe saw."""
    notebook = demo.filled_notebook(root, ASSIGNMENT)
    source = PROBE.replace("COURSE_SOURCE", repr(str(root / "source")))
    notebook.cells.insert(0, nbformat.v4.new_code_cell(source))
    path = tmp_path / student / f"{ASSIGNMENT}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    settings = Settings.load(root, timeout=60)
    result = grading.grade_notebook(settings, ASSIGNMENT, student, path, tmp_path / f"{student}-out", fork=fork)
    graded = nbformat.read(tmp_path / f"{student}-out" / f"{ASSIGNMENT}.ipynb", as_version=4)
    probe = next(c for c in graded.cells if c.cell_type == "code" and c.source.startswith(MARK))
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    return json.loads(text), result


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return make_course_copy(tmp_path_factory.mktemp("forks") / "course", [ASSIGNMENT])


@forkable
def test_a_forked_kernel_is_in_the_same_sandbox_and_earns_the_same_points(course, tmp_path):
    try:
        fresh, fresh_result = _probed(course, False, "fresh", tmp_path)
        forked, forked_result = _probed(course, True, "forked", tmp_path)
        again, _ = _probed(course, True, "again", tmp_path)
    finally:
        kernel_forks.close_servers()
    assert forked_result.score == fresh_result.score == fresh_result.max_score
    assert [c.status for c in forked_result.cells] == [c.status for c in fresh_result.cells]
    # the forked kernel had the set-up cell's modules before it ran; the fresh one did not
    assert forked.pop("preloaded") and again.pop("preloaded") and not fresh.pop("preloaded")
    assert fresh["pid"] == 1 and fresh["net"] == ["lo"] and not fresh["course"]
    # the job folder's name and uid are the job's own; all else the sandbox decides is the same
    for seen in (fresh, forked, again):
        assert seen.pop("uid") == seen.pop("gid") >= 61000
        folder = os.path.dirname(seen["cwd"])
        seen["mounts"] = [(point.replace(folder, "JOB"), *rest) for point, *rest in seen["mounts"]]
        for key in ("cwd", "home"):
            seen[key] = seen[key].replace(folder, "JOB")
    assert forked == fresh
    assert again == fresh


@forkable
def test_a_server_that_cannot_start_leaves_kernels_to_start_afresh(course, tmp_path):
    server = kernel_forks.server_for("import no_such_module_anywhere", grading.kernel_env(1))
    try:
        assert not server.ready()
        spec = sandbox.SandboxSpec(workdir=str(tmp_path), namespaces=False)
        assert server.command(spec, ["python", "-m", "ipykernel_launcher"])[-1] == "ipykernel_launcher"
    finally:
        kernel_forks.close_servers()


@forkable
def test_a_kernel_whose_stand_in_is_killed_dies_with_its_whole_namespace(course, tmp_path):
    """jupyter_client ends a kernel by killing the process it started: the stand-in. The keeper and the
    kernel must follow, leaving the server with no child."""
    _probed(course, True, "first", tmp_path)
    try:
        (server,) = kernel_forks._SERVERS.values()
        assert server.ready()
        children = []
        for task in Path(f"/proc/{server.process.pid}/task").iterdir():
            children += (task / "children").read_text().split()
        assert children == []  # every kernel it forked was reaped
    finally:
        kernel_forks.close_servers()


def test_the_preloaded_imports_are_the_set_up_cell_s_import_statements():
    code = (
        "import helpers  # first\nfrom pathlib import Path\n%matplotlib inline\nimport numpy as np, os\n"
        "np.random.seed(1)\nfrom helpers import mode as m, plotting\nif True:\n    import json\n"
    )
    assert kernel_forks.set_up_imports(code).splitlines() == [
        "import helpers",
        "from pathlib import Path",
        "import numpy as np, os",
        "from helpers import mode as m, plotting",
    ]
    assert kernel_forks.set_up_imports("def broken(:\n") == ""
    source = nbformat.read(Path(__file__).resolve().parent.parent / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    imports = grading.preload_imports(source)
    assert "import numpy as np" in imports and "tensorflow" not in imports


# ------------------------------------------------------------------ hostile students against the fork server

# An honest student's last cell: a secret of its own in memory, then what it finds of anyone else in its
# memory (the server's, which it inherited), open files and folders. A pattern matches its text, never itself.
SPY = f"""{MARK}
import ctypes, json, os, re, socket, sys, time
SECRET = "".join(reversed(REVERSED_SECRET))
def _memory_hits(patterns):
    hits, folders = dict.fromkeys(patterns, 0), set()
    compiled = [re.compile(p.encode()) for p in patterns]
    with open("/proc/self/maps") as maps:
        regions = maps.read().splitlines()
    for line in regions:
        fields = line.split()
        if fields[1].startswith("rw") and not fields[-1].startswith("[v"):
            low, high = (int(x, 16) for x in fields[0].split("-"))
            data = ctypes.string_at(low, high - low)
            for pattern, regex in zip(patterns, compiled):
                hits[pattern] += len(regex.findall(data))
            folders.update(m.decode() for m in re.findall(rb"course-(?:job|kernel)-[0-9]+-[a-z0-9_]{{8}}", data))
    return hits, sorted(folders)
def _socket_names():
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            with socket.socket(fileno=os.dup(int(fd))) as s:
                names += [str(s.getsockname()), str(s.getpeername())]
        except OSError:
            pass
    return names
print(json.dumps({{
    "hits_and_folders": _memory_hits(PATTERNS), "own_folders": [os.getcwd(), sys.argv[sys.argv.index("-f") + 1]],
    "sockets": _socket_names(),
    "shared_writable": [line for line in open("/proc/self/maps") if line.split()[1][1::2] == "ws"], "uid": os.getuid(), "at": time.time(),
    "server": next((a for a in sys.orig_argv if a.endswith("server.sock")), None),
    "shm": os.listdir("/dev/shm"), "tmp": os.listdir("/tmp"), "procs": [p for p in os.listdir("/proc") if p.isdigit()],
}}))
"""

# The attacker's last cells: the server's socket, signals, a daemon that hides, a fork bomb, full
# temporary folders, a new session, a kernel that drops its parent-death signal and will not exit,
# SIGSTOP to itself and to all it started, its standard streams closed.
ATTACK = (
    f"""{MARK}
import ctypes, json, os, signal, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
seen = {{"at": time.time(), "ppid": os.getppid(), "procs": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}}
seen["server"] = next((a for a in sys.orig_argv if a.endswith("server.sock")), None)
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).connect(seen["server"])
    seen["connect"] = "connected"
except (OSError, TypeError) as exc:
    seen["connect"] = type(exc).__name__
def _hide():
    libc.prctl(1, 0, 0, 0, 0)  # no parent-death signal
    libc.prctl(15, TAG.encode(), 0, 0, 0)  # a name the test looks for
    for number in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(number, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        _hide()
        time.sleep(600)
    os._exit(0)
os.waitpid(pid, 0)
with open("/dev/shm/left-behind", "wb") as handle:
    handle.write(b"x" * (64 << 20))
with open("/tmp/left-behind", "w") as handle:
    handle.write("x")
children = []
try:
    for _ in range(400):
        pid = os.fork()
        if pid == 0:
            _hide()
            time.sleep(600)
            os._exit(0)
        children.append(pid)
except OSError as exc:
    seen["bomb"] = [len(children), exc.errno]
try:
    os.setsid()
    seen["setsid"] = "ok"
except OSError as exc:
    seen["setsid"] = exc.errno
print(json.dumps(seen))
""",
    f"""{MARK} (the end: the kernel itself outlives its keeper, and will not exit when asked)
import atexit, ctypes, os, signal, time
ctypes.CDLL(None).prctl(1, 0, 0, 0, 0)
ctypes.CDLL(None).prctl(15, TAG.encode(), 0, 0, 0)
atexit.register(time.sleep, 600)
os.kill(os.getpid(), signal.SIGSTOP)
os.kill(-1, signal.SIGSTOP)
for fd in (0, 1, 2):
    os.close(fd)
""",
)

# An honest student's first cell, before its set-up cell seeds numpy: what the global generators draw.
DRAWS = f"""{MARK} (draws)
import json, random
import numpy
print(json.dumps([numpy.random.random(), random.random()]))
"""

ATTACKER, HONEST = "fk0_mallory", ("fk1_alice", "fk2_bob", "fk3_carol")


def _secret(student: str) -> str:
    """A student's secret, which does not contain the student's name."""
    return "secret-" + hashlib.sha256(f"{student}-{os.getpid()}".encode()).hexdigest()[:16]


def _never_itself(text: str) -> str:
    """A regular expression that matches ``text`` and whose own text does not contain it."""
    assert text[0].isalnum()
    return f"[{text[0]}]{re.escape(text[1:])}"


def _hidden_line(root: Path) -> str:
    """A line of the hidden tests' code (which only the grader runs)."""
    source = nbformat.read(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    for cell in source.cells:
        if "BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("BEGIN HIDDEN TESTS", 1)[1].split("END HIDDEN TESTS", 1)[0]
            return next(line.strip() for line in hidden.splitlines() if "hidden_rng(" in line)
    raise AssertionError("no hidden test in the source notebook")


def _probe(graded, student: str, index: int) -> dict:
    notebook = nbformat.read(graded / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    probes = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(MARK)]
    text = "".join(o.get("text", "") for o in probes[index].outputs if o.get("output_type") == "stream")
    return json.loads(text)


def _processes_named(tag: str) -> list[int]:
    """The living processes called ``tag`` (a killed one may wait a moment for the machine's init to reap it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == tag:
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    """An attacker first, then honest students, graded by ``course grade``'s two workers (forked kernels)."""
    root = make_course_copy(tmp_path_factory.mktemp("hostile") / "course", [ASSIGNMENT])
    tag = f"fk{os.getpid() % 10**6:06d}x"
    patterns = [_never_itself(text) for text in [*(_secret(s) for s in HONEST), *HONEST, ATTACKER]]
    patterns.append(_never_itself(_hidden_line(root)))
    submissions = {}
    attacker = demo.filled_notebook(root, ASSIGNMENT)
    for cell in ATTACK:
        attacker.cells.append(nbformat.v4.new_code_cell(cell.replace("TAG", repr(tag))))
    submissions[ATTACKER] = attacker
    for student in HONEST:
        notebook = demo.filled_notebook(root, ASSIGNMENT)
        code = SPY.replace("REVERSED_SECRET", repr(_secret(student)[::-1])).replace("PATTERNS", repr(patterns))
        notebook.cells.append(nbformat.v4.new_code_cell(code))
        notebook.cells.insert(0, nbformat.v4.new_code_cell(DRAWS))
        submissions[student] = notebook
    write_submissions(root, ASSIGNMENT, submissions)
    settings = Settings.load(root, timeout=60)
    settings.max_processes = 200  # the fork bomb meets the limit soon
    assert settings.fork_kernels
    began = time.monotonic()
    results = {r.student: r for r in batch.grade_all(settings, batch.find_jobs(settings, [ASSIGNMENT]), workers=2)}
    return root, results, patterns, tag, time.monotonic() - began


def _placed_in_tmp(root: Path) -> list[str]:
    """What a kernel's own (empty) /tmp shows: the first folder of each path the sandbox places under /tmp
    (a course or a checkout that lives there), nothing else."""
    placed = grading.kernel_readable([root, Path(helpers.__file__).resolve().parent.parent])
    return sorted({Path(p).parts[2] for p in [*placed, sandbox.scratch_root()] if Path(p).parts[1:2] == ("tmp",)})


@forkable
def test_after_an_attacker_every_forked_kernel_earns_its_points_and_sees_nothing_of_anyone(hostile_class):
    root, results, patterns, _, _ = hostile_class
    for student in (ATTACKER, *HONEST):
        assert (results[student].score, results[student].restarts) == (results[student].max_score, 0), student
    attacker = _probe(root, ATTACKER, 0)
    probes = {student: _probe(root, student, -1) for student in HONEST}
    # the evidence is about forks that followed others': some honest kernel came from the attacker's
    # server after it, and some from a server that had forked an honest kernel before
    assert attacker["server"] and any(
        p["server"] == attacker["server"] and p["at"] > attacker["at"] for p in probes.values()
    )
    assert any(p["server"] == q["server"] and p["at"] > q["at"] for p in probes.values() for q in probes.values())
    # each kernel's generators are its own, as a fresh interpreter's, not the server's state copied
    draws = [tuple(_probe(root, student, 0)) for student in HONEST]
    assert len({d[0] for d in draws}) == len({d[1] for d in draws}) == len(HONEST), draws
    for student, probe in probes.items():
        own = {_never_itself(_secret(student)), _never_itself(student)}
        # nothing of another student, of the hidden tests or of the server's socket in its memory or files
        hits, folders = probe["hits_and_folders"]
        assert {p: n for p, n in hits.items() if n and p not in own} == {}, student
        assert hits[_never_itself(_secret(student))] > 0  # the search finds what is there
        # of the job and socket folders of the grader's kernels, it holds only its own two names
        assert len(folders) == 2 and all(any(f in path for path in probe["own_folders"]) for f in folders), folders
        assert not [name for name in probe["sockets"] if "server.sock" in name or "course-forks" in name]
        assert probe["shared_writable"] == []  # no memory it shares with the server or another kernel
        assert (probe["shm"], sorted(probe["tmp"]), probe["procs"]) == ([], _placed_in_tmp(root), ["1"])


@forkable
def test_an_attacker_cannot_reach_the_fork_server_and_leaves_nothing_running(hostile_class):
    root, _, _, tag, _ = hostile_class
    attacker = _probe(root, ATTACKER, 0)
    # its interpreter's command line names the server's socket, in a folder only root may enter
    assert attacker["server"].endswith("server.sock") and attacker["connect"] == "PermissionError"
    # it sees no process but its own (no keeper, no server); a session of its own (setsid) changes nothing
    assert attacker["ppid"] == 0 and attacker["procs"][0] == 1 and attacker["setsid"] == "ok"
    assert attacker["bomb"][1] == errno.EAGAIN and attacker["bomb"][0] < 200
    assert _processes_named(tag) == []  # the hidden daemon and the fork bomb's processes ended with the job
