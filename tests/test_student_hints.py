"""What a student meets before the grade: hints that are right under the pinned libraries, the imports the
original course gave, and behaviour judged where the notebook asks for no form.

* the prose before ``conv_single_step`` makes claims about numpy's ``float()``: each is run here;
* a ``TypeError`` "only 0-dimensional arrays can be converted to Python scalars" in any graded function
  is explained (``helpers.calls.known_cause``), in ``conv_forward`` as in ``conv_single_step``;
* students' Keras code written as in the original course (``layers.Conv2D``, ``random_uniform``) runs;
* a setting that changes nothing on the inputs a docstring promises (``padding="same"`` of a pooling
  whose output shape is the same) costs nothing;
* a test cell run before the set-up cell says to run the set-up cell first;
* every input the grader gives a graded function (visible and hidden tests, diagnosis probes) lies within
  what the function's docstring promises (``PROMISES``).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest

from helpers.instructor import diagnosis, judge
from helpers.instructor import notebooks as nbu
from helpers.paths import course_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = course_root(Path(__file__).resolve().parent)


def _source(assignment: str):
    return nbu.read_notebook(ROOT / "source" / assignment / f"{assignment}.ipynb")


def _judge(assignment: str, edits: list[dict], judge_class=judge.LocalJudge, functions=None):
    """(grade_id, status, reason, mistake) of every test cell (of ``functions`` only, if given), the source
    answers with ``edits`` applied."""
    source = _source(assignment)
    namespace = diagnosis.edited_namespace(assignment, source, edits)
    local = judge_class(assignment, source, namespace, diagnosis.load_catalogue(ROOT, assignment))
    notebook = copy.deepcopy(source)
    if functions is not None:
        notebook.cells = [
            c
            for c in notebook.cells
            if not nbu.is_test(c) or any(nbu.grade_id(c).startswith(f"{f}_") for f in functions)
        ]
    return local, local.judge_notebook(notebook)


def _edit(cell: str, old: str, new: str) -> dict:
    return {"name": f"edit of {cell}", "cell": cell, "replace": [[old, new]]}


# ------------------------------------------------------------------ 1. numpy's float() and the hint


def _prose_before(assignment: str, grade_id: str) -> str:
    cells = _source(assignment).cells
    index = next(k for k, c in enumerate(cells) if nbu.grade_id(c) == grade_id)
    return cells[index - 1].source


def test_the_hint_before_conv_single_step_says_what_numpy_does():
    """Every spelling the prose says fails does fail, with the message it quotes; every one it offers works."""
    from helpers.compare import assert_scalar_close

    prose = " ".join(_prose_before("cnn_step_by_step", "conv_single_step").split())
    b = np.random.default_rng(0).standard_normal((1, 1, 1))
    Z = np.sum(np.ones((2, 2, 1)))
    refused = {
        "float(b)": lambda: float(b),
        "float(b.flatten())": lambda: float(b.flatten()),
        "float(Z + b)": lambda: float(Z + b),
    }
    for spelling, convert in refused.items():
        assert f"`{spelling}`" in prose
        with pytest.raises(TypeError) as raised:
            convert()
        assert str(raised.value) in prose, (spelling, str(raised.value))
    offered = {"b.item()": lambda: b.item(), "b[0, 0, 0]": lambda: b[0, 0, 0], "np.squeeze(b)": lambda: np.squeeze(b)}
    for spelling, take in offered.items():
        assert f"`{spelling}`" in prose
        assert_scalar_close(spelling, Z + take(), float(Z + b.sum()))
    assert "`Z = Z + b.item()`" in prose


def test_float_of_an_array_is_explained_in_every_function_that_raises_it():
    """conv_forward written with float(b[:, :, :, c]) gets the cause, as conv_single_step with float(Z + b)."""
    for cell, old, new in [
        (
            "conv_forward",
            "conv_single_step(a_slice_prev, W[:, :, :, c], b[:, :, :, c])",
            "conv_single_step(a_slice_prev, W[:, :, :, c], float(b[:, :, :, c]))",
        ),
        ("conv_single_step", "Z = Z + b.item()", "Z = float(Z + b)"),
    ]:
        _, rows = _judge("cnn_step_by_step", [_edit(cell, old, new)])
        failed = {gid: reason for gid, status, reason, _ in rows if status != "ok"}
        test_id = {"conv_forward": "conv_forward_values", "conv_single_step": "conv_single_step_value"}[cell]
        assert list(failed) == [test_id], failed
        assert "only 0-dimensional arrays can be converted to Python scalars" in failed[test_id]
        assert "Why: float() or int() was given a numpy array that still has dimensions" in failed[test_id]
        assert "b.item()" in failed[test_id]


def test_known_cause_is_given_for_numpy_1_and_2_wordings_only():
    from helpers import calls

    for message in (
        "only 0-dimensional arrays can be converted to Python scalars",
        "only length-1 arrays can be converted to Python scalars",
        "only size-1 arrays can be converted to Python scalars",
    ):
        assert "b.item()" in str(calls.student_error("f", {"ename": "TypeError", "message": message}))
    assert "Why:" not in str(calls.student_error("f", {"ename": "TypeError", "message": "unsupported operand"}))
    assert "Why:" not in str(
        calls.student_error(
            "f", {"ename": "ValueError", "message": "only 0-dimensional arrays can be converted to Python scalars"}
        )
    )


# ------------------------------------------------------------------ judging every test cell, calls recorded


class RecordingJudge(judge.LocalJudge):
    """The in-process judge, keeping every call of a graded function that the test cells make."""

    def _record(self, call) -> None:
        super()._record(call)
        self.__dict__.setdefault("every_call", []).append(call)


@pytest.fixture(scope="module")
def judged():
    """{assignment: (judge, rows)}: cnn_step_by_step's source answers; residual_networks' written as the
    original course's students wrote them (``layers.Conv2D``, ``random_uniform``, ``padding="same"``);
    cnn_application's source answers, the test cells of the functions in ``PROMISES`` only (its others train)."""
    edits = {
        "cnn_step_by_step": [],
        "residual_networks": [
            _variant("residual_networks", "identity_block_layers_module_random_uniform"),
            _variant("residual_networks", "ResNet50_avg_pool_padding_same"),
        ],
        "cnn_application": [],
    }
    only = {"cnn_application": set(PROMISES["cnn_application"])}
    return {
        assignment: _judge(assignment, found, RecordingJudge, only.get(assignment))
        for assignment, found in edits.items()
    }


