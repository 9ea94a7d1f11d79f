"""The one comparator for Keras models: layer by layer, against an expected summary.

``describe_model(model)`` turns a model into plain rows (JSON-friendly): one per layer with its
class, output shape, parameter count and the settings that matter (padding, strides, pool size,
activation, filters, kernel size, units, axis). References store those rows (produced from the
source solutions); ``compare_model`` checks the number of layers, then names the first layer
that differs and how.

Layers are compared by what they compute, not how they are spelled (:func:`canonical_rows`): a
``ReLU()`` layer, an ``Activation("relu")`` layer and ``activation="relu"`` inside a Conv2D or
Dense are the same step; so are ``Softmax()`` and ``activation="softmax"``. A setting is not
judged where it changes nothing on the model's input (:func:`_padding_changes_nothing`): a pooling
or convolution with ``padding="same"`` whose output has the shape that ``"valid"`` gives computes
exactly what ``"valid"`` computes, and passes for it (and the other way round).
"""

from __future__ import annotations

from typing import Any

from helpers.compare import CheckFailure
from helpers.i18n import message

_SETTINGS = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "pool_size",
    "units",
    "activation",
    "axis",
    "rate",
    "max_value",
    "negative_slope",
    "threshold",
)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__name__"):
        return value.__name__
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _output_shape(layer) -> list | None:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):
        return None
    return [None if d is None else int(d) for d in shape]


def describe_model(model) -> list[dict]:
    """Rows of the model's summary: name, class, output shape, params and key settings."""
    rows = []
    for layer in model.layers:
        config = layer.get_config()
        row = {
            "name": layer.name,
            "class": type(layer).__name__,
            "output_shape": _output_shape(layer),
            "params": int(layer.count_params()),
        }
        for key in _SETTINGS:
            if key in config:
                row[key] = _plain(config[key])
        rows.append(row)
    return rows


_ACTIVATION_LAYERS = {"ReLU": "relu", "Softmax": "softmax", "ELU": "elu", "LeakyReLU": "leaky_relu"}


def canonical_rows(rows: list[dict]) -> list[dict]:
    """The same rows with every activation as a layer of its own, spelled one way."""
    out = []
    for row in rows:
        row = dict(row)
        if (
            row.get("class") in _ACTIVATION_LAYERS
            and row.get("params", 0) == 0
            and not row.get("max_value")
            and not row.get("negative_slope")
            and not row.get("threshold")
        ):
            out.append(
                {
                    "name": row.get("name"),
                    "class": "Activation",
                    "output_shape": row.get("output_shape"),
                    "params": 0,
                    "activation": _ACTIVATION_LAYERS[row["class"]],
                }
            )
            continue
        activation = row.get("activation")
        if row.get("class") != "Activation" and activation not in (None, "linear"):
            row["activation"] = "linear"
            out.append(row)
            out.append(
                {
                    "name": row.get("name"),
                    "class": "Activation",
                    "output_shape": row.get("output_shape"),
                    "params": 0,
                    "activation": activation,
                }
            )
            continue
        out.append(row)
    return out


def compare_model(model, expected: list[dict], check_names: bool = False) -> None:
    """Raise :class:`CheckFailure` naming the first layer whose description differs from ``expected``."""
    got = canonical_rows(describe_model(model))
    expected = canonical_rows(expected)
    for index, (g, e) in enumerate(zip(got, expected)):
        keys = [k for k in e if k != "name" or check_names]
        for key in keys:
            if g.get(key) != e[key]:
                if key == "padding" and _padding_changes_nothing(g, e):
                    continue
                raise CheckFailure(
                    message(
                        "layer {index} ({name}, {kind}): {key} should be {expected!r}, got {got!r}. "
                        "Expected layer: {layer}.",
                        index=index,
                        name=g["name"],
                        kind=g["class"],
                        key=key,
                        expected=e[key],
                        got=g.get(key),
                        layer=_short(e),
                    )
                )
    if len(got) != len(expected):
        extra = got[len(expected)] if len(got) > len(expected) else expected[len(got)]
        fields = {"got": len(got), "expected": len(expected), "layer": _short(extra)}
        if len(got) > len(expected):
            raise CheckFailure(
                message("the model has {got} layers, expected {expected}; the first extra layer is {layer}.", **fields)
            )
        raise CheckFailure(
            message("the model has {got} layers, expected {expected}; the first missing layer is {layer}.", **fields)
        )
    total_got, total_expected = sum(r["params"] for r in got), sum(r["params"] for r in expected)
    if total_got != total_expected:
        raise CheckFailure(
            message("total parameters: expected {expected:,}, got {got:,}.", expected=total_expected, got=total_got)
        )


