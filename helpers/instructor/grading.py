"""The one grading runner, used by ``course grade``, ``course check`` and ``course demo``.

For each submission ``submitted/<student>/<id>/<id>.ipynb`` it

1. builds the notebook to run from the *source* notebook: locked and test cells come from the
   source (hidden tests included), so edited, deleted or reordered test cells change nothing;
   the student's solution cells are taken by ``grade_id`` (a missing one becomes the release stub);
   the student's own extra cells keep their place after the graded cell they followed;
2. executes it cell by cell (:mod:`helpers.instructor.execute`: timeouts, crash recovery);
3. scores every test cell of the source: full points if it ran without error, else 0, with the
   error's message as the reason;
4. writes ``autograded/<student>/<id>/<id>.ipynb`` and ``grade.json`` atomically, then the
   feedback HTML (hidden tests removed) under ``feedback/<student>/<id>/``.

Submissions are graded in parallel worker processes; a finished ``grade.json`` whose submission
and source are unchanged is not graded again, so a rerun after a crash resumes.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from helpers.instructor import feedback, judge, notebooks as nbu, sandbox
from helpers.instructor.execute import execute_notebook
from helpers.paths import ASSIGNMENTS

GRADE_FILE = "grade.json"
RESULT_VERSION = 3  # bump when grading changes, so that stored results are not reused


# ------------------------------------------------------------------ configuration

@dataclass
class Settings:
    root: Path
    timeout: int = 120
    startup_timeout: int = 120
    max_output_chars: int = 200_000
    course_id: str = "cnn-course"
    sandbox: bool = True
    notebook_timeout: int = 1800
    tmp_mb: int = 512
    max_file_bytes: int = 100_000 << 10  # a file beside a submitted notebook (CourseDirectory.max_file_size, kB)
    sandbox_uid_base: int = 61000
    cpu_seconds: int = 900
    memory_mb: int = 8192
    max_processes: int = 1024
    sandbox_uid_ok: bool | None = None  # found once per run by probe_sandbox(); None: not probed yet
    db_url: str = ""  # nbgrader's CourseDirectory.db_url; empty: sqlite gradebook.db in the course folder

    @property
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @classmethod
    def load(cls, root: Path, timeout: int | None = None) -> "Settings":
        """Read the execution limits from ``nbgrader_config.py``, the one place they are set."""
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        execute = config.get("Execute", {})
        settings = cls(root=root)
        settings.timeout = int(timeout or execute.get("timeout", settings.timeout))
        settings.startup_timeout = int(execute.get("startup_timeout", settings.startup_timeout))
        settings.course_id = str(config.get("CourseDirectory", {}).get("course_id", settings.course_id))
        settings.db_url = str(config.get("CourseDirectory", {}).get("db_url", "") or "")
        if config.get("CourseDirectory", {}).get("max_file_size"):
            settings.max_file_bytes = int(config["CourseDirectory"]["max_file_size"]) << 10
        grader = config.get("CourseGrader", {})
        for name in ("sandbox", "sandbox_uid_base", "cpu_seconds", "memory_mb", "max_processes", "notebook_timeout",
                     "tmp_mb"):
            if name in grader:
                setattr(settings, name, type(getattr(settings, name))(grader[name]))
        max_lines = config.get("LimitOutput", {}).get("max_lines")
        if max_lines:
            settings.max_output_chars = int(max_lines) * 200
        return settings


# ------------------------------------------------------------------ building the notebook to run

def source_path(root: Path, assignment: str) -> Path:
    return root / "source" / assignment / f"{assignment}.ipynb"


def release_path(root: Path, assignment: str) -> Path:
    return root / "release" / assignment / f"{assignment}.ipynb"


def merge_submission(source: nbformat.NotebookNode, release: nbformat.NotebookNode,
                     student: nbformat.NotebookNode | None) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to execute, and notes on what had to be restored."""
    notes: list[str] = []
    release_cells = {nbu.grade_id(c): c for c in release.cells if nbu.grade_id(c)}
    source_ids = {nbu.grade_id(c) for c in source.cells if nbu.grade_id(c)}
    student_solutions: dict[str, object] = {}
    extra_after: dict[str | None, list] = {}
    anchor = None
    seen_ids = []
    for cell in (student.cells if student is not None else []):
        gid = nbu.grade_id(cell)
        if gid in source_ids:
            if gid in seen_ids:
                notes.append(f"duplicate cell {gid!r} ignored")
                continue
            seen_ids.append(gid)
            anchor = gid
            if nbu.is_solution(cell) and cell.get("cell_type") == "code":
                student_solutions[gid] = cell
            continue
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        extra = nbformat.v4.new_code_cell(cell.get("source", "")) if cell.get("cell_type") == "code" \
            else copy.deepcopy(cell)
        extra.metadata = {}  # a student's cell can never claim to be graded
        extra_after.setdefault(anchor, []).append(extra)

    order = [nbu.grade_id(c) for c in source.cells if nbu.grade_id(c)]
    student_order = [g for g in seen_ids]
    if student is not None:
        missing_tests = [nbu.grade_id(c) for c in nbu.test_cells(source) if nbu.grade_id(c) not in seen_ids]
        if missing_tests:
            notes.append("test cells restored from the source: " + ", ".join(missing_tests))
        if student_order != [g for g in order if g in student_order]:
            notes.append("cells were reordered; the source order was restored")

    merged = copy.deepcopy(source)
    cells = list(extra_after.get(None, []))
    for cell in source.cells:
        gid = nbu.grade_id(cell)
        if gid is None:
            continue  # free cells belong to the student: their copy is kept, in place
        if nbu.is_solution(cell) and cell.cell_type == "code":
            if gid in student_solutions:
                chosen = copy.deepcopy(cell)
                chosen.source = student_solutions[gid].get("source", "")
            else:
                chosen = copy.deepcopy(release_cells.get(gid, cell))
                if student is not None:
                    notes.append(f"solution cell {gid!r} is missing: graded as unanswered")
        else:
            chosen = copy.deepcopy(cell)
        chosen.outputs = [] if chosen.cell_type == "code" else None
        if chosen.cell_type != "code":
            chosen.pop("outputs", None)
        cells.append(chosen)
        cells.extend(extra_after.get(gid, []))
    merged.cells = cells
    merged.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return merged, notes


