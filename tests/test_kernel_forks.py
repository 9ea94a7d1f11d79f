"""Kernels forked from a preloaded interpreter (``helpers.instructor.kernel_forks``) are in the same sandbox
as kernels started afresh, grade the same, and leave nothing behind.

The graded class of ``test_grading.py`` (an endless loop interrupted, a kernel that exits and is
restarted, hostile notebooks) and the exhaustive fault matrix are graded by ``course grade``'s
workers, which fork their kernels wherever this machine's sandbox allows it; this module compares a
forked kernel with one started afresh, side by side.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from conftest import make_course_copy
from helpers.instructor import demo, grading, kernel_forks, sandbox
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
import json, os, resource, socket, sys
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
    "tensorflow": "tensorflow" in sys.modules, "path0": sys.path[0] if sys.path else None,
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
    assert fresh["uid"] >= 61000 and fresh["pid"] == 1 and fresh["net"] == ["lo"] and not fresh["course"]
    # the job folder's name is the job's own; all else the sandbox decides is the same
    for seen in (fresh, forked, again):
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
