"""``course pretrain``: the bundle trains its own ResNet-50 weights for ``residual_networks``.

There is no network access, so the course's pre-trained weights cannot be downloaded: this
command trains the very architecture of the assignment on the SIGNS data in use and saves

* ``weights/resnet50_signs.weights.h5`` -- the weights (Keras 3 format);
* ``weights/resnet50_signs.json`` -- the manifest: which data (the SIGNS manifest), epochs,
  timings, validation and test accuracy, training settings, library versions, history.

The model is not defined here (``helpers`` never holds an answer): it is built by executing the
solution cells of ``source/residual_networks/residual_networks.ipynb``, the instructor's copy,
so the architecture lives in one place.

Training: a stratified validation split of the training set; on the bundle's generated data,
:data:`EXTRA_PER_CLASS` more generated hands per class drawn for the run (a stream in no data file);
data augmentation in numpy (:func:`augment`, in a ``PyDataset``: shifts, zooms, rotations, mirror
images, exposure, contrast, white balance, blur), Adam with a warm-up and a cosine
learning-rate decay fitted to the time budget, early stopping on the validation loss (best
weights kept). Where the CPU computes in bfloat16 natively (AVX512-BF16 / AMX) it trains in
mixed bfloat16, which is faster there; the test accuracy is always measured in float32, as the
notebook runs the model.

The notebook calls :func:`load_pretrained`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import math
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from helpers import i18n, signs
from helpers.messages import count
from helpers.paths import course_root
from helpers.solutions import solution_namespace

# TensorFlow and Keras (seconds to import) load inside the functions that build, train or load the model:
# `course` imports this module for its subcommand's options, whatever the command.

ASSIGNMENT = "residual_networks"
WEIGHTS_FILE = "resnet50_signs.weights.h5"
MANIFEST_FILE = "resnet50_signs.json"
INPUT_SHAPE = (64, 64, 3)
# Drawing the extra hands and the training epochs get this many minutes; with start-up and the final
# test the command stays within 5 minutes on two cores.
DEFAULT_MINUTES = 4.4
CLASSES = 6
# On the bundle's generated data, training also sees this many more generated hands per class, drawn
# from a stream of their own (in no data file): 2160 more distinct hands than the 972 of the training
# split, drawn in about 10 s on two cores (taken from the time budget). Four seeds of 4.4 minutes each,
# with and without: real photos 0.700/0.650, 0.550/0.650, 0.692/0.600, 0.667/0.658; generated test
# 0.892/0.850, 0.758/0.858, 0.908/0.883, 0.925/0.875 -- better in three seeds of four, a small gain on
# average. 720 per class was worse in the same time (0.767/0.567): the network no longer fits them.
EXTRA_PER_CLASS = 360


def weights_dir(directory=None) -> Path:
    """Where the weights live: ``directory`` if given, else ``<course>/weights``."""
    return Path(directory).expanduser().resolve() if directory else course_root() / "weights"


# ------------------------------------------------------------------ the model, from the source notebook


def build_model(root: Path | None = None, input_shape=INPUT_SHAPE, classes=CLASSES):
    """ResNet-50 built by the source notebook's solution cells (instructor's copy)."""
    root = root or course_root()
    source = root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if not source.is_file():
        raise FileNotFoundError(
            f"{source} is missing: `course pretrain` builds the model from the "
            "instructor's source notebook; run it from a full course checkout."
        )
    namespace = solution_namespace(ASSIGNMENT, root)
    return namespace["ResNet50"](input_shape=input_shape, classes=classes)


def cpu_has_native_bf16() -> bool:
    """True where the CPU has bfloat16 instructions (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(flag in flags for flag in ("avx512_bf16", "amx_bf16"))


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


# ------------------------------------------------------------------ data


def _split(y: np.ndarray, val_fraction: float, seed: int):
    """Stratified train/validation indices."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(val_fraction * idx.size))
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return np.array(sorted(train)), np.array(sorted(val))


AUGMENTATION = (
    "mirror image, shift up to 8%, zoom 0.9-1.1, rotation up to 10 degrees, brightness, contrast and "
    "colour balance up to 10% (3% per channel), mild blur now and then"
)


def augment(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly moved, zoomed, turned, mirrored and re-lit copy of a batch of images in [0, 1].

    numpy only, on the whole batch at once: one affine map per image sampled with bilinear
    interpolation (edges repeated), then exposure, contrast and white balance, and for three
    images in ten a [1, 2, 1] blur. About 30 ms for 32 images on a busy two-core machine, under a
    tenth of one training step; deterministic for a given ``rng``.
    """
    m, h, w, _ = X.shape
    angle = np.radians(rng.uniform(-10, 10, m))
    zoom = rng.uniform(0.9, 1.1, m)
    mirror = np.where(rng.uniform(size=m) < 0.5, -1.0, 1.0)
    shift = rng.uniform(-0.08, 0.08, (m, 2)) * [h, w]
    # inverse map: output pixel -> source pixel, about the image centre
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    u, v = (xs - cx)[None], (ys - cy)[None]
    cos, sin = (np.cos(angle) / zoom)[:, None, None], (np.sin(angle) / zoom)[:, None, None]
    src_x = (cos * u + sin * v) * mirror[:, None, None] + cx - shift[:, 1, None, None]
    src_y = (-sin * u + cos * v) + cy - shift[:, 0, None, None]
    src_x, src_y = np.clip(src_x, 0, w - 1), np.clip(src_y, 0, h - 1)
    x0, y0 = np.minimum(src_x.astype(np.int32), w - 2), np.minimum(src_y.astype(np.int32), h - 2)
    fx, fy = (src_x - x0)[..., None], (src_y - y0)[..., None]
    b = np.arange(m)[:, None, None]
    out = (X[b, y0, x0] * (1 - fx) + X[b, y0, x0 + 1] * fx) * (1 - fy) + (
        X[b, y0 + 1, x0] * (1 - fx) + X[b, y0 + 1, x0 + 1] * fx
    ) * fy
    mean = out.mean(axis=(1, 2, 3), keepdims=True)
    contrast = rng.uniform(0.9, 1.1, (m, 1, 1, 1))
    gain = rng.uniform(0.9, 1.1, (m, 1, 1, 1)) * rng.uniform(0.97, 1.03, (m, 1, 1, 3))
    out = ((out - mean) * contrast + mean) * gain
    soft = rng.uniform(size=m) < 0.3  # a slightly out-of-focus photo
    if soft.any():
        s = out[soft]
        s[:, 1:-1] = 0.25 * s[:, :-2] + 0.5 * s[:, 1:-1] + 0.25 * s[:, 2:]
        s[:, :, 1:-1] = 0.25 * s[:, :, :-2] + 0.5 * s[:, :, 1:-1] + 0.25 * s[:, :, 2:]
        out[soft] = s
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def batches(X, Y, batch_size: int, seed: int, steps: int | None = None):
    """Shuffled, augmented training batches, ``steps`` of them per epoch (default: one pass over ``X``).

    A ``keras.utils.PyDataset`` with one worker thread that prepares the next batch while the
    current one trains. The batches walk through one shuffled order of ``X`` after another, so a
    short epoch over a large set goes on where the last one stopped. Batch ``i`` of epoch ``e``
    depends only on (seed, e, i): a run can be repeated exactly.
    """
    import keras

    steps = steps or math.ceil(len(X) / batch_size)

    @functools.lru_cache(maxsize=2)  # a batch spans at most two passes
    def order(n_pass: int) -> np.ndarray:
        return np.random.default_rng([seed, n_pass]).permutation(len(X))

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = 0

        def __len__(self):
            return steps

        def __getitem__(self, index):
            start = (self.epoch * steps + index) * batch_size
            positions = np.arange(start, start + batch_size)
            passes, offsets = np.divmod(positions, len(X))
            picks = np.concatenate([order(int(p))[offsets[passes == p]] for p in np.unique(passes)])
            return augment(X[picks], np.random.default_rng([seed, self.epoch, index])), Y[picks]

        def on_epoch_end(self):
            self.epoch += 1

    return Batches()


# ------------------------------------------------------------------ schedule and progress


def _budget_callback(
    minutes: float, max_epochs: int, steps_per_epoch: int, peak_lr: float, warmup_epochs: float, log=print
):
    """Warm-up then cosine decay of the learning rate, planned for as many epochs as the time budget allows.

    After each epoch the plan is revised from the mean epoch time so far; training stops when
    the next epoch would not finish within the budget.
    """
    import keras

    class BudgetSchedule(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.started = None
            self.epoch_seconds: list[float] = []
            self.planned = max_epochs
            self.step = 0
            self.stopped_for_time = False

        def _lr(self):
            total = max(1, self.planned * steps_per_epoch)
            warm = max(1, int(warmup_epochs * steps_per_epoch))
            if self.step < warm:
                return peak_lr * (self.step + 1) / warm
            progress = min(1.0, (self.step - warm) / max(1, total - warm))
            return peak_lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))

        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_started = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(self._lr())
            self.step += 1

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            now = time.perf_counter()
            self.epoch_seconds.append(now - self.epoch_started)
            elapsed = now - self.started
            per_epoch = float(np.mean(self.epoch_seconds[1:] or self.epoch_seconds))
            fit = int((minutes * 60 - elapsed) // per_epoch) + epoch + 1
            self.planned = min(max_epochs, max(epoch + 2, fit))
            lr = float(np.asarray(self.model.optimizer.learning_rate))
            log(
                f"epoch {epoch + 1:3d}/{self.planned:<3d} loss {logs.get('loss', float('nan')):.4f} "
                f"acc {logs.get('accuracy', float('nan')):.3f}  val_loss {logs.get('val_loss', float('nan')):.4f} "
                f"val_acc {logs.get('val_accuracy', float('nan')):.3f}  lr {lr:.1e}  "
                f"{self.epoch_seconds[-1]:.1f} s  (elapsed {elapsed / 60:.1f} min)"
            )
            if elapsed + per_epoch > minutes * 60 and epoch + 1 < max_epochs:
                self.stopped_for_time = True
                self.model.stop_training = True
                log(f"time budget reached after {elapsed / 60:.1f} min of training: stopping.")

    return BudgetSchedule()


# ------------------------------------------------------------------ training


def train(
    out_dir=None,
    data_dir=None,
    max_epochs: int = 60,
    minutes: float | None = None,
    batch_size: int = 32,
    val_fraction: float = 0.1,
    patience: int = 12,
    peak_lr: float = 1e-3,
    seed: int = 0,
    limit: int | None = None,
    precision: str = "auto",
    root: Path | None = None,
    extra_per_class: int | None = None,
    log=print,
) -> dict:
    """Train ResNet-50 on SIGNS and save weights + manifest in ``out_dir``; returns the manifest.

    ``extra_per_class``: more generated training hands per class (default :data:`EXTRA_PER_CLASS` when
    the data in use is the bundle's generated data, none on the original photos). The time budget
    counts from the start, so drawing them is part of it.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    minutes = DEFAULT_MINUTES if minutes is None else minutes

    started = time.perf_counter()
    out = weights_dir(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X_train_orig, Y_train_orig, X_test_orig, Y_test_orig, _ = signs.load_dataset(data_dir, verbose=False)
    data = signs.describe(data_dir)
    y = Y_train_orig.reshape(-1)
    X = X_train_orig.astype(np.float32) / 255.0
    Y = signs.convert_to_one_hot(y, CLASSES).T.astype(np.float32)
    X_test = X_test_orig.astype(np.float32) / 255.0
    Y_test = signs.convert_to_one_hot(Y_test_orig, CLASSES).T.astype(np.float32)
    train_idx, val_idx = _split(y, val_fraction, seed)
    if limit:
        train_idx = train_idx[:limit]
        val_idx = val_idx[: max(6, limit // 4)]
    X_fit, Y_fit = X[train_idx], Y[train_idx]
    if extra_per_class is None:
        extra_per_class = EXTRA_PER_CLASS if data["source"] == "generated" and not limit else 0
    if extra_per_class and data["source"] != "generated":
        log(f"no extra generated images: the data in use is {data['source']}, not the bundle's generated data")
        extra_per_class = 0
    drawing = 0.0
    if extra_per_class:
        drawn = time.perf_counter()
        data_seed = int(data["files"][signs.TRAIN_FILE].get("seed", signs.DEFAULT_SEED))
        X_extra, y_extra = signs.generate_arrays(
            extra_per_class, seed=data_seed, split="extra", workers=os.cpu_count() or 1
        )
        X_fit = np.concatenate([X_fit, X_extra.astype(np.float32) / 255.0])
        Y_fit = np.concatenate([Y_fit, signs.convert_to_one_hot(y_extra, CLASSES).T.astype(np.float32)])
        drawing = time.perf_counter() - drawn
        log(f"drew {y_extra.size} more generated training hands in {drawing:.1f} s (taken from the time budget)")
    log(
        f"SIGNS data: {data['source']} ({data['data_dir']}); {X_fit.shape[0]} training, {val_idx.size} validation, "
        f"{X_test.shape[0]} test images"
    )

    if precision == "auto":
        precision = "mixed_bfloat16" if cpu_has_native_bf16() else "float32"
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(precision)
    try:
        model = build_model(root)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if precision != "float32":
        # The softmax and the loss in float32: bfloat16 keeps 8 bits of mantissa, too few for them.
        model.layers[-1].dtype_policy = "float32"
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # Moving statistics that follow the weights within an epoch or two (the default 0.99
            # lags far behind on 30 steps per epoch); a training setting, not part of the weights.
            layer.momentum = 0.9
    steps = math.ceil(train_idx.size / batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=peak_lr), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    log(
        f"ResNet-50 from source/{ASSIGNMENT}: {model.count_params():,} parameters; precision {precision}, "
        f"batch {batch_size}, at most {max_epochs} epochs or {minutes:g} min"
    )
    schedule = _budget_callback(
        minutes - drawing / 60, max_epochs, steps, peak_lr, warmup_epochs=min(1.0, max_epochs / 4), log=log
    )
    callbacks = [schedule]
    if val_idx.size:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True, verbose=0)
        )
    # an epoch stays as long as one pass over the training split, whatever the extra images add
    history = model.fit(
        batches(X_fit, Y_fit, batch_size, seed, steps=steps),
        epochs=max_epochs,
        validation_data=(X[val_idx], Y[val_idx]) if val_idx.size else None,
        callbacks=callbacks,
        verbose=0,
    )
    train_seconds = time.perf_counter() - started

    weights_path = out / WEIGHTS_FILE
    tmp = out / f".{WEIGHTS_FILE}.tmp.weights.h5"
    model.save_weights(tmp)
    # The test accuracy is measured as the notebook will see it: a float32 model loading the file.
    keras.backend.clear_session()
    evaluator = build_model(root)
    evaluator.load_weights(tmp)
    # Saved again from the uncompiled model: the weights alone, without the optimizer's state (3x smaller).
    evaluator.save_weights(tmp)
    evaluator.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    test_loss, test_accuracy = evaluator.evaluate(X_test, Y_test, verbose=0, batch_size=64)
    val_loss, val_accuracy = (
        evaluator.evaluate(X[val_idx], Y[val_idx], verbose=0, batch_size=64) if val_idx.size else (None, None)
    )
    os.replace(tmp, weights_path)
    epochs_run = len(history.history.get("loss", []))
    stopper = callbacks[-1] if val_idx.size else None
    manifest = {
        "weights": WEIGHTS_FILE,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model": f"ResNet50(input_shape={INPUT_SHAPE}, classes={CLASSES}) from source/{ASSIGNMENT}",
        "parameters": int(evaluator.count_params()),
        "data": {"source": data["source"], "files": data["files"]},
        "training_images": int(X_fit.shape[0]),
        "extra_generated_images": int(X_fit.shape[0] - train_idx.size),
        "validation_images": int(val_idx.size),
        "limited": bool(limit),
        "epochs": epochs_run,
        "best_epoch": (int(getattr(stopper, "best_epoch", epochs_run - 1)) + 1) if stopper else epochs_run,
        "stopped": (
            "time budget"
            if schedule.stopped_for_time
            else "early stopping"
            if stopper is not None and stopper.stopped_epoch
            else "max epochs"
        ),
        "seconds": round(time.perf_counter() - started, 1),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(float(np.mean(schedule.epoch_seconds)), 2) if schedule.epoch_seconds else None,
        "test_accuracy": round(float(test_accuracy), 4),
        "test_loss": round(float(test_loss), 4),
        "validation_accuracy": None if val_accuracy is None else round(float(val_accuracy), 4),
        "settings": {
            "batch_size": batch_size,
            "max_epochs": max_epochs,
            "minutes": minutes,
            "peak_lr": peak_lr,
            "schedule": "linear warm-up, cosine decay to 2% fitted to the time budget",
            "early_stopping": f"val_loss, patience {patience}, best weights restored",
            "batchnorm_momentum": 0.9,
            "precision": precision,
            "seed": seed,
            "augmentation": AUGMENTATION,
            "extra_per_class": extra_per_class,
            "threads": os.cpu_count(),
        },
        "versions": library_versions(),
        "history": {k: [round(float(v), 5) for v in vals] for k, vals in history.history.items()},
    }
    manifest_tmp = out / f".{MANIFEST_FILE}.tmp"
    manifest_tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(manifest_tmp, out / MANIFEST_FILE)
    log(f"saved {weights_path} and {out / MANIFEST_FILE}")
    log(
        f"{count(epochs_run, 'epoch')} ({manifest['stopped']}), {manifest['seconds'] / 60:.1f} min, "
        f"{manifest['seconds_per_epoch']} s/epoch"
    )
    log(f"test accuracy: {test_accuracy:.3f}")
    return manifest


# ------------------------------------------------------------------ using the weights


def read_manifest(directory=None) -> dict | None:
    path = weights_dir(directory) / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def load_pretrained(model, directory=None, verbose: bool = True) -> dict | None:
    """Load the bundle's weights into ``model``; returns the manifest, or None (saying why) if there are none."""
    folder = weights_dir(directory)
    weights, manifest = folder / WEIGHTS_FILE, read_manifest(directory)
    if not weights.is_file() or manifest is None:
        if verbose:
            print(
                f"No pre-trained weights in {folder}. Make them with `course pretrain` (about 5 minutes on "
                "two CPU cores), then run this cell again."
            )
        return None
    try:
        with warnings.catch_warnings():  # the file holds no optimizer state, by design
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(weights)
    except Exception as exc:  # noqa: BLE001 - a different architecture: say so instead of a long traceback
        if verbose:
            print(
                f"The weights in {weights} do not fit this model ({type(exc).__name__}: {str(exc)[:200]}). "
                "They are for the course's ResNet50: check your ResNet50 against the tests above."
            )
        return None
    if verbose:
        print(
            f"Loaded {weights.name}, trained by `course pretrain` on {manifest.get('created', '?')}: "
            f"{count(manifest.get('epochs') or 0, 'epoch')} in {manifest.get('seconds', 0) / 60:.1f} min, "
            f"on {manifest.get('data', {}).get('source', '?')} SIGNS data; "
            f"test accuracy then: {manifest.get('test_accuracy')}."
        )
        if manifest.get("limited"):
            print("Note: these weights come from a shortened test run (--limit); run `course pretrain` for real ones.")
        try:
            now = {k: v.get("sha256") for k, v in signs.describe()["files"].items()}
            then = {k: v.get("sha256") for k, v in manifest.get("data", {}).get("files", {}).items()}
            if now != then:
                print(
                    "Warning: the SIGNS data in use is not the data these weights were trained on; "
                    "run `course pretrain` again for weights that match it."
                )
        except Exception:  # noqa: BLE001 - the data cannot be described: no warning to give
            pass
    return manifest


# ------------------------------------------------------------------ command line


def _command(args) -> int:
    try:
        train(
            out_dir=args.out,
            data_dir=args.data_dir,
            max_epochs=args.epochs,
            minutes=args.minutes,
            batch_size=args.batch_size,
            val_fraction=args.val_fraction,
            patience=args.patience,
            peak_lr=args.lr,
            seed=args.seed,
            limit=args.limit,
            precision=args.precision,
            extra_per_class=args.extra,
            log=lambda line: print(line, flush=True),
        )
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of images: give 0 or more")
    return value


def add_cli(subparsers):
    """Register the ``pretrain`` subcommand."""
    p = subparsers.add_parser(
        "pretrain",
        help=i18n.gettext("train the residual_networks ResNet-50 on the SIGNS data in use and save its weights"),
        description=i18n.gettext(
            "Train ResNet-50 (built from source/residual_networks) on the SIGNS data in use, with "
            "augmentation, a learning-rate schedule fitted to the time budget and early stopping; "
            "save weights/resnet50_signs.weights.h5 and a manifest; print the test accuracy."
        ),
    )
    p.add_argument(
        "--epochs", type=int, default=60, help=i18n.gettext("at most this many epochs (default %(default)s)")
    )
    p.add_argument(
        "--minutes",
        type=float,
        default=DEFAULT_MINUTES,
        help=i18n.gettext(
            "time budget for drawing the extra hands and the training epochs, in minutes (default "
            "%(default)s; with start-up and the final test about 5 min in all on two cores)"
        ),
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help=i18n.gettext(
            "mini-batch size (default %(default)s; 64 is 1.4x faster per epoch on two cores, "
            "benchmarks/resnet_speed.py, but learned less per second: 0.825 against 0.917 "
            "in one 4-minute run each, without the extra hands)"
        ),
    )
    p.add_argument(
        "--extra",
        type=_count,
        default=None,
        metavar="N",
        help=i18n.gettext(
            "more generated training hands per class, drawn for this run only (default {extra} "
            "on the bundle's generated data, 0 on the original photos)"
        ).format(extra=EXTRA_PER_CLASS),
    )
    p.add_argument(
        "--val-fraction", type=float, default=0.1, help=i18n.gettext("validation split (default %(default)s)")
    )
    p.add_argument(
        "--patience", type=int, default=12, help=i18n.gettext("early-stopping patience in epochs (default %(default)s)")
    )
    p.add_argument("--lr", type=float, default=1e-3, help=i18n.gettext("peak learning rate (default %(default)s)"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help=i18n.gettext("train on only this many images (a quick test of the plumbing, not real weights)"),
    )
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_bfloat16"),
        default="auto",
        help=i18n.gettext("auto: mixed bfloat16 where the CPU has bf16 instructions, else float32"),
    )
    p.add_argument("--out", metavar="DIR", default=None, help=i18n.gettext("weights folder (default <course>/weights)"))
    p.add_argument(
        "--data-dir", metavar="DIR", default=None, help=i18n.gettext("SIGNS data folder (default as the notebooks)")
    )
    p.set_defaults(func=_command)
    return p
