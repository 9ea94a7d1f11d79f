"""What a student's kernel and the `course` command load: only what they need.

A student's kernel imports student code only (no nbgrader, no ``helpers.instructor``, no nbformat, and
no TensorFlow for ``cnn_step_by_step``), also where the source solutions can be read and the visible
checks' dependencies answer from them. `course --help`, `course profile` and argument errors load
none of the grader. Each case runs in a fresh interpreter, so ``sys.modules`` shows what it imported.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import cli, notebook_cells, wire
from helpers.commands import profile as profile_command
from helpers.instructor.settings import SettingsError

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "cnn_step_by_step"

# Printed by each fresh interpreter after its work: the loaded modules that a kernel or a quick
# command must not load.
FORBIDDEN = """
import json, sys
heavy = ("nbgrader", "nbformat", "nbclient", "jsonschema", "tensorflow", "keras")
print("LOADED " + json.dumps(sorted(name for name in sys.modules
                                    if name.split(".")[0] in heavy or name.startswith("helpers.instructor"))))
"""


def run_fresh(code: str, cwd: Path) -> tuple[str, list[str]]:
    """Run ``code`` then FORBIDDEN in a fresh interpreter; its output and the forbidden modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", code + "\n" + FORBIDDEN],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ, MPLBACKEND="Agg"),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("LOADED "))
    return done.stdout, json.loads(line.removeprefix("LOADED "))


def cell(folder: str, grade_id: str) -> str:
    cells = notebook_cells.read_cells(ROOT / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return next(c["source"] for c in cells if notebook_cells.grade_id(c) == grade_id)


def setup_cell_code() -> str:
    """The release notebook's set-up cell without its IPython magics (`%matplotlib inline`)."""
    return "\n".join(line for line in cell("release", "setup").splitlines() if not line.lstrip().startswith("%"))


@pytest.mark.parametrize("where", ["course folder", "outside any course folder"])
def test_a_students_kernel_loads_only_student_code(where, tmp_path):
    """The set-up cell, then the first visible check of conv_forward, whose dependencies answer from the source."""
    code = "\n".join(
        [
            setup_cell_code(),
            cell("source", "conv_forward"),
            "check.conv_forward(conv_forward)",
            # the check used the source solutions (the README's editable install reads them too)
            f"assert check.reference_solutions({ASSIGNMENT!r}) is not None",
        ]
    )
    printed, loaded = run_fresh(code, ROOT if where == "course folder" else tmp_path)
    assert "All tests passed." in printed
    assert loaded == []


def test_the_kernels_serving_module_loads_only_student_code(tmp_path):
    """What the grader calls in a grading kernel (helpers.calls.serve) answers a call without the instructor layer."""
    x = np.arange(6.0).reshape(1, 2, 3, 1)
    request = {"function": "zero_pad", "args": wire.encode([x, 1]), "kwargs": wire.encode({})}
    code = f"""
import json
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from helpers import calls, wire

shell = InteractiveShell.instance()
for code in ({setup_cell_code()!r}, {cell("source", "zero_pad")!r}):  # the set-up cell, the student's cell
    shell.run_cell(code, silent=True).raise_error()
with capture_output() as captured:
    calls.serve({json.dumps(request)!r})
message = captured.outputs[0].data[wire.MIME]
assert message["error"] is None, message
print("RESULT " + json.dumps(message["result"]))
"""
    printed, loaded = run_fresh(code, tmp_path)
    assert loaded == []
    result = json.loads(next(line for line in printed.splitlines() if line.startswith("RESULT "))[7:])
    np.testing.assert_array_equal(wire.decode(result), np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))))


# What a quick command may load beside the standard library: the package itself, and what site loads
# for its editable install.
QUICK_COMMAND_PACKAGES = {"helpers", "__editable___cnn_course_0_1_0_finder", "_distutils_hack"}


@pytest.mark.parametrize(
    "argv, status",
    [
        (["--help"], 0),
        (["profile", "--file", "{tmp}/profile.toml", "--name", "Li Hua"], 0),
        (["check", "{tmp}/homework.ipynb"], 2),  # named after no assignment
        (["check", "{tmp}/no_such_file.ipynb"], 2),
        (["grade", "no_such_assignment"], 2),
        (["no-such-command"], 2),
        (["check", "{tmp}/homework.ipynb", "--no-such-option"], 2),
    ],
)
def test_quick_commands_load_none_of_the_grader(argv, status, tmp_path):
    """`course --help`, `course profile` and argument errors load the parser and the standard library only:
    no nbgrader, nbconvert, matplotlib, TensorFlow, not even numpy (the modules of data and pretrain)."""
    (tmp_path / "homework.ipynb").write_text("{}")
    argv = [arg.format(tmp=tmp_path) for arg in argv]
    code = f"""
from helpers import cli
try:
    status = cli.main({argv!r})
except SystemExit as exc:
    status = exc.code
print("STATUS", status)
print("PACKAGES " + json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} - set(sys.stdlib_module_names))))
"""
    printed, loaded = run_fresh("import json, sys\n" + code, ROOT)
    assert f"STATUS {status}" in printed
    assert loaded == []
    packages = json.loads(next(line for line in printed.splitlines() if line.startswith("PACKAGES "))[9:])
    assert set(packages) - {"__main__"} <= QUICK_COMMAND_PACKAGES


