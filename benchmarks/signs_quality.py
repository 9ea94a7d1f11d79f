"""Generated SIGNS against real photos: generation, the three networks, `course pretrain`, in one run.

Everything is trained on generated data only (a fresh copy of the default data, drawn into a
temporary folder and timed) and judged on the generated test set and on the original SIGNS test
photos in ../shared/signs/test_signs.h5 (skipped cleanly where absent; never trained or tuned on):

1. generation time of both files (budget 30 s);
2. the course's small CNN as the notebook trains it in Keras (`convolutional_model` from the
   source notebook's solutions, Adam 0.009, minibatch 64, 100 epochs, on the data as the
   notebook's own data cell prepares it), over ``--runs`` seeds;
3. the course's hand-written recipe (the source notebook's `model`, via
   benchmarks/recipe_robustness.py), over ``--recipe-runs`` seeds;
4. ResNet-50 as `course pretrain` makes it (its default time budget), and its wall time;
5. what each trained network reads on the notebooks' pictures (my_sign.png, my_image.png);
6. a PNG of generated images next to the real ones (``--out``).

Goals (issue 16): small CNN >= 0.65 on the real photos with the generated test set between 0.70
and 0.95; ResNet-50 >= 0.85 on the real photos and >= 0.95 on the generated test set; `course
pretrain` within 5 minutes on 2 cores.

Usage:  python benchmarks/signs_quality.py [--fast] [--runs 3] [--recipe-runs 3] [--no-resnet] [--strong]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import signs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REAL = REPO.parent / "shared" / "signs" / "test_signs.h5"


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
            rows.append(
                np.concatenate([np.pad(im, ((1, 1), (1, 1), (0, 0)), constant_values=255) for im in row], axis=1)
            )
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


def notebook_data(X_train_orig, Y_train_orig, X_test_orig, Y_test_orig, X_real):
    """The arrays as cnn_application's data cell prepares them, and the real photos prepared alike."""
    import recipe_robustness as rr

    from helpers.instructor.notebooks import read_notebook

    notebook = read_notebook(REPO / "source" / rr.ASSIGNMENT / f"{rr.ASSIGNMENT}.ipynb")
    X_train, Y_train, X_test, Y_test = rr.load_data(notebook)
    # whatever the cell does to the pixels (scaling, centring) is an offset per channel after / 255
    offset = (X_train_orig / 255.0 - X_train).mean(axis=(0, 1, 2)).astype(np.float32)
    real = None if X_real is None else (X_real / 255.0).astype(np.float32) - offset
    return notebook, (X_train, Y_train, X_test, Y_test), real, offset


def sample_inputs(offset=0.0):
    """The notebooks' pictures as the notebooks read them: 64x64 bilinear, / 255, minus ``offset``."""
    from PIL import Image

    out = []
    for assignment, name, label in signs.SAMPLE_IMAGES:
        path = REPO / "source" / assignment / name
        image = Image.open(path).convert("RGB").resize((64, 64), Image.BILINEAR)
        out.append((name, label, (np.asarray(image) / 255.0).astype(np.float32)[None] - offset))
    return out


