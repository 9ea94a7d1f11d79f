"""Whether a collected submission is its student's own hand-in, as far as nbgrader's exchange can tell.

The course-local exchange is one folder that every local user may write (mode 0777, as nbgrader
wants it): anyone can put a folder named ``<student>+<assignment>+<timestamp>+<random>`` into its
``inbound/``, and ``nbgrader collect --update`` keeps, for each name, the folder with the latest
timestamp, only warning when the folder's owner is not that student. ``course grade`` grades what
was collected and, with the grade (its points unchanged), flags a submission when

* its timestamp lies in the future: the ``timestamp.txt`` that collect copied into
  ``submitted/<student>/<id>/``, or the name of the inbound folder it came from, is later than the
  time of grading by more than :data:`CLOCK_SKEW`;
* the inbound folder it came from, or a file in it, is owned by a Unix user whose name is not the
  student's (nbgrader's own rule; ``c.ExchangeCollect.check_owner = False`` turns it off, as it
  turns off nbgrader's warning). That folder is the one in ``<exchange>/<course>/inbound/`` whose
  notebook has the submitted bytes; collect copies it and the copy belongs to whoever collected.

Where that inbound folder is gone, or the submission was put into ``submitted/`` by hand, nothing
here can tell who wrote it: on a shared machine only a server that knows who is logged in
(JupyterHub, the README's "A class beyond one machine") can.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import os
import pwd
import stat
from pathlib import Path

from nbgrader.utils import parse_utc
from traitlets.config.loader import PyFileConfigLoader

from helpers import i18n
from helpers.instructor import notebooks as nbu
from helpers.instructor.settings import Settings

CLOCK_SKEW = dt.timedelta(minutes=5)  # a timestamp this much after the time of grading is still believed
MAX_TIMESTAMP_BYTES = 200  # nbgrader writes about 30
MAX_INBOUND_FOLDERS = 200  # of one student and assignment, looked at (newest names first)
MAX_ENTRIES = 1000  # files and folders of one inbound folder whose owner is read


def flags(settings: Settings, student: str, assignment: str, now: dt.datetime | None = None) -> list[str]:
    """Why the submission of ``student`` for ``assignment`` may not be theirs; empty when nothing says so.

    ``now`` is the time of grading (UTC; default: now). Never raises for what is on disk. The reasons are
    written in the course's language (``c.CourseGrader.language``): the instructor reads them on the class
    report, the student on the feedback page.
    """
    lang = settings.language
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    submitted = settings.path("submitted", assignment, student)
    found: list[str] = []
    stamps: list[str] = []
    try:
        text = nbu.read_plain_file(submitted / "timestamp.txt", MAX_TIMESTAMP_BYTES).decode("utf-8", "replace")
        stamps.append(text.strip())
    except nbu.NotebookError as exc:
        if os.path.lexists(submitted / "timestamp.txt"):
            found.append(
                i18n.message("its timestamp.txt cannot be read as nbgrader writes it: {error}", lang, error=exc)
            )
    inbound, check_owner = _exchange(settings)
    folders = _collected_folders(inbound, student, assignment, settings.notebook("submitted", assignment, student))
    stamps += [name.rsplit("+", 3)[2] for name in (f.name for f in folders) if len(name.rsplit("+", 3)) >= 3]
    for stamp in dict.fromkeys(stamps):
        when = _utc(stamp)
        if when is None:
            found.append(
                i18n.message(
                    "its timestamp {stamp!r} is not a time (nbgrader writes one when the student submits)",
                    lang,
                    stamp=stamp[:60],
                )
            )
        elif when > now + CLOCK_SKEW:
            found.append(
                i18n.message(
                    "its timestamp {stamp} lies in the future (graded at {now:%Y-%m-%d %H:%M:%S} UTC): "
                    "nbgrader collect --update keeps it over every later hand-in of the student",
                    lang,
                    stamp=stamp[:60],
                    now=now,
                )
            )
    if check_owner and folders:
        owners = [_owners(folder) for folder in folders]
        if all(names - {student} for names in owners):  # no copy of these bytes came from the student's own user
            others = sorted(set().union(*owners) - {student})
            found.append(
                i18n.message(
                    "handed in under the name {student} by the Unix user {users}: the exchange's inbound folder "
                    "{folder} is theirs. Anyone on this machine can write the exchange; ask the student before "
                    "counting it",
                    lang,
                    student=student,
                    users=", ".join(others),
                    folder=folders[0].name,
                )
            )
    return found


def _exchange(settings: Settings) -> tuple[Path, bool]:
    """The exchange's inbound folder of this course and nbgrader's ``check_owner``, from nbgrader_config.py."""
    config = {}
    if (settings.root / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(settings.root)).load_config()
    root = Path(config.get("Exchange", {}).get("root", "/srv/nbgrader/exchange"))
    check_owner = bool(config.get("ExchangeCollect", {}).get("check_owner", True))
    return root / settings.course_id / "inbound", check_owner


def _collected_folders(inbound: Path, student: str, assignment: str, notebook: Path) -> list[Path]:
    """The inbound folders (real folders, no links) of ``student`` whose notebook is ``notebook``, byte for byte."""
    wanted = _sha256(notebook)
    if wanted is None:
        return []
    try:
        names = glob.glob(f"{glob.escape(student)}+{glob.escape(assignment)}+*", root_dir=inbound)
    except OSError:
        return []
    found = []
    for name in sorted(names, reverse=True)[:MAX_INBOUND_FOLDERS]:
        folder = inbound / name
        candidate = folder / f"{assignment}.ipynb"
        if name.rsplit("+", 3)[0] != student or not _is_dir(folder) or _size(candidate) != _size(notebook):
            continue
        if _sha256(candidate) == wanted:
            found.append(folder)
    return found


def _owners(folder: Path) -> set[str]:
    """The Unix user names owning ``folder`` and what is in it (links not followed, the first
    :data:`MAX_ENTRIES` entries); ``uid N`` for a uid no user has."""
    uids, seen = set(), 0
    try:
        uids.add(os.lstat(folder).st_uid)
        for path, dirs, files in os.walk(folder):
            for name in dirs + files:
                uids.add(os.lstat(os.path.join(path, name)).st_uid)
                seen += 1
                if seen >= MAX_ENTRIES:
                    return {_user(uid) for uid in uids}
    except OSError:
        pass
    return {_user(uid) for uid in uids}


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _is_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _size(path: Path) -> int | None:
    try:
        return os.lstat(path).st_size
    except OSError:
        return None


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(nbu.read_plain_file(path, nbu.MAX_NOTEBOOK_BYTES)).hexdigest()
    except nbu.NotebookError:
        return None


def _utc(text: str) -> dt.datetime | None:
    """The time in ``text`` as nbgrader reads it (naive UTC), or None."""
    try:
        return parse_utc(text)
    except (ValueError, OverflowError, TypeError, LookupError):
        return None
