"""Seconds per epoch of ResNet-50 on SIGNS (1080 images, 64x64), measured in one run.

Each configuration runs in its own process (thread settings only take effect before TensorFlow
starts), serially, with the same model (built from the source notebook's solutions):

* ``baseline``   -- the notebook's training: plain ``model.fit`` on in-memory float32 arrays, batch 32;
* ``batch64``    -- the same with batches of 64;
* ``tfdata``     -- a ``tf.data`` pipeline (from_tensor_slices, shuffle, batch, prefetch), batch 32;
* ``threads``    -- baseline with intra-op threads = cores and one inter-op thread;
* ``bf16``       -- baseline under the ``mixed_bfloat16`` policy (only where the CPU has bf16 instructions);
* ``keraslayers`` -- the previous ``course pretrain`` input pipeline: Keras preprocessing layers mapped over a
  ``tf.data`` pipeline, batch 32 (float32), to compare with ``pretrain-f32``;
* ``pretrain``   -- what ``course pretrain`` runs: bf16 where supported, numpy augmentation in a
  ``keras.utils.PyDataset`` (``helpers.pretrain.batches``), batch 32;
* ``pretrain-f32`` -- the same in float32: the bf16 speed-up on the real pipeline;
* ``pretrain-b64`` -- the same with batches of 64;
* ``xla``        -- baseline with ``jit_compile=True`` (only with ``--xla``: on this CPU it was >10x slower).

For each it prints the first epoch (tracing included) and the mean of the next ``--epochs``
epochs, the ratio of that steady-state time to the baseline's, and the training accuracy reached
after the timed epochs (a sanity check that a faster variant still learns). Results go to
``benchmarks/out/resnet_speed.json``.

Usage:  python benchmarks/resnet_speed.py [--epochs 2] [--only baseline,bf16] [--xla]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
CONFIGS = (
    "baseline",
    "batch64",
    "tfdata",
    "threads",
    "bf16",
    "keraslayers",
    "pretrain",
    "pretrain-f32",
    "pretrain-b64",
    "xla",
)


def run_one(name: str, epochs: int) -> dict:
    """Inside a child process: time one configuration."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cores = os.cpu_count() or 1
    import tensorflow as tf

    if name == "threads":
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    import numpy as np

    from helpers import pretrain, signs

    if name in ("bf16", "pretrain", "pretrain-b64") and pretrain.cpu_has_native_bf16():
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    policy = keras.mixed_precision.global_policy().name
    keras.utils.set_random_seed(0)
    X_orig, Y_orig, _, _, _ = signs.load_dataset(verbose=False)
    X = X_orig.astype(np.float32) / 255.0
    Y = signs.convert_to_one_hot(Y_orig, 6).T.astype(np.float32)
    model = pretrain.build_model(REPO)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"], jit_compile=(name == "xla"))
    batch = 64 if name in ("batch64", "pretrain-b64") else 32
    if name == "tfdata":
        data = (
            tf.data.Dataset.from_tensor_slices((X, Y)).shuffle(len(X), seed=0).batch(batch).prefetch(tf.data.AUTOTUNE)
        )
        fit = lambda: model.fit(data, epochs=1, verbose=0)  # noqa: E731
    elif name == "keraslayers":
        aug = keras.Sequential(
            [
                keras.layers.RandomFlip("horizontal", seed=0),
                keras.layers.RandomTranslation(0.06, 0.06, seed=1),
                keras.layers.RandomZoom((-0.05, 0.05), seed=2),
                keras.layers.RandomRotation(0.025, seed=3),
                keras.layers.RandomContrast(0.1, seed=4),
                keras.layers.RandomBrightness(0.1, value_range=(0.0, 1.0), seed=5),
            ]
        )
        data = (
            tf.data.Dataset.from_tensor_slices((X, Y))
            .shuffle(len(X), seed=0)
            .batch(batch)
            .map(
                lambda x, y: (tf.clip_by_value(aug(x, training=True), 0.0, 1.0), y), num_parallel_calls=tf.data.AUTOTUNE
            )
            .prefetch(tf.data.AUTOTUNE)
        )
        fit = lambda: model.fit(data, epochs=1, verbose=0)  # noqa: E731
    elif name.startswith("pretrain"):
        data = pretrain.batches(X, Y, batch, seed=0)
        fit = lambda: model.fit(data, epochs=1, verbose=0)  # noqa: E731
    else:
        fit = lambda: model.fit(X, Y, epochs=1, batch_size=batch, verbose=0)  # noqa: E731
    times, history = [], None
    for _ in range(1 + epochs):
        start = time.perf_counter()
        history = fit()
        times.append(time.perf_counter() - start)
    return {
        "config": name,
        "policy": policy,
        "batch": batch,
        "first_epoch_s": round(times[0], 2),
        "s_per_epoch": round(float(np.mean(times[1:])), 2),
        "epochs_timed": epochs,
        "train_accuracy": round(float(history.history["accuracy"][-1]), 3),
        "threads": cores,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after the first (default 2)")
    parser.add_argument("--only", default=None, help="comma-separated configurations (default: all but xla)")
    parser.add_argument("--xla", action="store_true", help="also time jit_compile=True (slow on CPU)")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.epochs)), flush=True)
        return 0

    sys.path.insert(0, str(REPO))
    from helpers import pretrain

    names = args.only.split(",") if args.only else [c for c in CONFIGS if c != "xla" or args.xla]
    if "baseline" not in names:
        names.insert(0, "baseline")
    if not pretrain.cpu_has_native_bf16():
        print("this CPU has no bfloat16 instructions: bf16/pretrain run in float32 here")
    results = []
    for name in names:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--one", name, "--epochs", str(args.epochs)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode or not lines:
            print(f"{name}: failed\n{proc.stderr[-2000:]}")
            continue
        result = json.loads(lines[-1][len("RESULT ") :])
        result["wall_s"] = round(time.perf_counter() - started, 1)
        results.append(result)
        print(
            f"{name:<9} {result['policy']:<15} batch {result['batch']:>3}  first epoch {result['first_epoch_s']:6.1f} s"
            f"  then {result['s_per_epoch']:6.1f} s/epoch  train acc {result['train_accuracy']:.3f}",
            flush=True,
        )
    base = next((r for r in results if r["config"] == "baseline"), None)
    if base:
        print(
            f"\ns/epoch relative to the notebook's plain model.fit ({base['s_per_epoch']:.1f} s/epoch, "
            f"{base['threads']} cores):"
        )
        for r in results:
            r["ratio_to_baseline"] = round(r["s_per_epoch"] / base["s_per_epoch"], 3)
            print(
                f"  {r['config']:<9} {r['s_per_epoch']:6.1f} s/epoch   ratio {r['ratio_to_baseline']:.2f}"
                f"   speed-up x{1 / r['ratio_to_baseline']:.2f}"
            )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "resnet_speed.json").write_text(json.dumps(results, indent=1))
    print(f"\nwritten {OUT / 'resnet_speed.json'}")
    try:
        load = os.getloadavg()[0]
        print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores (other processes skew the timings)")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
