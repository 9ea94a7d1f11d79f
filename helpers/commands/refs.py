"""``course refs``: regenerate the checks' reference outputs from the source solutions."""

from __future__ import annotations

from pathlib import Path

from helpers.instructor import references


def run(args, root: Path) -> int:
    for assignment in args.assignments or references.assignments_with_references():
        path = references.write(assignment, root)
        print(f"wrote {path}")
    return 0
