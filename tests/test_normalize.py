"""Notebooks Lab saved normalise to what git stores; nbstripout's git filter agrees with the normaliser."""

from __future__ import annotations

import copy
import subprocess
import sys
import uuid

import nbformat
import pytest

from conftest import ROOT
from helpers.instructor.normalize import EXTRA_KEYS, PYTHON_LANGUAGE_INFO, normalize, normalized_text

SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))


def lab_saved(nb, python_version=None):
    """What JupyterLab 4 writes after Run All and Save: outputs, counts, its kernel's language_info,
    ids of new cells. The kernel runs the Python the notebook was saved with, unless told otherwise."""
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = 5
    version = python_version or nb.metadata.get("language_info", {}).get("version") or PYTHON_LANGUAGE_INFO["version"]
    nb.metadata["language_info"] = dict(PYTHON_LANGUAGE_INFO, version=version)
    for n, cell in enumerate(nb.cells):
        cell.setdefault("id", uuid.uuid4().hex[:8])
        if cell.cell_type == "code":
            cell.execution_count = n + 1
            cell.outputs = [
                nbformat.v4.new_output("stream", name="stdout", text="All tests passed.\n"),
                nbformat.v4.new_output("error", ename="E", evalue="x", traceback=["E: x"]),
            ]
            cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000000Z"}
            cell.metadata["scrolled"] = True
            cell.metadata["trusted"] = True
    return nb


def read(path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_lab_save_normalises_back(path):
    committed = normalize(read(path))
    assert normalize(lab_saved(committed)) == committed


def test_lab_on_another_python_changes_only_the_version():
    committed = normalize(read(SOURCES[0]))
    other = normalize(lab_saved(committed, python_version="3.11.99"))
    assert other.metadata.language_info.version == "3.11.99"
    other.metadata.language_info.version = committed.metadata.language_info.version
    assert other == committed


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_normal_form_is_45_with_stable_ids(path):
    first = normalize(read(path))
    assert (first.nbformat, first.nbformat_minor) == (4, 5)
    ids = [c.id for c in first.cells]
    assert len(set(ids)) == len(ids)
    for cell in first.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        assert cell.id == (gid or cell.id)
    assert normalize(first) == first  # a fixed point
    assert set(first.metadata.language_info) == set(PYTHON_LANGUAGE_INFO)  # as Lab writes it: opens clean
    nbformat.validate(first)


def test_cells_without_ids_get_their_position():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("a"), nbformat.v4.new_code_cell("b")])
    nb.nbformat_minor = 4
    for cell in nb.cells:
        cell.pop("id", None)
    nb.cells[1].metadata["nbgrader"] = {"grade_id": "markdown-0", "solution": True}
    assert [c.id for c in normalize(nb).cells] == ["markdown-0-1", "markdown-0"]


def test_git_filter_leaves_a_lab_saved_notebook_as_the_normaliser_does(tmp_path):
    """The clean filter `course setup` installs (nbstripout --keep-id, the course's extra keys)."""
    path = SOURCES[0]
    saved = tmp_path / "saved.ipynb"
    nbformat.write(lab_saved(normalize(read(path))), saved)
    stripped = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--keep-id", "--extra-keys", " ".join(EXTRA_KEYS)],
        stdin=saved.open("rb"),
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert stripped == normalized_text(saved) == normalized_text(path)
