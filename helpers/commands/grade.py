"""``course grade``: autograde every submission, write feedback and grades.csv."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.instructor import batch, grader_log, outputs, release
from helpers.instructor.settings import Settings
from helpers.paths import course_command


def run(args, root: Path) -> int:
    grader_log.configure(args.log_level)
    settings = Settings.load(root)
    submitted = settings.folder("submitted")
    if not submitted.is_dir():
        print(
            f"error: {submitted} does not exist: put submissions in "
            f"{settings.folders['submitted']}/<student>/<assignment>/<assignment>.ipynb "
            f"(or run `{course_command()} demo`).",
            file=sys.stderr,
        )
        return 2
    results = grade_class(root, args.assignments, args.workers, args.force, args.timeout, args.student, args.scheduler)
    print_results(results, root)
    print(f"\ngrades: {settings.grades_csv}   feedback: {root / settings.folders['feedback']}/<student>/<assignment>/")
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


def print_results(results, root: Path) -> None:
    print(outputs.table(results))
    for r in results:
        if r.status != "graded":
            print(f"  {r.student}/{r.assignment}: {r.status}: {r.reason}")
        for note in r.notes:
            print(f"  {r.student}/{r.assignment}: {note}")
        for flag in r.flags:
            print(f"  {r.student}/{r.assignment}: FLAGGED: {flag}")