# ------------------------------------------------------------------ results

@dataclass
class CellScore:
    grade_id: str
    points: float
    max_points: float
    status: str
    message: str = ""
    description: str = ""


@dataclass
class Result:
    student: str
    assignment: str
    score: float
    max_score: float
    status: str  # graded | missing | invalid
    reason: str = ""
    cells: list[CellScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    submission_sha256: str = ""
    source_sha256: str = ""
    seconds: float = 0.0
    graded_at: str = ""
    version: int = RESULT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Result":
        data = json.loads(text)
        data["cells"] = [CellScore(**c) for c in data.get("cells", [])]
        return cls(**data)


def _error_message(cell, last: bool = False) -> str:
    outputs = cell.get("outputs", [])
    for out in (reversed(outputs) if last else outputs):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip()
            return f"{out.get('ename', 'Error')}: {value}" if value else str(out.get("ename", "Error"))
    return ""


def score_cells(source, executed, statuses: dict[int, str], reasons: dict[int, str] | None = None) -> list[CellScore]:
    """Points per test cell: full points when the grader's run of it passed, else 0 with the reason."""
    by_id = {}
    for index, cell in enumerate(executed.cells):
        gid = nbu.grade_id(cell)
        if gid and gid not in by_id:
            by_id[gid] = (index, cell)
    scores = []
    for test in nbu.test_cells(source):
        gid = nbu.grade_id(test)
        index, cell = by_id[gid]
        status = statuses.get(index, "not run")
        message = ""
        if status == "error":
            message = (reasons or {}).get(index) or _error_message(cell)
        elif status != "ok":
            message = _error_message(cell, last=True) or status
        passed = status == "ok"
        scores.append(CellScore(grade_id=gid, points=nbu.points(test) if passed else 0.0,
                                max_points=nbu.points(test), status="passed" if passed else status,
                                message=message, description=nbu.docstring_line(test.source)))
    return scores


def copy_submitted_files(folder: Path, workdir: Path, limit: int) -> list[str]:
    """Copy the plain files beside a notebook into the kernel's folder; notes on what was refused and why."""
    notes = []
    for item in sorted(folder.iterdir()):
        if item.suffix == ".ipynb" or item.name.startswith("."):
            continue
        if item.is_dir() and not item.is_symlink():
            notes.append(f"{item.name}/ not copied: folders beside the notebook are not used")
            continue
        try:
            data = nbu.read_plain_file(item, limit)
        except nbu.NotebookError as exc:
            notes.append(f"not copied: {exc}")
            continue
        target = workdir / item.name
        with open(target, "xb") as handle:
            handle.write(data)
    return notes


def sha256_file(path: Path) -> str:
    """The file's digest; '' for a missing file, a link or anything but a regular file (never followed)."""
    try:
        data = nbu.read_plain_file(path, nbu.MAX_NOTEBOOK_BYTES)
    except nbu.NotebookError:
        return "" if not os.path.lexists(path) else "not-a-plain-file"
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


# ------------------------------------------------------------------ one submission

# The kernel's environment is built from this allowlist (and the values set below), nothing else.
KERNEL_ENV_ALLOWED = ("PATH", "LANG", "LANGUAGE", "TZ", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_NUMERIC",
                      "SIGNS_DATA_DIR", "VIRTUAL_ENV", "COURSE_FAST", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def kernel_env(threads: int) -> dict[str, str]:
    """The kernel's whole environment: only what it needs, none of the grader's secrets."""
    env = {k: v for k, v in os.environ.items() if k in KERNEL_ENV_ALLOWED}
    env["NBGRADER_EXECUTION"] = "autograde"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        env[name] = str(max(1, threads))
    # The kernel must find the same Python (and `helpers`) as this process.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    return env


def _init_worker(threads: int = 0) -> None:
    """Start of a local pool worker: it dies with the grader, and its replays share the cores like its kernels."""
    sandbox.die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle (it ends the workers)
    if threads:  # set before TensorFlow loads
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                     "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            os.environ[name] = str(threads)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def sandbox_spec(settings: Settings, workdir: Path):
    if not settings.sandbox:
        return None
    import helpers

    package_root = Path(helpers.__file__).resolve().parent.parent
    hide_dirs, hide_files = kernel_hidden_paths([settings.root, package_root])
    spec = sandbox.SandboxSpec(
        workdir=str(workdir),
        hide_dirs=hide_dirs,
        hide_files=hide_files,
        uid=sandbox.claim_user(settings.sandbox_uid_base) if os.geteuid() == 0 else None,
        cpu_seconds=settings.cpu_seconds,
        memory_bytes=settings.memory_mb << 20,
        max_processes=settings.max_processes,
        expose=sorted({sys.base_prefix, sys.prefix, str(package_root)}),
        tmp_bytes=settings.tmp_mb << 20,
    )
    if spec.uid is not None:
        if settings.sandbox_uid_ok is None:
            os.chown(workdir, spec.uid, spec.uid)
            settings.sandbox_uid_ok = sandbox.sandbox_works(spec)
            os.chown(workdir, os.getuid(), os.getgid())
        if not settings.sandbox_uid_ok:
            spec.uid = None  # this machine cannot run the kernel as another user: keep namespaces and limits
        else:
            os.chown(workdir, spec.uid, spec.uid)
    return spec


# What a kernel may see of the course folder and of the checkout `helpers` is installed from.
KERNEL_VISIBLE = ("helpers", "datasets", "weights")


def kernel_hidden_paths(roots: list[Path]) -> tuple[list[str], list[str]]:
    """Everything in these folders but :data:`KERNEL_VISIBLE` and the Python installation: folders, files."""
    needed = [Path(p).resolve() for p in {sys.prefix, sys.base_prefix}]
    dirs, files = [], []
    for root in dict.fromkeys(Path(r).resolve() for r in roots):
        for entry in sorted(root.iterdir()) if root.is_dir() else []:
            if entry.name in KERNEL_VISIBLE or entry.is_symlink():
                continue
            resolved = entry.resolve()
            if any(resolved == p or resolved in p.parents for p in needed):
                continue  # a virtual environment inside the folder
            (dirs if entry.is_dir() else files).append(str(entry))
    return dirs, files


def probe_sandbox(settings: Settings) -> None:
    """Find out once, before workers start, whether kernels can run as the sandbox's own users."""
    if not settings.sandbox or os.geteuid() != 0 or settings.sandbox_uid_ok is not None:
        return
    with tempfile.TemporaryDirectory(prefix="course-probe-") as tmp:
        os.chmod(tmp, 0o711)
        workdir = Path(tmp) / "work"
        workdir.mkdir(mode=0o700)
        sandbox_spec(settings, workdir)


def grade_notebook(settings: Settings, assignment: str, student: str, notebook_path: Path | None,
                   out_dir: Path, threads: int = 1) -> Result:
    """Grade one notebook file; the executed notebook goes to ``out_dir``. Never raises for a bad notebook."""
    root = settings.root
    source = nbu.read_notebook(source_path(root, assignment))
    release = nbu.read_notebook(release_path(root, assignment))
    max_score = sum(nbu.points(c) for c in nbu.test_cells(source))
    result = Result(student=student, assignment=assignment, score=0.0, max_score=max_score, status="graded",
                    source_sha256=sha256_file(source_path(root, assignment)),
                    graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    student_nb = None
    if notebook_path is None or not os.path.lexists(notebook_path):
        result.status, result.reason = "missing", f"no notebook {assignment}.ipynb was submitted"
    else:
        result.submission_sha256 = sha256_file(notebook_path)
        try:
            student_nb = nbu.read_notebook(notebook_path)
        except nbu.NotebookError as exc:
            result.status, result.reason = "invalid", str(exc)
    if student_nb is None:
        result.cells = [CellScore(nbu.grade_id(c), 0.0, nbu.points(c), result.status, result.reason,
                                  nbu.docstring_line(c.source)) for c in nbu.test_cells(source)]
        return result

    kernel = student_nb.get("metadata", {}).get("kernelspec", {}).get("name")
    merged, notes = merge_submission(source, release, student_nb)
    if kernel and kernel != "python3":
        notes.append(f"kernel {kernel!r} replaced by python3")
    result.notes = notes
    out_dir.mkdir(parents=True, exist_ok=True)
    test_ids = {nbu.grade_id(c) for c in nbu.test_cells(source)}
    job_dir = Path(tempfile.mkdtemp(prefix=sandbox.scratch_prefix("job"), dir=sandbox.scratch_root()))
    spec, cgroups = None, None
    try:
        os.chmod(job_dir, 0o711)
        workdir = job_dir / "work"
        workdir.mkdir(mode=0o700)
        if notebook_path is not None:  # the submission's other files (data, images) sit beside the notebook
            result.notes += copy_submitted_files(notebook_path.parent, workdir, settings.max_file_bytes)
        spec = sandbox_spec(settings, workdir)
        uid = spec.uid if spec is not None else None
        if spec is not None:
            cgroups = sandbox.KernelCgroups.create(f"{uid or 0}-{job_dir.name[-8:]}", spec.memory_bytes,
                                                   spec.max_processes)
            spec.cgroups = cgroups.paths if cgroups else []
        if uid is not None:
            for path in workdir.iterdir():
                os.chown(path, uid, uid)
        if "keras" in sys.modules:  # nothing of an earlier job's models lingers in this process
            sys.modules["keras"].backend.clear_session()

        def make_judge(socket_dir: str):
            with _stderr_to_devnull():  # TensorFlow's start-up chatter (absl, CUDA probes) is not for the terminal
                return judge.Judge(assignment, source, socket_dir, uid, settings.timeout)

        report = execute_notebook(merged, env=kernel_env(threads), timeout=settings.timeout,
                                  startup_timeout=settings.startup_timeout,
                                  max_output_chars=settings.max_output_chars,
                                  replayable=lambda cell: nbu.grade_id(cell) not in test_ids,
                                  sandbox_spec=spec, workdir=str(workdir),
                                  log_path=str(out_dir / "kernel.log"), make_judge=make_judge,
                                  is_test=lambda cell: nbu.grade_id(cell) in test_ids,
                                  notebook_timeout=settings.notebook_timeout)
    finally:
        if spec is not None and spec.uid is not None:
            sandbox.kill_user(spec.uid)  # whatever the kernel started, however it hid, ends with it
        if cgroups is not None:
            cgroups.remove()
        shutil.rmtree(job_dir, ignore_errors=True)
    result.cells = score_cells(source, merged, report.statuses, report.reasons)
    result.score = sum(c.points for c in result.cells)
    result.seconds = round(report.seconds, 2)
    if report.restarts:
        result.notes.append(f"the kernel was restarted {report.restarts} time(s)")
    _atomic_write(out_dir / f"{assignment}.ipynb", nbformat.writes(merged))
    return result


@contextlib.contextmanager
def _stderr_to_devnull():
    """While inside, file descriptor 2 (where C++ libraries log) goes to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


# ------------------------------------------------------------------ a whole class

@dataclass
class Job:
    student: str
    assignment: str


def submission_notebook(root: Path, job: Job) -> Path:
    return root / "submitted" / job.student / job.assignment / f"{job.assignment}.ipynb"


def autograded_dir(root: Path, job: Job) -> Path:
    return root / "autograded" / job.student / job.assignment


def find_jobs(root: Path, assignments: list[str] | None = None) -> list[Job]:
    """Every (student, assignment) pair: each student folder in ``submitted/`` times each assignment."""
    wanted = list(assignments or [a for a in ASSIGNMENTS if source_path(root, a).is_file()])
    submitted = root / "submitted"
    students = sorted(p.name for p in submitted.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if submitted.is_dir() else []
    return [Job(s, a) for s in students for a in wanted]


def cached_result(root: Path, job: Job) -> Result | None:
    """The stored result if it is complete and still describes the current submission and source."""
    path = autograded_dir(root, job) / GRADE_FILE
    if not path.is_file():
        return None
    try:
        result = Result.from_json(path.read_text())
    except (ValueError, TypeError, KeyError):
        return None
    if result.version != RESULT_VERSION:
        return None
    if result.submission_sha256 != sha256_file(submission_notebook(root, job)):
        return None
    if result.source_sha256 != sha256_file(source_path(root, job.assignment)):
        return None
    return result


def _worker(args) -> Result:
    settings, job, threads = args
    root = settings.root
    out_dir = autograded_dir(root, job)
    # Start clean: a crash may have left a half-run folder behind (grade.json is written last).
    if out_dir.exists():
        shutil.rmtree(out_dir)
    nb_path = submission_notebook(root, job)
    result = grade_notebook(settings, job.assignment, job.student, nb_path if os.path.lexists(nb_path) else None,
                            out_dir, threads=threads)
    write_feedback(root, job, result)
    _atomic_write(out_dir / GRADE_FILE, result.to_json())  # last: its presence means "done"
    return result


def prepare_data() -> None:
    """Generate the SIGNS files before any kernel needs them: kernels cannot write outside their folder."""
    try:
        from helpers import signs
    except ImportError:
        return
    signs.load_dataset(verbose=False)


def grade_all(settings: Settings, jobs: list[Job], workers: int = 1, force: bool = False,
              progress: bool = True, scheduler: str | None = None) -> list[Result]:
    """Grade ``jobs`` with ``workers`` local processes, or on a Dask cluster at ``scheduler``.

    Returns results in job order. Every worker must see the course folder at the same path (a shared
    file system); results come back to this process, which alone writes the gradebook.
    """
    root = settings.root
    results: dict[int, Result] = {}
    todo = []
    prepare_data()
    sandbox.sweep_scratch()
    probe_sandbox(settings)
    for k, job in enumerate(jobs):
        cached = None if force else cached_result(root, job)
        if cached is not None:
            results[k] = cached
        else:
            todo.append(k)
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc="grading", unit="notebook", file=sys.stderr,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]")
    failures: list[tuple[Job, BaseException]] = []

    def finished(k: int, outcome: Result | BaseException) -> None:
        if isinstance(outcome, BaseException):
            failures.append((jobs[k], outcome))
        else:
            results[k] = outcome
        if bar:
            bar.update(1)

    try:
        for k, outcome in _run_jobs(todo, [(settings, job, threads) for job in jobs], workers, scheduler):
            finished(k, outcome)
    finally:  # also on Ctrl-C: the bar is done before the command says how to resume
        if bar:
            bar.close()
    if failures:
        raise GradingIncomplete(failures, [results[k] for k in sorted(results)])
    return [results[k] for k in range(len(jobs))]


def _settle(call):
    """The result of ``call()``, or the grader's own exception (never the student's: those are scores)."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001
        return exc


def _run_jobs(todo: list[int], arguments: list, workers: int, scheduler: str | None):
    """Yield (index, Result or exception) as jobs finish: on a Dask cluster, a local pool, or in turn."""
    if not todo:
        return
    if scheduler:
        from distributed import Client, as_completed as dask_completed

        with Client(scheduler) as client:
            futures = {client.submit(_worker, arguments[k], pure=False, key=f"grade-{k}-{os.urandom(4).hex()}"): k
                       for k in todo}
            for future in dask_completed(list(futures)):
                yield futures[future], _settle(future.result)
    elif workers <= 1:
        for k in todo:
            yield k, _settle(lambda: _worker(arguments[k]))
    else:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                      initializer=_init_worker, initargs=(arguments[todo[0]][2],))
        try:
            futures = {pool.submit(_worker, arguments[k]): k for k in todo}
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], _settle(future.result)
        except BaseException:  # Ctrl-C: stop now, not after the notebooks in progress; their kernels die with the workers
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
        super().__init__(f"{len(failures)} notebook(s) could not be graded; run the command again to retry them:\n  "
                         + "\n  ".join(lines))


