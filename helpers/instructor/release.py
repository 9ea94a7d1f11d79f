"""Student versions of the notebooks: ``release/`` through nbgrader, and the learner's ``notebooks/``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from helpers.paths import ASSIGNMENTS


def available_assignments(root: Path) -> list[str]:
    return [a for a in ASSIGNMENTS if (root / "source" / a / f"{a}.ipynb").is_file()]


def nbgrader(root: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course folder with this Python's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def release(root: Path, assignments: list[str] | None = None) -> list[Path]:
    """Regenerate ``release/<id>/`` from ``source/<id>/`` (and register the assignment in the gradebook)."""
    written = []
    for assignment in assignments or available_assignments(root):
        nbgrader(root, "generate_assignment", assignment, "--force", "--log-level=WARN")
        written.append(root / "release" / assignment / f"{assignment}.ipynb")
    return written


def ensure_registered(root: Path, assignments: list[str]) -> None:
    """The gradebook knows an assignment's cells only after generate_assignment ran in this folder."""
    from helpers.instructor.settings import Settings

    url = Settings.load(root).gradebook_url
    missing = list(assignments)
    if not url.startswith("sqlite:///") or Path(url[len("sqlite:///"):]).is_file():
        from nbgrader.api import Gradebook
        with Gradebook(url) as gb:
            known = {a.name for a in gb.assignments if a.notebooks}
        missing = [a for a in assignments if a not in known]
    if missing:
        # generate_assignment rewrites release/ with identical bytes; keep the committed copy untouched anyway.
        backup = {a: (root / "release" / a / f"{a}.ipynb").read_bytes()
                  for a in missing if (root / "release" / a / f"{a}.ipynb").is_file()}
        release(root, missing)
        for a, data in backup.items():
            (root / "release" / a / f"{a}.ipynb").write_bytes(data)


def setup_notebooks(root: Path) -> list[Path]:
    """Copy each released notebook to ``notebooks/`` unless a file of that name is already there."""
    target = root / "notebooks"
    target.mkdir(exist_ok=True)
    copied = []
    for assignment in available_assignments(root):
        src_dir = root / "release" / assignment
        if not src_dir.is_dir():
            continue
        for item in sorted(src_dir.iterdir()):
            if not item.is_file():
                continue
            dest = target / item.name
            if dest.exists():
                continue
            shutil.copy2(item, dest)
            copied.append(dest)
    return copied
