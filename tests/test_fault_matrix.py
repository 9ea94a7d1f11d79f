"""One batch of honest and hostile submissions, graded together in parallel.

Expected: the batch finishes; every hostile notebook earns exactly what its honest cells earn, with a
reason in its report; honest students get the grade they get when graded alone, and after a notebook
that poisons what it is given; no line of a hidden test or of a solution reaches any feedback page or
autograded output; nothing of the instructor's is read or changed; nothing a student started, wrote
to a temporary folder or left in memory outlives the batch.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

import helpers
from conftest import hidden_test_lines, make_course_copy, write_submissions
from helpers.instructor import batch as grading_batch
from helpers.instructor import demo, outputs
from helpers.instructor import notebooks as nbu
from helpers.instructor.sandbox import namespace_mode
from helpers.instructor.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.exhaustive]
ASSIGNMENT = "cnn_step_by_step"

CHEAT_PATCHES = r"""
import numpy as np, helpers.compare as compare
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
compare.assert_array_close = lambda *a, **k: None
compare.assert_scalar_close = lambda *a, **k: None
"""

PATCHED_CHECKS = r"""
check.conv_single_step = lambda f: print("All tests passed.")
check.zero_pad = lambda f: print("All tests passed.")
"""

# Answers read from the package's stored examples: the visible example passes, no hidden test does.
# (each defined just before its test cell, after the honest answer's cell)
TABLE_ANSWERS = {
    "zero_pad_values_heading": 'def zero_pad(X, pad):\n    return check.reference("zero_pad/x_pad")',
    "conv_single_step_value_heading": "def conv_single_step(a_slice_prev, W, b):\n"
    '    return float(check.reference("conv_single_step/Z"))',
    "create_mask_from_window_values_heading": "def create_mask_from_window(x):\n"
    '    return check.reference("create_mask_from_window/mask")',
    "distribute_value_values_heading": "def distribute_value(dz, shape):\n"
    '    return check.reference("distribute_value/a")',
}

# Zero the test's inputs in place, then return zeros of the right shape: a test that computes its
# expectation from the inputs after the call would agree.
ZEROES_INPUTS = {
    "zero_pad_values_heading": "def zero_pad(X, pad):\n    X[...] = 0\n"
    "    return np.zeros((X.shape[0], X.shape[1] + 2 * pad, X.shape[2] + 2 * pad, X.shape[3]))",
    "create_mask_from_window_values_heading": "def create_mask_from_window(x):\n    x[...] = 0\n    return x == x.max()",
}

# The kernel's own encoder forged to send the published example's answer for a wrong zero_pad.
FORGED_ENCODER = r"""
import helpers.wire as wire
_encode_result = wire.encode_result
def _forged(result, args, kwargs):
    if isinstance(result, np.ndarray) and result.shape == (4, 7, 7, 2):
        return wire.encode(check.reference("zero_pad/x_pad"))
    return _encode_result(result, args, kwargs)
wire.encode_result = _forged
def zero_pad(X, pad):
    return np.zeros((X.shape[0], X.shape[1] + 2 * pad, X.shape[2] + 2 * pad, X.shape[3]))
"""

# What the kernel can see of the grading: its own history, its stack, its environment.
LOOKS_AROUND = r"""
import inspect, os
def zero_pad(X, pad):
    for frame in inspect.stack():
        print(frame.filename, frame.function, frame.code_context, list(frame.frame.f_locals)[:20])
        print({k: repr(v)[:400] for k, v in frame.frame.f_locals.items()})
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
print(In, Out, _ih)
print(dict(os.environ))
"""

ALWAYS_EQUAL = r"""
class Anything:
    shape = (4, 7, 7, 2)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *a, **k): raise TypeError("no")
def zero_pad(X, pad):
    return Anything()