def _variant(assignment: str, name: str) -> dict:
    from helpers.instructor import catalogue

    return next(v for v in catalogue.load_variants(ROOT, assignment, "correct")["variants"] if v["name"] == name)


# ------------------------------------------------------------------ 2. the original course's imports

# What the original course's residual_networks notebook imported and a student's function may use.
ORIGINAL_NAMES = {
    "layers",
    "Input",
    "Add",
    "Dense",
    "Activation",
    "ZeroPadding2D",
    "BatchNormalization",
    "Flatten",
    "Conv2D",
    "AveragePooling2D",
    "MaxPooling2D",
    "GlobalMaxPooling2D",
    "Model",
    "load_model",
    "glorot_uniform",
    "random_uniform",
    "constant",
    "identity",
}


def _imported_names(code: str) -> set[str]:
    import ast

    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("%"))
    return {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(ast.parse(code))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }


def test_the_set_up_cell_and_the_solutions_import_what_the_original_course_did():
    from helpers.checks import residual_networks

    for notebook in ("source", "release"):
        cells = nbu.read_notebook(ROOT / notebook / "residual_networks" / "residual_networks.ipynb").cells
        setup = next(c for c in cells if nbu.grade_id(c) == "setup" or c.get("id") == "setup")
        assert ORIGINAL_NAMES <= _imported_names(setup.source), ORIGINAL_NAMES - _imported_names(setup.source)
    assert ORIGINAL_NAMES <= _imported_names(residual_networks.PREAMBLE)
    namespace: dict = {}
    exec(residual_networks.PREAMBLE, namespace)  # every one of them imports under the pinned Keras
    assert ORIGINAL_NAMES <= set(namespace)


def test_the_notebook_says_keras_3_needs_pool_size():
    prose = " ".join(
        next(c.source for c in _source("residual_networks").cells if "### Exercise 3 - `ResNet50`" in c.source).split()
    )
    assert '`AveragePooling2D(pool_size=(2, 2), name="avg_pool")`' in prose
    assert "Keras 3 requires `pool_size`" in prose
    import keras

    with pytest.raises(TypeError, match="pool_size"):
        keras.layers.AveragePooling2D()


# ------------------------------------------------------------------ 3. behaviour, not settings


def test_code_as_the_original_course_wrote_it_earns_every_point(judged):
    """layers.Conv2D and random_uniform in identity_block, padding="same" in ResNet50's average pooling."""
    _, rows = judged["residual_networks"]
    assert [(gid, status, reason) for gid, status, reason, _ in rows if status != "ok"] == []


