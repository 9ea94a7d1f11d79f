"""End-to-end grading of cnn_step_by_step: right, blank, wrong, broken and hostile submissions.

One class is graded once (module fixture, two workers): broken and hostile notebooks and three variant
packs; the tests then read its results. The reference and the untouched release are the session's
(``conftest.graded_references``); every catalogue variant is judged in ``test_catalogue.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from conftest import (
    MIN_CORPUS,
    make_course_copy,
    pack_of,
    pack_student,
    variant_names,
    variant_packs,
    write_submissions,
)
from helpers.instructor import batch, catalogue, demo, outputs
from helpers.instructor import notebooks as nbu
from helpers.instructor.execute import PHASES
from helpers.instructor.settings import Settings

pytestmark = pytest.mark.slow
ASSIGNMENT = "cnn_step_by_step"
TIMEOUT = 15  # seconds a cell may run: room for honest cells while the other xdist worker is busy too
PACKS = range(1, 4)  # pack_02 to pack_04: mistakes enough for the class report (pack_01 is the session's)


def _solution_cell(nb, gid):
    return next(c for c in nb.cells if nbu.grade_id(c) == gid)


def _submissions(root: Path) -> dict[str, tuple[nbformat.NotebookNode | bytes | None, float]]:
    """student -> (notebook or raw bytes or None for missing, expected score)."""
    full = demo.expected_score(root, ASSIGNMENT, [])
    subs: dict = {}
    for k in PACKS:
        names = variant_packs(ASSIGNMENT)[k]
        subs[pack_student(k)] = (
            demo.filled_notebook(root, ASSIGNMENT, names),
            demo.expected_score(root, ASSIGNMENT, names),
        )

    nb = demo.filled_notebook(root, ASSIGNMENT)  # an infinite loop inside conv_forward: 20 points lost
    cell = _solution_cell(nb, "conv_forward")
    cell.source = cell.source.replace(
        "    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape",
        "    while True:\n        pass\n    (m, n_H_prev, n_W_prev, n_C_prev) = A_prev.shape",
        1,
    )
    subs["infinite_loop"] = (nb, full - 20)

    nb = demo.filled_notebook(root, ASSIGNMENT)  # tampered tests: deleted, edited to pass, and reordered
    nb.cells = [c for c in nb.cells if nbu.grade_id(c) != "zero_pad_values"]
    _solution_cell(nb, "conv_single_step_value").source = "pass"
    cell = _solution_cell(nb, "conv_single_step")
    cell.source = cell.source.replace("Z = Z + b.item()", "Z = Z")
    tests = [k for k, c in enumerate(nb.cells) if nbu.is_test(c)]
    nb.cells[tests[-1]], nb.cells[tests[-2]] = nb.cells[tests[-2]], nb.cells[tests[-1]]
    subs["tampered_tests"] = (nb, full - 10)

    nb = demo.filled_notebook(root, ASSIGNMENT)  # the kernel dies in a scratch cell half-way
    position = next(k for k, c in enumerate(nb.cells) if nbu.grade_id(c) == "pool_forward")
    nb.cells.insert(position, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    subs["kernel_exit"] = (nb, full)

    nb = demo.filled_notebook(root, ASSIGNMENT)  # a solution cell deleted, its function defined elsewhere
    nb.cells = [c for c in nb.cells if nbu.grade_id(c) != "distribute_value"]
    subs["missing_solution_cell"] = (nb, full - 5)

    nb = demo.filled_notebook(root, ASSIGNMENT)
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "?", "language": "python"}
    subs["wrong_kernel_name"] = (nb, full)

    subs["invalid_json"] = (b'{"cells": [', 0.0)
    subs["missing_notebook"] = (None, 0.0)
    return subs


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = make_course_copy(tmp_path_factory.mktemp("class") / "course", [ASSIGNMENT])
    subs = _submissions(root)
    write_submissions(root, ASSIGNMENT, {student: content for student, (content, _) in subs.items()})
    settings = Settings.load(root, timeout=TIMEOUT)
    jobs = batch.find_jobs(Settings.load(root), [ASSIGNMENT])
    results = batch.grade_all(settings, jobs, workers=2, progress=False)
    return root, {r.student: r for r in results}, {s: e for s, (_, e) in subs.items()}


def _explain(result):
    return "; ".join(f"{c.grade_id}: {c.message}" for c in result.cells if c.points < c.max_points)


def test_every_submission_scores_exactly_as_expected(graded):
    _, results, expected = graded
    wrong = {
        s: (results[s].score, expected[s], _explain(results[s])) for s in expected if results[s].score != expected[s]
    }
    assert wrong == {}


def _pack_of(name: str) -> str:
    return pack_of(ASSIGNMENT, name)[0]


def test_failed_cells_say_the_likely_mistake(graded_references):
    """The catalogue's explanation and hint reach the cell's message, the name its ``mistake`` field."""
    result = graded_references[ASSIGNMENT][_pack_of("conv_backward_crop_breaks_without_padding")]
    cell = next(c for c in result.cells if c.grade_id == "conv_backward_gradients")
    assert cell.mistake == "conv_backward_crop_breaks_without_padding"
    assert "Likely mistake: Cropping with [pad:-pad]" in cell.message and "\nHint: " in cell.message


def test_class_report_numbers_match_the_graded_results(graded, tmp_path):
    """course class-report: every number of its CSV files comes from the grade.json files."""
    import csv

    from helpers.instructor import class_report
    from helpers.instructor.settings import Settings

    root, results, _ = graded
    page = class_report.write_report(Settings.load(root), [ASSIGNMENT], tmp_path)[0]
    folder = page.parent
    assert "data:image/png;base64," in page.read_text() and (folder / "scores.png").is_file()
    graded_results = {s: r for s, r in results.items() if r.status == "graded"}
    students = {row["student"]: row for row in csv.DictReader(open(folder / "students.csv"))}
    for student, r in graded_results.items():
        assert float(students[student]["score"]) == r.score
        assert float(students[student]["seconds"]) == r.seconds
    for row in csv.DictReader(open(folder / "cells.csv")):
        cells = [next(c for c in r.cells if c.grade_id == row["grade_id"]) for r in graded_results.values()]
        assert int(row["passed"]) == sum(c.points == c.max_points for c in cells)
        assert int(row["graded"]) == len(cells)
    counted = {row["mistake"]: set(row["students"].split()) for row in csv.DictReader(open(folder / "mistakes.csv"))}
    expected: dict = {}
    for student, r in results.items():
        for c in r.cells:
            if c.mistake:
                expected.setdefault(c.mistake, set()).add(student)
    assert counted == expected and len(counted) >= 20


def test_the_corpora_are_large_enough(root):
    assert len(variant_names(ASSIGNMENT, "wrong")) >= MIN_CORPUS
    assert len(variant_names(ASSIGNMENT, "correct")) >= MIN_CORPUS


def test_reference_and_blank(graded_references):
    results = graded_references[ASSIGNMENT]
    assert results["reference"].score == results["reference"].max_score == 100
    blank = results["blank"]
    assert blank.score == 0 and blank.status == "graded"
    assert all("is not written yet: write it between ### START CODE HERE ###" in c.message for c in blank.cells)


def test_each_notebook_records_where_its_time_went(graded):
    """grade.json's phases: named by execute.PHASES, the kernel's among them, summing to the notebook's time."""
    root, results, _ = graded
    assert results["missing_notebook"].phases == {}
    almost_right = results["infinite_loop"]
    assert all(
        almost_right.phases[p] > 0
        for p in ("kernel start", "set-up cell", "student cells", "calls in the kernel", "checks in the grader")
    )
    for result in results.values():
        if result.status != "graded":
            continue
        assert set(result.phases) <= set(PHASES) and min(result.phases.values()) >= 0
        in_kernel_run = sum(v for p, v in result.phases.items() if p not in ("grader set-up", "clean-up and writing"))
        assert 0.7 * result.seconds <= in_kernel_run <= result.seconds + 0.05, result.phases
        stored = json.loads((root / "autograded" / result.student / ASSIGNMENT / "grade.json").read_text())
        assert stored["phases"] == result.phases


