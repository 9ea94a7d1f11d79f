"""Grading one notebook: the pipeline from a submitted file to its :class:`~helpers.instructor.verdict.Result`.

1. read the submission as a plain file and build the notebook to run (:mod:`helpers.instructor.merge`);
2. start the student's kernel in the sandbox (:mod:`helpers.instructor.sandbox`) and run the notebook
   cell by cell (:mod:`helpers.instructor.execute`: timeouts, crash recovery, a budget per notebook);
   test cells are judged in this process (:mod:`helpers.instructor.judge`), never in the kernel;
3. score every test cell (:mod:`helpers.instructor.verdict`) and write the executed notebook.

:mod:`helpers.instructor.batch` runs this for a whole class; ``course check`` for one notebook.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import pwd
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from helpers import i18n
from helpers.instructor import diagnosis, grader_log, judge, kernel_forks, sandbox
from helpers.instructor import notebooks as nbu
from helpers.instructor.execute import execute_notebook
from helpers.instructor.grader_log import LOGGER
from helpers.instructor.inert import inert_notebook
from helpers.instructor.merge import copy_submitted_files, merge_submission
from helpers.instructor.outputs import atomic_write
from helpers.instructor.settings import Settings, SettingsError
from helpers.instructor.verdict import CellScore, Result, restart_note, score_cells


def sha256_file(path: Path) -> str:
    """The file's digest; '' for a missing file, a link or anything but a regular file (never followed)."""
    try:
        data = nbu.read_plain_file(path, nbu.MAX_NOTEBOOK_BYTES)
    except nbu.NotebookError:
        return "" if not os.path.lexists(path) else "not-a-plain-file"
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ one submission

# The kernel's environment is built from this allowlist (and the values set below), nothing else.
KERNEL_ENV_ALLOWED = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LC_NUMERIC",
    "SIGNS_DATA_DIR",
    "VIRTUAL_ENV",
    "COURSE_FAST",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)

# The thread count of numpy's and TensorFlow's pools: set for a kernel, and for a pool worker before it loads them.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def kernel_env(threads: int, lang: str = i18n.DEFAULT) -> dict[str, str]:
    """The kernel's whole environment: only what it needs, none of the grader's secrets.

    ``COURSE_LANG`` is the submitted notebook's edition, so the checks speak the notebook's language
    whatever the grader's locale is.
    """
    env = {k: v for k, v in os.environ.items() if k in KERNEL_ENV_ALLOWED}
    env["NBGRADER_EXECUTION"] = "autograde"
    env["COURSE_LANG"] = lang
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    for name in THREAD_VARIABLES:
        env[name] = str(max(1, threads))
    # The kernel must find the same Python (and `helpers`) as this process.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    return env


def seed_font_cache(workdir: Path) -> list[Path]:
    """Put this process's matplotlib font list where the kernel's matplotlib looks for it; the paths made.

    A kernel's ``MPLCONFIGDIR`` is its job folder's ``.matplotlib`` (:mod:`helpers.instructor.sandbox`),
    new for every notebook: without the list, matplotlib scans the system's fonts again in every kernel
    (0.6 s). The list names font files the kernel may read anyway, nothing of the course.
    """
    try:
        from matplotlib import font_manager  # lazy: seconds of import, only where a kernel will run
    except ImportError:
        return []
    import matplotlib

    name = f"fontlist-v{font_manager.FontManager.__version__}.json"
    cached = Path(matplotlib.get_cachedir()) / name
    if not cached.is_file():
        return []
    folder = workdir / ".matplotlib"
    folder.mkdir(mode=0o700, exist_ok=True)
    shutil.copyfile(cached, folder / name)
    return [folder, folder / name]


def sandbox_spec(settings: Settings, workdir: Path, uid: int | None = None) -> sandbox.SandboxSpec:
    """The sandbox of one job's kernel; ``uid`` is the job's own user (:func:`sandbox.claim_user`, as root).

    With ``c.CourseGrader.sandbox = False`` the kernel gets no namespaces and no user of its own (it runs
    with the grader's rights), only the resource limits.
    """
    import helpers

    package_root = Path(helpers.__file__).resolve().parent.parent
    hide_dirs, hide_files = kernel_hidden_paths([settings.root, package_root])
    return sandbox.SandboxSpec(
        workdir=str(workdir),
        hide_dirs=hide_dirs,
        hide_files=hide_files,
        uid=uid if settings.sandbox else None,
        cpu_seconds=settings.cpu_seconds,
        memory_bytes=settings.memory_mb << 20,
        max_processes=settings.max_processes,
        namespaces=settings.sandbox,
        expose=kernel_readable([settings.root, package_root]),
        writable=[sandbox.scratch_root()],
        tmp_bytes=settings.tmp_mb << 20,
    )


