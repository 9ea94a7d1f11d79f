"""Beyond one machine: a PostgreSQL gradebook (nbgrader's db_url) and a Dask cluster of graders.

Both are tested here on this machine: a throwaway PostgreSQL server on a Unix socket, and a local
Dask cluster whose workers grade the class exactly as the local pool does.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from conftest import make_course_copy
from helpers.instructor import batch, catalogue, demo
from helpers.instructor.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.exhaustive]
ASSIGNMENT = "cnn_step_by_step"


def _class(root: Path) -> dict[str, float]:
    students = {"ref": [], "partial": catalogue.load_variants(root, ASSIGNMENT)["partial_student"]}
    for student, variants in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(demo.filled_notebook(root, ASSIGNMENT, variants), folder / f"{ASSIGNMENT}.ipynb")
    return {s: demo.expected_score(root, ASSIGNMENT, v) for s, v in students.items()}


def _initdb() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb")) or (
        [shutil.which("initdb")] if shutil.which("initdb") else []
    )
    return found[-1] if found else None


@pytest.fixture
def postgres(tmp_path):
    initdb = _initdb()
    if initdb is None:
        pytest.skip("PostgreSQL server binaries are not installed (.ci/run installs them)")
    bindir = Path(initdb).parent
    run_as: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="course-pg-"))  # outside pytest's 0700 folders: the server user enters it
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server")
        run_as = ["runuser", "-u", "postgres", "--"]
        os.chown(base, user.pw_uid, user.pw_gid)
    data, sock = base / "data", base
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(base / "log"),
            "-o",
            f"-k {sock} -c listen_addresses=''",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [*run_as, str(bindir / "createdb"), "-h", str(sock), "-U", "grader", "gradebook"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://grader@/gradebook?host={sock}"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def _course(*args, cwd):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


def test_postgresql_gradebook(tmp_path, postgres):
    from nbgrader.api import Gradebook

    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres!r}\n")
    expected = _class(root)
    proc = _course("grade", "--workers", "2", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (root / "gradebook.db").exists()  # everything went to the server
    with Gradebook(postgres) as gb:
        scores = {s: gb.find_submission(ASSIGNMENT, s).score for s in expected}
    assert scores == expected


def test_dask_cluster_grades_like_the_local_pool(tmp_path):
    from distributed import LocalCluster

    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    expected = _class(root)
    settings = Settings.load(root)
    jobs = batch.find_jobs(Settings.load(root), [ASSIGNMENT])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results = batch.grade_all(settings, jobs, scheduler=cluster.scheduler_address, progress=False)
    assert {r.student: r.score for r in results} == expected
    assert all(
        (Settings.load(root).path("autograded", j.assignment, j.student) / batch.GRADE_FILE).is_file() for j in jobs
    )