def test_an_endless_cell_is_cut_and_the_rest_is_graded(graded):
    _, results, _ = graded
    cells = {c.grade_id: c for c in results["infinite_loop"].cells}
    assert cells["conv_forward_values"].status == "timeout"
    assert f"{TIMEOUT} s" in cells["conv_forward_values"].message
    assert all(c.status == "passed" for gid, c in cells.items() if gid != "conv_forward_values")
    # the interrupt reached the loop: the kernel (forked, where kernels are) went on without a restart
    assert results["infinite_loop"].restarts == 0


def test_tampered_tests_are_restored(graded):
    _, results, _ = graded
    result = results["tampered_tests"]
    cells = {c.grade_id: c for c in result.cells}
    assert cells["conv_single_step_value"].points == 0 and "expected -6.99" in cells["conv_single_step_value"].message
    assert cells["zero_pad_values"].status == "passed"
    assert any("restored" in n for n in result.notes) and any("reordered" in n for n in result.notes)


def test_a_dead_kernel_is_restarted(graded):
    _, results, _ = graded
    assert any("restarted" in n for n in results["kernel_exit"].notes)
    assert results["kernel_exit"].restarts == 1 and results["kernel_exit"].score == results["kernel_exit"].max_score


def test_broken_and_missing_notebooks_score_zero_with_a_reason(graded):
    _, results, _ = graded
    assert results["invalid_json"].status == "invalid" and "not valid notebook JSON" in results["invalid_json"].reason
    assert results["missing_notebook"].status == "missing"
    assert results["missing_solution_cell"].notes and "distribute_value" in " ".join(
        results["missing_solution_cell"].notes
    )
    assert any("no-such-kernel" in n for n in results["wrong_kernel_name"].notes)


