"""A notebook is recognised by its graded cells, whatever its file is called (``course check``, ``course report``)."""

from __future__ import annotations

import shutil

import nbformat
import pytest

from conftest import ROOT
from helpers.paths import ASSIGNMENTS
from helpers.recognise import UnknownAssignment, assignment_of

RENAMES = ("lab1.ipynb", "张三_实验一.ipynb", "Untitled (1).ipynb")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("name", RENAMES)
def test_a_renamed_release_notebook_is_recognised(tmp_path, assignment, name):
    path = tmp_path / name
    shutil.copyfile(ROOT / "release" / assignment / f"{assignment}.ipynb", path)
    assert assignment_of(path, ROOT) == assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_content_wins_over_a_misleading_file_name(tmp_path, assignment):
    other = next(a for a in ASSIGNMENTS if a != assignment)
    path = tmp_path / f"{other}.ipynb"
    shutil.copyfile(ROOT / "source" / assignment / f"{assignment}.ipynb", path)
    assert assignment_of(path, ROOT) == assignment


def test_a_notebook_with_one_graded_cell_left_is_still_recognised(tmp_path):
    nb = nbformat.read(ROOT / "release" / "residual_networks" / "residual_networks.ipynb", as_version=4)
    kept = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in ("setup", "ResNet50")]
    for cell in nb.cells:
        if cell not in kept:
            cell.metadata.pop("nbgrader", None)
    path = tmp_path / "作业3.ipynb"
    nbformat.write(nb, path)
    assert assignment_of(path, ROOT) == "residual_networks"


def _plain_notebook(path, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, path)
    return path


def test_without_graded_cells_the_file_name_decides(tmp_path):
    path = _plain_notebook(tmp_path / "cnn_application.ipynb", [nbformat.v4.new_code_cell("print(1)")])
    assert assignment_of(path, ROOT) == "cnn_application"


def test_given_assignment_wins(tmp_path):
    path = tmp_path / "lab1.ipynb"
    shutil.copyfile(ROOT / "release" / "cnn_step_by_step" / "cnn_step_by_step.ipynb", path)
    assert assignment_of(path, ROOT, "residual_networks") == "residual_networks"


def test_an_unrelated_notebook_gets_a_clear_error(tmp_path):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade_id": "my_exercise", "solution": True, "grade": False}
    path = _plain_notebook(tmp_path / "homework.ipynb", [cell, nbformat.v4.new_code_cell("print(x)")])
    with pytest.raises(UnknownAssignment) as caught:
        assignment_of(path, ROOT)
    message = str(caught.value)
    assert "cannot tell which assignment homework.ipynb is" in message
    assert "my_exercise" in message  # the ids it saw
    assert "--assignment" in message and all(a in message for a in ASSIGNMENTS)


def test_a_notebook_without_ids_says_so(tmp_path):
    path = _plain_notebook(tmp_path / "lab1.ipynb", [nbformat.v4.new_code_cell("print(1)")])
    with pytest.raises(UnknownAssignment, match="carry no nbgrader grade ids"):
        assignment_of(path, ROOT)


def test_a_file_that_is_not_a_notebook_says_so(tmp_path):
    path = tmp_path / "lab1.ipynb"
    path.write_text("not json")
    with pytest.raises(UnknownAssignment, match="cannot be read"):
        assignment_of(path, ROOT)


@pytest.mark.parametrize("command", ["check", "report"])
def test_the_commands_print_the_error_and_stop(tmp_path, capsys, command):
    from helpers.cli import main

    path = _plain_notebook(tmp_path / "lab1.ipynb", [nbformat.v4.new_code_cell("print(1)")])
    assert main(["--root", str(ROOT), command, str(path)]) == 2
    err = capsys.readouterr().err
    if command == "check":  # the command's language: English here
        assert err.startswith("error: cannot tell which assignment lab1.ipynb is") and "--assignment" in err
    else:  # the report's language: Chinese, the default
        assert err.startswith("错误：无法判断 lab1.ipynb 属于哪个作业") and "--assignment" in err


def test_course_check_grades_a_renamed_notebook_as_its_assignment(tmp_path, capsys, monkeypatch):
    from types import SimpleNamespace

    from helpers.cli import main
    from helpers.instructor import grading

    graded = []

    def stand_in(settings, assignment, notebook_path):  # the grader itself is tested elsewhere
        graded.append((assignment, notebook_path.name))
        cell = SimpleNamespace(grade_id="ResNet50_layers", points=10.0, max_points=10.0, message="", status="passed")
        return SimpleNamespace(
            status="graded", reason="", score=10.0, max_score=10.0, cells=[cell], notes=[], lang="en"
        )

    monkeypatch.setattr(grading, "check_private_copy", stand_in)
    path = tmp_path / "张三_实验一.ipynb"
    shutil.copyfile(ROOT / "release" / "residual_networks" / "residual_networks.ipynb", path)
    assert main(["--root", str(ROOT), "check", str(path)]) == 0
    assert graded == [("residual_networks", path.name)]
    captured = capsys.readouterr()
    assert "张三_实验一.ipynb: residual_networks (told by its graded cells)" in captured.err
    assert captured.out.startswith("residual_networks: 10 / 10 points")