"""


# Output with a display id while the grader calls zero_pad (in a scratch cell that is gone afterwards),
# updated from a later cell: the grader's record of displays must not point at outputs that are gone.
DISPLAY_IN_A_CALL = {
    "zero_pad_values_heading": r"""
import inspect
from IPython.display import display
from helpers import wire
def zero_pad(X, pad):
    if any(f.function == "serve" for f in inspect.stack()):
        for _ in range(5):
            display({wire.MIME: {"result": None, "error": None}, "text/plain": ""}, raw=True)
        display({"text/plain": "hello"}, raw=True, display_id="boom")
        display({"text/html": "<script>alert(1)</script>", "application/javascript": "alert(1)"}, raw=True)
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
""",
    "pool_forward": "from IPython.display import HTML, Javascript, SVG, display, update_display\n"
    'update_display({"text/plain": "bye"}, raw=True, display_id="boom")\n'
    'display(HTML("<img src=x onerror=alert(1)>"), Javascript("alert(1)"), SVG("<svg></svg>"))',
}

# While conv_forward is graded its helpers are the grader's: ask it for work it cannot bound, then answer
# honestly. (Broadcasting 5000 x 5000 in conv_single_step; a nested list padded by 1024 in zero_pad.)
ASKS_TOO_MUCH = {
    "conv_forward_values_heading": r"""
import inspect
REFUSED = []
_honest_conv_forward = conv_forward
def conv_forward(A_prev, W, b, hparameters):
    # In a graded call the dependencies are the grader's stand-ins, which must refuse; elsewhere they are this
    # notebook's own functions, and a 3 GB padding would only test the kernel's memory limit.
    if any(f.function == "serve" for f in inspect.stack()):
        for ask in (lambda: conv_single_step(np.ones((5000, 1, 1)), np.ones((1, 5000, 1)), np.zeros((1, 1, 1))),
                    lambda: zero_pad([[[[0.0] * 100]]], 1024)):
            try:
                ask()
            except Exception as exc:
                REFUSED.append(str(exc)[:200])
    return _honest_conv_forward(A_prev, W, b, hparameters)
""",
    "pool_forward": 'print("REFUSED", REFUSED)',
}

# A graded call that displays 150 MB (more than the grader accepts in one message), and a cell that writes
# 50 MB to the kernel's own stdout, past the notebook.
FLOODS = {
    "zero_pad_values_heading": r"""
import inspect
from IPython.display import display
_honest_zero_pad = zero_pad
def zero_pad(X, pad):
    if any(f.function == "serve" for f in inspect.stack()):
        display({"text/plain": "x" * 150_000_000}, raw=True)
    return _honest_zero_pad(X, pad)
