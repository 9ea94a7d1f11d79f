"""Naming the likely mistake when a test cell fails, in the grader's process only.

While a test cell is judged, the judge records every call of a graded function it sends to the
kernel: the grader's own inputs and the outcome that came back (:class:`Call`). When the cell
fails, :meth:`Diagnoser.diagnose` looks at the calls of the function the cell tests:

1. **Fingerprint against the catalogue.** Each entry of ``source/<id>/wrong_variants.json`` is an
   edit of the source solution. Here, in the grader, the entry's function is built from the source
   with that edit applied (:func:`helpers.instructor.catalogue.apply_variant`, as the demo class's
   notebooks are built) and run on copies of the very inputs the student's function was given. An entry is named
   only when its outcome equals the student's (within tolerance) on **every** recorded call, the
   calls that passed included, and no other entry with a different name does too: a confident wrong
   name is worse than none.
2. **Generic detectors.** Where no entry matches, the last call's output is compared with the
   reference output to describe the error's shape: axes in the wrong order, a constant factor,
   offset or sign, a shift by one position, only the border or the interior wrong, zeros or NaN
   where values were expected, or an error raised on one input only (naming what is different
   about that input, e.g. ``pad=0``).

Nothing of this reaches the kernel: the catalogue, its code and the reference outputs stay here.
The result is data (:class:`Diagnosis`): the entry's name goes into ``grade.json`` (``CellScore.
mistake``) so that the class report counts names, and its text is appended to the cell's message.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers import calls, messages, wire
from helpers.i18n import gettext
from helpers.instructor import catalogue
from helpers.instructor import notebooks as nbu
from helpers.model_compare import canonical_rows, describe_model
from helpers.solutions import solution_namespace

TIME_LIMIT_S = 120.0  # the catalogue of one function, on one failed cell: past this, no name
RTOL, ATOL_SCALE = 1e-4, 1e-5  # "the same output": looser than the checks (other summation orders, float32)


@dataclass
class Call:
    """One call of a graded function during a test cell: the grader's inputs and what came back."""

    name: str
    args: tuple
    kwargs: dict
    harness: str | None
    outcome: calls.Outcome


@dataclass
class Diagnosis:
    mistake: str = ""  # the catalogue entry's name, when exactly one matched
    text: str = ""  # what the student reads, appended to the cell's message

    def __bool__(self) -> bool:
        return bool(self.text)


@dataclass
class _Entry:
    name: str
    function: str
    explanation: str
    hint: str
    code: str = field(repr=False, default="")


# ------------------------------------------------------------------ the catalogue, built in the grader


def load_catalogue(root: Path, assignment: str) -> list[dict]:
    """The wrong variants (with ``explanation`` and ``hint``) of ``source/<assignment>/wrong_variants.json``."""
    return list(catalogue.load_variants(root, assignment, "wrong")["variants"])


def edited_namespace(assignment: str, source_nb, edits: list[dict]) -> dict:
    """The source solutions with ``edits`` (entries in the catalogue's format) applied, exec'd here."""
    nb = copy.deepcopy(source_nb)
    for edit in edits:
        for cell in nb.cells:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == edit["cell"]:
                cell.source = catalogue.apply_variant(assignment, catalogue.strip_markers(cell.source), edit)
    return solution_namespace(assignment, notebook=nb)