def test_a_padding_that_changes_the_output_shape_still_fails():
    """On sides that are not multiples of 64 (96: stage 5 is 3x3), "same" pooling is another model."""
    from helpers.checks import residual_networks as check
    from helpers.compare import CheckFailure
    from helpers.model_compare import compare_model, describe_model

    namespace = diagnosis.edited_namespace(
        "residual_networks",
        _source("residual_networks"),
        [_variant("residual_networks", "ResNet50_avg_pool_padding_same")],
    )
    reference = diagnosis.edited_namespace("residual_networks", _source("residual_networks"), [])
    same = check.build_resnet_with_stand_ins(namespace["ResNet50"], (96, 96, 3), 6)
    valid = check.build_resnet_with_stand_ins(reference["ResNet50"], (96, 96, 3), 6)
    shape_named = r"avg_pool, AveragePooling2D\): output_shape should be \[None, 1, 1, 2048\]"
    with pytest.raises(CheckFailure, match=shape_named):
        compare_model(same, describe_model(valid))
    compare_model(
        check.build_resnet_with_stand_ins(namespace["ResNet50"], (64, 128, 3), 6),
        describe_model(check.build_resnet_with_stand_ins(reference["ResNet50"], (64, 128, 3), 6)),
    )


# ------------------------------------------------------------------ the audit: hidden inputs within the promise


def _shape(value) -> tuple:
    return tuple(None if d is None else int(d) for d in value.shape)


def _int(value, low: int = 0) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low


