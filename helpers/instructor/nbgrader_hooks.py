"""nbgrader's own Autograde and Generate Feedback run the course's grader (Formgrader's buttons and the commands).

nbgrader's converters take their exporter class from the configuration (``BaseConverter.exporter_class``);
``nbgrader_config.py`` names the two below, so that no path of nbgrader grades or gives feedback its own way:

- ``c.Autograde.exporter_class = CourseAutogradeExporter``: ``nbgrader autograde`` and Formgrader's
  Autograde grade each (student, assignment) with the course's grader, sandboxed, in a process of its own
  (:func:`grade_one`, the path of ``course grade ID --student S``), and write what it writes: the inert
  graded notebook, ``grade.json``, the feedback page, nbgrader's records and the student's row of
  ``grades.csv``. nbgrader never runs a student's notebook itself, nor even parses the submitted file.
- ``c.GenerateFeedback.exporter_class = CourseFeedbackExporter``: ``nbgrader generate_feedback`` and
  Formgrader's Generate Feedback write the course's page (:func:`helpers.instructor.outputs.feedback_page`),
  the one ``course grade`` writes, from the graded notebook and its ``grade.json``: no hidden test, every
  student output inert, no script at all. A submission the course's grader has not graded gets no page,
  and the log says which command grades it.

A third hook keeps nbgrader's Generate in step with the course's language (``c.CourseGrader.language``):

- ``c.GenerateAssignment.preprocessors`` ends with :class:`ReleaseEdition`: ``nbgrader generate_assignment``
  and Formgrader's Generate write into ``CourseDirectory.release_directory`` the edition that folder holds
  (``release_zh/``: the Chinese one, made from the catalogue as ``course release`` makes it), never English
  notebooks into the Chinese edition's folder.

Both converters keep the rest of nbgrader's work (which submissions to process, ``--force``, the gradebook's
submission and its time, the files copied beside the notebook, permissions); ``CourseDirectory.ignore``
keeps the grader's own files (``grade.json``, ``kernel.log``) out of ``feedback/``.
"""

from __future__ import annotations

import html
import subprocess
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import Exporter, NotebookExporter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import default

from helpers import i18n
from helpers.instructor import batch, outputs, translations
from helpers.instructor.settings import Settings, SettingsError
from helpers.instructor.verdict import Result


class NotGradedByTheCourse(RuntimeError):
    """nbgrader asked for something only the course's grader can give; the message says what to run."""


def _settings(exporter: Exporter) -> Settings:
    """The course folder's settings: that of the nbgrader converter running this exporter."""
    coursedir = getattr(exporter.parent, "coursedir", None)
    return Settings.load(Path(coursedir.root if coursedir is not None else "."))


def _job(resources: dict) -> tuple[str, str, str]:
    info = resources["nbgrader"]
    return info["student"], info["assignment"], info["notebook"]


def _grade_command(assignment: str, student: str) -> str:
    return f"course grade {assignment} --student {student}"


class CourseAutogradeExporter(NotebookExporter):
    """nbgrader's Autograde through the course's grader; nbgrader writes the graded notebook it returns.

    nbgrader's Autograde converts each notebook twice, the submitted file and then its own copy in
    ``autograded/``; the first grades, the second returns the graded notebook unchanged.
    """

    def from_filename(self, filename, resources=None, **kw):
        student, assignment, notebook = _job(resources)
        settings = _settings(self)
        if notebook != assignment:
            raise NotGradedByTheCourse(
                f"{notebook}.ipynb is not graded: the course grades {assignment}.ipynb of {assignment}."
            )
        if Path(filename).resolve().parent == settings.path("submitted", assignment, student).resolve():
            self._grade(settings, assignment, student)
        graded = settings.notebook("autograded", assignment, student)
        if graded.is_file():
            return self.from_notebook_node(nbformat.read(graded, as_version=4), resources, **kw)
        # A notebook that is missing or cannot be read has its grade (0 points and why) but nothing ran:
        # nbgrader keeps a one-cell notebook that says so, and the course's grade.json beside it.
        result = Result.from_json((graded.parent / batch.GRADE_FILE).read_text())
        says = nbformat.v4.new_markdown_cell(f"Not graded ({html.escape(result.status)}): {html.escape(result.reason)}")
        return self.from_notebook_node(nbformat.v4.new_notebook(cells=[says]), resources, **kw)

    def _grade(self, settings: Settings, assignment: str, student: str) -> None:
        self.log.info(
            "Grading %s/%s with the course's grader (as `%s`)", student, assignment, _grade_command(assignment, student)
        )
        proc = subprocess.run(
            [sys.executable, "-m", __name__, str(settings.root), assignment, student],
            capture_output=True,
            text=True,
            errors="replace",
        )
        for line in (proc.stdout + proc.stderr).splitlines():
            if line.strip():
                (self.log.info if proc.returncode == 0 else self.log.error)("course: %s", line)
        if proc.returncode != 0:
            raise NotGradedByTheCourse(
                f"the course's grader could not grade {student}/{assignment} (see the lines "
                f"above); fix what they say, then run `{_grade_command(assignment, student)}` "
                "or Autograde again."
            )


