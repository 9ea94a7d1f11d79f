"""Where things are: the course folder and the data folder."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

ASSIGNMENTS = ("cnn_step_by_step", "cnn_application", "residual_networks")

_PACKAGE_DIR = Path(__file__).resolve().parent


def course_root(start: Path | None = None) -> Path:
    """The course folder: the nearest folder holding ``nbgrader_config.py``.

    Searched upward from ``start`` (default: the working directory); when none is
    found (a notebook run inside ``autograded/<student>/<id>/`` of another copy, or
    from anywhere else), the checkout this package was installed from.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
            return folder
    return _PACKAGE_DIR.parent


def course_command() -> str:
    """``course`` as a person types it where they read this: the bare name where it runs this environment's
    command (Lab's terminals, an activated environment), else the script's path, relative to the working
    folder when it lies below it (``.venv/bin/course``, as the README types it)."""
    script = Path(sysconfig.get_path("scripts")) / "course"
    found = shutil.which("course")
    if not script.exists() or (found and Path(found).resolve() == script.resolve()):
        return "course"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def datasets_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The SIGNS data folder: ``data_dir`` if given, else ``$SIGNS_DATA_DIR``, else ``datasets/``."""
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get("SIGNS_DATA_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return _PACKAGE_DIR.parent / "datasets"