def job_user(settings: Settings) -> sandbox.UserClaim | None:
    """The sandbox user of one job (root with the sandbox on): its own, until ``release()`` at the job's end."""
    if not settings.sandbox or os.geteuid() != 0:
        return None
    return sandbox.claim_user(settings.sandbox_uid_base)


# What a kernel may see of the course folder and of the checkout `helpers` is installed from.
KERNEL_VISIBLE = ("helpers", "datasets", "weights")


def kernel_readable(roots: list[Path]) -> list[str]:
    """What a kernel may read: the Python installation, :data:`KERNEL_VISIBLE` of these folders, the data."""
    paths = {sys.base_prefix, sys.prefix}
    paths.update(str(Path(root) / name) for root in roots for name in KERNEL_VISIBLE if (Path(root) / name).exists())
    if os.environ.get("SIGNS_DATA_DIR"):
        paths.add(str(Path(os.environ["SIGNS_DATA_DIR"]).expanduser()))
    return sorted(paths)


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


class SandboxUnavailable(SettingsError):
    """The configured sandbox cannot be set up on this machine: no kernel is started, no grade written."""


_PROBED: dict[tuple, str] = {}


def probe_sandbox(settings: Settings, announce: bool = True) -> str:
    """How this process's kernels are isolated: 'root', 'userns' or 'off' (``c.CourseGrader.sandbox = False``).

    Probed once per process and settings, before any kernel starts: every process that grades (the
    command, each local or Dask worker) checks its own machine. Raises :class:`SandboxUnavailable`, with
    the reason and the setting that grades without the sandbox, where the sandbox is on but cannot be
    set up: a kernel never runs with the grader's rights unless the configuration says so. With
    ``announce``, an unsandboxed run says so on stderr (the command's own call; workers stay quiet).
    """
    key = (
        settings.sandbox,
        settings.sandbox_uid_base,
        settings.cpu_seconds,
        settings.memory_mb,
        settings.max_processes,
        settings.tmp_mb,
        str(settings.root),
    )
    if key not in _PROBED:
        problem = _sandbox_problem(settings) if settings.sandbox else None
        if problem:
            LOGGER.info("the sandbox refused to start: %s", problem)
            who = "as root" if os.geteuid() == 0 else f"as {_user_name()}, with all of your rights"
            raise SandboxUnavailable(
                f"the sandbox for students' kernels cannot be set up on this machine: {problem}. No student's "
                "code was run. Grade where it works (as root with util-linux's unshare, or "
                "with unprivileged user namespaces), or grade without it by setting "
                "c.CourseGrader.sandbox = False in nbgrader_config.py: students' code then runs "
                f'{who}, with only the resource and time limits (the README\'s "Isolation" section).'
            )
        _PROBED[key] = ("root" if os.geteuid() == 0 else "userns") if settings.sandbox else "off"
        LOGGER.info("kernels are isolated by the sandbox: %s", _PROBED[key])
    if announce and _PROBED[key] == "off":
        who = "as ROOT" if os.geteuid() == 0 else f"as {_user_name()}, with all of your rights"
        print(
            f"WARNING: the sandbox is off (c.CourseGrader.sandbox = False in nbgrader_config.py): students' "
            f"code runs {who}, with no namespaces and no user of its own. It can read the hidden tests in "
            "source/, change the gradebook and other students' files, reach the network and leave processes "
            "running; only the resource and time limits apply.",
            file=sys.stderr,
            flush=True,
        )
    return _PROBED[key]


