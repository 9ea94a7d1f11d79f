"""pyproject.toml, environment.yml, README and CI agree with each other."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(d.split("==") for d in deps)


def test_every_dependency_is_pinned():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", d) for d in deps), deps


def test_environment_yml_lists_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    pins = dict(p.split("==") for p in pip if "==" in p)
    assert pins == _pyproject_pins()
    assert "--editable ." in pip


def test_installed_versions_match_the_pins():
    from importlib.metadata import version

    wrong = {name: (pin, version(name)) for name, pin in _pyproject_pins().items() if version(name) != pin}
    assert wrong == {}


def test_readme_gives_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set-up on a fresh machine")[1].split("\n## ")[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, re.S)
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    install, test = blocks
    assert "pip install -e ." in install and "course demo" in install
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()


def test_course_command_is_installed_and_answers():
    proc = subprocess.run([sys.executable, "-m", "helpers.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for command in ("release", "setup", "demo", "grade", "check", "refs", "data"):
        assert command in proc.stdout


def test_helpers_import_from_any_folder(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "import helpers.checks.cnn_step_by_step as c; print(c.REFERENCE_FILE.is_file())"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.stdout.strip() == "True", proc.stderr


def test_setup_never_overwrites(tmp_path):
    from conftest import make_course_copy
    from helpers.instructor.release import setup_notebooks

    course = make_course_copy(tmp_path / "course", ["cnn_step_by_step"])
    (course / "notebooks").mkdir()
    mine = course / "notebooks" / "cnn_step_by_step.ipynb"
    mine.write_text("my work")
    assert setup_notebooks(course) == []
    assert mine.read_text() == "my work"
    mine.unlink()
    assert setup_notebooks(course) == [mine]
    assert mine.read_bytes() == (course / "release" / "cnn_step_by_step" / "cnn_step_by_step.ipynb").read_bytes()
