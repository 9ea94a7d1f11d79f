"""``course translations``: re-extract the notebooks' strings and rebuild the translated editions."""

from __future__ import annotations

from pathlib import Path

from helpers.i18n import gettext as _
from helpers.instructor import translations


def run(args, root: Path) -> int:
    assignments = args.assignments or None
    unfinished = 0
    for path, count in translations.update(root, args.lang, assignments):
        unfinished += count
        state = (
            _("{count} string(s) to translate or review (empty or fuzzy)").format(count=count)
            if count
            else _("every string translated")
        )
        print(f"{path.relative_to(root)}: {state}")
        assignment = path.name.split(".")[0]
        print(_("built {path}").format(path=translations.write_edition(root, assignment, args.lang).relative_to(root)))
    return 1 if unfinished else 0
