"""``course normalize``: strip outputs and Lab's metadata from notebooks."""

from __future__ import annotations

from pathlib import Path

from helpers.instructor.normalize import normalize_file, source_notebooks


def run(args, root: Path) -> int:
    paths = [Path(p) for p in args.notebooks] or source_notebooks(root)
    for path in paths:
        print(f"{'normalised' if normalize_file(path) else 'already normal'}: {path}")
    return 0