def read_pictures(predict, samples):
    return ", ".join(f"{name} (a {label}) read as {int(np.argmax(predict(x)))}" for name, label, x in samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="a few epochs and a 1-minute ResNet: a smoke run")
    parser.add_argument("--seed", type=int, default=signs.DEFAULT_SEED, help="generator seed")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="original test_signs.h5")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out" / "signs_side_by_side.png")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow threads (the machine is shared)")
    parser.add_argument("--runs", type=int, default=3, help="small-CNN (Keras) runs, seeds 1..N")
    parser.add_argument("--recipe-runs", type=int, default=3, help="hand-written recipe runs, seeds 0..N-1")
    parser.add_argument("--no-resnet", action="store_true", help="skip `course pretrain`")
    parser.add_argument("--strong", action="store_true", help="also a stronger augmented CNN (transfer ceiling)")
    args = parser.parse_args(argv)
    epochs = 5 if args.fast else 100
    results = {}

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SIGNS_DATA_DIR"] = tmp  # the notebooks' loader, the recipe and `course pretrain` read it
        start = time.perf_counter()
        signs.generate(tmp, seed=args.seed, verbose=False)
        results["generation"] = time.perf_counter() - start
        X_train_orig, Y_train_orig, X_test_orig, Y_test_orig, _ = signs.load_dataset(tmp, verbose=True)
        print(
            f"generation of both files (generator v{signs.GENERATOR_VERSION}): {results['generation']:.1f} s "
            f"(budget 30 s)",
            flush=True,
        )
        y_train, y_test = Y_train_orig[0], Y_test_orig[0]
        X_real = y_real = None
        if args.real.is_file():
            X_real, y_real, _ = signs.read_split(args.real, "test")
        else:
            print(f"(no original test file at {args.real}: real-photo numbers skipped)")
        side_by_side(args.out, X_train_orig, y_train, X_real, y_real)
        print(f"side-by-side picture: {args.out}")

        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.get_logger().setLevel("ERROR")  # AutoGraph cannot read the source of exec'd solutions: it says so per run
        import keras
        import recipe_robustness as rr

        notebook, data, real, offset = notebook_data(X_train_orig, Y_train_orig, X_test_orig, Y_test_orig, X_real)
        X_train, Y_train, X_test, Y_test = data
        from helpers.instructor.notebooks import solution_code

        code = solution_code(notebook)
        samples = sample_inputs(offset)
        real_acc = (lambda pred: float((pred == y_real).mean())) if real is not None else (lambda pred: float("nan"))

        # 2. the small CNN, as the notebook trains it with Keras
        rows = []
        for seed in range(1, args.runs + 1):
            keras.utils.set_random_seed(seed)
            model = rr.solutions(code)["convolutional_model"]((64, 64, 3))
            model.compile(
                optimizer=keras.optimizers.Adam(learning_rate=0.009),
                loss="categorical_crossentropy",
                metrics=["accuracy"],
            )
            start = time.perf_counter()
            model.fit(X_train, Y_train, epochs=epochs, batch_size=64, shuffle=True, verbose=0)
            seconds = time.perf_counter() - start
            test_acc = float(np.mean(model.predict(X_test, verbose=0).argmax(1) == y_test))
            pred = model.predict(real, verbose=0).argmax(1) if real is not None else None
            rows.append((test_acc, real_acc(pred), pred))
            print(
                f"small CNN (Keras) seed {seed}, {epochs} epochs ({seconds:.0f} s): generated test {test_acc:.3f}, "
                f"real photos {rows[-1][1]:.3f}; "
                f"{read_pictures(lambda x, model=model: model.predict(x, verbose=0), samples)}",
                flush=True,
            )
        results["small CNN"] = rows

        # 3. the hand-written recipe
        rows = []
        for k in range(args.recipe_runs):
            ns = rr.solutions(rr.shift_seeds(code, k))
            start = time.perf_counter()
            costs = []
            train_acc, test_acc, parameters = ns["model"](
                X_train,
                Y_train,
                X_test,
                Y_test,
                learning_rate=0.009,
                num_epochs=epochs,
                minibatch_size=64,
                print_cost=False,
                history=costs,
            )
            seconds = time.perf_counter() - start
            logits = lambda x, ns=ns, parameters=parameters: ns["forward_propagation"](x, parameters).numpy()  # noqa: E731
            pred = logits(real).argmax(1) if real is not None else None
            rows.append((test_acc, real_acc(pred), pred))
            collapsed = train_acc < rr.COLLAPSE_ACCURACY or np.bincount(
                logits(X_train).argmax(1), minlength=6
            ).max() > rr.COLLAPSE_SHARE * len(X_train)
            print(
                f"hand-written recipe seed {k}, {epochs} epochs ({seconds:.0f} s): cost after epoch 0 {costs[0]:.6f}, "
                f"5 {costs[min(5, len(costs) - 1)]:.6f}; train {train_acc:.4f}, generated test {test_acc:.4f}, "
                f"real photos {rows[-1][1]:.3f}{' COLLAPSED onto one class' if collapsed else ''}; "
                f"{read_pictures(logits, samples)}",
                flush=True,
            )
            results["recipe collapses"] = results.get("recipe collapses", 0) + int(collapsed)
        results["hand-written recipe"] = rows

        # 4. ResNet-50 as `course pretrain` makes it
        if not args.no_resnet:
            from helpers import pretrain

            weights = Path(tmp) / "weights"
            start = time.perf_counter()
            manifest = pretrain.train(
                out_dir=weights,
                data_dir=tmp,
                minutes=1 if args.fast else pretrain.DEFAULT_MINUTES,
                log=lambda line: print("  " + line, flush=True),
            )
            results["pretrain"] = time.perf_counter() - start
            keras.backend.clear_session()
            resnet = pretrain.build_model(REPO)
            resnet.load_weights(weights / pretrain.WEIGHTS_FILE)
            plain = sample_inputs(0.0)  # the ResNet notebook feeds X / 255
            pred = resnet.predict(X_real / 255.0, verbose=0, batch_size=64).argmax(1) if X_real is not None else None
            results["ResNet-50"] = [(manifest["test_accuracy"], real_acc(pred), pred)]
            print(
                f"ResNet-50 (`course pretrain`, {results['pretrain'] / 60:.1f} min in all, "
                f"{manifest['epochs']} epochs, {manifest['training_images']} training images of which "
                f"{manifest['extra_generated_images']} extra generated): generated test "
                f"{manifest['test_accuracy']:.3f}, real photos {real_acc(pred):.3f}; "
                f"{read_pictures(lambda x: resnet.predict(x, verbose=0), plain)}",
                flush=True,
            )

        if args.strong:
            strong_run(keras, args, X_train_orig, y_train, X_test_orig, y_test, X_real, y_real)

    print("\nsummary (trained on generated data only; real = the 120 original SIGNS test photos)")
    print(f"  generation of both files: {results['generation']:.1f} s (goal < 30 s)")
    goals = {
        "small CNN": "real >= 0.65, generated 0.70-0.95",
        "hand-written recipe": "no collapse",
        "ResNet-50": "real >= 0.85, generated >= 0.95",
    }
    for name in ("small CNN", "hand-written recipe", "ResNet-50"):
        if name not in results:
            continue
        rows = results[name]
        gen, rl = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
        print(
            f"  {name:<20} generated test {gen.mean():.3f} ({gen.min():.3f}-{gen.max():.3f}), real photos "
            f"{rl.mean():.3f} ({rl.min():.3f}-{rl.max():.3f}) over {len(rows)} run(s)   goal: {goals[name]}"
        )
        if y_real is not None:
            print("    confusion on the real photos, all runs summed (rows: true 0..5, columns: predicted):")
            print("    " + str(sum(confusion(y_real, r[2]) for r in rows)).replace("\n", "\n    "))
    if "hand-written recipe" in results:
        print(
            f"  hand-written recipe: {results.get('recipe collapses', 0)} of {len(results['hand-written recipe'])} "
            f"runs collapsed onto one class"
        )
    if "pretrain" in results:
        print(f"  `course pretrain`: {results['pretrain'] / 60:.2f} min in all (goal <= 5 min on 2 cores)")
    return 0


