"""How good is the generated SIGNS-like data?  Prints the numbers, draws a side-by-side PNG.

1. Generation time of both files (fresh, into a temporary folder).
2. The course's small CNN (Keras) trained on the generated training set:
   train and test accuracy on generated data (should be a real problem: 0.70-0.95).
3. Transfer: the same model's accuracy on the original SIGNS test photos
   (../shared/signs/test_signs.h5, chance 1/6), and optionally a stronger CNN
   trained on more generated images with augmentation (--strong).
4. A PNG of generated images next to real ones (--out).

Usage:  python benchmarks/signs_quality.py [--fast] [--strong] [--out PNG]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from helpers import signs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL = REPO.parent / "shared" / "signs" / "test_signs.h5"


def small_cnn(keras):
    """The course's model: CONV2D -> RELU -> MAXPOOL -> CONV2D -> RELU -> MAXPOOL -> FLATTEN -> DENSE."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(64, 64, 3)),
        layers.Conv2D(8, 4, strides=1, padding="same"),
        layers.ReLU(),
        layers.MaxPool2D(pool_size=8, strides=8, padding="same"),
        layers.Conv2D(16, 2, strides=1, padding="same"),
        layers.ReLU(),
        layers.MaxPool2D(pool_size=4, strides=4, padding="same"),
        layers.Flatten(),
        layers.Dense(6, activation="softmax"),
    ])