def _sandbox_problem(settings: Settings) -> str | None:
    """Why a kernel cannot start in the configured sandbox here, or None: the real start, tried once."""
    mode, why = sandbox.namespace_probe()
    if mode is None:
        needs = (
            "namespaces of its own (mount, network, PID, IPC)"
            if os.geteuid() == 0
            else "unprivileged user namespaces (the grader is not root)"
        )
        return f"it needs {needs}, and {why}"
    user = job_user(settings)
    try:
        with tempfile.TemporaryDirectory(prefix="course-probe-") as tmp:
            os.chmod(tmp, 0o711)
            workdir = Path(tmp) / "work"
            workdir.mkdir(mode=0o700)
            if user is not None:
                os.chown(workdir, user.uid, user.uid)
            problem = sandbox.sandbox_problem(sandbox_spec(settings, workdir, user.uid if user else None))
    finally:
        if user is not None:
            user.release()
    return f"{problem} (as the sandbox's user, uid {user.uid})" if problem and user is not None else problem


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def grade_notebook(
    settings: Settings,
    assignment: str,
    student: str,
    notebook_path: Path | None,
    out_dir: Path,
    threads: int = 1,
    fork: bool = False,
) -> Result:
    """Grade one notebook file; the executed notebook goes to ``out_dir``. Never raises for a bad notebook.

    With ``fork`` (a class, graded notebook after notebook by this process), the kernel is forked from
    a server that preloaded the set-up cell's imports (:mod:`helpers.instructor.kernel_forks`) where
    this machine's sandbox allows it.
    """
    with grader_log.job(f"{student}/{assignment}"):
        result = _grade_notebook(settings, assignment, student, notebook_path, out_dir, threads, fork)
        LOGGER.info(
            "%s: %g/%g points in %.1f s%s",
            result.status,
            result.score,
            result.max_score,
            result.seconds,
            "".join(f"; {note}" for note in result.notes),
        )
        return result


