"""`course setup` makes `course` and `nbgrader` run in the terminals of Lab started as `.venv/bin/jupyter lab`.

Jupyter's server reads the setting `course setup` writes (here into a throwaway prefix); the shell it
names is started as Jupyter starts it, with a PATH that lacks this environment's bin folder and a
login profile that sets PATH afresh (as Debian's /etc/profile does), and finds both commands there.
The browser test types `course --help` into a real Lab terminal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
from jupyter_server.serverapp import ServerApp

from helpers.instructor import release

BIN = Path(sysconfig.get_path("scripts"))
ASK = "command -v course nbgrader; course --help | head -1; exit\n"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="Lab's terminals are set up for bash")


def _server_settings(prefix: Path, monkeypatch, tmp_path: Path) -> dict:
    """terminado_settings as a Jupyter server started from this environment reads them (config of ``prefix``)."""
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(prefix / "etc" / "jupyter"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))
    app = ServerApp()
    app.load_config_file()
    return dict(app.terminado_settings)


def _shell_env(tmp_path: Path) -> dict[str, str]:
    """Lab's environment when started as `.venv/bin/jupyter lab`: no bin folder of this environment on PATH;
    a ~/.profile that sets PATH afresh, as a login shell's /etc/profile does on Debian."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / ".profile").write_text("PATH=/usr/bin:/bin\nexport PATH\n")
    path = (
        os.pathsep.join(
            p for p in os.environ.get("PATH", "").split(os.pathsep) if p and Path(p).resolve() != BIN.resolve()
        )
        or "/usr/bin:/bin"
    )
    return {"PATH": path, "HOME": str(home), "TERM": "dumb", "LANG": "C.UTF-8"}


def _run_shell(argv: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(argv, input=ASK, env=env, capture_output=True, text=True, timeout=60)
    return proc.stdout


def test_lab_terminals_find_course_and_nbgrader(tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    env = _shell_env(tmp_path)
    # What Jupyter starts without the setting (a login shell, as when Lab is not run from a terminal): neither.
    assert "course" not in _run_shell([shutil.which("bash"), "-l", "-i"], env)

    said = release.lab_terminal_commands(prefix)
    assert str(BIN) in said and "course and nbgrader run there" in said, said
    shell = _server_settings(prefix, monkeypatch, tmp_path)["shell_command"]
    assert shell[1:] == ["--rcfile", str(prefix / "etc" / "jupyter" / release.TERMINAL_RC), "-i"]  # the one written
    out = _run_shell(shell, env).splitlines()
    assert str(BIN / "course") in out and str(BIN / "nbgrader") in out, out
    assert any(line.startswith("usage: course") for line in out), out


def test_setup_keeps_what_the_server_config_already_says(tmp_path, monkeypatch):
    config = release.server_config_file(tmp_path / "prefix")
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"ServerApp": {"terminals_enabled": True}, "LabApp": {"news_url": ""}}))
    release.lab_terminal_commands(tmp_path / "prefix")
    release.lab_terminal_commands(tmp_path / "prefix")  # again: the same file
    written = json.loads(config.read_text())
    assert written["LabApp"] == {"news_url": ""} and written["ServerApp"]["terminals_enabled"] is True
    assert written["ServerApp"]["terminado_settings"]["shell_command"][1:] == [
        "--rcfile",
        str(config.parent / release.TERMINAL_RC),
        "-i",
    ]

    # A shell command someone else chose is theirs: kept, and the message says how to type the commands.
    config.write_text(json.dumps({"ServerApp": {"terminado_settings": {"shell_command": ["/bin/zsh"]}}}))
    said = release.lab_terminal_commands(tmp_path / "prefix")
    assert "kept" in said and f"{BIN}/course" in said, said
    assert json.loads(config.read_text())["ServerApp"]["terminado_settings"]["shell_command"] == ["/bin/zsh"]
    config.write_text("{not json")
    said = release.lab_terminal_commands(tmp_path / "prefix")
    assert "cannot read it as JSON" in said and config.read_text() == "{not json"


def test_messages_name_course_as_it_runs_where_they_are_read(tmp_path, monkeypatch):
    """`course` where that name runs this environment's command (Lab's terminals); else its path."""
    from helpers.paths import course_command

    monkeypatch.chdir(BIN.parent.parent)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert course_command() == str((BIN / "course").relative_to(BIN.parent.parent))  # .venv/bin/course
    monkeypatch.chdir(tmp_path)
    assert course_command() == str(BIN / "course")
    monkeypatch.setenv("PATH", f"{BIN}:/usr/bin:/bin")
    assert course_command() == "course"
