"""The grader's log (``course.grader``): quiet by default, and at INFO it says which limits acted."""

from __future__ import annotations

import logging
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from helpers.instructor import grader_log
from helpers.instructor.execute import execute_notebook


@pytest.fixture
def restore_level(monkeypatch):
    monkeypatch.delenv(grader_log.LEVEL_VARIABLE, raising=False)
    logger = grader_log.LOGGER
    level, handlers, propagate = logger.level, list(logger.handlers), logger.propagate
    yield
    logger.setLevel(level)
    logger.handlers[:] = handlers
    logger.propagate = propagate


def test_the_level_is_warning_unless_asked_and_travels_to_workers_through_the_environment(restore_level):
    grader_log.configure()
    assert grader_log.LOGGER.getEffectiveLevel() == logging.WARNING
    grader_log.configure("info")
    assert grader_log.LOGGER.getEffectiveLevel() == logging.INFO
    assert os.environ[grader_log.LEVEL_VARIABLE] == "INFO"
    grader_log.configure()  # what a worker process does: the command's level, from the environment
    assert grader_log.LOGGER.getEffectiveLevel() == logging.INFO
    assert sum(getattr(h, "_course_grader", False) for h in grader_log.LOGGER.handlers) == 1  # one handler
    with pytest.raises(ValueError, match="LOUD.*DEBUG, INFO, WARNING"):
        grader_log.configure("loud")


def test_a_cell_over_its_time_and_an_output_cut_are_logged_at_info_and_each_cell_at_debug(tmp_path, caplog):
    nb = new_notebook(
        cells=[new_code_cell("print('x' * 5000)"), new_code_cell("import time; time.sleep(60)"), new_code_cell("1 + 1")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with caplog.at_level(logging.DEBUG, logger=grader_log.LOGGER.name):
        report = execute_notebook(
            nbformat.from_dict(nb), env=dict(os.environ), timeout=3, max_output_chars=1000, workdir=str(tmp_path)
        )
    assert [report.statuses[k] for k in range(3)] == ["ok", "timeout", "ok"]
    said = {(r.levelname, r.getMessage()) for r in caplog.records if r.name == grader_log.LOGGER.name}
    assert ("INFO", "cell 0: output cut at 1000 characters") in said
    assert ("INFO", "cell 1 ran past its 3 s and was interrupted") in said
    assert any(level == "DEBUG" and message.startswith("cell 2: ok in ") for level, message in said)
