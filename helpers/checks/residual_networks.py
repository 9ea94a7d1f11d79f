"""Checks for ``residual_networks``.

``identity_block`` and ``convolutional_block`` are each wrapped in a small Keras model on a
fixed input. Before it is run, every layer with a course name (``res1a_branch2a``,
``bn1a_branch2a``, ...) gets fixed weights drawn from a generator seeded by the case and the
layer's name (Glorot-uniform kernels, non-trivial biases and batch-norm statistics), so the
outputs do not depend on the initialiser the student picked, nor on the order layers were
created, nor on how the block is written (``Add()`` or ``+``, ``Activation("relu")`` or
``ReLU()``): what is compared is what it computes, with ``training=False`` (moving statistics)
and ``training=True`` (batch statistics). Expected outputs: in a notebook the published example's
(``helpers/reference/residual_networks.npz``, from ``course refs``); under grading the source
solution's, computed in the grader for every case. The hidden cases' inputs and weights are drawn
afresh for each notebook graded (:func:`helpers.checks.hidden_seed`); their shapes and settings stay.
Output shapes for other sizes are checked in the ``training=False`` cells, beside the values, so a
block that gets the shape right without computing the block earns nothing. Float32 tolerances
(rtol 1e-4, atol 1e-4 of the answer's scale) absorb thread-count and oneDNN differences.

``ResNet50`` is compared layer by layer with :func:`helpers.model_compare.compare_model`, the two
blocks it calls replaced by stand-ins (the ``stand_in_blocks`` harness): one convolution with the
block's output shape, named after the arguments of the call (``identity_block_2b_f3_64_64_256``),
so the check sees the stem, the head and every block call, and a wrong block costs nothing there.
The stand-ins are not the blocks (nothing here builds a block). The parameter count, 23,600,006 in
all and 53,120 non-trainable, is that of the whole model: the stem and head as the student built
them, each block call counted as the reference block with those arguments (under grading; in a
notebook, as the student's own block).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from helpers import calls, messages
from helpers.checks import hidden_seed, reference_solutions, stored_reference
from helpers.compare import CheckFailure, assert_array_close, assert_equal
from helpers.i18n import message
from helpers.model_compare import compare_model, describe_model

__tracebackhide__ = True

ASSIGNMENT = "residual_networks"
REFERENCE_FILE = Path(__file__).resolve().parent.parent / "reference" / f"{ASSIGNMENT}.npz"

# Imports the solution cells rely on (the notebook's setup cell imports the same names).
PREAMBLE = """\
import numpy as np
import tensorflow as tf
import keras
from keras import layers
from keras.layers import (Input, Add, Dense, Activation, ZeroPadding2D, BatchNormalization, Flatten,
                          Conv2D, AveragePooling2D, MaxPooling2D, GlobalMaxPooling2D)
