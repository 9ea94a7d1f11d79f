"""Assignment 2 (``cnn_application``): accuracy of the notebook's recipe, and the hand-written loop vs Keras ``fit``.

Runs the source notebook's solution functions (the reference answers) in one process:

1. ``model`` -- the hand-written ``tf.function`` + ``GradientTape`` loop, the notebook's recipe
   (Adam 0.009, minibatches of 64 reshuffled each epoch) on the bundled SIGNS training set:
   train/test accuracy, seconds;
2. the *same network* (no convolution biases, logits, same initial weights) in Keras, trained with
   ``fit`` (same optimizer, batch size, epochs): accuracy and seconds, and the loop/fit ratio
   (target: the loop no slower than 1.3x ``fit``);
3. the notebook's ``convolutional_model`` (Keras layers with biases, softmax output) trained as the
   notebook does;
4. accuracy of each trained network on ``../shared/signs/test_signs.h5`` (the course's original
   test file), when that file exists.

The loop's time covers the whole ``model`` call (tracing, training, and the two accuracy passes);
``fit``'s covers ``fit`` only (its tracing included).

Usage: ``python benchmarks/cnn_application_speed.py [--epochs 100]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED_TEST = ROOT.parent / "shared" / "signs" / "test_signs.h5"


def load_bundled():
    from helpers import signs

    X_train_orig, Y_train_orig, X_test_orig, Y_test_orig, _ = signs.load_dataset()
    X_train = (X_train_orig / 255.0).astype(np.float32)
    X_test = (X_test_orig / 255.0).astype(np.float32)
    Y_train = signs.convert_to_one_hot(Y_train_orig, 6).T.astype(np.float32)
    Y_test = signs.convert_to_one_hot(Y_test_orig, 6).T.astype(np.float32)
    return X_train, Y_train, X_test, Y_test


def load_shared_test():
    if not SHARED_TEST.is_file():
        return None
    import h5py

    with h5py.File(SHARED_TEST, "r") as fh:
        X = np.asarray(fh["test_set_x"][:])
        y = np.asarray(fh["test_set_y"][:]).reshape(-1)
    return (X / 255.0).astype(np.float32), y.astype(np.int64)


def same_network_in_keras(parameters):
    """The low-level network as Keras layers, starting from the same initial weights."""
    import tensorflow as tf
    from tensorflow.keras import layers as tfl

    inputs = tf.keras.Input(shape=(64, 64, 3))
    conv1 = tfl.Conv2D(8, 4, strides=1, padding="same", use_bias=False)
    conv2 = tfl.Conv2D(16, 2, strides=1, padding="same", use_bias=False)
    dense = tfl.Dense(6)
    x = tfl.MaxPool2D(8, 8, padding="same")(tfl.ReLU()(conv1(inputs)))
    x = tfl.MaxPool2D(4, 4, padding="same")(tfl.ReLU()(conv2(x)))
    outputs = dense(tfl.Flatten()(x))
    network = tf.keras.Model(inputs, outputs)
    conv1.set_weights([parameters["W1"].numpy()])
    conv2.set_weights([parameters["W2"].numpy()])
    dense.set_weights([parameters["W3"].numpy(), parameters["b3"].numpy()])
    return network


def accuracy(predict, X, y) -> float:
    return float(np.mean(np.argmax(np.asarray(predict(X)), axis=1) == y))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs of every training run (default 100)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from helpers.instructor.references import solution_namespace

    tf.get_logger().setLevel("ERROR")
    solutions = solution_namespace("cnn_application", ROOT)
    X_train, Y_train, X_test, Y_test = load_bundled()
    y_train, y_test = Y_train.argmax(1), Y_test.argmax(1)
    shared = load_shared_test()
    print(
        f"threads: intra-op {tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()}, "
        f"cores {os.cpu_count()}; epochs {args.epochs}; batch 64; Adam 0.009"
    )

    # 1. the hand-written loop, the notebook's recipe
    costs: list[float] = []
    start = time.perf_counter()
    train_acc, test_acc, parameters = solutions["model"](
        X_train,
        Y_train,
        X_test,
        Y_test,
        learning_rate=0.009,
        num_epochs=args.epochs,
        minibatch_size=64,
        print_cost=False,
        history=costs,
    )
    loop_seconds = time.perf_counter() - start
    forward = solutions["forward_propagation"]
    print(
        f"\n[loop] tf.function + GradientTape, {args.epochs} epochs: {loop_seconds:.1f} s "
        f"({loop_seconds / args.epochs:.3f} s/epoch); final cost {costs[-1]:.4f}"
    )
    print(
        f"[loop] bundled SIGNS: train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
        "(course, original data: 0.94 / 0.78)"
    )
    if shared is not None:
        print(
            f"[loop] {SHARED_TEST.name} from ../shared ({shared[0].shape[0]} images): accuracy "
            f"{accuracy(lambda X: forward(X, parameters), *shared):.4f}"
        )

    # 2. the same network trained by Keras fit
    tf.random.set_seed(1)
    np.random.seed(1)
    network = same_network_in_keras(solutions["initialize_parameters"]())
    network.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=0.009),
        loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    history = network.fit(X_train, Y_train, batch_size=64, epochs=args.epochs, shuffle=True, verbose=0)
    fit_seconds = time.perf_counter() - start
    predict = lambda X: network.predict(X, verbose=0, batch_size=256)  # noqa: E731
    print(
        f"\n[fit]  same network, Keras fit, {args.epochs} epochs: {fit_seconds:.1f} s "
        f"({fit_seconds / args.epochs:.3f} s/epoch); final loss {history.history['loss'][-1]:.4f}"
    )
    print(
        f"[fit]  bundled SIGNS: train accuracy {accuracy(predict, X_train, y_train):.4f}, "
        f"test accuracy {accuracy(predict, X_test, y_test):.4f}"
    )
    if shared is not None:
        print(f"[fit]  {SHARED_TEST.name}: accuracy {accuracy(predict, *shared):.4f}")
    ratio = loop_seconds / fit_seconds
    print(f"\nloop / fit time ratio: {ratio:.2f} (target <= 1.3) -> {'OK' if ratio <= 1.3 else 'SLOWER THAN TARGET'}")

    # 3. the notebook's Keras model (biases, softmax output)
    tf.keras.utils.set_random_seed(1)
    conv_model = solutions["convolutional_model"]((64, 64, 3))
    conv_model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=0.009), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    start = time.perf_counter()
    conv_model.fit(X_train, Y_train, batch_size=64, epochs=args.epochs, shuffle=True, verbose=0)
    keras_seconds = time.perf_counter() - start
    predict = lambda X: conv_model.predict(X, verbose=0, batch_size=256)  # noqa: E731
    print(
        f"\n[convolutional_model] notebook's Keras model, {args.epochs} epochs: {keras_seconds:.1f} s; "
        f"train accuracy {accuracy(predict, X_train, y_train):.4f}, "
        f"test accuracy {accuracy(predict, X_test, y_test):.4f}"
    )
    if shared is not None:
        print(f"[convolutional_model] {SHARED_TEST.name}: accuracy {accuracy(predict, *shared):.4f}")
    if shared is None:
        print(f"\n({SHARED_TEST} not found: accuracy on the original test file skipped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