def _padding_changes_nothing(got: dict, expected: dict) -> bool:
    """True when the two rows differ only in "valid" against "same" padding, which computes the same here.

    Keras pads "same" by max((n_out - 1) * stride + window - n_in, 0) in all along an axis. "valid" gives
    n_out = floor((n_in - window) / stride) + 1, for which (n_out - 1) * stride + window <= n_in: so when
    "same" gives that output shape too, it pads nothing, and the layer computes what "valid" computes.
    (The rows' inputs are the same: the layers before were compared first.)
    """
    paddings = {got.get("padding"), expected.get("padding")}
    return paddings == {"valid", "same"} and got.get("output_shape") == expected.get("output_shape")


def _short(row: dict) -> str:
    parts = [
        f"{row.get('class')} {row.get('name', '')}".strip(),
        f"output {row.get('output_shape')}",
        f"{row.get('params')} params",
    ]
    return ", ".join(parts)


def print_summary(rows: list[dict], head: int | None = None, tail: int = 0) -> None:
    """A compact text summary of described rows (what a notebook prints next to ``model.summary()``).

    With ``head``, only the first ``head`` and the last ``tail`` rows, each numbered as in the whole
    model, and a line saying how many are left out between them.
    """
    shown = list(enumerate(rows))
    if head is not None and head + tail < len(rows):
        shown = shown[:head] + [(None, None)] + (shown[-tail:] if tail else [])
    for index, row in shown:
        if row is None:
            print(f"    ... {len(rows) - head - tail} more layers ...")
            continue
        settings = ", ".join(f"{k}={row[k]}" for k in _SETTINGS if k in row)
        print(f"{index:3d} {row['class']:<22} {str(row['output_shape']):<22} {row['params']:>10,}  {settings}")


def short_summary(model, head: int = 6, tail: int = 3, print_fn=print) -> None:
    """``model.summary()`` with only its first ``head`` and last ``tail`` layers, then the totals.

    Keras's own table, cut in the middle: a ResNet-50 fills ten screens, and what a learner compares
    is the first layers, the last ones and the parameter counts.
    """
    chunks: list[str] = []
    model.summary(print_fn=lambda text, line_break=True: chunks.append(text))
    lines = "\n".join(chunks).splitlines()
    try:
        start = next(k for k, line in enumerate(lines) if line.startswith("┡")) + 1
        end = next(k for k in range(len(lines) - 1, -1, -1) if lines[k].startswith("└"))
    except StopIteration:  # not the table layout this was written for: print it whole
        print_fn("\n".join(lines))
        return
    rows, separator = [[]], None
    for line in lines[start:end]:
        if line.startswith("├"):
            separator = line
            rows.append([])
        else:
            rows[-1].append(line)
    if len(rows) <= head + tail or separator is None:
        print_fn("\n".join(lines))
        return
    width = len(lines[start - 1])
    gap = f"... {len(rows) - head - tail} more layers ...".center(width - 2)
    kept = rows[:head] + [[f"│{gap}│"]] + rows[-tail:]
    body = [line for k, row in enumerate(kept) for line in ([separator] if k else []) + row]
    print_fn("\n".join(lines[:start] + body + lines[end:]))
