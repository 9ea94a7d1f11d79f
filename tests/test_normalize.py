"""Notebooks Lab saved normalise to what git stores; nbstripout's git filter agrees with the normaliser."""

from __future__ import annotations

import copy
import subprocess
import sys
import uuid

import nbformat
import pytest

from conftest import ROOT
from helpers.instructor.normalize import EXTRA_KEYS, normalize, normalized_text

SOURCES = sorted((ROOT / "source").glob("*/*.ipynb"))


def lab_saved(nb):
    """What JupyterLab 4 writes after Run All and Save: outputs, counts, its metadata, ids of new cells."""
    nb = copy.deepcopy(nb)
    nb.nbformat_minor = 5
    nb.metadata["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
        "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3", "version": "3.11.2"}
    for n, cell in enumerate(nb.cells):
        cell.setdefault("id", uuid.uuid4().hex[:8])
        if cell.cell_type == "code":
            cell.execution_count = n + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="All tests passed.\n"),
                            nbformat.v4.new_output("error", ename="E", evalue="x", traceback=["E: x"])]
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
    stripped = subprocess.run([sys.executable, "-m", "nbstripout", "--keep-id", "--extra-keys", " ".join(EXTRA_KEYS)],
                              stdin=saved.open("rb"), capture_output=True, check=True).stdout.decode()
    assert stripped == normalized_text(saved) == normalized_text(path)
