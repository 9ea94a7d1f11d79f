"""``course demo``: write a demo class to submitted/, grade it and print the table."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.commands.grade import grade_class, print_results
from helpers.instructor import demo, grader_log, release


def run(args, root: Path) -> int:
    grader_log.configure(args.log_level)
    assignments = args.assignments or release.available_assignments(root)
    release.ensure_registered(root, assignments)
    expected = demo.create_demo_class(root, assignments)
    print(f"demo class written to submitted/: {', '.join(demo.STUDENTS)} x {', '.join(assignments)}")
    results = grade_class(root, assignments, args.workers, False, args.timeout, list(demo.STUDENTS))
    print_results(results, root)
    wrong = [
        (r.student, r.assignment, r.score, expected[(r.student, r.assignment)])
        for r in results
        if (r.student, r.assignment) in expected and r.score != expected[(r.student, r.assignment)]
    ]
    for student, assignment, got, want in wrong:
        print(f"UNEXPECTED: {student}/{assignment} scored {got:g}, expected {want:g}", file=sys.stderr)
        for r in results:
            if r.student == student and r.assignment == assignment:
                for c in r.cells:
                    if c.points < c.max_points:
                        print(f"    {c.grade_id}: {c.message}", file=sys.stderr)
    for r in results:
        if r.student == "partial_student":
            print(f"\npartial_student/{r.assignment}: what the feedback says of each mistake")
            for c in r.cells:
                if c.points < c.max_points:
                    said = [
                        line
                        for line in c.message.splitlines()
                        if line.startswith(("Likely mistake", "Hint", "What the error"))
                    ]
                    print(f"  {c.grade_id} [{c.mistake or 'no name'}]: " + (" ".join(said) or c.message[:200]))
    if not wrong:
        print("\ndemo: every student earned exactly the expected points.")
    return 1 if wrong else 0
