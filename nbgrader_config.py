"""nbgrader configuration of the course (read by nbgrader and by `course`)."""

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_assignments = [
    {"name": "cnn_step_by_step"},
    {"name": "cnn_application"},
    {"name": "residual_networks"},
]
# Files never copied into release/ or graded folders.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "wrong_variants.json", "correct_variants.json", "*.h5", "*.keras",
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
c.Execute.allow_errors = True
c.Execute.execute_retries = 0
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# `course grade` only (nbgrader ignores this section).
# Each kernel runs sandboxed: no network, its own PID and mount namespaces (course files hidden),
# these limits, and, when the grader is root, an unprivileged uid of its grading process: the first
# free one from sandbox_uid_base up (held by a lock in /tmp/course-sandbox-users/; every process of
# that uid is killed after each notebook).
c.CourseGrader.sandbox = True
c.CourseGrader.sandbox_uid_base = 61000
c.CourseGrader.cpu_seconds = 900
c.CourseGrader.memory_mb = 8192
c.CourseGrader.max_processes = 1024
c.CourseGrader.tmp_mb = 512
# Wall-clock budget of one notebook, beside the per-cell `Execute.timeout`.
c.CourseGrader.notebook_timeout = 1800