def strong_run(keras, args, X_train, y_train, X_test, y_test, X_real, y_real):
    """A stronger augmented CNN on more generated images: how much of the gap the small network's size explains."""
    one_hot = lambda y: signs.convert_to_one_hot(y, 6).T  # noqa: E731
    per_class = 60 if args.fast else 400
    X_big, y_big = signs.generate_arrays(per_class, seed=args.seed + 1000, split="train")
    keras.utils.set_random_seed(2)
    strong = stronger_cnn(keras)
    strong_epochs = 2 if args.fast else 30
    steps = strong_epochs * int(np.ceil((X_big.shape[0] + X_train.shape[0]) / 64))
    strong.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(0.003, decay_steps=steps)),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    strong.fit(
        np.concatenate([X_big, X_train]) / 255.0,
        one_hot(np.concatenate([y_big, y_train])),
        epochs=strong_epochs,
        batch_size=64,
        verbose=0,
    )
    test_strong = float(np.mean(strong.predict(X_test / 255.0, verbose=0).argmax(1) == y_test))
    real = (
        float(np.mean(strong.predict(X_real / 255.0, verbose=0).argmax(1) == y_real))
        if X_real is not None
        else float("nan")
    )
    print(f"stronger CNN, {strong_epochs} epochs: generated test {test_strong:.3f}, real photos {real:.3f}")


if __name__ == "__main__":
    sys.exit(main())