# ------------------------------------------------------------------ feedback, csv, table, gradebook

def write_feedback(root: Path, job: Job, result: Result) -> Path:
    """feedback/<student>/<id>/<id>.html: the graded notebook without hidden tests, and the score table."""
    notebook = autograded_dir(root, job) / f"{job.assignment}.ipynb"
    out = root / "feedback" / job.student / job.assignment / f"{job.assignment}.html"
    rows = "".join(f"<tr><td>{c.grade_id}</td><td>{c.points:g} / {c.max_points:g}</td>"
                   f"<td>{_html_escape(c.message)}</td></tr>" for c in result.cells)
    summary = (f"<h1>{job.assignment}: {result.score:g} / {result.max_score:g}</h1>"
               + (f"<p>{_html_escape(result.reason)}</p>" if result.reason else "")
               + "".join(f"<p>Note: {_html_escape(n)}</p>" for n in result.notes)
               + f"<table><tr><th>test</th><th>points</th><th>why not full marks</th></tr>{rows}</table>")
    if notebook.is_file():
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and nbu.is_test(cell):
                # Neither the hidden tests nor a traceback through them may reach the student.
                cell.source = nbu.strip_hidden_tests(cell.source)
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        body = feedback.render(nb, f"{job.student}: {job.assignment}", summary)
    else:
        body = f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{summary}</body></html>"
    _atomic_write(out, body)
    return out


