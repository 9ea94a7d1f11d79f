"""The grader's settings, read from ``nbgrader_config.py``: nbgrader's own sections and ``CourseGrader``.

``CourseGrader`` is a traitlets ``Configurable`` like nbgrader's classes: every option has a type
and a help text (``course grade --help-all`` lists them), and a misspelt one is an error that names
the nearest real one, not a silently ignored line.

Every course path is built here and nowhere else: :meth:`Settings.path`, :meth:`Settings.notebook`
and :meth:`Settings.folder` ask nbgrader's own ``CourseDirectory.format_path``, configured with the
course's ``source_directory``, ``directory_structure``, ..., so the grader and nbgrader agree on where
everything is. Code that knows only the course folder uses :func:`course_paths`.

:class:`Settings` is a plain dataclass: it travels to worker processes and Dask workers.
"""

from __future__ import annotations

import difflib
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, LimitOutput
from traitlets import Bool, Enum, Int
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader

from helpers import i18n


class SettingsError(ValueError):
    """``nbgrader_config.py`` says something the grader cannot use; the message says what to change."""


class CourseGrader(Configurable):
    """How ``course grade`` and ``course check`` run a submission (nbgrader itself ignores this section)."""

    sandbox = Bool(
        True,
        help="Run each kernel in the sandbox (namespaces, its own user, cgroups, private "
        "temporary folders). Where it cannot be set up, `course grade` and `course check` stop "
        "and say why. False grades without it: students' code runs with the grader's rights "
        "(as root if the grader is root), only the resource and time limits apply, and the "
        "command says so.",
    ).tag(config=True)
    sandbox_uid_base = Int(
        61000,
        help="First uid of the sandbox's users; each notebook being graded holds one of "
        "its own, by a lock in /tmp/course-sandbox-users/ (root only).",
    ).tag(config=True)
    cpu_seconds = Int(900, help="CPU seconds of each kernel process (RLIMIT_CPU).").tag(config=True)
    memory_mb = Int(
        8192,
        help="Memory of all of a kernel's processes together (a memory cgroup, tmpfs included), "
        "and address space of each of them.",
    ).tag(config=True)
    max_processes = Int(1024, help="Processes and threads of one kernel (a pids cgroup; RLIMIT_NPROC as well).").tag(
        config=True
    )
    tmp_mb = Int(512, help="Size of each of the kernel's private /tmp, /var/tmp and /dev/shm.").tag(config=True)
    submitted_files = Int(
        100,
        help="Files beside a submitted notebook copied into the kernel's folder, at most "
        "(in name order; the rest are left out with a note).",
    ).tag(config=True)
    submitted_files_mb = Int(
        100,
        help="Megabytes of all the files beside a submitted notebook together, at most "
        "(each file is also held to CourseDirectory.max_file_size).",
    ).tag(config=True)
    notebook_timeout = Int(
        1800,
        help="Wall-clock seconds of one whole notebook, beside Execute.timeout per "
        "cell; the cells after it are not run.",
    ).tag(config=True)
    fork_kernels = Bool(
        True,
        help="`course grade`: each grading process imports an assignment's set-up modules "
        "(TensorFlow, numpy, matplotlib, ipykernel) once, in a fresh interpreter of its own, and "
        "forks every kernel of that assignment from it; the kernel then enters the same sandbox. "
        "Only as root or with the sandbox off (without root the sandbox's user namespace is "
        "made by `unshare`); "
        "elsewhere, and with False, every kernel starts afresh. `course check` always starts afresh.",
    ).tag(config=True)
    language = Enum(
        list(i18n.LOCALES),
        i18n.DEFAULT,
        help="The edition students get: 'en' (release/) or 'zh' (the Chinese edition, release_zh/, "
        "built by `course release`). CourseDirectory.release_directory must be that edition's "
        "folder (the course's nbgrader_config.py sets it from this value), so nbgrader's "
        "release_assignment, Formgrader and the exchange hand it out.",
    ).tag(config=True)


_STEPS = {
    "source": "source_directory",
    "release": "release_directory",
    "submitted": "submitted_directory",
    "autograded": "autograded_directory",
    "feedback": "feedback_directory",
}


