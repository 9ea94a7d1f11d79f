"""Grading a whole class: one job per (student, assignment), in parallel, resumable.

Jobs run in local worker processes, on a Dask cluster, or in turn. A finished ``grade.json`` is not
graded again while its submission and everything that decided it (:mod:`helpers.instructor.grade_key`)
are unchanged, so a rerun after a crash (or Ctrl-C) grades only what is left, and a fixed check
regrades exactly its assignment's notebooks. Only the calling process writes ``grades.csv`` and the
gradebook.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass

from helpers.instructor import grade_key, grader_log, kernel_forks, outputs, provenance, sandbox
from helpers.instructor.grader_log import LOGGER
from helpers.instructor.grading import THREAD_VARIABLES, grade_notebook, prepare_data, probe_sandbox, sha256_file
from helpers.instructor.outputs import atomic_write
from helpers.instructor.settings import Settings
from helpers.instructor.verdict import RESULT_VERSION, Result
from helpers.paths import ASSIGNMENTS, course_command

GRADE_FILE = "grade.json"


def _init_worker(threads: int = 0) -> None:
    """Start of a local pool worker: it dies with the grader, and its replays share the cores like its kernels."""
    sandbox.die_with_parent()
    grader_log.configure()  # the level the grading command chose (through the environment)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle (it ends the workers)
    if threads:  # set before TensorFlow loads
        for name in THREAD_VARIABLES:
            os.environ[name] = str(threads)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass
class Job:
    student: str
    assignment: str


def find_jobs(settings: Settings, assignments: list[str] | None = None) -> list[Job]:
    """Every (student, assignment) pair: each student folder in ``submitted/`` times each assignment."""
    wanted = list(assignments or [a for a in ASSIGNMENTS if settings.notebook("source", a).is_file()])
    return [Job(s, a) for s in settings.students() for a in wanted]


NEW = "new or handed in again"
OLDER = "graded by an older version of the grader"


def stored_result(settings: Settings, job: Job, key: dict) -> tuple[Result | None, str]:
    """The stored result if everything that decided it is unchanged; else None and why it is graded (again).

    ``key`` is :func:`helpers.instructor.grade_key.judged_by` of the job's assignment. Besides it, a
    result holds for the submission it was made from and for this version of the grader only.
    """
    path = settings.path("autograded", job.assignment, job.student) / GRADE_FILE
    if not path.is_file():
        return None, NEW
    try:
        text = path.read_text()
        data = json.loads(text)
    except (OSError, ValueError):
        return None, "the earlier grade.json cannot be read"
    version = data.get("version") if isinstance(data, dict) else None
    if version != RESULT_VERSION:
        newer = isinstance(version, int) and version > RESULT_VERSION
        return None, "graded by a newer version of the grader" if newer else OLDER
    try:
        result = Result.from_json(text)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None, "the earlier grade.json cannot be read"
    if result.submission_sha256 != sha256_file(settings.notebook("submitted", job.assignment, job.student)):
        return None, NEW
    changed = grade_key.changes(result.judged_by, key)
    if changed:
        return None, "because " + grade_key.describe(changed, job.assignment)
    return result, ""


@dataclass
class Plan:
    """What a run grades and why, and what it keeps: decided before any notebook is graded."""

    keys: dict[str, dict]  # assignment -> grade_key.judged_by, computed once per run
    kept: dict[int, Result]  # job index -> the stored result, still valid
    reasons: dict[int, str]  # job index -> why it is graded, for each job to grade, in job order

    @property
    def todo(self) -> list[int]:
        return list(self.reasons)

    def summary(self) -> str:
        """E.g. '12 notebooks to grade: 3 new or handed in again, 9 because the checks of cnn_application
        changed (helpers/checks/cnn_application.py); 4 notebooks kept from earlier runs'."""
        counts = Counter(self.reasons.values())  # in order of first appearance: job order
        kept = f"{_notebooks(len(self.kept))} kept from earlier runs"
        if not counts:
            return f"nothing to grade: {kept} (--force grades them again)"
        said = f"{_notebooks(len(self.reasons))} to grade: " + ", ".join(f"{n} {why}" for why, n in counts.items())
        return said + (f"; {kept}" if self.kept else "")


def _notebooks(count: int) -> str:
    return f"{count} notebook" + ("" if count == 1 else "s")


def plan_grading(settings: Settings, jobs: list[Job], force: bool = False) -> Plan:
    """Which jobs to grade and why: each assignment's key is computed once, then every stored result is checked."""
    assignments = dict.fromkeys(job.assignment for job in jobs)
    plan = Plan(keys={a: grade_key.judged_by(settings, a) for a in assignments}, kept={}, reasons={})
    for k, job in enumerate(jobs):
        cached, why = (
            (None, "because --force was given") if force else stored_result(settings, job, plan.keys[job.assignment])
        )
        if cached is not None:
            plan.kept[k] = cached
        else:
            plan.reasons[k] = why
    return plan


def _worker(args) -> Result:
    settings, job, threads, key = args
    out_dir = settings.path("autograded", job.assignment, job.student)
    # Start clean: a crash may have left a half-run folder behind (grade.json is written last).
    if out_dir.exists():
        shutil.rmtree(out_dir)
    nb_path = settings.notebook("submitted", job.assignment, job.student)
    result = grade_notebook(
        settings,
        job.assignment,
        job.student,
        nb_path if os.path.lexists(nb_path) else None,
        out_dir,
        threads=threads,
        fork=settings.fork_kernels,
    )
    result.judged_by = key  # what decided it: the next run keeps it while that is unchanged
    result.flags = provenance.flags(settings, job.student, job.assignment)  # who the exchange says handed it in
    writing = time.monotonic()
    outputs.write_feedback(settings, job.student, job.assignment, result)
    if result.phases:
        result.phases["clean-up and writing"] = round(
            result.phases["clean-up and writing"] + time.monotonic() - writing, 3
        )
    atomic_write(out_dir / GRADE_FILE, result.to_json())  # last: its presence means "done"
    return result


