"""``course setup``: fill notebooks/ from release/, create nbgrader's exchange, register the assignments."""

from __future__ import annotations

from pathlib import Path

from helpers.i18n import gettext as _
from helpers.instructor import release


def run(args, root: Path) -> int:
    copied = release.setup_notebooks(root, args.lang)
    for path in copied:
        print(_("copied {path}", args.lang).format(path=path.relative_to(root)))
    print(
        _("notebooks/ is ready ({count} new file(s); existing files are never overwritten).", args.lang).format(
            count=len(copied)
        )
    )
    print(release.lab_language(args.lang))
    exchange = release.setup_exchange(root)
    print(f"nbgrader exchange: {exchange}")
    assignments = release.available_assignments(root)
    release.ensure_registered(root, assignments)
    print(f"gradebook: {', '.join(assignments)} registered with their points")
    print(release.install_output_filter(root))
    print(release.quiet_lab_notices())
    print(release.lab_terminal_commands())
    return 0