@dataclass
class Settings:
    root: Path
    timeout: int = 120
    startup_timeout: int = 120
    max_output_chars: int = 200_000
    course_id: str = "cnn-course"
    db_url: str = ""  # nbgrader's CourseDirectory.db_url; empty: sqlite gradebook.db in the course folder
    max_file_bytes: int = 100_000 << 10  # a file beside a submitted notebook (CourseDirectory.max_file_size, kB)
    folders: dict = field(default_factory=lambda: {step: step for step in _STEPS})
    directory_structure: str = "{nbgrader_step}/{student_id}/{assignment_id}"
    # CourseGrader
    sandbox: bool = True
    sandbox_uid_base: int = 61000
    cpu_seconds: int = 900
    memory_mb: int = 8192
    max_processes: int = 1024
    tmp_mb: int = 512
    submitted_files: int = 100
    submitted_files_mb: int = 100
    notebook_timeout: int = 1800
    fork_kernels: bool = True
    language: str = i18n.DEFAULT

    # -------------------------------------------------------------- where things are

    def path(self, step: str, assignment: str, student: str = ".") -> Path:
        """The folder of ``assignment`` (and ``student``) at nbgrader step ``step`` (``source``, ``release``,
        ``submitted``, ``autograded``, ``feedback``): nbgrader's ``CourseDirectory.format_path``."""
        course = _course_directory(str(self.root), self.directory_structure, tuple(sorted(self.folders.items())))
        return Path(os.path.normpath(course.format_path(self.folders[step], student, assignment)))

    def notebook(self, step: str, assignment: str, student: str = ".") -> Path:
        """The notebook of ``assignment`` (and ``student``) at nbgrader step ``step``."""
        return self.path(step, assignment, student) / f"{assignment}.ipynb"

    def folder(self, step: str) -> Path:
        """The folder that holds every assignment (or every student) at nbgrader step ``step``."""
        return self.root / self.folders[step]

    def students(self) -> list[str]:
        submitted = self.folder("submitted")
        if not submitted.is_dir():
            return []
        return sorted(p.name for p in submitted.iterdir() if p.is_dir() and not p.name.startswith("."))

    @property
    def grades_csv(self) -> Path:
        return self.root / "grades.csv"

    @property
    def gradebook_url(self) -> str:
        return self.db_url or f"sqlite:///{self.root / 'gradebook.db'}"

    # -------------------------------------------------------------- reading nbgrader_config.py

    @classmethod
    def load(cls, root: Path, timeout: int | None = None) -> Settings:
        """Read ``nbgrader_config.py`` in ``root``: nbgrader's sections and ``CourseGrader``."""
        root = Path(root).resolve()
        config = (
            PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
            if (root / "nbgrader_config.py").is_file()
            else Config()
        )
        _refuse_unknown(config, "CourseGrader", CourseGrader)
        grader = CourseGrader(config=config)
        course = CourseDirectory(config=config)
        execute, limit = Execute(config=config), LimitOutput(config=config)
        settings = cls(root=root)
        settings.timeout = int(timeout or execute.timeout or settings.timeout)
        settings.startup_timeout = int(execute.startup_timeout)
        settings.max_output_chars = int(limit.max_lines) * 200 if limit.max_lines > 0 else settings.max_output_chars
        settings.course_id = course.course_id or settings.course_id
        settings.db_url = str(config.get("CourseDirectory", {}).get("db_url", "") or "")
        settings.max_file_bytes = int(course.max_file_size) << 10
        settings.folders = {step: str(getattr(course, trait)) for step, trait in _STEPS.items()}
        settings.directory_structure = str(course.directory_structure)
        for name in CourseGrader.class_trait_names(config=True):
            setattr(settings, name, getattr(grader, name))
        edition = i18n.edition_folder(settings.language)
        if Path(settings.folders["release"]).name != edition:
            raise SettingsError(
                f"nbgrader_config.py: c.CourseGrader.language is {settings.language!r}, but "
                f"c.CourseDirectory.release_directory is {settings.folders['release']!r}, so nbgrader would hand out "
                f"another edition. Set c.CourseDirectory.release_directory = {edition!r} (the course's "
                f"nbgrader_config.py derives it from the language on the line after it)."
            )
        return settings


@functools.lru_cache(maxsize=16)
def _course_directory(root: str, directory_structure: str, folders: tuple) -> CourseDirectory:
    """nbgrader's ``CourseDirectory`` for these settings (made once: :class:`Settings` itself stays plain data)."""
    steps = dict(folders)
    return CourseDirectory(
        root=root,
        directory_structure=directory_structure,
        **{trait: steps[step] for step, trait in _STEPS.items() if step in steps},
    )


@functools.lru_cache(maxsize=16)
def _course_paths(root: Path) -> Settings:
    return Settings.load(root)


def course_paths(root: Path) -> Settings:
    """The settings of the course folder ``root``, read once per process: for code that needs only paths
    (:meth:`Settings.path`, :meth:`Settings.notebook`, :meth:`Settings.folder`), never to change."""
    return _course_paths(Path(root).resolve())


def _refuse_unknown(config, section: str, configurable) -> None:
    known = set(configurable.class_trait_names(config=True))
    for key in config.get(section, {}):
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean c.{section}.{close[0]}?" if close else ""
            raise SettingsError(
                f"nbgrader_config.py: c.{section}.{key} is not a setting.{hint} The settings are: "
                + ", ".join(sorted(known))
                + " (course grade --help-all explains each)."
            )


def help_all() -> str:
    """Every CourseGrader option with its type, default and help (what ``course grade --help-all`` prints)."""
    return CourseGrader.class_get_help()
