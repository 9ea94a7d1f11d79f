"""Every figure the notebooks draw, in one place."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

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
    panels = (
        (feature, f"feature map {feature.shape}"),
        (pooled_max, f"max pool f={f}, s={stride} {pooled_max.shape}"),
        (pooled_avg, f"average pool f={f}, s={stride} {pooled_avg.shape}"),
    )
    for ax, (image, title) in zip(axes, panels):
        ax.imshow(image, cmap="gray")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle("Max pooling keeps the strongest response; average pooling smooths")
    fig.tight_layout()
    return fig


def _series(ax, values: Sequence[float], start: int = 0, every: int = 1, **style):
    """One curve per epoch. With few points each is marked: a run of one epoch is one point, which a
    line alone does not draw (the axes would stay empty)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size <= 20:
        style.setdefault("marker", "o")
    ax.plot(start + np.arange(values.size) * every, values, **style)


def cost_curve(costs: Sequence[float], learning_rate: float, every: int = 1, ax=None, label: str | None = None):
    """Cost per epoch (or per ``every`` epochs) of a training run."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    _series(ax, costs, every=every, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost")
    ax.set_title(f"Training cost (learning rate {learning_rate})")
    if label:
        ax.legend()
    return ax


def image_grid(images: np.ndarray, titles: Sequence[str], suptitle: str, columns: int = 6, title_colors=None):
    """Images (uint8 or floats in [0, 1]) in a grid, one title under each."""
    count = len(images)
    rows = max(1, -(-count // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.7 * columns, 1.9 * rows + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < count:
            ax.imshow(np.asarray(images[k]))
            color = "black" if title_colors is None else title_colors[k]
            ax.set_title(titles[k], fontsize=9, color=color)
    fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, class_names: Sequence, title: str, ax=None):
    """Counts of (true class, predicted class); the diagonal holds the correct predictions."""
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    n = len(class_names)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.2))
    ax.imshow(counts, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(counts[i, j]),
                ha="center",
                va="center",
                color="white" if counts[i, j] > counts.max() / 2 else "black",
                fontsize=9,
            )
    ax.set_xticks(range(n), [str(c) for c in class_names])
    ax.set_yticks(range(n), [str(c) for c in class_names])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = np.trace(counts) / max(1, counts.sum())
    ax.set_title(f"{title}\naccuracy {accuracy:.3f} ({np.trace(counts)}/{counts.sum()})", fontsize=10)
    return counts


def misclassified_grid(images: np.ndarray, y_true, y_pred, title: str, max_images: int = 12, columns: int = 6):
    """The images whose predicted class differs from the true one, titled 'true y -> predicted'."""
    y_true, y_pred = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    wrong = np.flatnonzero(y_true != y_pred)
    shown = wrong[:max_images]
    header = f"{title}: {wrong.size} of {y_true.size} misclassified" + (
        f" (first {shown.size} shown)" if wrong.size > shown.size else ""
    )
    if shown.size == 0:
        fig, ax = plt.subplots(figsize=(5, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        fig.suptitle(header)
        return fig
    titles = [f"true {y_true[k]} -> {y_pred[k]}" for k in shown]
    return image_grid(images[shown], titles, header, columns=min(columns, shown.size))


def history_comparison(loop_costs: Sequence[float], keras_history: dict, learning_rate: float):
    """Per-epoch training cost of the hand-written loop next to Keras ``fit``'s loss and accuracy."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    _series(left, loop_costs, label="tf.function + GradientTape loop")
    _series(left, keras_history["loss"], label="Keras fit", linestyle="--")
    left.set_xlabel("epoch")
    left.set_ylabel("training cost (cross-entropy)")
    left.set_title(f"Training cost per epoch (Adam, learning rate {learning_rate})", fontsize=10)
    left.legend()
    for key, label in (("accuracy", "train"), ("val_accuracy", "test")):
        if key in keras_history:
            _series(right, keras_history[key], label=label)
    right.set_xlabel("epoch")
    right.set_ylabel("accuracy")
    right.set_ylim(0, 1.02)
    right.set_title("Keras model: accuracy per epoch", fontsize=10)
    right.legend()
    fig.tight_layout()
    return fig


def gradient_norms_per_layer(norms: dict, ax=None):
    """Gradient norm of each hidden layer's weights (log scale), one line per network (plain, residual...)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.5))
    for label, values in norms.items():
        values = np.asarray(values, dtype=np.float64)
        ax.semilogy(np.arange(1, values.size + 1), values, marker="o", markersize=3, label=label)
    ax.set_xlabel("layer (1 = nearest the input)")
    ax.set_ylabel("||dLoss / dW||")
    ax.set_title("Gradient reaching each layer")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return ax


UNTRAINED_NOTE = "Untrained network (no pre-trained weights): run `course pretrain` for the real predictions."


def predictions(
    images: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[int] | None = None,
    title: str | None = None,
    pretrained: bool = True,
):
    """Each image above a bar chart of its class probabilities; the predicted class is highlighted.

    A prediction that differs from its label is titled in red. With ``pretrained=False`` (the model
    did not get its trained weights) the figure says so at the top and nothing is marked wrong: the
    network's guesses are not the student's mistakes.
    """
    images, probabilities = np.asarray(images), np.asarray(probabilities)
    n, classes = probabilities.shape
    fig, axes = plt.subplots(
        2, n, figsize=(max(2.2 * n, 3.0), 4.4), squeeze=False, gridspec_kw={"height_ratios": [1.3, 1]}
    )
    for k in range(n):
        predicted = int(np.argmax(probabilities[k]))
        axes[0, k].imshow(images[k])
        axes[0, k].axis("off")
        heading = f"{'predicted' if pretrained else 'guess'} {predicted}"
        if labels is not None:
            heading += f"\n(true {int(labels[k])})"
        wrong = pretrained and labels is not None and int(labels[k]) != predicted
        axes[0, k].set_title(heading, fontsize=9, color="red" if wrong else "black")
        colors = ["tab:blue"] * classes
        colors[predicted] = "tab:orange"
        axes[1, k].bar(np.arange(classes), probabilities[k], color=colors)
        axes[1, k].set_ylim(0, 1)
        axes[1, k].set_xticks(range(classes))
        if k:
            axes[1, k].set_yticklabels([])
    axes[1, 0].set_ylabel("probability")
    heading = [title] if title else []
    if not pretrained:
        heading.append(UNTRAINED_NOTE)
    if heading:
        columns = max(28, int(fig.get_figwidth() * 12))  # characters of 10 pt text that fit the figure's width
        text = "\n".join(textwrap.fill(line, columns) for part in heading for line in part.splitlines())
        fig.suptitle(text, fontsize=10, color="black" if pretrained else "darkred")
    fig.tight_layout()
    return fig


def training_curves(history: dict, title: str = "Training history"):
    """Loss and accuracy per epoch (train and validation) from a Keras ``History.history`` dict."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, label in ((metric, "train"), (f"val_{metric}", "validation")):
            if history.get(key):
                _series(ax, history[key], start=1, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return fig
