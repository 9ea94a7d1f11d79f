"""Which assignment a notebook is: told by its graded cells, else by its file name.

A course notebook carries its assignment in its cells' nbgrader metadata: the ``grade_id`` of its
solution and test cells (``conv_forward``, ``ResNet50_layers`` …) belong to one assignment each, so
a notebook renamed ``lab1.ipynb`` or ``张三_实验一.ipynb`` is still recognised. Ids that several
assignments share (``setup``) tell nothing and are not counted. The assignment whose source and
release notebooks hold the most of the notebook's ids wins; when no id matches (a notebook saved
without its metadata) the file name decides, and when neither tells, :class:`UnknownAssignment`
says which ids the notebook has and what to pass.

Students run ``course check`` and ``course report``, so this module is in the student layer: it
reads notebooks with :mod:`helpers.notebook_cells` (the standard library only).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from helpers import i18n
from helpers import notebook_cells as nbu
from helpers.paths import ASSIGNMENTS

MAX_IDS_SHOWN = 8  # an error lists this many of the notebook's own ids at most


class UnknownAssignment(ValueError):
    """Neither a notebook's graded cells nor its file name tell its assignment; the message says what to do."""


def grade_ids(cells) -> set[str]:
    """The nbgrader grade ids of a list of notebook cells."""
    return {gid for cell in cells if (gid := nbu.grade_id(cell))}


def assignment_ids(root: Path) -> dict[str, set[str]]:
    """Each assignment's own grade ids (from its source and release notebooks under ``root``), without
    the ids another assignment also has."""
    ids: dict[str, set[str]] = {}
    for assignment in ASSIGNMENTS:
        ids[assignment] = set()
        for kind in ("source", "release"):
            path = Path(root) / kind / assignment / f"{assignment}.ipynb"
            if path.is_file():
                try:
                    ids[assignment] |= grade_ids(nbu.read_cells(path))
                except nbu.NotebookError:
                    continue  # a broken course notebook: the other copy, or the file name, still tells
    shared = Counter(gid for own in ids.values() for gid in own)
    return {assignment: {gid for gid in own if shared[gid] == 1} for assignment, own in ids.items()}


def assignment_of(path: Path, root: Path, given: str | None = None, lang: str | None = None) -> str:
    """The assignment of the notebook at ``path``: ``given`` when set, else told by its graded cells,
    else by its file name; :class:`UnknownAssignment` (its message in ``lang``) when none of them tells."""
    if given:
        if given not in ASSIGNMENTS:
            raise UnknownAssignment(
                i18n.message(
                    "unknown assignment {given!r}; choose from {choices}.",
                    lang,
                    given=given,
                    choices=", ".join(ASSIGNMENTS),
                )
            )
        return given
    path = Path(path)
    try:
        found = grade_ids(nbu.read_cells(path))
        unreadable = ""
    except nbu.NotebookError as exc:
        found, unreadable = set(), str(exc)
    matches = {a: len(found & own) for a, own in assignment_ids(root).items()}
    best = max(matches.values(), default=0)
    leaders = [a for a, n in matches.items() if n == best]
    if best and len(leaders) == 1:
        return leaders[0]
    if path.stem in (leaders if best else ASSIGNMENTS):
        return path.stem
    choose = i18n.message(
        "name it after one of {names} (e.g. {example}.ipynb) or pass --assignment {choices}",
        lang,
        names=", ".join(ASSIGNMENTS),
        example=ASSIGNMENTS[0],
        choices="|".join(ASSIGNMENTS),
    )
    if unreadable:
        why = i18n.message("it cannot be read ({error})", lang, error=unreadable)
    elif best:
        why = i18n.message(
            "its graded cells match {leaders} equally ({count} grade ids each)",
            lang,
            leaders=", ".join(leaders),
            count=best,
        )
    elif found:
        shown = sorted(found)[:MAX_IDS_SHOWN]
        ids = ", ".join(shown)
        if len(found) > len(shown):
            ids = i18n.message("{names} and {count} more", lang, names=ids, count=len(found) - len(shown))
        why = i18n.message(
            "its cells' nbgrader grade ids ({ids}) are not those of any assignment of this course", lang, ids=ids
        )
    else:
        why = i18n.message(
            "its cells carry no nbgrader grade ids (the metadata of the course's notebook was lost, e.g. by copying "
            "the cells into a new notebook)",
            lang,
        )
    raise UnknownAssignment(
        i18n.message(
            "cannot tell which assignment {name} is: {why}, and its file name is not an assignment's; {choose}.",
            lang,
            name=path.name,
            why=why,
            choose=choose,
        )
    )
