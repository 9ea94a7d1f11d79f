"""``course class-report``: the class's results as an HTML page, figures and CSV, in the course's language."""

from __future__ import annotations

from pathlib import Path

from helpers import i18n
from helpers.instructor import class_report, release
from helpers.instructor.settings import Settings


def run(args, root: Path) -> int:
    settings = Settings.load(root)
    lang = class_report.course_language(settings)  # COURSE_LANG, else c.CourseGrader.language
    assignments = args.assignments or release.available_assignments(root)
    out = Path(args.out).resolve() if args.out else root / "class_report"
    for path in class_report.write_report(settings, assignments, out, lang):
        print(i18n.message("class report: {path}", lang, path=path))
    return 0