class Diagnoser:
    """The catalogue of one assignment, its functions built lazily from the source solutions."""

    def __init__(self, assignment: str, source_nb, entries: list[dict], parameters=None, output_names=None):
        self.assignment = assignment
        self.source_nb = source_nb
        self.answers = {nbu.grade_id(c): c.source for c in nbu.solution_cells(source_nb)}
        self.entries = [
            _Entry(e["name"], e["cell"], e.get("explanation") or e.get("description", ""), e.get("hint", ""))
            for e in entries
        ]
        self._variants = {e["name"]: e for e in entries}
        self._namespaces: dict[str, dict] = {}
        self.parameters = parameters or (lambda name: None)
        self.output_names = output_names or {}
        self.source_key = hashlib.sha256(
            json.dumps([self.answers, entries], sort_keys=True, default=str).encode()
        ).hexdigest()

    def function_of(self, entry: _Entry):
        """The entry's wrong function, exec'd here from the source solutions with its edit applied."""
        if entry.name not in self._namespaces:
            self._namespaces[entry.name] = edited_namespace(
                self.assignment, self.source_nb, [self._variants[entry.name]]
            )
        return self._namespaces[entry.name][entry.function]

    # -------------------------------------------------------------- the one entry point

    def diagnose(self, function: str, recorded: list[Call], reference, probe=None, probes=()) -> Diagnosis:
        """What went wrong in the calls of ``function`` (the last one failed), or an empty Diagnosis.

        ``reference(name, *args, **kwargs)`` is the source solution's output. ``probes`` are more inputs
        of ``function`` (``(args, kwargs)`` pairs) and ``probe(args, kwargs)`` the student's outcome on one:
        where entries match the cell's calls, each probe is one more input they must all match on.
        """
        recorded = [c for c in recorded if c.name == function]
        if not recorded:
            return Diagnosis()
        last = recorded[-1]
        if last.outcome.error and (
            last.outcome.error.get("undefined_function") or last.outcome.error.get("ename") == "NotImplementedError"
        ):
            return Diagnosis()
        matched = self.matching_entries(function, recorded)
        for args, kwargs in probes if matched and probe is not None else ():
            call = Call(function, args, kwargs, None, probe(args, kwargs))
            matched = self.matching_entries(function, [call], matched)
            if not matched:
                break
        names = {e.name for e in matched}
        if len(names) == 1:
            entry = matched[0]
            # The catalogue's English is the msgid: course.po holds its translations (the reader's language).
            text = f"Likely mistake: {gettext(entry.explanation)}"
            if entry.hint:
                text += f"\nHint: {gettext(entry.hint)}"
            return Diagnosis(entry.name, text)
        probed = []
        if last.outcome.error is not None and probe is not None:  # a crash: which property of the input decides
            probed = [Call(function, args, kwargs, None, probe(args, kwargs)) for args, kwargs in probes]
        shape = describe_error_shape(
            function, recorded, reference, self.parameters(function), self.output_names.get(function), probed
        )
        return Diagnosis("", messages.pattern_line(shape)) if shape else Diagnosis()

    def matching_entries(self, function: str, recorded: list[Call], among=None) -> list[_Entry]:
        """The entries of ``function`` (of ``among``, if given) whose outcome equals the student's on every call."""
        started = time.monotonic()
        found = []
        for entry in self.entries if among is None else among:
            if entry.function != function:
                continue
            if time.monotonic() - started > TIME_LIMIT_S:
                return []  # not every entry was tried: naming one could be wrong
            try:
                variant = self.function_of(entry)
                if all(same_outcome(call.outcome, self._variant_outcome(entry, variant, call)) for call in recorded):
                    found.append(entry)
            except Exception:  # noqa: BLE001 - an entry that cannot be built or run matches nothing
                continue
        return found

    def _variant_outcome(self, entry: _Entry, variant, call: Call) -> calls.Outcome:
        """The entry's outcome on this call; remembered per process, since every student's hidden tests use
        the grader's same inputs (calls with symbolic Keras inputs are always run again: they are cheap)."""
        key = _call_key(entry.name, call)
        key = None if key is None else (self.source_key, *key)
        if key is None:
            return _run(variant, call)
        if key not in _OUTCOMES:
            if len(_OUTCOMES) > 4096:
                _OUTCOMES.clear()
            _OUTCOMES[key] = _run(variant, call)
        return _OUTCOMES[key]


_OUTCOMES: dict[tuple, calls.Outcome] = {}


def _call_key(name: str, call: Call) -> tuple | None:
    if wire.keras_inputs(call.args, call.kwargs):
        return None
    try:
        text = json.dumps([wire.encode(list(call.args)), wire.encode(dict(call.kwargs)), call.harness], sort_keys=True)
    except (TypeError, ValueError):
        return None
    return name, call.name, hashlib.sha256(text.encode()).hexdigest()


def _copy(value):
    """A deep copy in which symbolic Keras inputs stay themselves (a block's output must connect to them)."""
    memo = {id(t): t for t in wire.keras_inputs(value, {})}
    try:
        return copy.deepcopy(value, memo)
    except Exception:  # noqa: BLE001 - what cannot be copied is shared
        return value


def _run(function, call: Call) -> calls.Outcome:
    with contextlib.redirect_stdout(io.StringIO()):
        return calls.run(function, _copy(call.args), _copy(call.kwargs), harness=call.harness)


# ------------------------------------------------------------------ "the same outcome"