def test_feedback_has_no_hidden_tests(graded_references):
    root, results = graded_references.root, graded_references[ASSIGNMENT]
    for student in ("reference", "blank", _pack_of("conv_backward_crop_breaks_without_padding")):
        html = (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert "HIDDEN TESTS" not in html and "hidden_rng(16)" not in html
        assert f"{results[student].score:g} / 100" in html


def test_rerun_resumes_without_regrading(graded):
    root, results, _ = graded
    settings = Settings.load(root, timeout=TIMEOUT)
    jobs = batch.find_jobs(Settings.load(root), [ASSIGNMENT])
    stamps = {
        j.student: (Settings.load(root).path("autograded", j.assignment, j.student) / batch.GRADE_FILE)
        .stat()
        .st_mtime_ns
        for j in jobs
    }
    # One student hands in again; a crash left another one's folder without grade.json.
    target = root / "submitted" / pack_student(PACKS[0]) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nbformat.write(demo.filled_notebook(root, ASSIGNMENT), target)
    (
        Settings.load(root).path(
            "autograded",
            batch.Job("wrong_kernel_name", ASSIGNMENT).assignment,
            batch.Job("wrong_kernel_name", ASSIGNMENT).student,
        )
        / batch.GRADE_FILE
    ).unlink()
    again = {r.student: r for r in batch.grade_all(settings, jobs, workers=1, progress=False)}
    regraded = {
        j.student
        for j in jobs
        if (Settings.load(root).path("autograded", j.assignment, j.student) / batch.GRADE_FILE).stat().st_mtime_ns
        != stamps[j.student]
    }
    assert regraded == {pack_student(PACKS[0]), "wrong_kernel_name"}
    assert again[pack_student(PACKS[0])].score == 100
    assert {s: r.score for s, r in again.items() if s not in regraded} == {
        s: r.score for s, r in results.items() if s not in regraded
    }


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _sandbox_user_processes() -> list[str]:
    base = Settings.sandbox_uid_base
    lines = subprocess.run(["ps", "-eo", "pid=,uid=,args="], capture_output=True, text=True).stdout.splitlines()
    return [line for line in lines if base <= int(line.split()[1]) < base + 1000]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_dropped_inside_a_finalizer_still_stops_the_grading():
    """Python drops a KeyboardInterrupt raised in a ``__del__``; the grader must stop all the same."""

    class DropsIt:
        def __del__(self):
            signal.raise_signal(signal.SIGINT)  # its handler runs here, inside the finalizer

    graded = []
    before = signal.getsignal(signal.SIGINT)
    with batch._ctrl_c_is_never_lost() as interrupted:
        DropsIt()  # "Exception ignored in ... KeyboardInterrupt": the exception itself is gone
        assert interrupted.is_set()
        with pytest.raises(KeyboardInterrupt):
            for k, _ in batch._run_jobs([0, 1], [None, None], 1, None, interrupted):
                graded.append(k)
    assert graded == [] and signal.getsignal(signal.SIGINT) is before


@pytest.mark.exhaustive  # two grading runs each; resuming a crashed run is in the fast tier
@pytest.mark.parametrize("how", ["kill -9 of the grader alone", "Ctrl-C in its terminal"])
def test_a_killed_run_leaves_nothing_running_and_a_rerun_finishes_it(tmp_path, how):
    """The grader stopped half-way: its workers and kernels end with it; the same command then grades just
    the rest, and every student ends up once in grades.csv and the gradebook, as if never interrupted."""
    from nbgrader.api import Gradebook

    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    variants = [v["name"] for v in catalogue.load_variants(root, ASSIGNMENT)["variants"]][:5]
    students = {"reference": [], **{f"student{k}": [v] for k, v in enumerate(variants)}}
    write_submissions(root, ASSIGNMENT, {s: demo.filled_notebook(root, ASSIGNMENT, v) for s, v in students.items()})
    expected = {s: demo.expected_score(root, ASSIGNMENT, v) for s, v in students.items()}
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    command = [sys.executable, "-m", "helpers.cli", "grade", "--workers", "2", "--timeout", str(TIMEOUT)]

    def finished() -> dict[str, int]:
        return {
            p.parent.parent.name: p.stat().st_mtime_ns
            for p in (root / "autograded").glob(f"*/{ASSIGNMENT}/{batch.GRADE_FILE}")
        }

    run = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )  # a process group of its own, as in a terminal
    deadline = time.monotonic() + 600
    while not finished() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be killed"
    family = _children(run.pid)
    family += [kid for pid in family for kid in _children(pid)]  # the workers' kernel launchers
    if how.startswith("kill"):
        os.kill(run.pid, signal.SIGKILL)  # the grader alone, as the OOM killer would
        run.wait()
        run.stderr.close()
    else:
        os.killpg(run.pid, signal.SIGINT)  # a terminal sends Ctrl-C to the whole foreground group
        _, stderr = run.communicate(timeout=60)
        assert run.returncode == 130 and stderr.rstrip().endswith("run the same command again to resume."), (
            f"exit {run.returncode}; stderr:\n{stderr[-3000:]}"
        )
    done = finished()
    assert 0 < len(done) < len(students)
    deadline = time.monotonic() + 20
    while (any(map(_alive, family)) or _sandbox_user_processes()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in family if _alive(pid)] and not _sandbox_user_processes()

    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    again = finished()
    assert {s: again[s] for s in done} == done  # what was finished is not graded again
    rows = (root / "grades.csv").read_text().splitlines()[1:]
    assert sorted(row.split(",")[0] for row in rows) == sorted(students)
    assert {row.split(",")[0]: float(row.split(",")[2]) for row in rows} == expected
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        assert len(gb.find_assignment(ASSIGNMENT).submissions) == len(students)
        assert {s: gb.find_submission(ASSIGNMENT, s).score for s in students} == expected
    assert not list(Path(tempfile.gettempdir()).glob(f"course-*-{run.pid}-*"))  # its scratch folders are swept


