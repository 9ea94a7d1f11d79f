"""Convolution and pooling without Python loops over positions.

These are the fast versions a library would use: every output position is
computed at once from a strided *view* of the padded input (no copy), so the
work happens inside numpy. They use the same shapes and ``hparameters`` keys as
the course's loop versions: the yardstick of ``conv_speed.py``. They live here, not
in ``helpers``, because ``helpers`` is what students import and holds no answer.

Shapes (CS231n style):
    A_prev -- (m, n_H_prev, n_W_prev, n_C_prev)
    W      -- (f, f, n_C_prev, n_C)
    b      -- (1, 1, 1, n_C)
    Z, A   -- (m, n_H, n_W, n_C), n_H = (n_H_prev + 2*pad - f) // stride + 1
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def output_size(n_prev: int, f: int, stride: int, pad: int = 0) -> int:
    return (n_prev + 2 * pad - f) // stride + 1


def _windows(X: np.ndarray, f: int, stride: int) -> np.ndarray:
    """View of every f x f window: (m, n_H, n_W, n_C, f, f), read-only, no copy."""
    return sliding_window_view(X, (f, f), axis=(1, 2))[:, ::stride, ::stride]


def pad_spatial(X: np.ndarray, pad: int) -> np.ndarray:
    return np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def conv_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, hparameters: dict) -> np.ndarray:
    """Z of shape (m, n_H, n_W, n_C): all windows times all filters in one tensordot."""
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    windows = _windows(pad_spatial(A_prev, pad), f, stride)  # (m, n_H, n_W, C, f, f)
    # Contract window (C, f_h, f_w) with filter (f_h, f_w, C).
    Z = np.tensordot(windows, W, axes=([4, 5, 3], [0, 1, 2]))
    return Z + np.reshape(b, (1, 1, 1, -1))


def pool_forward(A_prev: np.ndarray, hparameters: dict, mode: str = "max") -> np.ndarray:
    """A of shape (m, n_H, n_W, n_C): max or mean over each f x f window, channel by channel."""
    f, stride = hparameters["f"], hparameters["stride"]
    windows = _windows(A_prev, f, stride)
    if mode == "max":
        return windows.max(axis=(4, 5))
    if mode == "average":
        return windows.mean(axis=(4, 5))
    raise ValueError(f'mode must be "max" or "average", got {mode!r}')


def pool_backward(dA: np.ndarray, A_prev: np.ndarray, hparameters: dict, mode: str = "max") -> np.ndarray:
    """dA_prev of A_prev's shape: each window's gradient routed back and summed where windows overlap.

    The loop runs over the f*f offsets inside a window (a handful), never over positions.
    """
    f, stride = hparameters["f"], hparameters["stride"]
    m, n_H, n_W, n_C = dA.shape
    dA_prev = np.zeros_like(A_prev, dtype=np.result_type(dA, A_prev, np.float64))
    if mode == "max":
        windows = _windows(A_prev, f, stride).reshape(m, n_H, n_W, n_C, f * f)
        # Ties share the gradient with every maximal entry, as a mask x == max(x) does.
        mask = windows == windows.max(axis=4, keepdims=True)
        share = mask * dA[..., None]
    elif mode == "average":
        share = np.broadcast_to(dA[..., None] / (f * f), (m, n_H, n_W, n_C, f * f))
    else:
        raise ValueError(f'mode must be "max" or "average", got {mode!r}')
    share = share.reshape(m, n_H, n_W, n_C, f, f)
    h_end, w_end = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for i in range(f):
        for j in range(f):
            dA_prev[:, i : i + h_end : stride, j : j + w_end : stride, :] += share[..., i, j]
    return dA_prev


def conv_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, hparameters: dict):
    """(dA_prev, dW, db) for :func:`conv_forward`, again looping only over the f*f filter offsets."""
    f, stride, pad = W.shape[0], hparameters["stride"], hparameters["pad"]
    m, n_H, n_W, n_C = dZ.shape
    A_pad = pad_spatial(A_prev, pad)
    windows = _windows(A_pad, f, stride)  # (m, n_H, n_W, C, f, f)
    dW = np.tensordot(windows, dZ, axes=([0, 1, 2], [0, 1, 2]))  # (C, f, f, n_C)
    dW = dW.transpose(1, 2, 0, 3)
    db = dZ.sum(axis=(0, 1, 2)).reshape(1, 1, 1, n_C)
    dA_pad = np.zeros_like(A_pad, dtype=np.float64)
    h_end, w_end = stride * (n_H - 1) + 1, stride * (n_W - 1) + 1
    for i in range(f):
        for j in range(f):
            dA_pad[:, i : i + h_end : stride, j : j + w_end : stride, :] += dZ @ W[i, j].T
    dA_prev = dA_pad[:, pad : pad + A_prev.shape[1], pad : pad + A_prev.shape[2], :]
    return dA_prev, dW, db
