"""Every figure the notebooks draw, in one place."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np


def _as_image(x: np.ndarray) -> np.ndarray:
    """Scale any 2-D/3-D array to [0, 1] for imshow (one channel shown as grey)."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def show_padding(x: np.ndarray, x_pad: np.ndarray, channel: int = 0):
    """One example before and after zero padding, side by side."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.5))
    for ax, image, title in zip(axes, (x, x_pad), (f"x {x.shape[:2]}", f"x_pad {x_pad.shape[:2]}")):
        ax.imshow(image[:, :, channel], cmap="viridis", vmin=min(x.min(), 0), vmax=max(x.max(), 0))
        ax.set_title(title)
        ax.set_xticks(range(image.shape[1]))
        ax.set_yticks(range(image.shape[0]))
    fig.suptitle("Zero padding adds a border of zeros around each image")
    fig.tight_layout()
    return fig


def feature_maps(image: np.ndarray, feature: np.ndarray, filter_names: Sequence[str]):
    """An input image and the feature map each filter of a bank produces from it."""
    n = feature.shape[-1]
    fig, axes = plt.subplots(1, n + 1, figsize=(2.2 * (n + 1), 2.6))
    axes[0].imshow(_as_image(image))
    axes[0].set_title("input")
    for k in range(n):
        axes[k + 1].imshow(feature[:, :, k], cmap="gray")
        axes[k + 1].set_title(filter_names[k], fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.suptitle("One convolution layer: each filter answers a different question about the image")
    fig.tight_layout()
    return fig


def pooling_side_by_side(feature: np.ndarray, pooled_max: np.ndarray, pooled_avg: np.ndarray, f: int, stride: int):
    """A feature map, then its max-pooled and average-pooled versions."""
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
    panels = ((feature, f"feature map {feature.shape}"),
              (pooled_max, f"max pool f={f}, s={stride} {pooled_max.shape}"),
              (pooled_avg, f"average pool f={f}, s={stride} {pooled_avg.shape}"))
    for ax, (image, title) in zip(axes, panels):
        ax.imshow(image, cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle("Max pooling keeps the strongest response; average pooling smooths")
    fig.tight_layout()
    return fig


def cost_curve(costs: Sequence[float], learning_rate: float, every: int = 1, ax=None, label: str | None = None):
    """Cost per epoch (or per ``every`` epochs) of a training run."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(len(costs)) * every, costs, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax.set_title(f"Training cost (learning rate {learning_rate})")
    if label:
        ax.legend()
    return ax