def same_outcome(student: calls.Outcome, variant: calls.Outcome) -> bool:
    """Both raised the same error, or both returned the same values (and observed the same things)."""
    if student.error is not None or variant.error is not None:
        if student.error is None or variant.error is None:
            return False
        return student.error.get("ename") == variant.error.get("ename") and _message_key(
            student.error.get("message"), student.error.get("ename")
        ) == _message_key(variant.error.get("message"), variant.error.get("ename"))
    if not same_value(student.result, variant.result, student.args, student.kwargs):
        return False
    observed = {k: v for k, v in (student.observations or {}).items() if k != "error"}
    expected = {k: v for k, v in (variant.observations or {}).items() if k != "error"}
    return same_value(observed, expected)


def _message_key(message, ename) -> str:
    """What an error says, without where: its first line, or for TensorFlow's "in user code:" messages the
    line of the error itself (the kernel's and the grader's differ in file names and call context)."""
    lines = [line.strip() for line in str(message or "").strip().splitlines() if line.strip()]
    own = [line for line in lines if line.startswith(f"{ename}:")]
    return (own[-1] if own else lines[0] if lines else "")[:200]


def _as_array(value):
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (np.generic, int, float)) and not isinstance(value, bool):
        return np.asarray(value)
    module = type(value).__module__ or ""
    if module.startswith(("tensorflow", "keras")) and hasattr(value, "numpy"):
        try:
            return np.asarray(value.numpy())
        except Exception:  # noqa: BLE001
            return None
    return None


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype == bool or b.dtype == bool:
        return a.dtype == b.dtype and bool(np.array_equal(a, b))
    if a.dtype.kind not in "fiuc" or b.dtype.kind not in "fiuc":
        return bool(np.array_equal(a, b))
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not (np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isinf(a), np.isinf(b))):
        return False
    finite = np.isfinite(a)
    if not np.array_equal(a[~finite], b[~finite]):
        return False
    a, b = a[finite], b[finite]
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-12)
    return bool(np.all(np.abs(a - b) <= ATOL_SCALE * scale + RTOL * np.abs(b)))


def same_value(a, b, args=(), kwargs=None) -> bool:
    """Values equal as the checks see them: arrays and tensors within tolerance, Keras graphs by what they compute."""
    if _is_keras(a) or _is_keras(b):
        return _is_keras(a) and _is_keras(b) and same_keras(a, b, args, kwargs or {})
    x, y = _as_array(a), _as_array(b)
    if x is not None or y is not None:
        return x is not None and y is not None and _close(x, y)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_value(p, q, args, kwargs) for p, q in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k], args, kwargs) for k in a)
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - objects that cannot be compared are not the same
        return repr(a) == repr(b)


def _is_keras(value) -> bool:
    return any(c.__name__ in ("KerasTensor", "Functional", "Model", "Sequential") for c in type(value).__mro__)


class _KerasFingerprint:
    """A Keras model (or a block's output tensor) as its canonical layer rows, and, asked for only when the rows of
    two values agree, its outputs on fixed weights. Each part is computed once per value: diagnosis compares the
    student's value with every variant's, and the rows alone tell most variants apart."""

    def __init__(self, value, args, kwargs):
        import keras  # lazy: TensorFlow, only where a Keras value is compared

        self.model = value
        if any(c.__name__ == "KerasTensor" for c in type(value).__mro__):
            inputs = wire.keras_inputs(args, kwargs)
            self.model = keras.Model(inputs=inputs[0] if len(inputs) == 1 else inputs, outputs=value)
        rows = canonical_rows(describe_model(self.model))
        for row in rows:
            row.pop("name", None)
        self.rows = json.dumps(rows, sort_keys=True, default=str)
        self._outputs = None

    @property
    def outputs(self) -> tuple:
        if self._outputs is None:
            self._outputs = self._run()
        return self._outputs

    def _run(self) -> tuple:
        model = self.model
        try:
            shapes = [tuple(t.shape) for t in model.inputs]
            if len(shapes) != 1 or any(d is None for d in shapes[0][1:]) or int(np.prod(shapes[0][1:])) > 1 << 16:
                return ()
            rng = np.random.default_rng(0)
            for layer in model.layers:
                weights = layer.get_weights()
                if weights:
                    layer.set_weights(
                        [
                            rng.uniform(0.5, 1.5, w.shape).astype(w.dtype)
                            if w.ndim == 1
                            else rng.standard_normal(w.shape).astype(w.dtype) * 0.3
                            for w in weights
                        ]
                    )
            X = np.random.default_rng(1).standard_normal((2, *shapes[0][1:])).astype("float32")
            return tuple(np.round(np.asarray(model(X, training=t)), 4).tobytes() for t in (False, True))
        except Exception:  # noqa: BLE001 - a graph that cannot run is described by its layers
            return ()


_FINGERPRINTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fingerprint(value, args, kwargs) -> _KerasFingerprint:
    key = tuple(id(t) for t in wire.keras_inputs(args, kwargs))
    try:
        known = _FINGERPRINTS.setdefault(value, {})
    except TypeError:  # a value that takes no weak reference is fingerprinted each time
        return _KerasFingerprint(value, args, kwargs)
    if key not in known:
        known[key] = _KerasFingerprint(value, args, kwargs)
    return known[key]


def same_keras(a, b, args, kwargs) -> bool:
    """Two Keras graphs compute the same thing: the same layer rows, then the same outputs on fixed weights."""
    fa, fb = _fingerprint(a, args, kwargs), _fingerprint(b, args, kwargs)
    return fa.rows == fb.rows and fa.outputs == fb.outputs


# ------------------------------------------------------------------ generic detectors


def _ordinal(k: int, count: int, names) -> str:
    if names and k < len(names):
        return names[k]
    return f"returned value {k + 1} of {count}"


def describe_error_shape(
    function: str, recorded: list[Call], reference, parameters=None, output_names=None, probed: list[Call] = ()
) -> str:
    """One sentence on the shape of the error of the last call, or '' where nothing clear stands out.

    ``probed`` are more calls of ``function`` (the diagnosis probes): where the last call raised, they
    tell which property of its input the failing calls share and the others lack.
    """
    last = recorded[-1]
    if last.outcome.error is not None:
        return _crash_on_one_input(function, recorded, parameters, probed)
    try:
        expected = reference(function, *_copy(last.args), **_copy(last.kwargs))
    except Exception:  # noqa: BLE001 - no reference output for these inputs: nothing to describe
        return ""
    got = last.outcome.result
    if isinstance(expected, tuple) and isinstance(got, tuple) and len(expected) == len(got):
        parts = []
        for k, (g, e) in enumerate(zip(got, expected)):
            x, y = _as_array(g), _as_array(e)
            if x is None or y is None or _close(x, y):
                continue
            text = messages.pattern(x, y)
            if text:
                parts.append(f"{_ordinal(k, len(got), output_names)}: {text}")
        return "; ".join(parts)
    x, y = _as_array(got), _as_array(expected)
    if x is None or y is None:
        return ""
    return messages.pattern(x, y)


def _crash_on_one_input(function: str, recorded: list[Call], parameters, probed: list[Call] = ()) -> str:
    ran = [c for c in recorded[:-1] if c.outcome.error is None]
    if not ran:
        return ""
    calls_seen = list(recorded) + [c for c in probed if c.outcome is not None]
    failing = [_features(c, parameters) for c in calls_seen if c.outcome.error is not None]
    passing = [_features(c, parameters) for c in calls_seen if c.outcome.error is None]
    # What every failing input has and no input that ran has: the trigger (one property, not a list of suspects,
    # wherever the probes can tell them apart).
    trigger = [
        text
        for key, (value, text) in failing[0].items()
        if all(f.get(key, (None,))[0] == value for f in failing)
        and all(p.get(key, (None,))[0] != value for p in passing)
    ]
    ename = recorded[-1].outcome.error.get("ename", "an error")
    return messages.crash_on_one_input(function, len(ran), ename, trigger)


def _features(call: Call, parameters) -> dict:
    """The properties of a call's input that may decide whether it runs: its small settings (numbers,
    strings, the entries of dicts such as hparameters) and, for every 4-D array, whether it is square.
    Each is ``key: (value, words)``."""
    found = {}

    def visit(key, value, depth=0):
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, (int, float, str, bool)):
                    found[k] = (v, f"{k}={v!r}")
        elif isinstance(value, (int, float, str, bool)):
            found[key] = (value, f"{key}={value!r}")
        elif isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
            found[key] = (value, f"{key}={value!r}")
        elif isinstance(value, np.ndarray) and value.ndim == 4:
            h, w = value.shape[1:3]
            words = (
                messages._("{name} is not square (height {h}, width {w})")
                if h != w
                else messages._("{name} is square ({h}x{w})")
            )
            found[f"{key}:square"] = (h == w, words.format(name=key, h=h, w=w))
        elif isinstance(value, (tuple, list)) and depth == 0:
            for k, item in enumerate(value):
                visit(f"{key}[{k}]", item, depth + 1)

    named = list(zip(parameters or [], call.args)) + list(call.kwargs.items())
    for key, value in named:
        visit(key, value)
    return found
