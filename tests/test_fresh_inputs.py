"""Hidden inputs are drawn afresh for every notebook graded: nothing recorded in one round answers the next.

A student's functions see the hidden inputs they are called on, and while ``conv_forward`` is graded the
stand-ins of ``zero_pad`` and ``conv_single_step`` answer whatever it asks. With fixed hidden inputs, a
notebook could record both in one round of feedback and replay them in the next; with inputs drawn from a
seed the grader draws for each notebook (``helpers.checks.hidden_rng``), the recorded answers are for
inputs that never come again, while an honest notebook earns the same points in every run.
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from conftest import ROOT, make_course_copy, write_submissions
from helpers.checks import hidden_rng, hidden_seed, using_run_seed
from helpers.instructor import batch, demo, judge
from helpers.instructor import notebooks as nbu
from helpers.instructor.references import solution_namespace
from helpers.instructor.settings import Settings

ASSIGNMENT = "cnn_step_by_step"


def test_hidden_rng_is_the_fixed_stream_outside_grading_and_the_run_seeds_under_it():
    outside = hidden_rng(13).standard_normal(4)
    assert np.array_equal(outside, np.random.default_rng(13).standard_normal(4))
    with using_run_seed(1):
        first = hidden_rng(13).standard_normal(4)
        assert np.array_equal(first, hidden_rng(13).standard_normal(4))  # one run: the same inputs every call
        assert not np.array_equal(first, hidden_rng(14).standard_normal(4))  # other streams differ
    with using_run_seed(2):
        assert not np.array_equal(first, hidden_rng(13).standard_normal(4))
        assert 0 <= hidden_seed(13) < 2**63  # usable as any library's seed
    assert np.array_equal(hidden_rng(13).standard_normal(4), outside)  # the run's seed ends with its context


# A notebook that never writes zero_pad or conv_single_step: they answer from a table of recorded answers.
# Its conv_forward is right, and while it is graded it asks the stand-ins of its dependencies about every
# input zero_pad and conv_single_step were ever given, and keeps the answers: in real grading the table
# would be printed into the feedback and pasted into the next submission; here the namespace persists.
REPLAY = """
import hashlib

SEEN, TABLE = [], {}


def _key(name, args):
    return name + hashlib.sha256(repr([(np.shape(a), np.asarray(a).tobytes()) for a in args]).encode()).hexdigest()


def zero_pad(X, pad):
    SEEN.append(("zero_pad", (X, pad)))
    return TABLE.get(_key("zero_pad", (X, pad)), np.zeros(1))


def conv_single_step(a_slice_prev, W, b):
    SEEN.append(("conv_single_step", (a_slice_prev, W, b)))
    return TABLE.get(_key("conv_single_step", (a_slice_prev, W, b)), 0.0)


def conv_forward(A_prev, W, b, hparameters):
    for name, args in SEEN:  # zero_pad and conv_single_step are the grader's stand-ins here
        TABLE[_key(name, args)] = globals()[name](*args)
    return reference_conv_forward(A_prev, W, b, hparameters)
"""

REPLAYED = ("zero_pad_values", "conv_single_step_value")
ROUNDS = 5  # the example, then three hidden inputs one round each, then a round that passes them all


def _round(source, namespace, run_seed: int) -> dict[str, str]:
    """One round of grading of the replaying notebook's first cells: grade_id -> status."""
    local = judge.LocalJudge(ASSIGNMENT, source, namespace, run_seed=run_seed)
    statuses = {}
    for index, cell in enumerate(source.cells):
        if nbu.is_test(cell) and nbu.grade_id(cell) in REPLAYED + ("conv_forward_values",):
            statuses[nbu.grade_id(cell)], _ = local.run_test_cell(None, copy.deepcopy(cell), index)
    return statuses


def _replaying_namespace(source) -> dict:
    namespace = solution_namespace(ASSIGNMENT, notebook=source)
    namespace["reference_conv_forward"] = namespace["conv_forward"]
    exec(REPLAY, namespace)
    return namespace


def test_answers_recorded_in_one_round_earn_nothing_in_the_next():
    source = nbu.read_notebook(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    # With the same hidden inputs in every round (a fixed seed), the table answers them all after a few
    # rounds: each round passes the inputs recorded so far and records the next one its function gets
    # (a check stops at the first wrong answer), and conv_forward has the stand-ins answer them.
    namespace = _replaying_namespace(source)
    fixed = [_round(source, namespace, run_seed=7) for _ in range(ROUNDS)]
    assert fixed[-1] == {"zero_pad_values": "ok", "conv_single_step_value": "ok", "conv_forward_values": "ok"}
    # Drawn afresh for every round, the hidden inputs are new to the table each time: no round passes.
    namespace = _replaying_namespace(source)
    fresh = [_round(source, namespace, run_seed=seed) for seed in range(ROUNDS)]
    assert all(
        r == {"zero_pad_values": "error", "conv_single_step_value": "error", "conv_forward_values": "ok"} for r in fresh
    ), fresh
    assert len(namespace["TABLE"]) == 2 * ROUNDS  # it did record and answer every input it was given


def test_each_judge_draws_its_own_seed():
    source = nbu.read_notebook(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    seeds = {judge.LocalJudge(ASSIGNMENT, source, {}).run_seed for _ in range(3)}
    assert len(seeds) == 3


PRINT_INPUT = (
    "    ### START CODE HERE ### (≈ 1 line)\n",
    "    ### START CODE HERE ### (≈ 1 line)\n"
    '    print("zero_pad input", __import__("hashlib").sha256(X.tobytes()).hexdigest()[:16])\n',
)


@pytest.mark.slow
@pytest.mark.exhaustive  # two grading runs; the seeding is tested in the fast tier
def test_two_grading_runs_draw_different_hidden_inputs_and_give_the_same_points(tmp_path):
    """An honest notebook whose zero_pad prints a checksum of each input it gets, graded twice."""
    root = make_course_copy(tmp_path / "course", [ASSIGNMENT])
    nb = demo.filled_notebook(root, ASSIGNMENT)
    cell = next(c for c in nb.cells if nbu.grade_id(c) == "zero_pad")
    assert PRINT_INPUT[0] in cell.source
    cell.source = cell.source.replace(*PRINT_INPUT)
    write_submissions(root, ASSIGNMENT, {"honest": nb})
    runs = []
    for _ in range(2):  # two runs of `course grade --force`
        [result] = batch.grade_all(Settings.load(root), [batch.Job("honest", ASSIGNMENT)], force=True, progress=False)
        graded = nbu.read_notebook(root / "autograded" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
        test = next(c for c in graded.cells if nbu.grade_id(c) == "zero_pad_values")
        text = "".join("".join(o.get("text", "")) for o in test.outputs if o.get("output_type") == "stream")
        runs.append((result.score, re.findall(r"zero_pad input ([0-9a-f]{16})", text)))
    (score_1, inputs_1), (score_2, inputs_2) = runs
    assert score_1 == score_2 == result.max_score
    assert len(inputs_1) == len(inputs_2) == 4  # the published example, then three hidden inputs
    assert inputs_1[0] == inputs_2[0]  # the example is the course's, in every run
    assert not set(inputs_1[1:]) & set(inputs_2[1:])  # the hidden inputs are new in each run
