"""Assignment 2 (``cnn_application``): does the course recipe train on every seed, or collapse onto one class?

Trains the source notebook's reference ``model`` (the hand-written ``tf.function`` + ``GradientTape``
loop: Adam 0.009, minibatches of 64, 100 epochs) on the SIGNS data the notebooks load
(``helpers.signs.load_dataset()``) once per seed, and prints per run the cost after epochs 0 and 5, the
final cost, train and test accuracy, the largest share of examples given one class, the convolution
filters left dead, whether the run collapsed, and its time; then a summary per recipe.

What a seed is. The recipe uses three seeds: the TensorFlow seed (``tf.random.set_seed(1)`` in
``model``), the initialisers' seeds (``seed=N`` in ``initialize_parameters``) and the start of the
minibatch shuffle (``seed = 3`` in ``model``, incremented before each epoch's
``random_mini_batches``). Seed ``k`` adds ``k`` to every one of them, in the notebook's own code, so
seed 0 is exactly the notebook's run and seed ``k`` uses TensorFlow seed ``1 + k``, initialiser seeds
``N + k`` and shuffle seeds ``3 + k + 1, 3 + k + 2, ...``.

A run *collapsed* when its train accuracy is below 0.25 or one class takes more than 90 % of the
training set's predictions.

``--variant NAME`` (repeatable; ``A+B`` combines two) trains a variant of the notebook's recipe beside
it, on the same seeds, and prints the summaries side by side; ``--list`` names them. A variant is a
textual edit of the notebook's solution code (it fails loudly when the notebook no longer holds the line
it edits), except ``uncentered-inputs`` and ``centered-inputs``, which change the data the recipe is
given. The data are always prepared by the notebook's own data cell, so the script follows the notebook.

Usage: ``python benchmarks/recipe_robustness.py [--seeds 10] [--epochs 100] [--variant NAME] [--threads 1]``

``--variant uncentered-inputs+keras-epsilon`` is the recipe before the fix (plain X / 255, Keras'
epsilon). Measured on the generated data (generator v1), 10 seeds, 1 thread, about 27 s a run:

    recipe                          collapsed  train mean (min-max)    test mean (min-max)    dead conv1
    notebook (centred, eps 1e-8)    0/10       1.0000 (1.0000-1.0000)  0.8675 (0.8417-0.9000) 0.0 of 8
    uncentered-inputs+keras-epsilon 1/10       0.7817 (0.1667-0.9731)  0.6800 (0.1667-0.8667) 5.6 of 8
    uncentered-inputs+tf1-initializers (eps 1e-8)
                                    2/10       0.7469 (0.1667-0.9806)  0.6475 (0.1667-0.8333) 5.9 of 8
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "cnn_application"
COLLAPSE_ACCURACY = 0.25
COLLAPSE_SHARE = 0.90

# name -> (what it changes, [(regex in the notebook's solution code, replacement)])
VARIANTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "keras-epsilon": (
        "Adam with Keras' default epsilon 1e-7 instead of TF1's 1e-8",
        [
            (
                r"tf\.keras\.optimizers\.Adam\(learning_rate=learning_rate[^)]*\)",
                "tf.keras.optimizers.Adam(learning_rate=learning_rate)",
            )
        ],
    ),
    "tf1-epsilon": (
        "Adam with TF1's epsilon 1e-8",
        [
            (
                r"tf\.keras\.optimizers\.Adam\(learning_rate=learning_rate[^)]*\)",
                "tf.keras.optimizers.Adam(learning_rate=learning_rate, epsilon=1e-8)",
            )
        ],
    ),
    "one-initializer": (
        "one GlorotUniform(seed=1) object for W1, W2 and W3 (Keras 3 gives every call the same random stream)",
        [
            (
                r"(?s)(def initialize_parameters\(\):.*?### BEGIN SOLUTION\n).*?(\s*### END SOLUTION)",
                r"\1    initializer = tf.keras.initializers.GlorotUniform(seed=1)\n"
                r'    W1 = tf.Variable(initializer(shape=(4, 4, 3, 8)), name="W1")\n'
                r'    W2 = tf.Variable(initializer(shape=(2, 2, 8, 16)), name="W2")\n'
                r'    W3 = tf.Variable(initializer(shape=(64, 6)), name="W3")\n'
                r'    b3 = tf.Variable(tf.zeros((6,)), name="b3")\2',
            )
        ],
    ),
    "tf1-initializers": (
        "W1 and W2 from GlorotUniform(seed=0) as TF1's xavier_initializer(seed=0), W3 from its own seed 1",
        [
            (
                r"(?s)(def initialize_parameters\(\):.*?### BEGIN SOLUTION\n).*?(\s*### END SOLUTION)",
                r'\1    W1 = tf.Variable(tf.keras.initializers.GlorotUniform(seed=0)(shape=(4, 4, 3, 8)), name="W1")\n'
                r'    W2 = tf.Variable(tf.keras.initializers.GlorotUniform(seed=0)(shape=(2, 2, 8, 16)), name="W2")\n'
                r'    W3 = tf.Variable(tf.keras.initializers.GlorotUniform(seed=1)(shape=(64, 6)), name="W3")\n'
                r'    b3 = tf.Variable(tf.zeros((6,)), name="b3")\2',
            )
        ],
    ),
    "uncentered-inputs": (
        "inputs X / 255 in [0, 1], as in the TF1 course, without the notebook's centring",
        [],
    ),
    "centered-inputs": (
        "inputs minus the training set's mean pixel (per channel), where the notebook does not centre",
        [],
    ),
    "fixed-shuffle": (
        "the same minibatches every epoch (seed not incremented)",
        [(r"\n(\s*)seed = seed \+ 1\n", "\n")],
    ),
}


@dataclass
class Run:
    seed: int
    cost0: float
    cost5: float
    final_cost: float
    train_accuracy: float
    test_accuracy: float
    top_share: float
    dead1: int
    dead2: int
    seconds: float

    @property
    def collapsed(self) -> bool:
        return self.train_accuracy < COLLAPSE_ACCURACY or self.top_share > COLLAPSE_SHARE


def apply_edits(code: str, edits: list[tuple[str, str]], what: str) -> str:
    for pattern, replacement in edits:
        code, count = re.subn(pattern, replacement, code)
        if count == 0:
            raise SystemExit(f"{what}: the notebook's solution code has no match for {pattern!r}")
    return code


def shift_seeds(code: str, k: int) -> str:
    """The notebook's solution code with every seed the recipe uses moved by ``k`` (see the docstring)."""
    plus = lambda match: f"{match.group(1)}{int(match.group(2)) + k}"  # noqa: E731
    code, n_tf = re.subn(r"(tf\.random\.set_seed\()(\d+)", plus, code)
    code, n_init = re.subn(r"(\bseed=)(\d+)", plus, code)
    code, n_shuffle = re.subn(r"(?m)(^\s*seed = )(\d+)", plus, code)
    if not (n_tf and n_init and n_shuffle):
        raise SystemExit(
            f"seed {k}: found {n_tf} tf.random.set_seed, {n_init} initialiser seed=, "
            f"{n_shuffle} 'seed = N' lines in the notebook's solutions; expected each"
        )
    return code


