"""What ``course report`` does and prints (the parser is in :mod:`helpers.cli`; ``course profile`` is
:mod:`helpers.commands.profile`)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from helpers.messages import count
from helpers.recognise import UnknownAssignment, assignment_of
from helpers.report import profile as prof


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def report(args, root: Path) -> int:
    # Making a report loads nbformat, the grader and the document writers (seconds): only here, so
    # that `course profile`, which shares this module, answers at once.
    from helpers.notebook_cells import NotebookError
    from helpers.report import build
    from helpers.report.check import CheckFailed
    from helpers.report.to_pdf import PDFUnavailable

    path = Path(args.notebook).resolve()
    if not path.is_file():
        return _error(f"{args.notebook}: no such file.")
    try:
        assignment = assignment_of(path, root, args.assignment)
    except UnknownAssignment as exc:
        return _error(str(exc))
    if assignment != path.stem and not args.assignment:
        print(f"{path.name}: {assignment} (told by its graded cells)", file=sys.stderr)
    try:
        date = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        return _error(f"--date {args.date!r}: write it as YYYY-MM-DD.")
    formats = list(dict.fromkeys(args.to or build.FORMATS))
    before = path.read_bytes()
    print(f"{path.name}: running the full check (hidden tests included)...", file=sys.stderr)
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
        return _error(str(exc))
    assert path.read_bytes() == before, "the notebook must never be modified"
    why = {
        "never_run": "had never been run",
        "holes": f"has {made.never_ran} code cells that never ran (from \u201c{made.never_ran_from}\u201d on; "
        "Run All probably stopped at a cell that raised an error)",
        "rerun": "was run again as --rerun asked",
    }.get(made.run_reason)
    if why:
        print(
            f"note: {path.name} {why}: the report's outputs and figures come from a copy run now from the top "
            "in fast mode (COURSE_FAST=1), training shortened; the report says so",
            file=sys.stderr,
        )
    for note in made.notes:
        print(f"note from the grader: {note}", file=sys.stderr)
    for flag in made.flags:
        print(f"flagged: {flag}", file=sys.stderr)
    status = 0
    for fmt, target in build.output_paths(path, made.lang, formats, Path(args.out) if args.out else None).items():
        try:
            data = build.render(made, fmt)
        except PDFUnavailable as exc:
            print(f"error: no PDF: {exc}", file=sys.stderr)
            status = 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"wrote {target}")
    print(
        f"{assignment}: {made.score:g} / {made.max_score:g} points; {count(len(made.steps), 'step')}, "
        f"{count(len(made.figures), 'figure')}; {'no flags' if not made.flags else f'{len(made.flags)} flagged (above)'}"
    )
    return status
