"""nbgrader configuration of the course (read by nbgrader and by `course`).

Every option below is one nbgrader 0.9.6 knows, except the `c.CourseGrader` section at the end,
which is the course's own (nbgrader ignores sections of classes it does not have).
"""

import os
import sys

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# This folder, wherever nbgrader (a command, Lab's Formgrader, `course`) was started from.
COURSE_ROOT = os.path.dirname(os.path.abspath(__file__))

# nbgrader runs some tools by name (`alembic` when it creates gradebook.db). Lab started as
# `.venv/bin/jupyter lab` has the Python of .venv but not .venv/bin on PATH: put the folder of the
# running Python there, for this process and what it starts (kernels included).
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.root = COURSE_ROOT
c.CourseDirectory.source_directory = "source"
# The edition students get, chosen here once: "en" (English, release/) or "zh" (Chinese, release_zh/, which
# `course release` builds from release/ and i18n/<id>.zh_CN.po). nbgrader's release_assignment, Formgrader
# and the exchange hand out release_directory, which follows the language; nbgrader's Generate writes that
# edition there (ReleaseEdition below), while `course release` writes release/ and every edition.
c.CourseGrader.language = "en"
c.CourseDirectory.release_directory = (
    "release" if c.CourseGrader.language == "en" else f"release_{c.CourseGrader.language}"
)
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Files never copied into release/ or graded folders.
# grade.json and kernel.log are the grader's own records beside each graded notebook: never copied into
# feedback/ (nbgrader's generate_feedback copies everything else from autograded/).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "wrong_variants.json",
    "correct_variants.json",
    "*.h5",
    "*.keras",
    "grade.json",
    "kernel.log",
]
c.CourseDirectory.max_file_size = 100_000  # kB; larger files in a submission are not copied

# The source notebooks carry no outputs; the release keeps it that way.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Execution limits, used by nbgrader and by `course grade` / `course check` alike:
# a cell running longer than `timeout` seconds is interrupted and scores 0; the rest of the
# notebook still runs. `course grade --timeout` overrides it for one run.
c.Execute.timeout = 120
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.execute_retries = 0
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# nbgrader's Autograde and Generate Feedback (Formgrader's buttons and the commands) run the course's
# grader: Autograde grades each submission as `course grade ID --student S` does (sandboxed, its feedback,
# gradebook and grades.csv row included); Generate Feedback writes the course's page from that grade (no
# hidden test, nothing a student displayed can run, no script). See helpers/instructor/nbgrader_hooks.py.
c.Autograde.exporter_class = "helpers.instructor.nbgrader_hooks.CourseAutogradeExporter"
c.Autograde.sanitize_preprocessors = []
c.Autograde.autograde_preprocessors = []
c.GenerateFeedback.exporter_class = "helpers.instructor.nbgrader_hooks.CourseFeedbackExporter"
c.GenerateFeedback.preprocessors = []
c.GenerateAssignment.preprocessors.append("helpers.instructor.nbgrader_hooks.ReleaseEdition")

# Release, fetch, submit and collect on one machine: a course-local exchange (made by `course setup`,
# mode 0777 as nbgrader wants it). Students' copies are fetched into notebooks/<id>/ (Lab's
# Assignment List reads notebooks/nbgrader_config.py, which loads this file). For a multi-user
# JupyterHub see the README. On the class server (`course hub`) every server gets the class's exchange
# in COURSE_EXCHANGE_ROOT.
c.Exchange.root = os.environ.get("COURSE_EXCHANGE_ROOT") or os.path.join(COURSE_ROOT, "exchange")
c.Exchange.assignment_dir = os.path.join(COURSE_ROOT, "notebooks")

# `course grade` and `course check` only (nbgrader ignores this section).
# Each kernel runs sandboxed: no network, its own PID, IPC and mount namespaces (as root, a file
# system root holding only the system, Python and the course's helpers/datasets/weights; else the
# course files hidden), these limits, and, when the grader is root, an unprivileged uid of its own
# notebook: the first free one from sandbox_uid_base up (held by a lock in /tmp/course-sandbox-users/
# while that notebook is graded; every process of that uid is killed after it).
# Where the sandbox cannot be set up (no unshare, no namespaces, ...) grading stops and says why.
# `sandbox = False` grades without it: students' code runs with the grader's rights (as root, if
# the grader is root) under the resource and time limits only, and the command prints a warning.
c.CourseGrader.sandbox = True
c.CourseGrader.sandbox_uid_base = 61000
c.CourseGrader.cpu_seconds = 900
c.CourseGrader.memory_mb = 8192
c.CourseGrader.max_processes = 1024
c.CourseGrader.tmp_mb = 512
# Wall-clock budget of one notebook, beside the per-cell `Execute.timeout`.
c.CourseGrader.notebook_timeout = 1800
# `course grade` forks each kernel of an assignment from a process that imported the set-up cell's
# modules once (as root or with the sandbox off); False starts every kernel afresh.
c.CourseGrader.fork_kernels = True
# Files beside a submitted notebook that are copied into the kernel's folder: how many, and how many
# megabytes together (each is also held to CourseDirectory.max_file_size).
c.CourseGrader.submitted_files = 100
c.CourseGrader.submitted_files_mb = 100