def solutions(code: str) -> dict:
    from helpers.checks import cnn_application as check

    namespace: dict = {"__name__": f"solutions_{ASSIGNMENT}"}
    exec(compile(check.PREAMBLE + "\n" + code, f"<source/{ASSIGNMENT} solutions>", "exec"), namespace)
    return namespace


def load_data(notebook, center: bool | None = None):
    """The SIGNS arrays as the notebook prepares them: its own data cell, run on ``signs.load_dataset()``.

    ``center`` False undoes the centring (plain X / 255, as in the TF1 course); True centres inputs
    the notebook leaves uncentred; None keeps what the notebook does.
    """
    import contextlib
    import io

    from helpers import signs

    X_train_orig, Y_train_orig, X_test_orig, Y_test_orig, _ = signs.load_dataset()
    cell = next(
        c.source for c in notebook.cells if c.cell_type == "code" and "convert_to_one_hot(Y_train_orig" in c.source
    )
    namespace = {
        "np": np,
        "convert_to_one_hot": signs.convert_to_one_hot,
        "X_train_orig": X_train_orig,
        "Y_train_orig": Y_train_orig,
        "X_test_orig": X_test_orig,
        "Y_test_orig": Y_test_orig,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(cell, "<the notebook's data cell>", "exec"), namespace)
    X_train, X_test = namespace["X_train"], namespace["X_test"]
    plain_train = (X_train_orig / 255.0).astype(np.float32)
    plain_test = (X_test_orig / 255.0).astype(np.float32)
    mean_pixel = (X_train_orig / 255.0).mean(axis=(0, 1, 2)).astype(np.float32)
    if center is False:
        X_train, X_test = plain_train, plain_test
    elif center is True and np.array_equal(X_train, plain_train):
        X_train, X_test = plain_train - mean_pixel, plain_test - mean_pixel
    return X_train, namespace["Y_train"], X_test, namespace["Y_test"]


def dead_filters(X, parameters) -> tuple[int, int]:
    """Filters of conv 1 and conv 2 whose ReLU is zero at every position of every example of X."""
    import tensorflow as tf

    Z1 = tf.nn.conv2d(X, parameters["W1"], strides=1, padding="SAME")
    P1 = tf.nn.max_pool(tf.nn.relu(Z1), ksize=8, strides=8, padding="SAME")
    Z2 = tf.nn.conv2d(P1, parameters["W2"], strides=1, padding="SAME")
    dead1 = int(np.sum(tf.reduce_max(Z1, axis=(0, 1, 2)).numpy() <= 0))
    dead2 = int(np.sum(tf.reduce_max(Z2, axis=(0, 1, 2)).numpy() <= 0))
    return dead1, dead2


