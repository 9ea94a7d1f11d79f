"""The diagnosis: generic detectors (table-driven, no kernel), the catalogue's form, the held-out shares.

That every catalogue entry is diagnosed as itself is asserted where the entries are graded end to end
(``conftest.assert_variant_loses_exactly``, ``test_grading.test_each_variant_fails_exactly_its_declared_cells``).
"""

from __future__ import annotations

import json
import sys

import nbformat
import numpy as np
import pytest

from conftest import ROOT
from helpers import calls, messages
from helpers.instructor import diagnosis

sys.path.insert(0, str(ROOT / "benchmarks"))

rng = np.random.default_rng(0)
E = rng.standard_normal((2, 5, 6, 3))


@pytest.mark.parametrize(
    "got, words",
    [
        (np.transpose(E, (0, 2, 1, 3)), "axes are swapped"),
        (2 * E, "2 times the expected"),
        (-E, "wrong sign"),
        (E + 0.5, "constant offset"),
        (np.zeros_like(E), "every value is 0"),
        (np.where(np.arange(6)[None, None, :, None] == 5, 0.0, E), "values are 0 where values were expected"),
        (np.where(np.arange(6)[None, None, :, None] == 0, E + 1, E), "only values on the border"),
        (np.concatenate([E[:, 1:], E[:, -1:]], axis=1), "shifted by 1 along the height"),
        (np.where(np.arange(2)[:, None, None, None] == 1, E * 3 + 1, E), "only examples [1] of the batch"),
        (np.where(np.arange(5)[None, :, None, None] == 2, np.nan, E), "NaN or infinite"),
        (np.where(np.arange(2)[:, None, None, None] == 1, 0.0, E), "examples [1] of the batch (of 2) are all 0"),
        (np.concatenate([E[:, 2:], E[:, -2:]], axis=1), "shifted by 2 along the height"),
    ],
)
def test_array_detectors(got, words):
    assert words in messages.pattern(got, E)


def test_a_ring_two_wide_is_named_as_the_border_where_padding_goes():
    big = rng.standard_normal((1, 7, 8, 2))
    depth = np.minimum.outer(np.minimum(np.arange(7), 6 - np.arange(7)), np.minimum(np.arange(8), 7 - np.arange(8)))
    got = np.where((depth < 2)[None, :, :, None], big + 1, big)
    assert "outer ring 2 wide" in messages.pattern(got, big)


def test_a_mask_marking_everything():
    x = rng.standard_normal((3, 3))
    assert "every entry is True" in messages.pattern(np.ones((3, 3), bool), x == x.max())


def test_nothing_is_said_about_an_error_without_a_clear_shape():
    assert messages.pattern(E + rng.standard_normal(E.shape), E) == ""


def _call(hparameters, error=None):
    outcome = calls.Outcome(name="conv_backward", args=(E, hparameters), error=error)
    return diagnosis.Call("conv_backward", (E, hparameters), {}, None, outcome)


def test_a_crash_on_one_input_names_what_is_different_about_it():
    recorded = [
        _call({"stride": 1, "pad": 1}),
        _call({"stride": 2, "pad": 2}),
        _call({"stride": 1, "pad": 0}, {"ename": "ValueError", "message": "could not broadcast"}),
    ]
    text = diagnosis.describe_error_shape("conv_backward", recorded, None, ["dZ", "cache"])
    assert "raises ValueError only for inputs where pad=0." in text and "2 earlier inputs" in text


def _pool_call(shape, f, stride):
    """pool_forward swapping height and width: it raises IndexError exactly on inputs that are not square."""
    A_prev = np.zeros(shape)
    error = {"ename": "IndexError", "message": "index 4 is out of bounds"} if shape[1] != shape[2] else None
    outcome = calls.Outcome(name="pool_forward", args=(A_prev, {"f": f, "stride": stride}), error=error)
    return diagnosis.Call("pool_forward", (A_prev, {"f": f, "stride": stride}), {}, None, outcome)


