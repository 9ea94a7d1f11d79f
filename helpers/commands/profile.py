"""``course profile``: create or update the student's profile for ``course report`` (a TOML file)."""

from __future__ import annotations

import sys
from pathlib import Path

from helpers.report import profile as prof


def run(args, root: Path) -> int:
    path = Path(args.file) if args.file else prof.default_path(root)
    updates = {key: getattr(args, key) for key in prof.KEYS if getattr(args, key, None) is not None}
    try:
        existed = path.is_file()
        if updates or not existed:
            current = prof.write(path, updates)
            print(f"{'updated' if existed else 'created'} {path}")
        else:
            current = prof.load(path)
            print(f"{path} (edit it, or set keys with `course profile --name ...`):")
    except prof.ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max(len(f.key) for f in prof.FIELDS)
    for f in prof.FIELDS:
        value = current.get(f.key)
        print(f"  {f.key.ljust(width)}  {value if value else '(blank)'}   # {f.zh} · {f.en}")
    if current.missing():
        print(f"still blank (flagged on the report's cover): {', '.join(current.missing())}")
    return 0