def grade_all(
    settings: Settings,
    jobs: list[Job],
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
) -> list[Result]:
    """Grade ``jobs`` with ``workers`` local processes, or on a Dask cluster at ``scheduler``.

    Returns results in job order. Every worker must see the course folder at the same path (a shared
    file system); results come back to this process, which alone writes the gradebook.
    """
    plan = plan_grading(settings, jobs, force)
    if progress:
        print(plan.summary(), file=sys.stderr)
    results: dict[int, Result] = dict(plan.kept)
    todo = plan.todo
    prepare_data()
    sandbox.sweep_scratch()
    probe_sandbox(settings)
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    LOGGER.info(
        "%d notebooks to grade, %d kept; %s, %d threads per kernel",
        len(todo),
        len(plan.kept),
        f"on the Dask cluster at {scheduler}" if scheduler else f"{workers} worker process(es)",
        threads,
    )
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(todo),
            desc="grading",
            unit="notebook",
            file=sys.stderr,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]",
        )
    failures: list[tuple[Job, BaseException]] = []

    def finished(k: int, outcome: Result | BaseException) -> None:
        if isinstance(outcome, BaseException):
            LOGGER.warning(
                "%s/%s could not be graded: %s: %s",
                jobs[k].student,
                jobs[k].assignment,
                type(outcome).__name__,
                outcome,
            )
            failures.append((jobs[k], outcome))
        else:
            results[k] = outcome
        if bar:
            bar.update(1)

    try:
        with _ctrl_c_is_never_lost() as interrupted:
            arguments = [(settings, job, threads, plan.keys[job.assignment]) for job in jobs]
            for k, outcome in _run_jobs(todo, arguments, workers, scheduler, interrupted):
                finished(k, outcome)
    finally:  # also on Ctrl-C: the bar is done before the command says how to resume
        if bar:
            bar.close()
        kernel_forks.close_servers()  # this process's own (workers=1); a worker's end with it
    if failures:
        raise GradingIncomplete(failures, [results[k] for k in sorted(results)])
    return [results[k] for k in range(len(jobs))]


def _settle(call):
    """The result of ``call()``, or the grader's own exception (never the student's: those are scores)."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001
        return exc


@contextlib.contextmanager
def _ctrl_c_is_never_lost():
    """Within: Ctrl-C (SIGINT) sets the event it yields, then raises KeyboardInterrupt as usual.

    Python runs a signal handler between any two bytecodes, finalizers included, and a
    KeyboardInterrupt raised inside a ``__del__`` or a weakref callback is printed and dropped:
    the grader would then grade the whole class as if never interrupted. The event outlives such a
    lost exception, and the job loops check it at least twice a second.
    """
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted  # signals reach the main thread only; nothing to guard here
        return

    def on_sigint(signum, frame):
        interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_jobs(
    todo: list[int], arguments: list, workers: int, scheduler: str | None, interrupted: threading.Event | None = None
):
    """Yield (index, Result or exception) as jobs finish: on a Dask cluster, a local pool, or in turn.

    Raises KeyboardInterrupt as soon as ``interrupted`` is set, whatever became of the first one.
    """
    interrupted = interrupted or threading.Event()

    def check():
        if interrupted.is_set():
            raise KeyboardInterrupt

    if not todo:
        return
    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler) as client:
            futures = {
                client.submit(_worker, arguments[k], pure=False, key=f"grade-{k}-{os.urandom(4).hex()}"): k
                for k in todo
            }
            for future in dask_completed(list(futures)):
                check()
                yield futures[future], _settle(future.result)
    elif workers <= 1:
        for k in todo:
            check()
            yield k, _settle(lambda k=k: _worker(arguments[k]))
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(arguments[todo[0]][2],)
        )
        try:
            futures = {pool.submit(_worker, arguments[k]): k for k in todo}
            pending = set(futures)
            while pending:
                check()
                done, pending = concurrent.futures.wait(
                    pending, timeout=0.5, return_when=concurrent.futures.FIRST_COMPLETED
                )
                for future in done:
                    check()
                    yield futures[future], _settle(future.result)
        except (
            BaseException
        ):  # Ctrl-C: stop now, not after the notebooks in progress; their kernels die with the workers
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.kill()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


class GradingIncomplete(RuntimeError):
    """Some notebooks could not be graded because of the grader itself (no kernel, disk full...).

    Their results were not written, so running the same command again grades just those.
    """

    def __init__(self, failures, results):
        self.failures, self.results = failures, results
        lines = [f"{job.student}/{job.assignment}: {type(exc).__name__}: {exc}" for job, exc in failures]
        super().__init__(
            f"{len(failures)} notebook(s) could not be graded; run the command again to retry them:\n  "
            + "\n  ".join(lines)
            + "\nThe other grades are written; these rows say 'not graded'."
        )

    def not_graded(self) -> list[Result]:
        """A row for each notebook that could not be graded: no score, the reason, the way to retry."""
        return [
            Result(
                student=job.student,
                assignment=job.assignment,
                score=0.0,
                max_score=0.0,
                status="not graded",
                reason=f"the grader failed ({type(exc).__name__}: {str(exc)[:200]}); "
                f"run `{course_command()} grade` again",
            )
            for job, exc in self.failures
        ]