def _html_escape(text: str) -> str:
    import html
    return html.escape(text or "")


def spreadsheet_safe(text: str) -> str:
    """A cell that a spreadsheet shows as text, never runs as a formula (=, +, -, @, tab, CR first)."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(root: Path, results: list[Result]) -> Path:
    path = root / "grades.csv"
    rows = [["student", "assignment", "score", "max_score", "status", "reason"]]
    rows += [[spreadsheet_safe(r.student), r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status,
              spreadsheet_safe(r.reason)] for r in results]
    import io
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    _atomic_write(path, buffer.getvalue())
    return path


def table(results: list[Result]) -> str:
    """Points per student (rows) and assignment (columns)."""
    students = sorted({r.student for r in results})
    assignments = [a for a in ASSIGNMENTS if any(r.assignment == a for r in results)]
    cell = {(r.student, r.assignment): r for r in results}
    width = max([len("student")] + [len(s) for s in students])
    cols = [max(len(a), 9) for a in assignments]
    lines = ["student".ljust(width) + "  " + "  ".join(a.rjust(w) for a, w in zip(assignments, cols)) + "      total"]
    for s in students:
        parts, total, total_max = [], 0.0, 0.0
        for a, w in zip(assignments, cols):
            r = cell.get((s, a))
            if r is None:
                parts.append("-".rjust(w))
                continue
            total += r.score
            total_max += r.max_score
            parts.append(f"{r.score:g}/{r.max_score:g}".rjust(w))
        lines.append(s.ljust(width) + "  " + "  ".join(parts) + f"  {f'{total:g}/{total_max:g}':>9}")
    return "\n".join(lines)


def sync_gradebook(settings: Settings, results: list[Result]) -> None:
    """Record every score in nbgrader's gradebook from this one process (formgrader and exports see them)."""
    from nbgrader.api import Gradebook, MissingEntry

    import warnings

    with warnings.catch_warnings(), Gradebook(settings.gradebook_url, course_id=settings.course_id) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notices from inside nbgrader
        known = {a.name for a in gb.assignments}
        for r in results:
            if r.assignment not in known:
                continue  # not released yet from this folder: `course release` registers it
            gb.update_or_create_student(r.student)
            try:
                gb.find_submission(r.assignment, r.student)
            except MissingEntry:
                gb.add_submission(r.assignment, r.student)
            for c in r.cells:
                try:
                    grade = gb.find_grade(c.grade_id, r.assignment, r.assignment, r.student)
                except MissingEntry:
                    continue
                grade.auto_score = c.points
            gb.db.commit()