def stronger_cnn(keras):
    """A moderately deeper CNN with augmentation, for the transfer measurement only."""
    layers = keras.layers
    inputs = keras.Input(shape=(64, 64, 3))
    x = layers.RandomRotation(0.08)(inputs)
    x = layers.RandomTranslation(0.1, 0.1)(x)
    x = layers.RandomZoom(0.15)(x)
    x = layers.RandomContrast(0.2)(x)
    x = layers.RandomBrightness(0.15, value_range=(0, 1))(x)
    x = layers.AveragePooling2D(2)(x)  # 32x32 is enough for finger counting and 4x cheaper
    for filters in (16, 32, 64, 96):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPool2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(6, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def epoch_logger(keras):
    """A callback printing one line per epoch (loss, accuracy, original-photo accuracy if given)."""

    class EpochLog(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            real = f", original test {logs['val_accuracy']:.3f}" if "val_accuracy" in logs else ""
            print(f"  epoch {epoch + 1}: loss {logs.get('loss', 0):.3f}, "
                  f"accuracy {logs.get('accuracy', 0):.3f}{real}", flush=True)

    return EpochLog()


def confusion(y_true, y_pred):
    matrix = np.zeros((6, 6), int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def side_by_side(png, X_gen, y_gen, X_real, y_real, per_class=6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def grid(X, y):
        rows = []
        for c in range(6):
            picks = np.flatnonzero(y == c)[:per_class]
            row = [X[i] for i in picks] + [np.full((64, 64, 3), 255, np.uint8)] * (per_class - picks.size)
            rows.append(np.concatenate([np.pad(im, ((1, 1), (1, 1), (0, 0)), constant_values=255)
                                        for im in row], axis=1))
        return np.concatenate(rows, axis=0)

    panels = [("generated (train)", grid(X_gen, y_gen))]
    if X_real is not None:
        panels.append(("original (test_signs.h5)", grid(X_real, y_real)))
    fig = Figure(figsize=(5.2 * len(panels), 5.6), dpi=110)
    FigureCanvasAgg(fig)
    for k, (title, image) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        ax.imshow(image)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks(np.arange(6) * 66 + 33)
        ax.set_yticklabels([f"y={c}" for c in range(6)])
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="a few epochs: a smoke run")
    parser.add_argument("--strong", action="store_true", help="also train the stronger CNN for transfer")
    parser.add_argument("--seed", type=int, default=signs.DEFAULT_SEED, help="generator seed")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="original test_signs.h5")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "signs_side_by_side.png")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the machine is shared)")
    parser.add_argument("--runs", type=int, default=3, help="small-CNN training runs (seeds 1..N)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        signs.generate(tmp, seed=args.seed, verbose=False)
        gen_seconds = time.perf_counter() - start
        X_train, Y_train, X_test, Y_test, _ = signs.load_dataset(tmp, verbose=True)
    print(f"generation of both files: {gen_seconds:.1f} s (budget 30 s)")
    y_train, y_test = Y_train[0], Y_test[0]

    X_real = y_real = None
    if args.real.is_file():
        X_real, y_real, _ = signs.read_split(args.real, "test")
    else:
        print(f"(no original test file at {args.real}: transfer numbers skipped)")

    side_by_side(args.out, X_train, y_train, X_real, y_real)
    print(f"side-by-side picture: {args.out}")

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    if args.fast:
        args.runs = 1
    epochs = 5 if args.fast else 100
    Xtr, Xte = X_train / 255.0, X_test / 255.0
    one_hot = lambda y: signs.convert_to_one_hot(y, 6).T  # noqa: E731
    # The course's settings (Adam 0.009, ReLU after one 4x4 conv) sometimes kill every
    # unit in the first epochs and the model stays at chance, on the original photos as
    # well; so it is trained from several seeds and such runs are reported, not hidden.
    runs = []
    for seed in range(1, args.runs + 1):
        keras.utils.set_random_seed(seed)
        model = small_cnn(keras)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.009),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(Xtr, one_hot(y_train), epochs=epochs, batch_size=64, verbose=0)
        fit_seconds = time.perf_counter() - start
        train_acc = model.evaluate(Xtr, one_hot(y_train), verbose=0)[1]
        test_acc = model.evaluate(Xte, one_hot(y_test), verbose=0)[1]
        pred = model.predict(X_real / 255.0, verbose=0).argmax(axis=1) if X_real is not None else None
        real_acc = float((pred == y_real).mean()) if pred is not None else float("nan")
        collapsed = train_acc < 0.25
        runs.append((train_acc, test_acc, real_acc, collapsed, pred))
        print(f"small CNN seed {seed}, {epochs} epochs ({fit_seconds:.0f} s): train accuracy {train_acc:.3f}, "
              f"generated test accuracy {test_acc:.3f}, original test photos {real_acc:.3f}"
              + ("  [collapsed to one class]" if collapsed else ""), flush=True)
    trained = [r for r in runs if not r[3]] or runs
    mean = np.mean([r[:3] for r in trained], axis=0)
    print(f"small CNN, mean of {len(trained)} trained run(s) of {len(runs)}: train accuracy {mean[0]:.3f}, "
          f"test accuracy {mean[1]:.3f} on generated data (target 0.70-0.95)")
    if X_real is not None:
        print(f"small CNN trained on generated data -> original test photos: accuracy {mean[2]:.3f} "
              f"(chance 0.167)")
        best = max(trained, key=lambda r: r[1])  # chosen by generated test accuracy, not by the real one
        print("  confusion on the original photos, run with the best generated test accuracy "
              "(rows: true 0..5, columns: predicted):")
        print("  " + str(confusion(y_real, best[4])).replace("\n", "\n  "))

    if args.strong:
        per_class = 60 if args.fast else 400
        start = time.perf_counter()
        X_big, y_big = signs.generate_arrays(per_class, seed=args.seed + 1000, split="train")
        print(f"stronger CNN: {X_big.shape[0]} extra generated images in {time.perf_counter() - start:.0f} s")
        keras.utils.set_random_seed(2)
        strong = stronger_cnn(keras)
        strong_epochs = 2 if args.fast else 30
        steps = strong_epochs * int(np.ceil((X_big.shape[0] + X_train.shape[0]) / 64))
        schedule = keras.optimizers.schedules.CosineDecay(0.003, decay_steps=steps)
        strong.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                       loss="categorical_crossentropy", metrics=["accuracy"])
        start = time.perf_counter()
        strong.fit(np.concatenate([X_big, X_train]) / 255.0, one_hot(np.concatenate([y_big, y_train])),
                   epochs=strong_epochs, batch_size=64, verbose=0,
                   validation_data=(X_real / 255.0, one_hot(y_real)) if X_real is not None else None,
                   callbacks=[epoch_logger(keras)])
        test_strong = strong.evaluate(Xte, one_hot(y_test), verbose=0)[1]
        print(f"stronger CNN, {strong_epochs} epochs ({time.perf_counter() - start:.0f} s): "
              f"generated test accuracy {test_strong:.3f}")
        if X_real is not None:
            pred = strong.predict(X_real / 255.0, verbose=0).argmax(axis=1)
            print(f"stronger CNN trained on generated data -> original test photos: accuracy "
                  f"{(pred == y_real).mean():.3f}")
            print("  " + str(confusion(y_real, pred)).replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