""",
    "pool_forward": 'import os\nfor _ in range(50):\n    os.write(1, b"y" * 2**20)',
}

SHM_KEY = 0x5EC4E7


def _hostile(root: Path, port: int) -> dict[str, tuple[object, float]]:
    full = demo.expected_score(root, ASSIGNMENT, [])
    points = {
        nbu.grade_id(c): nbu.points(c)
        for c in nbu.test_cells(nbu.read_notebook(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))
    }
    course = str(root)

    def with_cell(code: str, variants=(), before: str = "pool_forward"):
        nb = demo.filled_notebook(root, ASSIGNMENT, list(variants))
        k = next(i for i, c in enumerate(nb.cells) if nbu.grade_id(c) == before)
        cell = nbformat.v4.new_code_cell(code)
        cell.pop("id", None)  # the release is nbformat 4.4, which has no cell ids
        nb.cells.insert(k, cell)
        return nb

    def with_cells_before(codes: dict[str, str]):
        nb = demo.filled_notebook(root, ASSIGNMENT)
        for before, code in codes.items():
            k = next(i for i, c in enumerate(nb.cells) if nbu.grade_id(c) == before)
            cell = nbformat.v4.new_code_cell(code)
            cell.pop("id", None)
            nb.cells.insert(k, cell)
        return nb

    def with_cells(codes: list[str]):
        nb = demo.filled_notebook(root, ASSIGNMENT)
        for code in codes:
            cell = nbformat.v4.new_code_cell(code)
            cell.pop("id", None)
            nb.cells.append(cell)
        return nb

    cases = {
        "infinite_loop": (with_cell("while True:\n    pass"), full),
        "os_exit": (with_cell("import os\nos._exit(1)"), full),
        "segfault": (with_cell("import ctypes\nctypes.string_at(0)"), full),
        "memory_bomb": (with_cell("hog = []\nwhile True:\n    hog.append(bytearray(50 * 2**20))"), full),
        "huge_output": (with_cell("for _ in range(100):\n    print('x' * 1_000_000)"), full),
        "sys_exit": (with_cell("import sys\nsys.exit(3)"), full),
        "syntax_error": (with_cell("def broken(:\n    pass"), full),
        "writes_gradebook": (
            with_cell(
                f"import sqlite3\nfor p in ['{course}/gradebook.db', '{course}/grades.csv']:\n"
                f"    try:\n        open(p, 'ab').write(b'hacked')\n    except Exception as e:\n        print(type(e).__name__)\n"
                f"con = sqlite3.connect('{course}/gradebook.db')\ncon.execute('create table hacked (x)')"
            ),
            full,
        ),
        "reads_source": (
            with_cell(f"print(open('{course}/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb').read()[:2000])"),
            full,
        ),
        "reads_other_students": (
            with_cell(f"import os\nprint(os.listdir('{course}/submitted'))\nprint(os.listdir('{course}/autograded'))"),
            full,
        ),
        "network_call": (with_cell(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)"), full),
        "background_process": (
            with_cell(
                "import subprocess, threading, time\nsubprocess.Popen(['sleep', '4242'])\n"
                "threading.Thread(target=lambda: time.sleep(4242), daemon=True).start()"
            ),
            full,
        ),
        # The kernel itself leaves its process group and drops its parent-death signal, then starts a
        # process in a session of its own: only killing everything of the kernel's user ends them.
        "escapes_its_kernel": (
            with_cell(
                "import ctypes, os, subprocess\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\nos.setsid()\n"
                "subprocess.Popen(['sleep', '4343'], start_new_session=True)"
            ),
            full,
        ),
        # Four children of 700 MB each: more than the memory of the kernel as a whole (1 GB here).
        "memory_in_children": (
            with_cell(
                "import multiprocessing as mp, time\n"
                "def hog():\n    block = bytearray(700 * 2**20)\n    time.sleep(30)\n"
                "kids = [mp.Process(target=hog) for _ in range(4)]\n[k.start() for k in kids]\n[k.join() for k in kids]"
            ),
            full,
        ),
        "fills_temporary_folders": (
            with_cell(
                "for folder in ('/tmp', '/dev/shm', '/var/tmp'):\n    try:\n"
                "        with open(folder + '/course-fault-filler', 'wb') as f:\n"
                "            for _ in range(600):\n                f.write(b'x' * 2**20)\n"
                "    except OSError as e:\n        print(folder, type(e).__name__, e)"
            ),
            full,
        ),
        # Many cells past the per-cell limit, after the tests: the notebook's own budget ends them.
        "sleeps_past_every_limit": (with_cells(["import time\ntime.sleep(60)"] * 20), full),
        "table_answers": (
            with_cells_before(TABLE_ANSWERS),
            full
            - points["zero_pad_values"]
            - points["conv_single_step_value"]
            - points["create_mask_from_window_values"]
            - points["distribute_value_values"],
        ),
        "zeroes_inputs": (
            with_cells_before(ZEROES_INPUTS),
            full - points["zero_pad_values"] - points["create_mask_from_window_values"],
        ),
        "forged_encoder": (
            with_cell(FORGED_ENCODER, before="zero_pad_values_heading"),
            full - points["zero_pad_values"],
        ),
        "looks_around": (with_cell(LOOKS_AROUND, before="zero_pad_values_heading"), full),
        "patched_numpy": (
            with_cell(
                CHEAT_PATCHES, ["conv_single_step_no_bias", "zero_pad_wrong_axis"], before="zero_pad_values_heading"
            ),
            full - points["conv_single_step_value"] - points["zero_pad_values"],
        ),
        "patched_checks": (
            with_cell(
                PATCHED_CHECKS, ["conv_single_step_no_bias", "zero_pad_wrong_axis"], before="zero_pad_values_heading"
            ),
            full - points["conv_single_step_value"] - points["zero_pad_values"],
        ),
        "always_equal": (with_cell(ALWAYS_EQUAL, before="zero_pad_values_heading"), full - points["zero_pad_values"]),
        "display_in_a_call": (with_cells_before(DISPLAY_IN_A_CALL), full),
        "asks_too_much": (with_cells_before(ASKS_TOO_MUCH), full),
        "floods_the_grader": (with_cells_before(FLOODS), full - points["zero_pad_values"]),
        # What exists for the kernel, and a System V shared-memory segment that would outlive it.
        "looks_for_files": (
            with_cell(
                f"import ctypes, os\nfor p in {_forbidden_paths(root)!r}:\n    try:\n"
                "        os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(1)\n        print('READ', p)\n"
                "    except OSError:\n        pass\n"
                f"print('COURSE')\nfor name in sorted(os.listdir({course!r})) if os.path.isdir({course!r}) else []:\n"
                "    print('ENTRY', name)\n"
                f"for name in sorted(os.listdir({str(_package())!r})):\n    print('PACKAGE', name)\n"
                f"print('SHM', ctypes.CDLL(None).shmget({SHM_KEY}, 4096, 0o1666))\nprint('UID', os.getuid())"
            ),
            full,
        ),
    }
    nb = demo.filled_notebook(root, ASSIGNMENT)
    cell = next(c for c in nb.cells if nbu.grade_id(c) == "conv_forward_values")
    cell.source = "check.conv_forward = lambda f: None"  # edited test cell: restored from source
    nb.cells = [c for c in nb.cells if nbu.grade_id(c) != "zero_pad_values"]  # deleted test cell
    cases["edited_and_deleted_tests"] = (nb, full)
    nb = demo.filled_notebook(root, ASSIGNMENT)
    nb.metadata["kernelspec"]["name"] = "evil-kernel"
    cases["wrong_kernel"] = (nb, full)
    cases["not_json"] = (b"\x00\x01 this is not a notebook", 0.0)
    cases["missing_notebook"] = (None, 0.0)
    cases["nbformat_3"] = (
        nbformat.writes(nbformat.convert(demo.filled_notebook(root, ASSIGNMENT), 3), 3).encode(),
        full,
    )
    cases["=HYPERLINK(1)"] = (demo.filled_notebook(root, ASSIGNMENT), full)
    cases["a_link_beside"] = (demo.filled_notebook(root, ASSIGNMENT), full)
    cases["many_files_beside"] = (demo.filled_notebook(root, ASSIGNMENT), full)
    cases["notebook_is_a_link"] = ("link to honest_reference", 0.0)
    # A correct conv_backward that overwrites dZ after computing the gradients; graded first of all.
    poison = demo.filled_notebook(root, ASSIGNMENT)
    cell = next(c for c in poison.cells if nbu.grade_id(c) == "conv_backward")
    cell.source = cell.source.replace("    return dA_prev, dW, db", "    dZ[...] = 1e6\n    return dA_prev, dW, db")
    cases["aaa_poisons_its_inputs"] = (poison, full)
    # A student's own text: 32 MB of markdown.
    big = demo.filled_notebook(root, ASSIGNMENT)
    big.cells.append(nbformat.v4.new_markdown_cell("* a **list** with [links](x) and `code`\n" * 800_000))
    big.cells[-1].pop("id", None)
    cases["huge_markdown"] = (big, full)
    return cases


def _package() -> Path:
    return Path(helpers.__file__).resolve().parent.parent


def _forbidden_paths(root: Path) -> list[str]:
    """The instructor's folders, the checkout's source and history, other people's folders."""
    package = _package()
    return (
        [str(root / name) for name in ("source", "submitted", "autograded", "feedback", "gradebook.db", "release")]
        + [str(package / name) for name in ("source", ".git", "nbgrader_config.py", "tests")]
        + ["/home", "/srv", "/mnt"]
    )


