"""What ``course report`` does and prints (the parser is in :mod:`helpers.cli`; ``course profile`` is
:mod:`helpers.commands.profile`)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from helpers import i18n
from helpers.i18n import N_
from helpers.messages import count
from helpers.recognise import UnknownAssignment, assignment_of
from helpers.report import profile as prof

# Why the report's outputs come from a copy run now (build.Report.run_reason), in the reader's language.
RUN_REASONS = {
    "never_run": N_("{name} had never been run"),
    "holes": N_(
        "{name} has {count} code cells that never ran (from \u201c{heading}\u201d on; Run All probably stopped at "
        "a cell that raised an error)"
    ),
    "rerun": N_("{name} was run again as --rerun asked"),
}


def _error(message: str, lang: str) -> int:
    print(i18n.message("error: {message}", lang, message=message), file=sys.stderr)
    return 2


def output_language(args, path: Path, root: Path) -> str:
    """The language of what ``course report`` prints: the report's own (``--lang``, else the profile's
    ``language``, else Chinese, as :func:`helpers.report.build.make_report` decides), so that its status
    lines and the flags it repeats from the report read in one language."""
    if args.lang:
        return i18n.language(args.lang)
    try:
        language = prof.load(prof.find(root, path, Path(args.profile) if args.profile else None)).language
    except (OSError, ValueError):  # a broken profile: the error about it comes later, in Chinese
        language = None
    return i18n.language(language or "zh")


def report(args, root: Path) -> int:
    # Making a report loads nbformat, the grader and the document writers (seconds): only here, so
    # that `course profile`, which shares this module, answers at once.
    from helpers.notebook_cells import NotebookError
    from helpers.report import build
    from helpers.report.check import CheckFailed
    from helpers.report.to_pdf import PDFUnavailable

    path = Path(args.notebook).resolve()
    lang = output_language(args, path, root)
    if not path.is_file():
        print(i18n.message("error: {path}: no such file.", lang, path=args.notebook), file=sys.stderr)
        return 2
    try:
        assignment = assignment_of(path, root, args.assignment, lang)
    except UnknownAssignment as exc:
        return _error(str(exc), lang)
    if assignment != path.stem and not args.assignment:
        print(
            i18n.message(
                "{name}: {assignment} (told by its graded cells)", lang, name=path.name, assignment=assignment
            ),
            file=sys.stderr,
        )
    try:
        date = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        return _error(i18n.message("--date {date!r}: write it as YYYY-MM-DD.", lang, date=args.date), lang)
    formats = list(dict.fromkeys(args.to or build.FORMATS))
    before = path.read_bytes()
    print(
        i18n.message("{name}: running the full check (hidden tests included)...", lang, name=path.name), file=sys.stderr
    )
    try:
        made = build.make_report(
            root,
            path,
            assignment,
            lang=args.lang,
            date=date,
            profile_path=Path(args.profile) if args.profile else None,
            rerun=args.rerun,
        )
    except (prof.ProfileError, NotebookError, CheckFailed) as exc:
        return _error(str(exc), lang)
    assert path.read_bytes() == before, "the notebook must never be modified"
    if made.run_reason in RUN_REASONS:
        why = i18n.message(
            RUN_REASONS[made.run_reason],
            lang,
            name=path.name,
            count=made.never_ran,
            heading=made.never_ran_from,
        )
        print(
            i18n.message(
                "note: {why}: the report's outputs and figures come from a copy run now from the top in fast mode "
                "(COURSE_FAST=1), training shortened; the report says so",
                lang,
                why=why,
            ),
            file=sys.stderr,
        )
    for note in made.notes:
        print(i18n.message("note from the grader: {note}", lang, note=i18n.gettext(note, lang)), file=sys.stderr)
    for flag in made.flags:
        print(i18n.message("flagged: {flag}", lang, flag=flag), file=sys.stderr)
    status = 0
    for fmt, target in build.output_paths(path, made.lang, formats, Path(args.out) if args.out else None).items():
        try:
            data = build.render(made, fmt)
        except PDFUnavailable as exc:
            print(i18n.message("error: no PDF: {error}", lang, error=exc), file=sys.stderr)
            status = 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(i18n.message("wrote {path}", lang, path=target))
    with i18n.reading(lang):  # count() writes its noun in the reader's language
        steps, figures = count(len(made.steps), "step"), count(len(made.figures), "figure")
    flagged = (
        i18n.message("{count} flagged (above)", lang, count=len(made.flags))
        if made.flags
        else i18n.message("no flags", lang)
    )
    print(
        i18n.message(
            "{assignment}: {score:g} / {max_score:g} points; {steps}, {figures}; {flagged}",
            lang,
            assignment=assignment,
            score=made.score,
            max_score=made.max_score,
            steps=steps,
            figures=figures,
            flagged=flagged,
        )
    )
    return status