def _conv_output(A_prev, W, hparameters) -> tuple:
    (m, n_H, n_W, _), f = A_prev.shape, W.shape[0]
    s, p = hparameters["stride"], hparameters["pad"]
    return (m, (n_H + 2 * p - f) // s + 1, (n_W + 2 * p - f) // s + 1, W.shape[-1])


def _pool_output(A_prev, hparameters) -> tuple:
    (m, n_H, n_W, n_C), f, s = A_prev.shape, hparameters["f"], hparameters["stride"]
    return (m, (n_H - f) // s + 1, (n_W - f) // s + 1, n_C)


def _conv_inputs(A_prev, W, b, hparameters) -> bool:
    """conv_forward's docstring: A_prev (m, n_H_prev, n_W_prev, n_C_prev), W (f, f, n_C_prev, n_C),
    b (1, 1, 1, n_C), hparameters with keys "stride" and "pad"; the window fits the padded input."""
    return (
        A_prev.ndim == 4
        and W.ndim == 4
        and W.shape[0] == W.shape[1]
        and W.shape[2] == A_prev.shape[3]
        and b.shape == (1, 1, 1, W.shape[3])
        and set(hparameters) == {"stride", "pad"}
        and _int(hparameters["stride"], 1)
        and _int(hparameters["pad"])
        and min(A_prev.shape[1:3]) + 2 * hparameters["pad"] >= W.shape[0]
    )


def _pool_inputs(A_prev, hparameters, mode="max") -> bool:
    """pool_forward's docstring: A_prev (m, n_H_prev, n_W_prev, n_C_prev), hparameters with keys "f" and
    "stride", mode "max" or "average"; the window fits the input."""
    return (
        A_prev.ndim == 4
        and set(hparameters) == {"f", "stride"}
        and _int(hparameters["f"], 1)
        and _int(hparameters["stride"], 1)
        and hparameters["f"] <= min(A_prev.shape[1:3])
        and mode in ("max", "average")
    )


def _block_inputs(X, f, filters, stage, block, s=None, identity=False) -> bool:
    """The blocks' docstrings: X (m, n_H_prev, n_W_prev, n_C_prev), f an integer, filters 3 integers
    (F3 == n_C_prev for the identity block), stage an integer, block a string, s an integer."""
    shape = _shape(X)
    return (
        len(shape) == 4
        and _int(f, 1)
        and len(filters) == 3
        and all(_int(n, 1) for n in filters)
        and (not identity or filters[2] == shape[3])
        and _int(stage)
        and isinstance(block, str)
        and (s is None or _int(s, 1))
    )


# Per graded function: what its docstring promises of its inputs, as a predicate on one call's arguments.
PROMISES = {
    "cnn_step_by_step": {
        "zero_pad": lambda X, pad: X.ndim == 4 and _int(pad),
        "conv_single_step": lambda a_slice_prev, W, b: (
            a_slice_prev.ndim == 3
            and W.shape == a_slice_prev.shape
            and W.shape[0] == W.shape[1]
            and b.shape == (1, 1, 1)
        ),
        "conv_forward": _conv_inputs,
        "pool_forward": _pool_inputs,
        "conv_backward": lambda dZ, cache: (
            _conv_inputs(*cache) and dZ.shape == _conv_output(cache[0], cache[1], cache[3])
        ),
        "create_mask_from_window": lambda x: x.ndim == 2,
        "distribute_value": lambda dz, shape: np.ndim(dz) == 0 and len(shape) == 2 and all(_int(n, 1) for n in shape),
        "pool_backward": lambda dA, cache, mode="max": (
            _pool_inputs(cache[0], cache[1], mode) and dA.shape == _pool_output(cache[0], cache[1])
        ),
    },
    "cnn_application": {
        "forward_propagation": lambda X, parameters: (
            _shape(X)[1:] == (64, 64, 3)
            and {k: _shape(v) for k, v in parameters.items()}
            == {"W1": (4, 4, 3, 8), "W2": (2, 2, 8, 16), "W3": (64, 6), "b3": (6,)}
        ),
        "compute_cost": lambda Z3, Y: (
            len(_shape(Z3)) == 2 and _shape(Z3) == _shape(Y) and _shape(Y)[1] == 6 and _one_hot(np.asarray(Y))
        ),
    },
    "residual_networks": {
        "identity_block": lambda X, f, filters, stage, block: _block_inputs(X, f, filters, stage, block, identity=True),
        "convolutional_block": lambda X, f, filters, stage, block, s=2: _block_inputs(X, f, filters, stage, block, s),
        "ResNet50": lambda input_shape=(64, 64, 3), classes=6: (
            len(input_shape) == 3
            and all(_int(n, 1) for n in input_shape)
            and input_shape[0] % 64 == 0
            and input_shape[1] % 64 == 0
            and _int(classes, 1)
        ),
    },
}


def _one_hot(Y: np.ndarray) -> bool:
    """Each row a one-hot label: one 1, the rest 0 (compute_cost's docstring: "the one-hot labels")."""
    return bool(np.all((Y == 0) | (Y == 1)) and np.all(Y.sum(axis=1) == 1))


def _outside(assignment: str, name: str, args: tuple, kwargs: dict) -> bool:
    try:
        return not PROMISES[assignment][name](*args, **kwargs)
    except (TypeError, AttributeError, KeyError, IndexError):  # not even the promised kinds of value
        return True


@pytest.mark.parametrize("assignment", sorted(PROMISES))
def test_every_input_the_grader_gives_lies_within_the_docstrings_promise(judged, assignment):
    """Visible and hidden tests (every call the test cells make) and the diagnosis's probes."""
    from helpers.solutions import check_module

    local, rows = judged[assignment]
    calls_made = [(c.name, tuple(c.args), dict(c.kwargs)) for c in local.every_call]
    for name, make in getattr(check_module(assignment), "DIAGNOSIS_PROBES", {}).items():
        calls_made += [(name, tuple(args), dict(kwargs)) for args, kwargs in make()]
    assert {name for name, _, _ in calls_made} == set(PROMISES[assignment])  # every graded function is audited
    outside = [
        (name, [_shape(a) if hasattr(a, "shape") else a for a in args], kwargs)
        for name, args, kwargs in calls_made
        if _outside(assignment, name, args, kwargs)
    ]
    assert outside == []


def test_the_audit_catches_an_input_outside_the_promise():
    assert _outside("residual_networks", "ResNet50", (), {"input_shape": (96, 96, 3), "classes": 10})
    assert _outside("cnn_step_by_step", "create_mask_from_window", (np.zeros((2, 4, 1)),), {})
    assert _outside("cnn_step_by_step", "conv_single_step", (np.zeros((2, 2, 1)),) * 2 + (1.5,), {})
    assert not _outside("residual_networks", "ResNet50", (), {"input_shape": (128, 64, 3), "classes": 10})
    Z3, soft = np.zeros((3, 6), np.float32), np.full((3, 6), 1 / 6, np.float32)  # soft labels: not one-hot
    assert _outside("cnn_application", "compute_cost", (Z3, soft), {})
    assert not _outside("cnn_application", "compute_cost", (Z3, np.eye(6, dtype=np.float32)[[0, 5, 2]]), {})


# ------------------------------------------------------------------ 3. a test cell run before the set-up cell


@pytest.mark.parametrize("assignment", ["cnn_step_by_step", "cnn_application", "residual_networks"])
def test_a_test_cell_run_before_the_set_up_cell_says_to_run_the_set_up_cell_first(assignment):
    """Every graded test cell of the release opens with the guard; in a kernel where the set-up cell never ran
    it stops there with that sentence, not with NameError: name 'check' is not defined."""
    from helpers.messages import SETUP_GUARD

    release = nbu.read_notebook(ROOT / "release" / assignment / f"{assignment}.ipynb")
    tests = [c for c in release.cells if nbu.is_test(c)]
    assert tests
    for cell in tests:
        assert cell.source.splitlines()[1] == SETUP_GUARD, nbu.grade_id(cell)
        with pytest.raises(AssertionError, match=r"^Run the set-up cell first \(the first code cell\), then this cell"):
            exec(compile(cell.source, f"<{nbu.grade_id(cell)}>", "exec"), {})
