"""``course class-report``: the class's results as an HTML page, figures and CSV."""

from __future__ import annotations

from pathlib import Path

from helpers.instructor import class_report, release
from helpers.instructor.settings import Settings


def run(args, root: Path) -> int:
    assignments = args.assignments or release.available_assignments(root)
    out = Path(args.out).resolve() if args.out else root / "class_report"
    for path in class_report.write_report(Settings.load(root), assignments, out):
        print(f"class report: {path}")
    return 0
