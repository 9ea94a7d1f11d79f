"""Isolation holds in every execution mode, or grading refuses.

- Each job (one notebook being graded) holds a sandbox user of its own, whatever runs it: two jobs
  in one process (a Dask worker with two threads) never share a uid, and a job's clean-up kills
  only its own user's processes.
- Where the configured sandbox cannot be set up, ``course grade`` and ``course check`` stop with the
  reason and the setting that grades without it, run no student code and write no grade; with that
  setting (``c.CourseGrader.sandbox = False``) they grade and say so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from conftest import UNTOUCHED_RELEASE, make_course_copy, write_submissions
from helpers.instructor import batch, demo, grading, sandbox
from helpers.instructor.settings import Settings

ASSIGNMENT = "cnn_step_by_step"
MARK = "# isolation-modes probe"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="kernels get users of their own only when the grader is root")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@as_root
def test_each_job_holds_a_user_of_its_own_and_its_release_ends_only_that_users_processes():
    base = 62600  # away from the users the other tests' kernels get
    first, second = sandbox.claim_user(base, 3), sandbox.claim_user(base, 3)  # two jobs of one process
    try:
        assert first.uid != second.uid
        sleepers = [
            subprocess.Popen(["sleep", "4545"], user=c.uid, group=c.uid, extra_groups=[]) for c in (first, second)
        ]
        first.release()
        assert sleepers[0].wait(timeout=10) == -9  # the job's own kernel leftovers end with it
        time.sleep(0.2)
        assert sleepers[1].poll() is None  # the other job's kernel is untouched
        again = sandbox.claim_user(base, 3)  # released: the next job may have it
        assert again.uid == first.uid
        again.release()
    finally:
        second.release()
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()


def test_a_kernel_that_cannot_start_in_the_sandbox_is_a_refusal_that_says_why(tmp_path):
    """The probe starts Python exactly as a kernel starts; here the limits leave it too little memory."""
    settings = Settings.load(make_course_copy(tmp_path / "course", [ASSIGNMENT]))
    settings.memory_mb = 4  # not enough address space for Python to start
    with pytest.raises(grading.SandboxUnavailable) as refused:
        grading.probe_sandbox(settings)
    said = str(refused.value)
    assert "Python could not start in it" in said and "c.CourseGrader.sandbox = False" in said, said
    settings.memory_mb = 8192
    assert grading.probe_sandbox(settings) == ("root" if os.geteuid() == 0 else "userns")


def _probe_cell(sleep: float = 0.0) -> nbformat.NotebookNode:
    """A student's cell that prints the kernel's uid and the time (and then sleeps)."""
    return nbformat.v4.new_code_cell(f"{MARK}\nimport os, time\nprint(os.getuid(), time.time())\ntime.sleep({sleep})")


def _probe_outputs(root: Path, student: str) -> list[tuple[int, float]]:
    notebook = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith(MARK):
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            uid, moment = text.split()
            found.append((int(uid), float(moment)))
    return found


@pytest.mark.slow
@pytest.mark.exhaustive
@as_root
def test_a_dask_worker_with_two_threads_grades_two_students_at_once_each_as_a_user_of_its_own(tmp_path):
    """Two honest students graded at the same time by one Dask worker of two threads that has graded
    before (as any worker past a class's first notebooks): the quick one finishes while the slow one's
    test cells run; each kernel has its own uid and both keep full marks."""
    from distributed import LocalCluster

    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    write_submissions(root, ASSIGNMENT, {"early": UNTOUCHED_RELEASE})
    honest = demo.filled_notebook(root, ASSIGNMENT, [])
    quick, slow = nbformat.from_dict(json.loads(json.dumps(honest))), nbformat.from_dict(json.loads(json.dumps(honest)))
    quick.cells = [_probe_cell(), *quick.cells, _probe_cell()]
    # The slow one starts its graded cells a few seconds later, so the quick one ends in the middle of them.
    slow.cells = [_probe_cell(sleep=3), *slow.cells, _probe_cell()]
    full = demo.expected_score(root, ASSIGNMENT, [])
    settings = Settings.load(root)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        batch.grade_all(
            settings, batch.find_jobs(settings, [ASSIGNMENT]), scheduler=cluster.scheduler_address, progress=False
        )
        write_submissions(root, ASSIGNMENT, {"quick": quick, "slow": slow})
        jobs = [job for job in batch.find_jobs(settings, [ASSIGNMENT]) if job.student != "early"]
        results = batch.grade_all(settings, jobs, scheduler=cluster.scheduler_address, progress=False)
    (quick_start, quick_end), (slow_start, slow_end) = _probe_outputs(root, "quick"), _probe_outputs(root, "slow")
    assert quick_start[1] < slow_end[1] and slow_start[1] + 3 < quick_end[1] < slow_end[1], (
        "the overlap this test needs did not happen: the quick notebook must end while the slow one's tests run"
    )
    assert {r.student: (r.score, r.notes) for r in results} == {"quick": (full, []), "slow": (full, [])}
    assert quick_start[0] == quick_end[0] and slow_start[0] == slow_end[0]
    assert quick_start[0] != slow_start[0]  # a user of its own for each job, in one worker process


def _fake_unshare(folder: Path) -> Path:
    """An ``unshare`` that fails as it does in a container without the right to make namespaces, and logs
    every call, so a test can tell a probe (``... true``) from a kernel's start."""
    folder.mkdir()
    log = folder / "calls"
    script = folder / "unshare"
    script.write_text(
        f'#!/bin/sh\necho "$@" >> {log}\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n'
    )
    script.chmod(0o755)
    return log


def _course(*args, cwd: Path, path: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=path)
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
@pytest.mark.exhaustive
def test_where_the_sandbox_cannot_be_set_up_grading_refuses_until_the_setting_says_otherwise(tmp_path):
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    marker = tmp_path / "student-code-ran"  # outside the kernel's folder: written only without a sandbox
    notebook = demo.filled_notebook(root, ASSIGNMENT, [])
    notebook.cells.append(nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('ran')"))
    write_submissions(root, ASSIGNMENT, {"honest": notebook})
    calls = _fake_unshare(tmp_path / "bin")
    path = os.pathsep.join([str(calls.parent), str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    for command in (
        ["grade", "--workers", "1"],
        ["check", str(root / "submitted" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")],
    ):
        proc = _course(*command, cwd=root, path=path)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        said = proc.stderr
        assert "cannot be set up on this machine" in said and "unshare failed: Operation not permitted" in said, said
        assert "c.CourseGrader.sandbox = False in nbgrader_config.py" in said, said
        assert not marker.exists()  # no student code ran
        probes = calls.read_text().splitlines()
        assert probes and all(line.endswith(" true") for line in probes)  # only probed: it never started a kernel
        assert not (root / "grades.csv").exists() and not list(root.glob(f"autograded/*/{ASSIGNMENT}/*"))

    with open(root / "nbgrader_config.py", "a") as config:
        config.write("\nc.CourseGrader.sandbox = False\n")
    proc = _course("grade", "--workers", "1", cwd=root, path=path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warning = "WARNING: the sandbox is off (c.CourseGrader.sandbox = False in nbgrader_config.py)"
    assert proc.stderr.count(warning) == 1, proc.stderr
    if os.geteuid() == 0:
        assert "students' code runs as ROOT" in proc.stderr
    rows = (root / "grades.csv").read_text().splitlines()[1:]
    assert [row.split(",")[:3] for row in rows] == [
        ["honest", ASSIGNMENT, f"{demo.expected_score(root, ASSIGNMENT, []):g}"]
    ]
    assert marker.read_text() == "ran"  # what the warning says: the student's code ran with the grader's rights
