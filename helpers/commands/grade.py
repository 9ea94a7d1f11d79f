"""``course grade``: autograde every submission, write feedback and grades.csv."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import i18n
from helpers.instructor import batch, grader_log, outputs, release
from helpers.instructor.settings import Settings
from helpers.paths import course_command


def run(args, root: Path) -> int:
    grader_log.configure(args.log_level)
    settings = Settings.load(root)
    lang = i18n.command_language(settings.language)  # COURSE_LANG, else the course's setting
    submitted = settings.folder("submitted")
    if not submitted.is_dir():
        print(
            i18n.message(
                "error: {submitted} does not exist: put submissions in "
                "{folder}/<student>/<assignment>/<assignment>.ipynb (or run `{course} demo`).",
                lang,
                submitted=submitted,
                folder=settings.folders["submitted"],
                course=course_command(),
            ),
            file=sys.stderr,
        )
        return 2
    results = grade_class(root, args.assignments, args.workers, args.force, args.timeout, args.student, args.scheduler)
    print_results(results, root, lang)
    print(
        "\n"
        + i18n.message(
            "grades: {grades}   feedback: {feedback}/<student>/<assignment>/",
            lang,
            grades=settings.grades_csv,
            feedback=root / settings.folders["feedback"],
        )
    )
    return 0


def grade_class(
    root: Path, assignments, workers: int, force: bool, timeout: int | None, students=None, scheduler: str | None = None
):
    assignments = list(assignments or release.available_assignments(root))
    release.ensure_registered(root, assignments)
    settings = Settings.load(root, timeout=timeout)
    jobs = batch.find_jobs(settings, assignments)
    if students:
        jobs = [j for j in jobs if j.student in students]
    try:
        results = batch.grade_all(settings, jobs, workers=workers, force=force, scheduler=scheduler)
    except batch.GradingIncomplete as exc:
        # One notebook the grader could not finish never holds back the others' grades: they are
        # written, and its row says it is not graded yet (the same command grades just it again).
        outputs.write_csv(settings, exc.results + exc.not_graded())
        outputs.sync_gradebook(settings, exc.results)
        raise
    outputs.write_csv(settings, results)
    outputs.sync_gradebook(settings, results)
    return results


def print_results(results, root: Path, lang: str | None = None) -> None:
    """The class's table, then each notebook's problems, notes and flags (the words in ``lang``)."""
    print(outputs.table(results, lang))
    for r in results:
        where = f"{r.student}/{r.assignment}"
        if r.status != "graded":
            print("  " + i18n.message("{name}: {status}: {reason}", lang, name=where, status=r.status, reason=r.reason))
        for note in r.notes:
            print(f"  {where}: {note}")
        for flag in r.flags:
            print("  " + i18n.message("{name}: FLAGGED: {flag}", lang, name=where, flag=flag))