from keras.models import Model, load_model
from keras.initializers import random_uniform, glorot_uniform, constant, identity
"""

RTOL = 1e-4
ATOL_SCALE = 1e-4

# Layers that carry a course name; the others (Activation, Add, ...) get Keras's automatic names.
COURSE_NAME = re.compile(r"^(conv1|bn_conv1|fc\d+|res\d+[a-z]+_branch(1|2[abc])|bn\d+[a-z]+_branch(1|2[abc]))$")


# ---------------------------------------------------------------- example cases
# "visible" cases are the ones the notebook's test cells show; the others are used by hidden tests.

IDENTITY_CASES = {
    "visible": {"shape": (3, 4, 4, 3), "f": 2, "filters": [4, 4, 3], "stage": 1, "block": "a", "seed": 1},
    "hidden_f3": {"shape": (2, 5, 5, 6), "f": 3, "filters": [2, 5, 6], "stage": 7, "block": "c", "seed": 2},
    "hidden_wide": {"shape": (4, 3, 3, 8), "f": 1, "filters": [6, 3, 8], "stage": 3, "block": "b", "seed": 3},
}

CONVOLUTIONAL_CASES = {
    "visible": {"shape": (3, 4, 4, 6), "f": 2, "filters": [2, 4, 6], "stage": 1, "block": "a", "s": 2, "seed": 1},
    "hidden_s1": {"shape": (2, 5, 5, 3), "f": 3, "filters": [3, 3, 8], "stage": 2, "block": "a", "s": 1, "seed": 2},
    "hidden_s3": {"shape": (2, 7, 7, 4), "f": 3, "filters": [4, 2, 5], "stage": 4, "block": "a", "s": 3, "seed": 3},
}

# Output shapes only (symbolic inputs, no weights): (input shape without batch, f, filters, s)
IDENTITY_SHAPE_CASES = {
    "visible": [((8, 8, 16), 3, [4, 4, 16])],
    "hidden": [((5, 7, 3), 3, [2, 2, 3]), ((2, 2, 32), 1, [8, 16, 32]), ((9, 9, 5), 5, [3, 4, 5])],
}
CONVOLUTIONAL_SHAPE_CASES = {
    "visible": [((9, 9, 5), 3, [3, 3, 7], 2), ((6, 6, 4), 3, [4, 4, 12], 1)],
    "hidden": [((10, 10, 3), 3, [2, 2, 8], 3), ((7, 5, 2), 1, [3, 3, 6], 4), ((8, 8, 8), 5, [4, 4, 4], 2)],
}

RESNET_CASES = {
    "visible": {"input_shape": (64, 64, 3), "classes": 6},
    # Within the docstring's promise (sides multiples of 64); not square, and other classes.
    "hidden_128x64_10": {"input_shape": (128, 64, 3), "classes": 10},
}


def example_input(shape, seed: int = 1) -> np.ndarray:
    """The fixed float32 input of a case: standard normal values from a seeded generator."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ------------------------------------------------------------- fixed weights


def _layer_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def set_test_weights(model, seed: int = 1) -> list[str]:
    """Give every course-named Conv2D / BatchNormalization / Dense layer fixed weights; returns their names.

    Kernels are Glorot-uniform, biases and batch-norm parameters small and non-trivial (so that
    ``training=False``, which uses the moving statistics, really differs from ``training=True``).
    """
    import keras

    named = []
    for layer in model.layers:
        if not COURSE_NAME.match(layer.name):
            continue
        rng = _layer_rng(seed, layer.name)
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            kernel, bias = layer.kernel, layer.bias
            shape = tuple(kernel.shape)
            receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
            fan_in, fan_out = receptive * shape[-2], receptive * shape[-1]
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            kernel.assign(rng.uniform(-limit, limit, shape).astype(np.float32))
            if bias is not None:
                bias.assign(rng.normal(0.0, 0.1, tuple(bias.shape)).astype(np.float32))
        elif isinstance(layer, keras.layers.BatchNormalization):
            n = tuple(layer.gamma.shape)
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype(np.float32))
            layer.beta.assign(rng.normal(0.0, 0.2, n).astype(np.float32))
            layer.moving_mean.assign(rng.normal(0.0, 0.5, n).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype(np.float32))
        else:
            continue
        named.append(layer.name)
    return named


# ------------------------------------------------------------- building blocks into models


def _tensor_check(name: str, result) -> None:
    import keras

    if not isinstance(result, keras.KerasTensor):
        raise CheckFailure(
            message(
                "{name} must return the block's output tensor X (a KerasTensor), got {kind}.",
                name=name,
                kind=type(result).__name__,
            )
        )


def block_model(function: Callable, input_shape, f, filters, stage, block, s=None):
    """A Keras model wrapping one call of ``function`` on an Input of ``input_shape`` (no batch axis)."""
    import keras

    X_input = keras.Input(shape=tuple(input_shape))
    kwargs = {"stage": stage, "block": block}
    if s is not None:
        kwargs["s"] = s
    out = calls.call(function, X_input, f, list(filters), **kwargs).value(
        _case_label(
            function.__name__,
            {
                "shape": (None, *input_shape),
                "f": f,
                "filters": list(filters),
                "stage": stage,
                "block": block,
                **({"s": s} if s is not None else {}),
            },
        )
    )
    _tensor_check(function.__name__, out)
    return keras.Model(inputs=X_input, outputs=out)