def _grade_notebook(
    settings: Settings,
    assignment: str,
    student: str,
    notebook_path: Path | None,
    out_dir: Path,
    threads: int,
    fork: bool,
) -> Result:
    began = time.monotonic()
    _reset_peak_memory()  # Result.grader_peak_mb: this notebook's, not the worker's earlier ones'
    source = nbu.read_notebook(settings.notebook("source", assignment))
    release = nbu.read_notebook(settings.notebook("release", assignment))
    max_score = sum(nbu.points(c) for c in nbu.test_cells(source))
    result = Result(
        student=student,
        assignment=assignment,
        score=0.0,
        max_score=max_score,
        status="graded",
        source_sha256=sha256_file(settings.notebook("source", assignment)),
        graded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    student_nb = None
    if notebook_path is None or not os.path.lexists(notebook_path):
        # no notebook tells the student's language: the course's
        result.status, result.reason = (
            "missing",
            i18n.message("no notebook {name} was submitted", settings.language, name=f"{assignment}.ipynb"),
        )
    else:
        result.submission_sha256 = sha256_file(notebook_path)
        try:
            student_nb = nbu.read_notebook(notebook_path)
        except nbu.NotebookError as exc:
            result.status, result.reason = "invalid", str(exc)
    if student_nb is None:
        result.cells = [
            CellScore(nbu.grade_id(c), 0.0, nbu.points(c), result.status, result.reason, nbu.docstring_line(c.source))
            for c in nbu.test_cells(source)
        ]
        return result

    result.lang = i18n.notebook_language(student_nb)
    kernel = student_nb.get("metadata", {}).get("kernelspec", {}).get("name")
    merged, notes = merge_submission(source, release, student_nb)
    if kernel and kernel != "python3":
        notes.append(i18n.message("kernel {kernel!r} replaced by python3", result.lang, kernel=kernel))
    result.notes = notes
    probe_sandbox(settings, announce=False)  # refuses before any kernel starts where the sandbox cannot work
    out_dir.mkdir(parents=True, exist_ok=True)
    test_ids = {nbu.grade_id(c) for c in nbu.test_cells(source)}
    job_dir = Path(tempfile.mkdtemp(prefix=sandbox.scratch_prefix("job"), dir=sandbox.scratch_root()))
    spec, cgroups, user = None, None, None
    try:
        os.chmod(job_dir, 0o711)
        workdir = job_dir / "work"
        workdir.mkdir(mode=0o700)
        if notebook_path is not None:  # the submission's other files (data, images) sit beside the notebook
            result.notes += copy_submitted_files(
                notebook_path.parent,
                workdir,
                settings.max_file_bytes,
                settings.submitted_files_mb << 20,
                settings.submitted_files,
                lang=result.lang,
            )
        user = job_user(settings)  # this job's own: never shared with another job, even in this process
        uid = user.uid if user is not None else None
        spec = sandbox_spec(settings, workdir, uid)
        cgroups = sandbox.KernelCgroups.create(f"{uid or 0}-{job_dir.name[-8:]}", spec.memory_bytes, spec.max_processes)
        spec.cgroups = cgroups.paths if cgroups else []
        seeded = seed_font_cache(workdir)
        if uid is not None:
            for path in [workdir, *workdir.iterdir(), *seeded]:
                os.chown(path, uid, uid)
        if "keras" in sys.modules:  # nothing of an earlier job's models lingers in this process
            sys.modules["keras"].backend.clear_session()

        def make_judge(socket_dir: str):
            with _stderr_to_devnull():  # TensorFlow's start-up chatter (absl, CUDA probes) is not for the terminal
                return judge.Judge(
                    assignment,
                    source,
                    socket_dir,
                    uid,
                    settings.timeout,
                    diagnosis.load_catalogue(settings.root, assignment),
                )

        server = None
        if fork and kernel_forks.usable(spec):
            server = kernel_forks.server_for(preload_imports(source), kernel_env(threads), settings.startup_timeout)
        set_up = time.monotonic() - began
        with i18n.reading(result.lang):  # the judge's messages in the notebook's language too
            report = execute_notebook(
                merged,
                env=kernel_env(threads, result.lang),
                timeout=settings.timeout,
                startup_timeout=settings.startup_timeout,
                max_output_chars=settings.max_output_chars,
                replayable=lambda cell: nbu.grade_id(cell) not in test_ids,
                sandbox_spec=spec,
                workdir=str(workdir),
                log_path=str(out_dir / "kernel.log"),
                make_judge=make_judge,
                is_test=lambda cell: nbu.grade_id(cell) in test_ids,
                notebook_timeout=settings.notebook_timeout,
                fork_server=server,
            )
    finally:
        if user is not None:
            user.release()  # whatever this job's kernel started, however it hid, ends with it; then the uid is free
        if cgroups is not None:
            cgroups.remove()
        shutil.rmtree(job_dir, ignore_errors=True)
    result.cells = score_cells(source, merged, report.statuses, report.reasons, report.mistakes, report.seconds_of)
    result.score = sum(c.points for c in result.cells)
    result.seconds = round(report.seconds, 2)
    result.grader_peak_mb = _peak_memory_mb()
    if report.restarts:
        result.restarts = report.restarts
        result.notes.append(restart_note(report.restarts, result.lang))
    atomic_write(out_dir / f"{assignment}.ipynb", nbformat.writes(inert_notebook(merged)))
    result.phases = {"grader set-up": round(set_up, 3), **report.phases}
    result.phases["clean-up and writing"] = round(max(0.0, time.monotonic() - began - sum(result.phases.values())), 3)
    return result


def preload_imports(source) -> str:
    """The import statements of the source's set-up cells (locked, neither tests nor solutions): what every
    kernel of the assignment imports, for a fork server to import once."""
    return "\n".join(kernel_forks.set_up_imports(cell.source) for cell in nbu.set_up_cells(source)).strip()


def prepare_data() -> None:
    """Generate the SIGNS files before any kernel needs them: kernels cannot write outside their folder."""
    try:
        from helpers import signs  # lazy: numpy and the dataset code, only where a kernel will run
    except ImportError:
        return
    signs.load_dataset(verbose=False)


def check_private_copy(settings: Settings, assignment: str, notebook_path: Path) -> Result:
    """Grade a learner's notebook from a private copy (``course check``, ``course report``): never modified."""
    probe_sandbox(settings)
    prepare_data()
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        copy = Path(tmp) / "submission" / Path(notebook_path).name
        copy.parent.mkdir()
        copy.write_bytes(nbu.read_plain_file(Path(notebook_path), nbu.MAX_NOTEBOOK_BYTES))
        return grade_notebook(settings, assignment, "you", copy, Path(tmp) / "graded", threads=os.cpu_count() or 1)


def _reset_peak_memory() -> None:
    """Start counting this process's peak memory afresh (Linux: VmHWM is reset by writing 5 to clear_refs)."""
    with contextlib.suppress(OSError):
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")


def _peak_memory_mb() -> float:
    """This process's peak resident memory since :func:`_reset_peak_memory` (or since it started), in MB."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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
