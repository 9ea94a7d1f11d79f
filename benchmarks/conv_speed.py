"""Loops vs vectorized numpy vs TensorFlow on a realistic convolution and pooling layer.

The loop versions are the reference solutions of cnn_step_by_step (run from source/); the
vectorized ones are benchmarks/vectorized.py. All three are timed in this one run and their outputs
compared. Usage: python benchmarks/conv_speed.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import vectorized  # noqa: E402  (benchmarks/vectorized.py, beside this script)

from helpers.instructor.references import solution_namespace  # noqa: E402


def best_of(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5, help="timings per fast variant (best is kept)")
    args = parser.parse_args()

    import tensorflow as tf

    loops = solution_namespace("cnn_step_by_step")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((8, 64, 64, 3))
    W = rng.standard_normal((4, 4, 3, 8))
    b = rng.standard_normal((1, 1, 1, 8))
    hp = {"stride": 1, "pad": 2}
    print(f"layer: A_prev {A.shape}, W {W.shape}, stride 1, pad 2 -> Z {vectorized.conv_forward(A, W, b, hp).shape}")

    t_loop, z_loop = best_of(lambda: loops["conv_forward"](A, W, b, hp)[0], 1)
    t_vec, z_vec = best_of(lambda: vectorized.conv_forward(A, W, b, hp), args.repeat)
    padded = tf.constant(vectorized.pad_spatial(A, 2))
    W_tf = tf.constant(W)
    conv_tf = lambda: tf.nn.conv2d(padded, W_tf, strides=1, padding="VALID").numpy() + b  # noqa: E731
    conv_tf()
    t_tf, z_tf = best_of(conv_tf, args.repeat)
    assert np.allclose(z_loop, z_vec) and np.allclose(z_loop, z_tf, atol=1e-9)

    pool_hp = {"f": 8, "stride": 8}
    Z = z_vec
    t_ploop, p_loop = best_of(lambda: loops["pool_forward"](Z, pool_hp, mode="max")[0], 1)
    t_pvec, p_vec = best_of(lambda: vectorized.pool_forward(Z, pool_hp, "max"), args.repeat)
    Z_tf = tf.constant(Z)
    pool_tf = lambda: tf.nn.max_pool2d(Z_tf, 8, 8, "VALID").numpy()  # noqa: E731
    pool_tf()
    t_ptf, p_tf = best_of(pool_tf, args.repeat)
    assert np.allclose(p_loop, p_vec) and np.allclose(p_loop, p_tf)

    dZ = rng.standard_normal(Z.shape)
    t_bloop, g_loop = best_of(lambda: loops["conv_backward"](dZ, (A, W, b, hp)), 1)
    t_bvec, g_vec = best_of(lambda: vectorized.conv_backward(dZ, A, W, hp), args.repeat)
    assert all(np.allclose(x, y) for x, y in zip(g_loop, g_vec))

    print(f"{'':<22}{'loops':>11}{'vectorized':>12}{'TensorFlow':>12}{'loops/vec':>11}{'loops/TF':>10}{'vec/TF':>8}")
    rows = [
        ("conv_forward", t_loop, t_vec, t_tf),
        ("pool_forward (max 8/8)", t_ploop, t_pvec, t_ptf),
        ("conv_backward", t_bloop, t_bvec, None),
    ]
    for name, slow, fast, tf_time in rows:
        tf_cols = (
            f"{tf_time * 1e3:10.2f}ms{slow / tf_time:10.0f}x{fast / tf_time:7.1f}x"
            if tf_time
            else f"{'-':>12}{'-':>10}{'-':>8}"
        )
        print(f"{name:<22}{slow * 1e3:9.1f}ms{fast * 1e3:10.2f}ms{tf_cols[:12]}{slow / fast:10.0f}x{tf_cols[12:]}")
    print("all three agree on every output.")


if __name__ == "__main__":
    main()