def _block_outputs(function: Callable, case: dict) -> dict[str, np.ndarray]:
    model = block_model(
        function, case["shape"][1:], case["f"], case["filters"], case["stage"], case["block"], case.get("s")
    )
    names = set_test_weights(model, case["seed"])
    X = example_input(case["shape"], case["seed"])
    return {
        "names": names,
        "inference": np.asarray(model(X, training=False)),
        "training": np.asarray(model(X, training=True)),
    }


def _input_of_shape(shape) -> str:
    """'X of shape (3, 4, 4, 3)', as the checks' call descriptions name an input (in the reader's language)."""
    return message("{label} of shape {shape}", label="X", shape=tuple(shape))


def _case_label(function_name: str, case: dict) -> str:
    s = f", s={case['s']}" if "s" in case else ""
    return (
        f"{function_name}({_input_of_shape(case['shape'])}, f={case['f']}, filters={case['filters']}, "
        f"stage={case['stage']}, block={case['block']!r}{s})"
    )


def _block_case(kind: str, case_key: str) -> dict:
    """A block case; a hidden one with the seed of its input and weights drawn for this grading run."""
    case = dict((IDENTITY_CASES if kind == "identity_block" else CONVOLUTIONAL_CASES)[case_key])
    if case_key != "visible":
        case["seed"] = hidden_seed(case["seed"])
    return case


def _check_block_values(function: Callable, kind: str, case_key: str, training: bool) -> None:
    case = _block_case(kind, case_key)
    label = _case_label(kind, case)
    got = _block_outputs(function, case)
    expected_all = _expected_block(kind, case_key, case)
    expected_names = expected_all["names"]
    missing = [n for n in expected_names if n not in got["names"]]
    if missing:
        has = got["names"] or message("none of them")
        raise CheckFailure(
            message(
                "{label}: no layer named {missing!r}. Expected the course's layer names {expected}; "
                "the block has {has}.",
                label=label,
                missing=missing[0],
                expected=expected_names,
                has=has,
            )
        )
    extra = [n for n in got["names"] if n not in expected_names]
    if extra:
        raise CheckFailure(
            message(
                "{label}: unexpected layer {extra!r}; expected exactly {expected}.",
                label=label,
                extra=extra[0],
                expected=expected_names,
            )
        )
    key = "training" if training else "inference"
    expected = expected_all[key]
    scale = max(float(np.max(np.abs(expected))), 1.0)
    assert_array_close(
        message("{label}, output with training={training}", label=label, training=training),
        got[key],
        expected,
        atol=ATOL_SCALE * scale,
        rtol=RTOL,
    )


def _check_shapes(function: Callable, kind: str, which: str) -> None:
    cases = (IDENTITY_SHAPE_CASES if kind == "identity_block" else CONVOLUTIONAL_SHAPE_CASES)[which]
    expected_all = _expected_shapes(kind, which)
    for case, expected in zip(cases, expected_all):
        shape, f, filters = case[:3]
        s = case[3] if len(case) > 3 else None
        model = block_model(function, shape, f, filters, stage=9, block="z", s=s)
        got = [None if d is None else int(d) for d in model.output.shape]
        label = f"{kind}({_input_of_shape((None, *shape))}, f={f}, filters={filters}" + (f", s={s})" if s else ")")
        assert_equal(message("output shape of {label}", label=label), got, expected)


# ------------------------------------------------------------- stand-in blocks for ResNet50

STAND_IN = re.compile(r"^(identity|convolutional)_block_\w+$")


def _stand_in_name(kind: str, f, filters, stage, block, s=None) -> str:
    return (
        f"{kind}_block_{stage}{block}_f{f}_"
        + "_".join(str(int(n)) for n in filters)
        + (f"_s{s}" if s is not None else "")
    )


def stand_in_identity_block(X, f, filters, stage, block):
    """Not the block: a 1x1 convolution to filters[2] channels, named after the call's arguments."""
    import keras

    return keras.layers.Conv2D(int(filters[2]), 1, name=_stand_in_name("identity", f, filters, stage, block))(X)


