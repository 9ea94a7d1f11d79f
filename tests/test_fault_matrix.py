"""One batch of honest and hostile submissions, graded together in parallel.

Expected: the batch finishes; every hostile notebook earns exactly what its honest cells earn, with a
reason in its report; honest students get the grade they get when graded alone; nothing of the
instructor's is read or changed; nothing a student started outlives the batch.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
from pathlib import Path

import nbformat
import pytest

from helpers.instructor import batch, demo, notebooks as nbu, outputs
from helpers.instructor.settings import Settings
from helpers.instructor.sandbox import namespace_mode

from conftest import make_course_copy, write_submissions

pytestmark = pytest.mark.slow
ASSIGNMENT = "cnn_step_by_step"

CHEAT_PATCHES = r'''
import numpy as np, helpers.compare as compare
np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
compare.assert_array_close = lambda *a, **k: None
compare.assert_scalar_close = lambda *a, **k: None
'''

PATCHED_CHECKS = r'''
check.conv_single_step = lambda f: print("All tests passed.")
check.zero_pad = lambda f: print("All tests passed.")
'''

ALWAYS_EQUAL = r'''
class Anything:
    shape = (4, 7, 7, 2)
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, *a, **k): raise TypeError("no")
def zero_pad(X, pad):
    return Anything()
'''


def _hostile(root: Path, port: int) -> dict[str, tuple[object, float]]:
    full = demo.expected_score(root, ASSIGNMENT, [])
    points = {nbu.grade_id(c): nbu.points(c) for c in nbu.test_cells(
        nbu.read_notebook(root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))}
    course = str(root)

    def with_cell(code: str, variants=(), before: str = "pool_forward"):
        nb = demo.filled_notebook(root, ASSIGNMENT, list(variants))
        k = next(i for i, c in enumerate(nb.cells) if nbu.grade_id(c) == before)
        cell = nbformat.v4.new_code_cell(code)
        cell.pop("id", None)  # the release is nbformat 4.4, which has no cell ids
        nb.cells.insert(k, cell)
        return nb

    cases = {
        "infinite_loop": (with_cell("while True:\n    pass"), full),
        "os_exit": (with_cell("import os\nos._exit(1)"), full),
        "segfault": (with_cell("import ctypes\nctypes.string_at(0)"), full),
        "memory_bomb": (with_cell("hog = []\nwhile True:\n    hog.append(bytearray(50 * 2**20))"), full),
        "huge_output": (with_cell("for _ in range(100):\n    print('x' * 1_000_000)"), full),
        "sys_exit": (with_cell("import sys\nsys.exit(3)"), full),
        "syntax_error": (with_cell("def broken(:\n    pass"), full),
        "writes_gradebook": (with_cell(
            f"import sqlite3\nfor p in ['{course}/gradebook.db', '{course}/grades.csv']:\n"
            f"    try:\n        open(p, 'ab').write(b'hacked')\n    except Exception as e:\n        print(type(e).__name__)\n"
            f"con = sqlite3.connect('{course}/gradebook.db')\ncon.execute('create table hacked (x)')"), full),
        "reads_source": (with_cell(
            f"print(open('{course}/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb').read()[:2000])"), full),
        "reads_other_students": (with_cell(
            f"import os\nprint(os.listdir('{course}/submitted'))\nprint(os.listdir('{course}/autograded'))"), full),
        "network_call": (with_cell(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3)"), full),
        "background_process": (with_cell(
            "import subprocess, threading, time\nsubprocess.Popen(['sleep', '4242'])\n"
            "threading.Thread(target=lambda: time.sleep(4242), daemon=True).start()"), full),
        # The kernel itself leaves its process group and drops its parent-death signal, then starts a
        # process in a session of its own: only killing everything of the kernel's user ends them.
        "escapes_its_kernel": (with_cell(
            "import ctypes, os, subprocess\nctypes.CDLL(None).prctl(1, 0, 0, 0, 0)\nos.setsid()\n"
            "subprocess.Popen(['sleep', '4343'], start_new_session=True)"), full),
        "patched_numpy": (with_cell(CHEAT_PATCHES, ["conv_single_step_no_bias", "zero_pad_wrong_axis"],
                                    before="zero_pad_values_heading"),
                          full - points["conv_single_step_value"] - points["zero_pad_values"]),
        "patched_checks": (with_cell(PATCHED_CHECKS, ["conv_single_step_no_bias", "zero_pad_wrong_axis"],
                                     before="zero_pad_values_heading"),
                           full - points["conv_single_step_value"] - points["zero_pad_values"]),
        "always_equal": (with_cell(ALWAYS_EQUAL, before="zero_pad_values_heading"), full - points["zero_pad_values"]),
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
    return cases


def _digest(paths) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
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
    honest = {"honest_reference": (demo.filled_notebook(root, ASSIGNMENT), 100.0),
              "honest_partial": (demo.filled_notebook(root, ASSIGNMENT, ["conv_backward_crop_breaks_without_padding"]),
                                 demo.expected_score(root, ASSIGNMENT, ["conv_backward_crop_breaks_without_padding"]))}
    write_submissions(root, ASSIGNMENT, {student: content for student, (content, _) in {**cases, **honest}.items()})
    protected = [root / "gradebook.db", root / "grades.csv", root / "nbgrader_config.py",
                 *sorted((root / "source").rglob("*")), *sorted((root / "release").rglob("*")),
                 *sorted((root / "submitted").rglob("*"))]
    before = _digest(protected)
    settings = Settings.load(root, timeout=10)
    settings.memory_mb = 2048
    results = batch.grade_all(settings, batch.find_jobs(Settings.load(root), [ASSIGNMENT]), workers=2, progress=False)
    after = _digest(protected)
    stop.set()
    thread.join()
    server.close()
    leftovers = subprocess.run(["pgrep", "-f", "sleep (4242|4343)"], capture_output=True, text=True).stdout.split()
    return {"root": root, "results": {r.student: r for r in results}, "expected": {**cases, **honest},
            "before": before, "after": after, "connections": connections, "leftovers": leftovers,
            "settings": settings}


def _why(result):
    return "; ".join(f"{c.grade_id}: {c.message[:120]}" for c in result.cells if c.points < c.max_points)


def test_every_case_earns_exactly_its_honest_points(batch):
    wrong = {s: (batch["results"][s].score, e, _why(batch["results"][s]))
             for s, (_, e) in batch["expected"].items() if batch["results"][s].score != e}
    assert wrong == {}


def test_cheats_fail_with_the_real_reason(batch):
    cells = {c.grade_id: c for c in batch["results"]["patched_numpy"].cells}
    assert "expected -6.99" in cells["conv_single_step_value"].message
    assert "expected shape (4, 7, 7, 2)" in cells["zero_pad_values"].message
    cells = {c.grade_id: c for c in batch["results"]["patched_checks"].cells}
    assert "differ from the test's" in cells["conv_single_step_value"].message
    eq = {c.grade_id: c for c in batch["results"]["always_equal"].cells}["zero_pad_values"]
    assert "Anything" in eq.message or "numpy array" in eq.message


def test_broken_notebooks_have_reasons(batch):
    results = batch["results"]
    assert results["not_json"].status == "invalid" and results["not_json"].reason
    assert results["missing_notebook"].status == "missing"
    assert any("evil-kernel" in n for n in results["wrong_kernel"].notes)
    assert any("restarted" in n for n in results["os_exit"].notes)
    assert any("restarted" in n for n in results["segfault"].notes)


def test_nothing_of_the_instructor_is_changed_or_read(batch):
    assert batch["after"] == batch["before"]
    for student in ("reads_source", "reads_other_students", "writes_gradebook"):
        executed = nbformat.read(batch["root"] / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                 as_version=4)
        text = "\n".join(str(o) for c in executed.cells if c.cell_type == "code" for o in c.outputs)
        assert "BEGIN HIDDEN" not in text and "honest_reference" not in text
        assert "PermissionError" in text or "Errno" in text or "OperationalError" in text


def test_no_network_and_no_leftover_processes(batch):
    assert batch["connections"] == []
    assert batch["leftovers"] == []


def test_huge_output_is_cut(batch):
    executed = batch["root"] / "autograded" / "huge_output" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert executed.stat().st_size < 5_000_000
    assert "output cut" in executed.read_text()


def test_honest_grades_equal_grading_alone(batch, tmp_path):
    alone_root = make_course_copy(tmp_path / "alone", [ASSIGNMENT])
    for student in ("honest_reference", "honest_partial"):
        src = batch["root"] / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        dst = alone_root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        dst.parent.mkdir(parents=True)
        dst.write_bytes(src.read_bytes())
    settings = Settings.load(alone_root, timeout=10)
    alone = {r.student: r for r in batch.grade_all(settings, batch.find_jobs(Settings.load(alone_root), [ASSIGNMENT]),
                                                     workers=1, progress=False)}
    for student in alone:
        in_batch = batch["results"][student]
        assert [(c.grade_id, c.points, c.message) for c in alone[student].cells] == \
            [(c.grade_id, c.points, c.message) for c in in_batch.cells]