def _printed(graded, student) -> str:
    executed = nbformat.read(graded["root"] / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return "\n".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if namespace_mode() is None:
        pytest.skip("this machine cannot create namespaces for the sandbox (needs root or user namespaces)")
    root = make_course_copy(tmp_path_factory.mktemp("faults") / "course", [ASSIGNMENT])
    (root / "gradebook.db").write_bytes(b"instructor gradebook")
    (root / "grades.csv").write_text("student,score\n")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    connections = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    cases = _hostile(root, server.getsockname()[1])
    honest = {
        "honest_reference": (demo.filled_notebook(root, ASSIGNMENT), 100.0),
        "honest_partial": (
            demo.filled_notebook(root, ASSIGNMENT, ["conv_backward_crop_breaks_without_padding"]),
            demo.expected_score(root, ASSIGNMENT, ["conv_backward_crop_breaks_without_padding"]),
        ),
    }
    links = {s for s, (c, _) in cases.items() if isinstance(c, str) and c.startswith("link to")}
    write_submissions(
        root,
        ASSIGNMENT,
        {student: content for student, (content, _) in {**cases, **honest}.items() if student not in links},
    )
    for student in links:
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / f"{ASSIGNMENT}.ipynb").symlink_to(
            root / "submitted" / "honest_reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        )
    (root / "submitted" / "a_link_beside" / ASSIGNMENT / "notes.txt").symlink_to("/etc/shadow")
    os.mkfifo(root / "submitted" / "a_link_beside" / ASSIGNMENT / "fifo")
    for k in range(30):  # more than the grader copies into a kernel's folder, in number and in megabytes
        (root / "submitted" / "many_files_beside" / ASSIGNMENT / f"data{k:02}.bin").write_bytes(b"z" * (1 << 20))
    protected = [
        root / "gradebook.db",
        root / "grades.csv",
        root / "nbgrader_config.py",
        *sorted((root / "source").rglob("*")),
        *sorted((root / "release").rglob("*")),
        *sorted((root / "submitted").rglob("*")),
    ]
    before = _digest(protected)
    settings = Settings.load(root, timeout=10)
    settings.memory_mb = 1024
    settings.tmp_mb = 256
    settings.notebook_timeout = 60
    settings.submitted_files, settings.submitted_files_mb = 10, 4
    os.environ["TF_VAR_db_password"] = "grader-secret-4711"
    started = time.monotonic()
    try:
        results = grading_batch.grade_all(
            settings, grading_batch.find_jobs(settings, [ASSIGNMENT]), workers=2, progress=False
        )
    finally:
        os.environ.pop("TF_VAR_db_password", None)
    seconds = time.monotonic() - started
    after = _digest(protected)
    outputs.write_csv(settings, results)
    stop.set()
    thread.join()
    server.close()
    leftovers = subprocess.run(["pgrep", "-f", "sleep (4242|4343)"], capture_output=True, text=True).stdout.split()
    leftovers += [
        str(p) for p in (Path("/tmp"), Path("/dev/shm"), Path("/var/tmp")) if (p / "course-fault-filler").exists()
    ]
    return {
        "root": root,
        "results": {r.student: r for r in results},
        "expected": {**cases, **honest},
        "before": before,
        "after": after,
        "connections": connections,
        "leftovers": leftovers,
        "settings": settings,
        "seconds": seconds,
    }


def _why(result):
    return "; ".join(f"{c.grade_id}: {c.message[:120]}" for c in result.cells if c.points < c.max_points)


def test_every_case_earns_exactly_its_honest_points(graded):
    wrong = {
        s: (graded["results"][s].score, e, _why(graded["results"][s]))
        for s, (_, e) in graded["expected"].items()
        if graded["results"][s].score != e
    }
    assert wrong == {}


def test_cheats_fail_with_the_real_reason(graded):
    for student in ("patched_numpy", "patched_checks"):
        cells = {c.grade_id: c for c in graded["results"][student].cells}
        assert "expected -6.99" in cells["conv_single_step_value"].message
        assert "expected shape (4, 7, 7, 2)" in cells["zero_pad_values"].message
    cells = {c.grade_id: c for c in graded["results"]["table_answers"].cells}
    assert "zero_pad(X of shape (2, 5, 4, 3), 1): expected shape (2, 7, 6, 3)" in cells["zero_pad_values"].message
    # a hidden test's message names what came back, never the expected number (no lookup table from feedback)
    assert re.search(
        r"conv_single_step on shape \(\d+, \d+, \d+\): got -6\.9\d+, which is not the expected value",
        cells["conv_single_step_value"].message,
    ), cells["conv_single_step_value"].message
    cells = {c.grade_id: c for c in graded["results"]["zeroes_inputs"].cells}
    assert "values differ" in cells["zero_pad_values"].message
    eq = {c.grade_id: c for c in graded["results"]["always_equal"].cells}["zero_pad_values"]
    assert "Anything" in eq.message or "numpy array" in eq.message


def test_broken_notebooks_have_reasons(graded):
    results = graded["results"]
    assert results["not_json"].status == "invalid" and results["not_json"].reason
    assert results["missing_notebook"].status == "missing"
    assert any("evil-kernel" in n for n in results["wrong_kernel"].notes)
    assert any("restarted" in n for n in results["os_exit"].notes)
    assert any("restarted" in n for n in results["segfault"].notes)


def test_nothing_of_the_instructor_is_changed_or_read(graded):
    assert graded["after"] == graded["before"]
    for student in ("reads_source", "reads_other_students", "writes_gradebook"):
        executed = nbformat.read(
            graded["root"] / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
        )
        text = "\n".join(str(o) for c in executed.cells if c.cell_type == "code" for o in c.outputs)
        assert "BEGIN HIDDEN" not in text and "honest_reference" not in text
        assert "PermissionError" in text or "Errno" in text or "OperationalError" in text, student


def test_the_kernel_sees_only_what_it_needs(graded):
    printed = _printed(graded, "looks_for_files")
    assert "COURSE" in printed and "READ" not in printed
    if os.geteuid() == 0:  # a user of its own, in a root of allowed folders: the rest of the course does not exist
        assert re.search(r"^UID [1-9]", printed, re.M), printed
        allowed = {"helpers", "datasets", "weights"}
        assert set(re.findall(r"^ENTRY (.+)$", printed, re.M)) <= allowed, printed
        venv = [
            p.relative_to(_package()).parts[0]
            for p in map(Path, {sys.prefix, sys.base_prefix})
            if _package() in Path(p).resolve().parents
        ]
        assert set(re.findall(r"^PACKAGE (.+)$", printed, re.M)) <= allowed | set(venv), printed
    # its System V shared memory was its own, and is gone with it
    shm = Path("/proc/sysvipc/shm")
    if shm.exists():
        keys = {int(line.split()[0]) for line in shm.read_text().splitlines()[1:] if line.split()}
        assert SHM_KEY not in keys


def test_a_display_from_a_graded_call_is_contained(graded):
    """Contained, and inert in the autograded notebook: what a cell or a graded call displayed is text."""
    assert graded["results"]["display_in_a_call"].status == "graded"
    executed = nbformat.read(
        graded["root"] / "autograded" / "display_in_a_call" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    kept = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert {m for o in kept for m in o.get("data", {})} <= {"text/plain", "image/png", "image/jpeg"}
    assert "<script" not in str(kept) and "onerror" not in str(kept)
    assert "[text/html, application/javascript output removed" in str(kept)  # from the graded call
    assert "[text/html output removed: autograded notebooks keep only text and images]" in str(kept)


def test_the_grader_refuses_work_it_cannot_bound(graded):
    printed = _printed(graded, "asks_too_much")
    assert "a_slice_prev * W would be too large" in printed and "X must be a numpy array" in printed


def test_no_network_and_no_leftover_processes(graded):
    assert graded["connections"] == []
    assert graded["leftovers"] == []


def test_huge_output_is_cut(graded):
    executed = graded["root"] / "autograded" / "huge_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert executed.stat().st_size < 5_000_000
    assert "output cut" in executed.read_text()


def test_honest_grades_equal_grading_alone(graded, tmp_path):
    alone_root = make_course_copy(tmp_path / "alone", [ASSIGNMENT])
    for student in ("honest_reference", "honest_partial"):
        src = graded["root"] / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        dst = alone_root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        dst.parent.mkdir(parents=True)
        dst.write_bytes(src.read_bytes())
    settings = Settings.load(alone_root, timeout=10)
    alone = {
        r.student: r
        for r in grading_batch.grade_all(
            settings, grading_batch.find_jobs(settings, [ASSIGNMENT]), workers=1, progress=False
        )
    }
    for student in alone:
        in_batch = graded["results"][student]
        assert [(c.grade_id, c.points, c.message) for c in alone[student].cells] == [
            (c.grade_id, c.points, c.message) for c in in_batch.cells
        ]


def test_a_poisoning_notebook_changes_no_one_else_s_grade(tmp_path):
    """The same honest notebook, graded by one grading process right after a notebook that overwrites the
    arrays it is given (and its harmless twin), gets the grade it gets alone and in a parallel batch."""
    root = make_course_copy(tmp_path / "order", [ASSIGNMENT])
    poison = demo.filled_notebook(root, ASSIGNMENT)
    cell = next(c for c in poison.cells if nbu.grade_id(c) == "conv_backward")
    cell.source = cell.source.replace(
        "    return dA_prev, dW, db", "    dZ[...] = 1e6\n    cache[0][...] = -1e6\n    return dA_prev, dW, db"
    )
    honest = demo.filled_notebook(root, ASSIGNMENT, ["zero_pad_wrong_axis"])
    write_submissions(root, ASSIGNMENT, {"a_poison": poison, "b_honest": honest, "c_honest_twin": honest})
    settings = Settings.load(root, timeout=30)
    jobs = grading_batch.find_jobs(settings, [ASSIGNMENT])
    serial = {r.student: r for r in grading_batch.grade_all(settings, jobs, workers=1, force=True, progress=False)}
    parallel = {r.student: r for r in grading_batch.grade_all(settings, jobs, workers=2, force=True, progress=False)}
    alone = {
        r.student: r
        for r in grading_batch.grade_all(
            settings, [grading_batch.Job("b_honest", ASSIGNMENT)], workers=1, force=True, progress=False
        )
    }
    expected = demo.expected_score(root, ASSIGNMENT, ["zero_pad_wrong_axis"])
    assert serial["a_poison"].score == 100
    for results in (serial, parallel):
        for student in ("b_honest", "c_honest_twin"):
            assert results[student].score == expected, _why(results[student])
            assert [(c.grade_id, c.message) for c in results[student].cells] == [
                (c.grade_id, c.message) for c in alone["b_honest"].cells
            ]


def test_no_hidden_test_reaches_any_feedback_page_or_autograded_output(graded):
    """The kernel never holds a hidden test: neither its history, nor its stack, nor a file it reads."""
    root = graded["root"]
    secret_lines = hidden_test_lines(root, ASSIGNMENT)
    assert len(secret_lines) > 10
    pages = list((root / "feedback").rglob("*.html"))
    assert len(pages) >= len(graded["results"]) - 3
    for page in pages:
        text = page.read_text()
        leaked = [line for line in secret_lines if line in text]
        assert not leaked, (page, leaked[:3])
        assert "grader-secret-4711" not in text and "root:" not in text
    for executed in (root / "autograded").rglob("*.ipynb"):
        nb = nbformat.read(executed, as_version=4)
        text = "\n".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        leaked = [line for line in secret_lines if line in text]
        assert not leaked, (executed, leaked[:3])
    looked = nbformat.read(root / "autograded" / "looks_around" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    printed = "\n".join(str(o) for c in looked.cells for o in c.get("outputs", []))
    assert "serve" in printed and "TF_VAR" not in printed  # it did look, and found nothing of the grader's


def test_links_special_files_and_old_formats(graded):
    results, root = graded["results"], graded["root"]
    assert results["notebook_is_a_link"].status == "invalid" and "symbolic link" in results["notebook_is_a_link"].reason
    notes = " ".join(results["a_link_beside"].notes)
    assert "notes.txt is a symbolic link" in notes
    page = (root / "feedback" / "a_link_beside" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "root:" not in page
    assert results["nbformat_3"].score == 100 and results["nbformat_3"].status == "graded"
    rows = (root / "grades.csv").read_text().splitlines()
    assert any(row.startswith("'=HYPERLINK(1)") for row in rows), rows
    assert "fifo" in notes and "not a regular file" in notes


def test_limits_bound_the_kernel_as_a_whole(graded):
    results = graded["results"]
    assert results["sleeps_past_every_limit"].seconds < graded["settings"].notebook_timeout + 30
    executed = nbformat.read(
        graded["root"] / "autograded" / "fills_temporary_folders" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    printed = "\n".join(str(o) for c in executed.cells for o in c.get("outputs", []))
    assert "No space left" in printed or "File too large" in printed
    assert graded["leftovers"] == []


def test_a_huge_notebook_renders_quickly(graded):
    page = graded["root"] / "feedback" / "huge_markdown" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert page.stat().st_size < 6_000_000
    assert "characters of this notebook are not shown" in page.read_text()


def test_the_grader_s_own_work_is_bounded(graded):
    """Its memory stays small whatever a kernel sends, no test cell takes longer than its limit, and what a
    kernel writes that the grader keeps is capped."""
    results, settings = graded["results"], graded["settings"]
    peak = {s: r.grader_peak_mb for s, r in results.items() if r.status == "graded"}
    assert 0 < max(peak.values()) < 700, sorted(peak.items(), key=lambda item: item[1])[-3:]
    # 150 MB displayed by a graded call costs the grader nothing: it is never received
    assert peak["floods_the_grader"] < peak["honest_reference"] + 100, (
        peak["floods_the_grader"],
        peak["honest_reference"],
    )
    slowest = max((c.seconds, s, c.grade_id) for s, r in results.items() for c in r.cells)
    assert slowest[0] <= settings.timeout + 5, slowest
    flood = {c.grade_id: c for c in results["floods_the_grader"].cells}["zero_pad_values"]
    assert "larger than the grader accepts" in flood.message
    log = graded["root"] / "autograded" / "floods_the_grader" / ASSIGNMENT / "kernel.log"
    assert log.stat().st_size < 200_000 and "bytes of the kernel's output left out" in log.read_text()
    assert max(p.stat().st_size for p in (graded["root"] / "autograded").rglob("kernel.log")) < 200_000
    notes = results["many_files_beside"].notes
    assert sum("not copied" in n for n in notes) == 26, notes  # 4 MB copied: data00 to data03
    assert any("4 MB in all" in n for n in notes)
