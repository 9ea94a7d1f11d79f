"""``course release``: build release/<id>/ from source/<id>/ through nbgrader."""

from __future__ import annotations

from pathlib import Path

from helpers.i18n import gettext as _
from helpers.instructor import release


def run(args, root: Path) -> int:
    for path in release.release(root, args.assignments or None):
        print(_("released {path}").format(path=path.relative_to(root)))
    return 0