def test_a_crash_is_put_down_to_the_property_the_failing_inputs_share_not_to_their_settings():
    # The example (square, f=3, stride=2) ran; the first hidden input (5x7, f=2, stride=1) raised. Alone they
    # cannot tell f=2, stride=1 from the non-square input; the probes can.
    recorded = [_pool_call((2, 4, 4, 3), 3, 2), _pool_call((2, 5, 7, 3), 2, 1)]
    probed = [_pool_call((2, 5, 7, 2), 2, 1), _pool_call((1, 7, 6, 2), 3, 2), _pool_call((1, 6, 6, 1), 2, 3)]
    text = diagnosis.describe_error_shape("pool_forward", recorded, None, ["A_prev", "hparameters"], probed=probed)
    assert "raises IndexError only for inputs where A_prev is not square (height 5, width 7)." in text
    assert "f=2" not in text and "stride=1" not in text
    # The diagnosis asks the student's function for its probes when the last call raised, and says the same.
    asked = []

    def probe(args, kwargs):
        asked.append(args)
        return _pool_call(args[0].shape, **args[1]).outcome

    found = diagnosis.Diagnoser(
        "cnn_step_by_step", nbformat.v4.new_notebook(), [], lambda name: ["A_prev", "hparameters"]
    ).diagnose("pool_forward", recorded, None, probe, [(c.args, {}) for c in probed])
    assert len(asked) == 3 and found.mistake == "" and found.text == "What the error looks like: " + text


def test_outcomes_compare_within_tolerance_and_by_structure():
    same = diagnosis.same_value
    assert same((E, {"pad": 1}), (E + 1e-9, {"pad": 1}))
    assert not same((E, {"pad": 1}), (E, {"pad": 2}))
    assert not same(E, E[..., :2])
    assert not same(np.array([True, False]), np.array([1, 0]))


@pytest.mark.parametrize("assignment", ["cnn_step_by_step", "cnn_application", "residual_networks"])
def test_every_catalogue_entry_explains_itself_without_the_answer(assignment):
    entries = diagnosis.load_catalogue(ROOT, assignment)
    assert len(entries) >= {"cnn_step_by_step": 40}.get(assignment, 15)
    for entry in entries:
        assert entry.get("explanation") and entry.get("hint") and entry.get("fails"), entry["name"]
        for _, new in entry.get("replace", []):  # a hint never quotes the wrong code's fix
            assert not new.strip() or new.strip() not in entry["hint"], entry["name"]


def test_the_heldout_set_is_not_the_catalogue():
    heldout = json.loads((ROOT / "tests" / "heldout_mistakes.json").read_text())["submissions"]
    assert len(heldout) >= 30
    catalogue = {a: diagnosis.load_catalogue(ROOT, a) for a in {h["assignment"] for h in heldout}}
    for item in heldout:
        names = {e["name"] for e in catalogue[item["assignment"]]}
        assert item["name"] not in names and (item["mistake"] is None or item["mistake"] in names), item["name"]
        edits = [(e["cell"], tuple(map(tuple, e.get("replace", [])))) for e in item["edits"]]
        assert all(
            (e["cell"], tuple(map(tuple, e.get("replace", [])))) not in edits for e in catalogue[item["assignment"]]
        ), item["name"]


@pytest.mark.slow
@pytest.mark.exhaustive  # a benchmark of the diagnosis; test_catalogue.py names every catalogue entry in the fast tier
def test_heldout_shares_meet_the_goals():
    """benchmarks/diagnosis_quality.py: the right mistake for >= 70%, a wrong one for <= 5%."""
    import diagnosis_quality

    report = diagnosis_quality.measure(verbose=False)
    total = report["all"]
    print({k: (v["right"], v["wrong"], v["total"]) for k, v in report.items() if k != "all"})
    assert total["total"] >= 30
    assert total["right"] / total["total"] >= diagnosis_quality.GOAL_RIGHT, report
    assert total["wrong"] / total["total"] <= diagnosis_quality.GOAL_WRONG, report
