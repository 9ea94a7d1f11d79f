"""Reference outputs: current with the source solutions, and equal to the course's published values."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.instructor import references


@pytest.mark.parametrize("assignment", references.assignments_with_references())
def test_stored_references_match_a_fresh_run_of_the_source(assignment):
    path = references.REFERENCE_DIR / f"{assignment}.npz"
    assert path.is_file(), f"{path} is missing: run `course refs {assignment}`"
    fresh = references.compute(assignment)
    with np.load(path) as stored:
        assert sorted(stored.files) == sorted(fresh), f"run `course refs {assignment}`"
        for key in stored.files:
            if stored[key].dtype.kind in "fc":
                np.testing.assert_allclose(
                    stored[key],
                    fresh[key],
                    rtol=1e-5,
                    atol=1e-6,
                    strict=True,
                    err_msg=f"{key} is stale: run `course refs {assignment}`",
                )
            else:
                np.testing.assert_array_equal(
                    stored[key], fresh[key], strict=True, err_msg=f"{key} is stale: run `course refs {assignment}`"
                )


# The course's published "Expected output" values for cnn_step_by_step (quoted by the issue).
def test_step_by_step_references_reproduce_the_course():
    with np.load(references.REFERENCE_DIR / "cnn_step_by_step.npz") as ref:
        x_pad = ref["zero_pad/x_pad"]
        assert x_pad.shape == (4, 7, 7, 2)
        np.testing.assert_allclose(
            x_pad[1, 3, 2:5],
            [[0.90085595, -0.68372786], [-0.12289023, -0.93576943], [-0.26788808, 0.53035547]],
            atol=1e-8,
        )
        assert not x_pad[1, 1].any()
        assert float(ref["conv_single_step/Z"]) == pytest.approx(-6.99908945068, abs=1e-10)
        Z = ref["conv_forward/Z"]
        assert float(np.mean(Z)) == pytest.approx(0.0489952035289, abs=1e-12)
        np.testing.assert_allclose(
            Z[3, 2, 1],
            [-0.61490741, -6.7439236, -2.55153897, 1.75698377, 3.56208902, 0.53036437, 5.18531798, 8.75898442],
            atol=1e-8,
        )
        assert float(np.mean(ref["conv_backward/dA_prev"])) == pytest.approx(1.45243777754, abs=1e-10)
        assert float(np.mean(ref["conv_backward/dW"])) == pytest.approx(1.72699145831, abs=1e-10)
        assert float(np.mean(ref["conv_backward/db"])) == pytest.approx(7.83923256462, abs=1e-10)
        np.testing.assert_allclose(
            ref["pool_forward/max/A"].ravel(),
            [1.74481176, 0.86540763, 1.13376944, 1.13162939, 1.51981682, 2.18557541],
            atol=1e-8,
        )
        np.testing.assert_allclose(
            ref["pool_forward/average/A"].ravel(),
            [0.02105773, -0.20328806, -0.40389855, -0.22154621, 0.51716526, 0.48155844],
            atol=1e-8,
        )
        np.testing.assert_array_equal(
            ref["create_mask_from_window/mask"], [[True, False, False], [False, False, False]]
        )
        np.testing.assert_array_equal(ref["distribute_value/a"], np.full((2, 2), 0.5))
        np.testing.assert_allclose(
            ref["pool_backward/max/dA_prev"][1, 1], [[0, 0], [5.05844394, -1.68282702], [0, 0]], atol=1e-8
        )
        np.testing.assert_allclose(
            ref["pool_backward/average/dA_prev"][1, 1],
            [[0.08485462, 0.2787552], [1.26461098, -0.25749373], [1.17975636, -0.53624893]],
            atol=1e-8,
        )


def test_mean_of_dA_in_the_pool_backward_example():
    from helpers.checks import cnn_step_by_step as check

    assert float(np.mean(check.case_pool_backward()["dA"])) == pytest.approx(0.145713902729, abs=1e-12)


# The hidden tests compare gradients with the reference solution's; those must be right numerically.
@pytest.mark.parametrize(
    "shape,f,n_C,stride,pad", [((2, 5, 4, 2), 3, 3, 1, 1), ((1, 7, 5, 3), 3, 2, 2, 0), ((2, 4, 6, 1), 2, 2, 3, 2)]
)
def test_reference_conv_backward_passes_numeric_gradient_checks(shape, f, n_C, stride, pad):
    from helpers.gradcheck import check_gradients

    solutions = references.solution_namespace("cnn_step_by_step")
    rng = np.random.default_rng(16)
    A, W, b = (
        rng.standard_normal(shape),
        rng.standard_normal((f, f, shape[-1], n_C)),
        rng.standard_normal((1, 1, 1, n_C)),
    )
    hp = {"stride": stride, "pad": pad}
    Z, cache = solutions["conv_forward"](A, W, b, hp)
    dZ = rng.standard_normal(Z.shape)
    grads = dict(zip(("A_prev", "W", "b"), solutions["conv_backward"](dZ, cache)))
    check_gradients(
        "reference conv_backward",
        lambda A_prev, W, b: solutions["conv_forward"](A_prev, W, b, hp)[0],
        {"A_prev": A, "W": W, "b": b},
        grads,
        dZ,
        verbose=False,
    )


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize("shape,f,stride", [((2, 5, 4, 2), 2, 1), ((1, 7, 6, 3), 3, 2), ((2, 4, 4, 1), 2, 2)])
def test_reference_pool_backward_passes_numeric_gradient_checks(shape, f, stride, mode):
    from helpers.gradcheck import check_gradients

    solutions = references.solution_namespace("cnn_step_by_step")
    A = np.random.default_rng(18).standard_normal(shape)
    hp = {"f": f, "stride": stride}
    out, cache = solutions["pool_forward"](A, hp, mode=mode)
    dA = np.random.default_rng(0).standard_normal(out.shape)
    check_gradients(
        "reference pool_backward",
        lambda A_prev: solutions["pool_forward"](A_prev, hp, mode=mode)[0],
        {"A_prev": A},
        {"A_prev": solutions["pool_backward"](dA, cache, mode=mode)},
        dA,
        verbose=False,
    )


# The stand-ins that replace a function's dependencies while it is checked are not answers.
def test_cnn_application_stand_ins_fail_the_checks_they_stand_in_for():
    from helpers.calls import FunctionError
    from helpers.checks import cnn_application as check
    from helpers.compare import CheckFailure

    stand_ins = check._model_harness()["replace"]
    for name in ("create_placeholders", "initialize_parameters", "forward_propagation", "compute_cost"):
        with pytest.raises((CheckFailure, FunctionError)):  # the stand-in network has parameters W and b only
            getattr(check, name)(stand_ins[name])


def test_resnet_stand_in_blocks_fail_the_block_checks():
    from helpers.checks import residual_networks as check
    from helpers.compare import CheckFailure

    for name in ("identity_block", "convolutional_block"):
        with pytest.raises(CheckFailure, match="no layer named"):
            getattr(check, name)(check.STAND_INS[name])


@pytest.mark.parametrize("assignment", references.assignments_with_references())
def test_the_package_holds_the_published_examples_only(assignment):
    """No stored value answers a hidden test: every key is one of the notebook's visible examples."""
    with np.load(references.REFERENCE_DIR / f"{assignment}.npz") as stored:
        keys = stored.files
    assert not [k for k in keys if "hidden" in k or k.startswith("table/")], keys
    assert len(keys) <= 16