def stand_in_convolutional_block(X, f, filters, stage, block, s=2):
    """Not the block: a 1x1 convolution with stride s to filters[2] channels, named after the call's arguments."""
    import keras

    return keras.layers.Conv2D(
        int(filters[2]), 1, strides=s, name=_stand_in_name("convolutional", f, filters, stage, block, s)
    )(X)


stand_in_identity_block.__name__ = "identity_block"
stand_in_convolutional_block.__name__ = "convolutional_block"
STAND_INS = {"identity_block": stand_in_identity_block, "convolutional_block": stand_in_convolutional_block}
HARNESSES = {"stand_in_blocks": lambda: {"replace": dict(STAND_INS)}}


def build_resnet_with_stand_ins(ResNet50: Callable, input_shape, classes):
    """``ResNet50`` built with the stand-in blocks in place of the ones it calls by name."""
    import keras

    model = calls.call(
        ResNet50, input_shape=tuple(input_shape), classes=classes, harness="residual_networks:stand_in_blocks"
    ).value(f"ResNet50(input_shape={tuple(input_shape)}, classes={classes})")
    if not isinstance(model, keras.Model):
        raise CheckFailure(message("ResNet50 must return a keras Model, got {kind}.", kind=type(model).__name__))
    for layer in model.layers:  # axis=-1 and axis=3 are the same channels axis
        if layer.__class__.__name__ == "BatchNormalization" and isinstance(layer.axis, int) and layer.axis < 0:
            layer.axis += len(layer.output.shape)
    return model


def parameter_counts(model) -> dict[str, int]:
    return parameter_counts_of(model.weights, model.non_trainable_weights)


# --------------------------------------------------------------- references


def reference(key: str) -> np.ndarray:
    return stored_reference(ASSIGNMENT, key)


def _resnet_key(case_key: str) -> str:
    return f"ResNet50/{case_key}"