@pytest.mark.skipif(os.geteuid() != 0, reason="kernels run as users of their own only when the grader is root")
def test_each_grading_process_holds_a_user_of_its_own_and_clears_it_first():
    base = 62500  # away from the users the other tests' kernels get
    claim = (
        "import sys, time\nfrom helpers.instructor import sandbox\n"
        "print(sandbox.claim_user(int(sys.argv[1]), 3).uid, flush=True)\ntime.sleep(120)"
    )

    def claimer():
        return subprocess.Popen(
            [sys.executable, "-c", claim, str(base)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    holders = [claimer(), claimer()]
    try:
        assert sorted(int(h.stdout.readline()) for h in holders) == [base, base + 1]
        left_behind = subprocess.Popen(["sleep", "4545"], user=base + 2, group=base + 2, extra_groups=[])
        holders.append(claimer())
        assert int(holders[-1].stdout.readline()) == base + 2
        assert left_behind.wait(timeout=10) == -signal.SIGKILL  # a killed grader's leftover, ended on claim
        full = subprocess.run([sys.executable, "-c", claim, str(base)], capture_output=True, text=True, timeout=60)
        assert full.returncode != 0 and "are in use: grade with fewer workers" in full.stderr
        holders[0].kill()
        holders[0].wait()
        holders[0] = claimer()  # a lock dies with its process: the user is free again
        assert int(holders[0].stdout.readline()) in (base, base + 1)
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()


def test_grades_csv_and_gradebook(graded):
    root, results, _ = graded
    outputs.write_csv(Settings.load(root), list(results.values()))
    rows = (root / "grades.csv").read_text().splitlines()
    assert rows[0] == "student,assignment,score,max_score,status,reason,flags"
    assert len(rows) == len(results) + 1


def _course(*args, cwd):
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "helpers.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_check_prints_points_per_function_and_leaves_the_file_alone(tmp_path, root):
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(demo.filled_notebook(root, ASSIGNMENT, ["conv_single_step_no_bias"]), notebook)
    before = notebook.read_bytes(), notebook.stat().st_mtime_ns
    proc = _course("--root", str(root), "check", str(notebook), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cnn_step_by_step: 90 / 100 points" in proc.stdout
    # the failing test under its function, with the call it made and what it expected
    assert "conv_single_step_value: Z of conv_single_step(a_slice_prev of shape (4, 4, 3)" in proc.stdout
    assert "expected -6.999" in proc.stdout
    assert (notebook.read_bytes(), notebook.stat().st_mtime_ns) == before
    assert not list(tmp_path.glob("*.json")) and not (tmp_path / "autograded").exists()


@pytest.mark.parametrize(
    "assignment",
    [
        "cnn_step_by_step",
        pytest.param("cnn_application", marks=pytest.mark.exhaustive),
        pytest.param("residual_networks", marks=pytest.mark.exhaustive),
    ],
)
def test_check_gives_full_marks_to_correct_alternatives(tmp_path, root, assignment):
    """`course check` agrees with `course grade` on correct answers written another way (two per assignment
    here; `course grade` grades every one of them in the assignments' own tests)."""
    variants = catalogue.load_variants(root, assignment, "correct")["variants"]
    names = [variants[0]["name"]] + [v["name"] for v in variants if v["cell"] != variants[0]["cell"]][:1]
    notebook = tmp_path / f"{assignment}.ipynb"
    nbformat.write(demo.filled_notebook(root, assignment, names), notebook)
    proc = _course("--root", str(root), "check", str(notebook), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{assignment}: 100 / 100 points" in proc.stdout, (names, proc.stdout)


def test_demo_command_end_to_end(tmp_path):
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    proc = _course("demo", "--workers", "2", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = {
        line.split()[0]: line.split()[1]
        for line in proc.stdout.splitlines()
        if line.split() and line.split()[0].endswith("_student")
    }
    assert lines == {
        "reference_student": "100/100",
        "partial_student": f"{demo.expected_score(root, ASSIGNMENT, catalogue.load_variants(root, ASSIGNMENT)['partial_student']):g}/100",
        "blank_student": "0/100",
    }
    assert (root / "grades.csv").is_file() and (root / "gradebook.db").is_file()
    assert json.loads((root / "autograded" / "blank_student" / ASSIGNMENT / "grade.json").read_text())["score"] == 0


def test_a_notebook_the_grader_fails_on_does_not_hold_back_the_others(tmp_path, monkeypatch):
    import csv

    from helpers.commands.grade import grade_class
    from helpers.instructor import batch

    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    write_submissions(root, ASSIGNMENT, {"alice": None, "mallory": None})
    honest = batch.grade_notebook

    def failing(settings, assignment, student, *args, **kwargs):
        if student == "mallory":
            raise IndexError("list index out of range")
        return honest(settings, assignment, student, *args, **kwargs)

    monkeypatch.setattr(batch, "grade_notebook", failing)
    with pytest.raises(batch.GradingIncomplete, match="mallory"):
        grade_class(root, [ASSIGNMENT], workers=1, force=False, timeout=None)
    rows = {r["student"]: r for r in csv.DictReader((root / "grades.csv").open())}
    assert rows["alice"]["status"] == "missing"
    assert rows["mallory"]["status"] == "not graded" and "IndexError" in rows["mallory"]["reason"]
    monkeypatch.setattr(batch, "grade_notebook", honest)  # the grader mended: the same command grades just her
    grade_class(root, [ASSIGNMENT], workers=1, force=False, timeout=None)
    rows = {r["student"]: r for r in csv.DictReader((root / "grades.csv").open())}
    assert rows["mallory"]["status"] == "missing"