def test_subcommands_with_their_own_arguments_are_listed_with_their_modules_help():
    """data and pretrain are named in `course --help` without their modules; the line is the module's own."""
    for name, (module, text) in cli.OWN_PARSER.items():
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(module).add_cli(sub)
        assert sub.choices[name] is not None
        assert [action.help for action in sub._choices_actions if action.dest == name] == [text]


def test_the_subcommands_module_parses_its_own_arguments(monkeypatch, capsys):
    """`course data ...` reaches helpers.signs' own parser, with its options and its errors."""
    from helpers import signs

    seen = []
    monkeypatch.setattr(signs, "_data_command", lambda args: seen.append(args) or 0)
    assert cli.main(["data", "--seed", "7"]) == 0
    assert seen[0].seed == 7 and seen[0].command == "data"
    with pytest.raises(SystemExit) as exc:
        cli.main(["data", "--no-such-option"])
    assert exc.value.code == 2 and "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_errors_a_command_reports_are_one_line_and_others_propagate(monkeypatch, tmp_path, capsys):
    """The grader's reported errors are found among the loaded modules, without importing them for it."""

    def refuses(args, root):
        raise SettingsError("nbgrader_config.py: c.CourseGrader.sandbx is not a setting.")

    monkeypatch.setattr(profile_command, "run", refuses)
    assert cli.main(["profile", "--file", str(tmp_path / "p.toml")]) == 1
    assert capsys.readouterr().err == "error: nbgrader_config.py: c.CourseGrader.sandbx is not a setting.\n"

    def breaks(args, root):
        raise RuntimeError("a bug")

    monkeypatch.setattr(profile_command, "run", breaks)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["profile", "--file", str(tmp_path / "p.toml")])


def test_notebook_markers_are_nbgraders():
    """The student layer's copies of nbgrader's delimiters equal nbgrader's own defaults."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    assert notebook_cells.BEGIN_SOLUTION == "### " + ClearSolutions.begin_solution_delimeter.default_value
    assert notebook_cells.END_SOLUTION == "### " + ClearSolutions.end_solution_delimeter.default_value
    assert notebook_cells.BEGIN_HIDDEN == "### " + ClearHiddenTests.begin_test_delimeter.default_value
    assert notebook_cells.END_HIDDEN == "### " + ClearHiddenTests.end_test_delimeter.default_value


def test_read_cells_reads_plain_json_and_says_what_to_do_with_an_old_notebook(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}], "metadata": {}}))
    with pytest.raises(notebook_cells.NotebookError, match="nbformat 3 notebook; open it in Jupyter and save it"):
        notebook_cells.read_cells(path)
    assert len(notebook_cells.read_notebook(path).cells) == 0  # the instructor's reader converts it
    path.write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {},
                "cells": [
                    {"cell_type": "code", "source": ["a = 1\n", "b = 2"], "metadata": {"nbgrader": {"solution": True}}}
                ],
            }
        )
    )
    assert notebook_cells.solution_code(notebook_cells.read_cells(path)) == "a = 1\nb = 2"
    assert notebook_cells.solution_code(notebook_cells.read_notebook(path)) == "a = 1\nb = 2"


def test_the_grader_starts_without_the_iri_grammar_and_still_validates_notebooks(tmp_path):
    """jsonschema, which nbformat and nbgrader import, is pinned to a version without rfc3987-syntax,
    whose import compiles a grammar (2.6-4 s in every process that reads a notebook: each nbgrader and
    course command); nbformat, which checks no formats, still refuses an invalid notebook."""
    code = """
import sys
import nbformat
from helpers.instructor import grading
assert not {"rfc3987_syntax", "lark"} & set(sys.modules), sorted({"rfc3987_syntax", "lark"} & set(sys.modules))
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
nbformat.validate(nb)
nb.cells[0]["outputs"] = "not a list"
try:
    nbformat.validate(nb)
except nbformat.ValidationError:
    print("REFUSED")
"""
    printed, _ = run_fresh(code, tmp_path)
    assert "REFUSED" in printed