def train(code: str, k: int, data, epochs: int) -> Run:
    import tensorflow as tf

    namespace = solutions(shift_seeds(code, k))
    X_train, Y_train, X_test, Y_test = data
    costs: list[float] = []
    start = time.perf_counter()
    train_accuracy, test_accuracy, parameters = namespace["model"](
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
    predictions = tf.argmax(namespace["forward_propagation"](X_train, parameters), axis=1).numpy()
    top_share = float(np.bincount(predictions, minlength=6).max() / predictions.size)
    dead1, dead2 = dead_filters(X_train, parameters)
    return Run(
        k,
        costs[0],
        costs[min(5, len(costs) - 1)],
        costs[-1],
        train_accuracy,
        test_accuracy,
        top_share,
        dead1,
        dead2,
        seconds,
    )


def print_run(label: str, run: Run) -> None:
    print(
        f"{label:<18} seed {run.seed:>2}: cost e0 {run.cost0:.6f} e5 {run.cost5:.6f} final "
        f"{run.final_cost:.4f}  train {run.train_accuracy:.4f}  test {run.test_accuracy:.4f}  "
        f"top class {run.top_share:.2f}  dead filters {run.dead1}/8 {run.dead2}/16  "
        f"{'COLLAPSED' if run.collapsed else 'ok       '}  {run.seconds:.1f} s",
        flush=True,
    )


def summary(runs: list[Run]) -> dict[str, str]:
    train = np.array([r.train_accuracy for r in runs])
    test = np.array([r.test_accuracy for r in runs])
    return {
        "collapsed runs": f"{sum(r.collapsed for r in runs)}/{len(runs)}",
        "train accuracy mean": f"{train.mean():.4f}",
        "train accuracy min / max": f"{train.min():.4f} / {train.max():.4f}",
        "test accuracy mean": f"{test.mean():.4f}",
        "test accuracy min / max": f"{test.min():.4f} / {test.max():.4f}",
        "seed 0 (the notebook's run)": f"{runs[0].train_accuracy:.4f} / {runs[0].test_accuracy:.4f}"
        if runs[0].seed == 0
        else "-",
        "seconds per run": f"{np.mean([r.seconds for r in runs]):.1f}",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1 (default 10)")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs of every run (default 100)")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also train this variant of the notebook's recipe (repeatable; A+B combines)",
    )
    parser.add_argument("--no-notebook", action="store_true", help="train only the variants")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow intra- and inter-op threads (default 1)")
    parser.add_argument("--list", action="store_true", help="list the variants and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, _) in VARIANTS.items():
            print(f"{name}: {what}")
        return 0

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    tf.get_logger().setLevel("ERROR")
    sys.path.insert(0, str(ROOT))
    from helpers.instructor.notebooks import read_notebook, solution_code

    notebook = read_notebook(ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    code = solution_code(notebook)
    recipes = {} if args.no_notebook else {"notebook": code}
    for name in args.variant:
        recipes[name] = code
        for part in name.split("+"):
            if part not in VARIANTS:
                parser.error(f"unknown variant {part!r}; --list names them")
            recipes[name] = apply_edits(recipes[name], VARIANTS[part][1], part)
    datasets = {center: load_data(notebook, center) for center in (None, False, True)}
    data = datasets[None]
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(
        f"{data[0].shape[0]} train / {data[2].shape[0]} test images; {args.epochs} epochs, Adam 0.009, "
        f"minibatch 64; seeds {seeds.start}..{seeds.stop - 1}; TF threads {args.threads}; "
        f"collapsed = train accuracy < {COLLAPSE_ACCURACY} or one class > {COLLAPSE_SHARE:.0%} of predictions"
    )
    for name in recipes:
        if name != "notebook":
            print(f"variant {name}: " + "; ".join(VARIANTS[part][0] for part in name.split("+")))

    results: dict[str, list[Run]] = {name: [] for name in recipes}
    for k in seeds:  # seed-major: an interrupted run still compares the recipes on the same seeds
        for name, recipe in recipes.items():
            parts = name.split("+")
            center = False if "uncentered-inputs" in parts else True if "centered-inputs" in parts else None
            run = train(recipe, k, datasets[center], args.epochs)
            results[name].append(run)
            print_run(name, run)

    tables = {name: summary(runs) for name, runs in results.items()}
    rows = next(iter(tables.values())).keys()
    width = max(12, *(len(n) for n in tables))
    print("\n" + " " * 28 + "".join(f"{name:>{width + 2}}" for name in tables))
    for row in rows:
        print(f"{row:<28}" + "".join(f"{tables[name][row]:>{width + 2}}" for name in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