def _memo(found, key, compute):
    memo = found.__dict__.setdefault("memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _expected_block(kind: str, case_key: str, case: dict) -> dict:
    """Names and outputs of the reference block on a case: the solution's under grading, else published."""
    found = reference_solutions(ASSIGNMENT)
    if found is None:
        return {
            "names": json.loads(str(reference(f"{kind}/{case_key}/names"))),
            "inference": reference(f"{kind}/{case_key}/inference"),
            "training": reference(f"{kind}/{case_key}/training"),
        }
    memo = found.__dict__.setdefault("memo", {})
    key = (kind, case_key)
    if memo.get(key, (None,))[0] != case["seed"]:  # a hidden case's seed changes with each notebook graded
        memo[key] = (case["seed"], _block_outputs(found.function(kind), case))
    out = memo[key][1]
    return {"names": list(out["names"]), "inference": out["inference"].copy(), "training": out["training"].copy()}


def _shapes_of(function, kind: str, which: str) -> list:
    cases = (IDENTITY_SHAPE_CASES if kind == "identity_block" else CONVOLUTIONAL_SHAPE_CASES)[which]
    shapes = []
    for case in cases:
        model = block_model(
            function, case[0], case[1], case[2], stage=9, block="z", s=case[3] if len(case) > 3 else None
        )
        shapes.append([None if d is None else int(d) for d in model.output.shape])
    return shapes


def _expected_shapes(kind: str, which: str) -> list:
    found = reference_solutions(ASSIGNMENT)
    if found is None:
        return json.loads(str(reference(f"{kind}/shapes/{which}")))
    return list(_memo(found, (kind, "shapes", which), lambda: _shapes_of(found.function(kind), kind, which)))


BLOCK_CALL = re.compile(r"^(identity|convolutional)_block_(\d+)([a-z]+)_f(\d+)_(\d+)_(\d+)_(\d+)(?:_s(\d+))?$")


def whole_model_parameters(
    model, block_of: Callable[[str], Callable], cache: dict | None = None, reference: bool = True
) -> dict[str, int]:
    """Parameters of a ResNet50 built with stand-in blocks, each block call counted as ``block_of(kind)``'s block
    (the reference blocks, or with ``reference=False`` the student's own, whose errors are the student's)."""
    cache = {} if cache is None else cache
    total = non_trainable = 0
    for layer in model.layers:
        match = BLOCK_CALL.match(layer.name)
        if match is None:
            counts = parameter_counts_of(layer.weights, layer.non_trainable_weights)
        else:
            kind, _, _, f, f1, f2, f3, s = match.groups()
            channels = int(layer.input.shape[-1])
            key = (f"{kind}_block", int(f), (int(f1), int(f2), int(f3)), None if s is None else int(s), channels)
            if key not in cache:
                try:
                    block = block_model(
                        block_of(key[0]), (16, 16, channels), key[1], list(key[2]), stage=9, block="z", s=key[3]
                    )
                except Exception as exc:  # noqa: BLE001 - the call itself is impossible: say so, in the call's terms
                    if not reference:
                        raise
                    raise CheckFailure(
                        message(
                            "ResNet50 calls {call} on a tensor of {channels} channels, which that block cannot "
                            "take (an identity block keeps its input's channels: filters[2] must equal them).",
                            call=_block_call(layer.name),
                            channels=channels,
                        )
                    ) from exc
                cache[key] = parameter_counts(block)
            counts = cache[key]
        total += counts["total"]
        non_trainable += counts["non_trainable"]
    return {"total": total, "non_trainable": non_trainable, "trainable": total - non_trainable}


def parameter_counts_of(weights, non_trainable_weights) -> dict[str, int]:
    total = int(sum(np.prod(w.shape) for w in weights))
    frozen = int(sum(np.prod(w.shape) for w in non_trainable_weights))
    return {"total": total, "non_trainable": frozen, "trainable": total - frozen}


def _expected_resnet(case_key: str) -> dict:
    """Rows and parameter counts of the reference ResNet50: the solution's under grading, else published."""
    found = reference_solutions(ASSIGNMENT)
    if found is None:
        return {
            "rows": json.loads(str(reference(f"{_resnet_key(case_key)}/rows"))),
            "params": json.loads(str(reference(f"{_resnet_key(case_key)}/params"))),
        }
    key = _resnet_key(case_key)
    stored = found.stored()  # the visible case's description is among what `course refs` stores: made once
    if f"{key}/rows" in stored:
        return {"rows": json.loads(str(stored[f"{key}/rows"])), "params": json.loads(str(stored[f"{key}/params"]))}
    return _memo(found, ("ResNet50", case_key), lambda: _resnet_description(found.namespace, RESNET_CASES[case_key]))


def _resnet_description(namespace: dict, case: dict) -> dict:
    model = build_resnet_with_stand_ins(namespace["ResNet50"], case["input_shape"], case["classes"])
    return {"rows": describe_model(model), "params": whole_model_parameters(model, namespace.__getitem__)}


def compute_references(solutions: dict[str, Callable]) -> dict[str, np.ndarray]:
    """Run the reference solutions on the published examples; the result is what the npz stores."""
    import keras

    keras.backend.clear_session()  # fresh name counters: automatic layer names do not depend on history
    keras.utils.set_random_seed(0)
    refs: dict[str, object] = {}
    for kind, cases in (("identity_block", IDENTITY_CASES), ("convolutional_block", CONVOLUTIONAL_CASES)):
        out = _block_outputs(solutions[kind], cases["visible"])
        refs[f"{kind}/visible/names"] = json.dumps(out["names"])
        refs[f"{kind}/visible/inference"] = out["inference"]
        refs[f"{kind}/visible/training"] = out["training"]
        refs[f"{kind}/shapes/visible"] = json.dumps(_shapes_of(solutions[kind], kind, "visible"))
    description = _resnet_description(solutions, RESNET_CASES["visible"])
    refs[f"{_resnet_key('visible')}/rows"] = json.dumps(description["rows"])
    refs[f"{_resnet_key('visible')}/params"] = json.dumps(description["params"])
    keras.backend.clear_session()
    return {key: np.asarray(value) for key, value in refs.items()}


# ------------------------------------------------------------ visible checks


def _passed():
    print(messages.all_passed())


def identity_block(identity_block, training: bool = False, case: str = "visible"):
    """Values of the block on the fixed input, with BN in inference (training=False) or training mode."""
    _check_block_values(identity_block, "identity_block", case, training)
    _passed()


def convolutional_block(convolutional_block, training: bool = False, case: str = "visible"):
    _check_block_values(convolutional_block, "convolutional_block", case, training)
    _passed()


def identity_block_shapes(identity_block, which: str = "visible"):
    _check_shapes(identity_block, "identity_block", which)
    _passed()


def convolutional_block_shapes(convolutional_block, which: str = "visible"):
    _check_shapes(convolutional_block, "convolutional_block", which)
    _passed()


def _block_call(name: str) -> str:
    """'identity_block_2b_f3_64_64_256' -> 'identity_block(f=3, filters=[64, 64, 256], stage=2, block='b')'."""
    match = re.match(r"^(identity|convolutional)_block_(\d+)([a-z]+)_f(\d+)_(\d+)_(\d+)_(\d+)(?:_s(\d+))?$", name)
    if not match:
        return name
    kind, stage, block, f, f1, f2, f3, s = match.groups()
    return f"{kind}_block(f={f}, filters=[{f1}, {f2}, {f3}], stage={stage}, block={block!r}" + (
        f", s={s})" if s else ")"
    )


def ResNet50_layers(ResNet50, case: str = "visible"):
    """Layer by layer against the reference summary, the blocks standing in as one layer per call."""
    spec = RESNET_CASES[case]
    model = build_resnet_with_stand_ins(ResNet50, spec["input_shape"], spec["classes"])
    expected = _expected_resnet(case)["rows"]
    got = describe_model(model)
    for index, (g, e) in enumerate(zip(got, expected)):
        if STAND_IN.match(e["name"]) and g["name"] != e["name"]:
            if STAND_IN.match(g["name"]):
                found = message("it calls {call}", call=_block_call(g["name"]))
            else:
                found = message("it has a {kind} layer", kind=g["class"])
            raise CheckFailure(
                message(
                    "layer {index}: ResNet50 should call {call} here; {found}.",
                    index=index,
                    call=_block_call(e["name"]),
                    found=found,
                )
            )
    compare_model(model, expected)
    for index, (g, e) in enumerate(zip(got, expected)):
        if COURSE_NAME.match(e["name"]) and g["name"] != e["name"]:
            raise CheckFailure(
                message(
                    "layer {index} ({kind}): should be named {expected!r}, got {got!r}.",
                    index=index,
                    kind=g["class"],
                    expected=e["name"],
                    got=g["name"],
                )
            )
    _passed()


def ResNet50_parameters(ResNet50, case: str = "visible"):
    """The whole model: 23,600,006 parameters, 53,120 non-trainable, each block call counted as the
    reference block (under grading; in a notebook, as your own block)."""
    import inspect

    spec = RESNET_CASES[case]
    model = build_resnet_with_stand_ins(ResNet50, spec["input_shape"], spec["classes"])
    found = reference_solutions(ASSIGNMENT)
    if found is not None:
        block_of = found.function
        # The reference blocks' counts depend only on each call's arguments: built once per grading process.
        cache = _memo(found, ("block parameters",), dict)
    else:
        own = getattr(inspect.unwrap(ResNet50), "__globals__", {})
        block_of, cache = own.__getitem__, None
    got = whole_model_parameters(model, block_of, cache, reference=found is not None)
    expected = _expected_resnet(case)["params"]
    for key in ("total", "non_trainable"):
        if got[key] != expected[key]:
            fields = {
                "call": f"ResNet50(input_shape={spec['input_shape']}, classes={spec['classes']})",
                "expected": expected[key],
                "got": got[key],
            }
            if key == "total":
                raise CheckFailure(message("{call}: total parameters should be {expected:,}, got {got:,}.", **fields))
            raise CheckFailure(
                message("{call}: non-trainable parameters should be {expected:,}, got {got:,}.", **fields)
            )
    _passed()