class CourseFeedbackExporter(Exporter):
    """nbgrader's Generate Feedback writes the course's page, from the graded notebook and its ``grade.json``."""

    output_mimetype = "text/html"

    @default("file_extension")
    def _file_extension_default(self):
        return ".html"

    def from_notebook_node(self, nb, resources=None, **kw):
        nb, resources = super().from_notebook_node(nb, resources, **kw)
        student, assignment, _ = _job(resources)
        stored = Path(resources["metadata"]["path"]) / batch.GRADE_FILE
        try:
            result = Result.from_json(stored.read_text())
        except (OSError, ValueError, TypeError, KeyError) as exc:
            message = (
                f"no feedback for {student}/{assignment}: the course's grader has not graded it "
                f"({stored} cannot be read: {exc}). Run `{_grade_command(assignment, student)}` "
                "(or Formgrader's Autograde), then generate the feedback again."
            )
            self.log.error(message)
            raise NotGradedByTheCourse(message) from None
        shown = nb if result.status == "graded" else None  # as `course grade`: no notebook ran, the table alone
        return outputs.feedback_page(student, assignment, result, shown), resources


class ReleaseEdition(NbGraderPreprocessor):
    """The last step of nbgrader's Generate: the released notebook becomes the edition of the folder it goes to.

    ``release/`` gets the English notebook as nbgrader made it; ``release_<lang>/`` gets it translated by the
    assignment's catalogue ``i18n/<id>.<locale>.po`` (:func:`helpers.instructor.translations.translate_notebook`,
    the function ``course release`` builds that edition with), so both ways write the same file. Cell metadata,
    grade ids and nbgrader's checksums are kept: nbgrader recorded them in the gradebook before this step.
    """

    def preprocess(self, nb, resources):
        coursedir = self.parent.parent.coursedir  # this preprocessor -> nbgrader's exporter -> the converter
        lang = i18n.folder_edition(coursedir.release_directory)
        if lang is None or lang == i18n.DEFAULT:
            return nb, resources
        assignment = resources["nbgrader"]["assignment"]
        path = translations.catalogue_path(Path(coursedir.root), assignment, lang)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing: {assignment} has no {lang} edition to release into "
                f"{coursedir.release_directory}/. Run `course translations --lang {lang}` and "
                f"translate it, or set c.CourseGrader.language = 'en' in nbgrader_config.py."
            )
        catalog = translations.read_catalogue(path, lang)
        return translations.translate_notebook(nb, translations.translations_of(catalog), lang), resources


def grade_one(root: Path, assignment: str, student: str) -> Result:
    """Grade one submission as ``course grade`` does, and write everything it writes for it."""
    settings = Settings.load(root)
    [result] = batch.grade_all(settings, [batch.Job(student, assignment)], workers=1, force=True, progress=False)
    outputs.sync_gradebook(settings, [result])
    outputs.update_csv(settings, [result])
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.instructor.nbgrader_hooks ROOT ASSIGNMENT STUDENT``: :func:`grade_one`, then one line."""
    root, assignment, student = argv if argv is not None else sys.argv[1:]
    try:
        result = grade_one(Path(root), assignment, student)
    except (batch.GradingIncomplete, SettingsError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"{student}/{assignment}: {result.score:g} / {result.max_score:g} ({result.status}"
        + (f": {result.reason})" if result.reason else ")")
    )
    for note in result.notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
