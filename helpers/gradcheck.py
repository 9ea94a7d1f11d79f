"""Numeric gradient checking by central differences.

To check a backward pass, pick a random upstream gradient G and the scalar loss
L = sum(forward(x) * G). Then dL/dx is exactly what the backward pass returns
for dOut = G, and it can be estimated one entry at a time by
(L(x + eps) - L(x - eps)) / (2 eps).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numeric_gradient(loss: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """dloss/dx by central differences; ``x`` is perturbed in place and restored."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat_x, flat_g = x.reshape(-1), grad.reshape(-1)
    for k in range(flat_x.size):
        original = flat_x[k]
        flat_x[k] = original + eps
        plus = loss()
        flat_x[k] = original - eps
        minus = loss()
        flat_x[k] = original
        flat_g[k] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||); 0 when both are zero."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if denominator == 0 else float(np.linalg.norm(analytic - numeric) / denominator)


def check_gradients(
    name: str,
    forward: Callable[..., np.ndarray],
    inputs: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    upstream: np.ndarray,
    threshold: float = 1e-7,
    verbose: bool = True,
) -> dict[str, float]:
    """Compare ``analytic[k]`` with the numeric gradient of sum(forward(**inputs) * upstream) w.r.t. ``inputs[k]``.

    Raises :class:`helpers.compare.CheckFailure` naming the first input whose relative error
    exceeds ``threshold``; returns the errors.
    """
    from helpers.compare import CheckFailure

    inputs = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}

    def loss() -> float:
        return float(np.sum(forward(**inputs) * upstream))

    errors = {}
    for key, grad in analytic.items():
        grad = np.asarray(grad)
        if grad.shape != inputs[key].shape:
            raise CheckFailure(f"{name}: gradient d{key} has shape {grad.shape}, expected {inputs[key].shape}.")
        errors[key] = relative_error(grad, numeric_gradient(loss, inputs[key]))
        if verbose:
            print(f"{name}: relative error of d{key} = {errors[key]:.2e}")
        if not errors[key] < threshold:
            raise CheckFailure(
                f"{name}: gradient d{key} disagrees with the numeric gradient "
                f"(relative error {errors[key]:.2e}, must be below {threshold:.0e})."
            )
    return errors
