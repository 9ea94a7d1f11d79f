"""SIGNS data: load it, generate a SIGNS-like default, import the original files.

SIGNS is the course's hand-sign data set: RGB photos, 64x64, of one hand showing
0 to 5 fingers against a light background, 1080 training and 120 test images.
The original files cannot be downloaded from inside the course, so by default the
bundle draws its own SIGNS-like photos (:func:`generate`) and writes them in the
original HDF5 schema; an instructor who has the original ``train_signs.h5`` and
``test_signs.h5`` installs them with :func:`import_original` (``course data
--import DIR``) and from then on every notebook reads those.

Which data is in use is recorded in ``signs_manifest.json`` beside the files and
reported by :func:`describe` and by every verbose :func:`load_dataset` call.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from helpers import i18n
from helpers.paths import datasets_dir

GENERATOR_VERSION = 2
DEFAULT_SEED = 1
IMAGE_SHAPE = (64, 64, 3)
N_CLASSES = 6
TRAIN_PER_CLASS = 180
TEST_PER_CLASS = 20

TRAIN_FILE = "train_signs.h5"
TEST_FILE = "test_signs.h5"
MANIFEST_FILE = "signs_manifest.json"
SPLITS = {"train": TRAIN_FILE, "test": TEST_FILE}

# SHA-256 of the original test file as distributed with the course (the one
# instructors are most likely to hold); lets describe() recognise it even when
# it was copied in by hand, without a manifest entry.
KNOWN_ORIGINAL_SHA256 = {
    TEST_FILE: "539fb746ed9e947eb244cfca73f4d1b03f9bf5524d609eeed2cd76ddb1b179be",
}

UNKNOWN = "unknown/modified"


class SignsDataError(ValueError):
    """SIGNS files that are missing, unreadable or not in the course's format."""


# --------------------------------------------------------------------------
# Course utilities
# --------------------------------------------------------------------------


def convert_to_one_hot(Y, C):
    """One-hot encode integer labels.

    Arguments:
    Y -- integer labels, any shape holding m values (the course passes (1, m))
    C -- number of classes

    Returns:
    one_hot -- numpy array of shape (C, m), float64; callers transpose to (m, C)
    """
    labels = np.asarray(Y).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= C):
        raise ValueError(f"labels must lie in 0..{C - 1}, got {labels.min()}..{labels.max()}")
    return np.eye(C)[labels.astype(np.int64)].T


def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """Shuffle (X, Y) with one permutation and cut it into mini-batches.

    Arguments:
    X -- input data, numpy array of shape (m, n_H, n_W, n_C)
    Y -- labels, numpy array of shape (m, n_y)
    mini_batch_size -- examples per mini-batch; the last one may be smaller
    seed -- seeds numpy's global generator (np.random.seed) before shuffling

    Returns:
    mini_batches -- list of (mini_batch_X, mini_batch_Y), shapes
                    (mini_batch_size, n_H, n_W, n_C) and (mini_batch_size, n_y)
    """
    m = X.shape[0]
    if Y.shape[0] != m:
        raise ValueError(f"X holds {m} examples but Y holds {Y.shape[0]} (examples on the first axis)")
    np.random.seed(seed)
    order = np.random.permutation(m)
    shuffled_X, shuffled_Y = X[order], Y[order]
    return [
        (shuffled_X[start : start + mini_batch_size], shuffled_Y[start : start + mini_batch_size])
        for start in range(0, m, mini_batch_size)
    ]


# --------------------------------------------------------------------------
# The generator: a hand drawn as a photo would show it
# --------------------------------------------------------------------------

_RENDER = 128  # drawn at twice the final size, then averaged down (anti-aliasing)

# Finger order: index, middle, ring, little. Hand units: palm width ~1, the
# wrist at the origin, fingers along +y, palm normal +z (towards the camera when
# the palm faces it), thumb on the -x side.
_KNUCKLES = np.array([[-0.35, 0.98], [-0.115, 1.04], [0.115, 1.00], [0.33, 0.90]])
_PHALANGES = 1.12 * np.array([[0.38, 0.24, 0.18], [0.43, 0.27, 0.19], [0.4, 0.26, 0.18], [0.31, 0.19, 0.16]])
_FINGER_RADIUS = np.array([0.084, 0.087, 0.081, 0.07])
_SPREAD = np.array([-0.15, -0.03, 0.09, 0.22])  # radians from +y, a relaxed open hand

# Fingers raised per class, as the real photographs show them.
_RAISED = {
    0: (),  # "O": fingertips curled onto the thumb
    1: (0,),  # index
    2: (0, 1),  # index + middle
    3: ("thumb", 0, 1),  # thumb + index + middle
    4: (0, 1, 2, 3),  # four fingers, thumb folded across the palm
    5: ("thumb", 0, 1, 2, 3),  # open hand
}

# Relative hand size per class; with the fingers folded a fist (1, 2) is smaller in the frame than an
# open hand anyway, as in the photos.
_CLASS_SCALE = {0: 1.05, 1: 1.0, 2: 0.97, 3: 0.98, 4: 1.0, 5: 0.98}

_SKIN_TONES = (
    0.84
    * np.array(
        [  # sRGB of lit skin, light to dark
            [236, 196, 170],
            [222, 172, 138],
            [208, 152, 114],
            [192, 134, 96],
            [170, 114, 78],
            [140, 92, 62],
            [108, 70, 48],
        ]
    )
    / 255.0
)
_SKIN_WEIGHTS = np.array([0.02, 0.2, 0.38, 0.28, 0.09, 0.025, 0.005])


def _rot(axis, angle):
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _finger_points(base, theta, lengths, flex):
    """Joint positions of a finger: in-plane direction theta, cumulative flex angles."""
    u = np.array([np.sin(theta), np.cos(theta), 0.0])
    n = np.array([0.0, 0.0, 1.0])
    points = [np.asarray(base, float)]
    total = 0.0
    for length, bend in zip(lengths, flex):
        total += bend
        points.append(points[-1] + length * (np.cos(total) * u + np.sin(total) * n))
    return points


def _bezier_points(p0, p1, p2, count):
    t = np.linspace(0.0, 1.0, count)[:, None]
    return list((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2)


def _chain(points, radii, part):
    return [("capsule", points[i], points[i + 1], radii[i], radii[i + 1], part) for i in range(len(points) - 1)]


def _hand_model(label, rng):
    """Primitives of one hand (no forearm) in hand units: capsules and ellipsoids.

    Each primitive carries a part id: 1 fingers, thumb and heel; 2 the palm proper.
    Returns (primitives, keypoints): fingertips 0-3, thumb tip 4, wrist 5, palm sides 6-7.
    """
    prims = []
    raised = _RAISED[label]
    spread = rng.uniform(*{5: (1.8, 3.0), 4: (1.4, 2.6), 3: (1.4, 2.8)}.get(label, (0.5, 1.6)))
    finger_scale = rng.uniform(0.9, 1.1)
    tips = []
    for f in range(4):
        base = np.array([*_KNUCKLES[f], 0.0])
        lengths = _PHALANGES[f] * finger_scale * rng.uniform(0.96, 1.04)
        radius = _FINGER_RADIUS[f] * rng.uniform(0.92, 1.08)
        theta = _SPREAD[f] * spread + rng.normal(0, 0.04)
        if f in raised:
            if label == 2:
                theta = (-0.2, 0.12)[f] * rng.uniform(0.8, 1.8) + rng.normal(0, 0.05)
            flex = np.radians([rng.uniform(-5, 12), rng.uniform(0, 15), rng.uniform(0, 12)])
        elif label == 0:
            # index meets the thumb; the others curl progressively tighter behind it
            tight = 10 * f
            flex = np.radians([rng.uniform(45, 60) + tight, rng.uniform(80, 100) + tight / 2, rng.uniform(50, 70)])
            theta *= 0.4
        else:
            flex = np.radians([rng.uniform(65, 90), rng.uniform(80, 100), rng.uniform(55, 80)])
        pts = _finger_points(base, theta, lengths, flex)
        tips.append(pts[-1])
        radii = radius * np.array([1.0, 0.93, 0.86, 0.8])
        prims += _chain(pts, radii, 1)

    thumb_base = np.array([-0.4, 0.3, 0.02])
    if "thumb" in raised:
        # abduction from the index finger, radians; wider in an open hand
        angle = rng.uniform(0.8, 1.3) if label == 5 else rng.uniform(0.6, 1.0)
        reach = rng.uniform(0.85, 1.0)
        thumb_base = np.array([-0.3, 0.2, 0.02])
        tip = thumb_base + reach * np.array([-np.sin(angle), np.cos(angle), 0.15])
        ctrl = (thumb_base + tip) / 2 + np.array([-0.08, -0.02, 0.12])
    elif label == 0:
        tip = tips[0] + np.array([0.0, -0.05, 0.03])
        ctrl = (thumb_base + tip) / 2 + np.array([-0.12, -0.12, 0.3])
    elif label == 4:
        tip = np.array([rng.uniform(-0.05, 0.15), rng.uniform(0.45, 0.62), 0.15])
        ctrl = np.array([-0.4, 0.55, 0.15])
    elif rng.uniform() < 0.6:  # 1, 2: thumb over the curled fingers
        tip = np.array([rng.uniform(0.0, 0.2), rng.uniform(0.6, 0.72), 0.42])
        ctrl = np.array([-0.42, 0.62, 0.35])
    else:  # 1, 2: thumb resting up against the side of the curled index finger
        tip = np.array([rng.uniform(-0.45, -0.3), rng.uniform(0.75, 0.95), 0.3])
        ctrl = np.array([-0.5, 0.5, 0.2])
    thumb = _bezier_points(thumb_base, ctrl, tip, 4)
    prims += _chain(thumb, np.array([0.13, 0.11, 0.095, 0.078]) * rng.uniform(0.93, 1.07), 1)

    # palm, heel and thenar pad, as overlapping ellipsoids
    width = rng.uniform(0.95, 1.05)
    prims.append(("ellipsoid", np.array([0.0, 0.55, 0.0]), np.eye(3), np.array([0.47 * width, 0.56, 0.12]), 2))
    prims.append(("ellipsoid", np.array([-0.2, 0.3, 0.04]), _rot("z", -0.5), np.array([0.17, 0.28, 0.13]), 1))
    prims.append(("ellipsoid", np.array([0.0, 0.06, 0.0]), np.eye(3), np.array([0.24, 0.16, 0.13]), 1))
    for f in range(4):  # metacarpals fill the palm up to the knuckles
        knuckle = np.array([*_KNUCKLES[f], 0.0])
        prims.append(
            (
                "capsule",
                np.array([_KNUCKLES[f][0] * 0.6, 0.3, -0.03]),
                knuckle - [0, 0, 0.02],
                0.1,
                _FINGER_RADIUS[f] * 1.25,
                2,
            )
        )

    keypoints = np.array([*tips, thumb[-1], [0.0, 0.0, 0.0], [-0.45, 0.4, 0.0], [0.45, 0.5, 0.0]])
    return prims, keypoints


def _view(label, rng):
    """Camera rotation for a class: palm towards the camera, back of the hand, or side."""
    if label == 0:
        yaw = np.radians(rng.choice([-1, 1], p=[0.3, 0.7]) * rng.uniform(60, 95))
    elif label in (1, 2):
        kind = rng.uniform()
        if kind < 0.6:
            yaw = np.radians(rng.normal(0, 20))
        elif kind < 0.9:
            yaw = np.radians(rng.choice([-1, 1]) * rng.uniform(30, 60))
        else:
            yaw = np.radians(180 + rng.normal(0, 25))
    else:
        yaw = np.radians(rng.normal(0, 22))
    roll = np.radians(np.clip(rng.normal(10, 28), -60, 75))
    if label in (1, 2, 3) and rng.uniform() < 0.06:
        roll = np.radians(rng.uniform(40, 75))  # pointing sideways
    pitch = np.radians(rng.normal(0, 8))
    return _rot("z", roll) @ _rot("x", pitch) @ _rot("y", yaw)


def _gauss_kernel(sigma):
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _blur(img, sigma):
    """Separable Gaussian blur of an (H, W) or (H, W, C) array, edges repeated."""
    if sigma <= 0:
        return img
    k = _gauss_kernel(sigma)
    r = len(k) // 2
    out = img
    for axis in (0, 1):
        pad = [(0, 0)] * img.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode="edge")
        n = out.shape[axis]
        acc = np.zeros(out.shape)
        for i, w in enumerate(k):
            acc += w * (padded[i : i + n] if axis == 0 else padded[:, i : i + n])
        out = acc
    return out


def _smooth_noise(rng, size, cells):
    """Low-frequency noise in about [-1, 1]: a random grid, bilinearly enlarged."""
    grid = rng.normal(0, 1, (cells + 1, cells + 1))
    pos = np.linspace(0, cells, size)
    i0 = np.minimum(pos.astype(int), cells - 1)
    f = pos - i0
    rows = grid[i0] * (1 - f)[:, None] + grid[i0 + 1] * f[:, None]
    return rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]


def _rasterize(prims, size):
    """Z-buffer the primitives: depth, surface normal and part id per pixel."""
    zbuf = np.full((size, size), -np.inf)
    normal = np.zeros((size, size, 3))
    part = np.zeros((size, size), np.int8)
    for prim in prims:
        if prim[0] == "capsule":
            _, a, b, ra, rb, pid = prim
            rmax = max(ra, rb)
            x0 = int(max(0, np.floor(min(a[0], b[0]) - rmax)))
            x1 = int(min(size, np.ceil(max(a[0], b[0]) + rmax) + 1))
            y0 = int(max(0, np.floor(min(a[1], b[1]) - rmax)))
            y1 = int(min(size, np.ceil(max(a[1], b[1]) + rmax) + 1))
            if x0 >= x1 or y0 >= y1:
                continue
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
            d = b[:2] - a[:2]
            dd = d @ d
            if dd < 1e-9:
                t = np.zeros_like(xs)
            else:
                t = np.clip(((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / dd, 0, 1)
            cx, cy = a[0] + t * d[0], a[1] + t * d[1]
            r = ra + t * (rb - ra)
            ox, oy = xs - cx, ys - cy
            rho2 = ox * ox + oy * oy
            inside = rho2 < r * r
            h = np.sqrt(np.maximum(r * r - rho2, 0))
            z = a[2] + t * (b[2] - a[2]) + h
            nx, ny, nz = ox / r, oy / r, h / r
        else:
            _, c, rot, axes, pid = prim
            # ray along z through each pixel against the ellipsoid (rot, axes)
            ext = np.sqrt(((rot * axes[None, :]) ** 2).sum(axis=1))
            x0 = int(max(0, np.floor(c[0] - ext[0])))
            x1 = int(min(size, np.ceil(c[0] + ext[0]) + 1))
            y0 = int(max(0, np.floor(c[1] - ext[1])))
            y1 = int(min(size, np.ceil(c[1] + ext[1]) + 1))
            if x0 >= x1 or y0 >= y1:
                continue
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
            inv = rot.T / axes[:, None]  # world -> unit sphere
            q0 = (
                inv[:, 0, None, None] * (xs - c[0])
                + inv[:, 1, None, None] * (ys - c[1])
                + inv[:, 2, None, None] * (0 - c[2])
            )
            dz = inv[:, 2]
            qa = dz @ dz
            qb = 2 * (q0 * dz[:, None, None]).sum(axis=0)
            qc = (q0 * q0).sum(axis=0) - 1
            disc = qb * qb - 4 * qa * qc
            inside = disc > 0
            s = (-qb + np.sqrt(np.maximum(disc, 0))) / (2 * qa)
            z = s
            q = q0 + s[None] * dz[:, None, None]
            g = np.einsum("ij,jyx->iyx", rot, q / axes[:, None, None])
            gn = np.sqrt((g * g).sum(axis=0)) + 1e-12
            nx, ny, nz = g[0] / gn, g[1] / gn, g[2] / gn
        view = zbuf[y0:y1, x0:x1]
        win = inside & (z > view)
        if not win.any():
            continue
        view[win] = z[win]
        nview = normal[y0:y1, x0:x1]
        nview[win, 0], nview[win, 1], nview[win, 2] = nx[win], ny[win], nz[win]
        part[y0:y1, x0:x1][win] = pid
    return zbuf, normal, part


def _render_image(label, rng):
    """One SIGNS-like photo of a hand showing ``label`` fingers, uint8 (64, 64, 3)."""
    size = _RENDER
    prims, keypoints = _hand_model(label, rng)
    rot = _view(label, rng)
    # forearm: from the wrist away from the fingers as the camera sees them, the wrist
    # bent so it usually leaves through the bottom edge to the right
    down = -(rot @ np.array([0.0, 1.0, 0.0]))[:2]
    down /= max(np.linalg.norm(down), 1e-6)
    bend = rng.normal(0.8 if label == 0 else 0.4, 0.25)
    if label in (1, 2) and rng.uniform() < 0.35:
        bend = -rng.normal(0.5, 0.2)  # forearm out to the lower left
    c, s_ = np.cos(bend), np.sin(bend)
    arm_cam = np.array([c * down[0] - s_ * down[1], s_ * down[0] + c * down[1], -0.15])
    arm_dir = rot.T @ (arm_cam / np.linalg.norm(arm_cam))
    wrist = np.array([0.0, 0.0, -0.1])
    prims.append(("capsule", wrist, wrist + 6.0 * arm_dir, 0.26, 0.36, 0))

    # place the hand: scale it to a plausible size, keep it in the frame
    proj = keypoints @ rot.T
    lo, hi = proj[:, :2].min(axis=0), proj[:, :2].max(axis=0)
    extent = max(hi - lo)
    scale = size * rng.uniform(0.36, 0.46) * _CLASS_SCALE[label]  # pixels per hand unit
    if extent * scale > 0.95 * size:
        scale = 0.95 * size / extent
    # centre the hand left-right with some play; the wrist sits low so the forearm
    # leaves through the bottom edge (y up here; image rows are flipped at the end)
    off_x = size * rng.uniform(0.32, 0.6) - (lo[0] + hi[0]) / 2 * scale
    wrist_y = proj[5, 1] * scale
    off_y = size * (rng.uniform(0.15, 0.35) if label == 0 else rng.uniform(0.02, 0.22)) - wrist_y
    off_y = min(off_y, size * rng.uniform(0.86, 0.94) - hi[1] * scale)  # fingertips well inside the frame

    placed = []
    for prim in prims:
        if prim[0] == "capsule":
            _, a, b, ra, rb, pid = prim
            placed.append(
                (
                    "capsule",
                    (rot @ a) * scale + [off_x, off_y, 0],
                    (rot @ b) * scale + [off_x, off_y, 0],
                    ra * scale,
                    rb * scale,
                    pid,
                )
            )
        else:
            _, c, r, axes, pid = prim
            placed.append(("ellipsoid", (rot @ c) * scale + [off_x, off_y, 0], rot @ r, axes * scale, pid))
    zbuf, normal, part = _rasterize(placed, size)
    # image rows go downwards
    zbuf, normal, part = zbuf[::-1], normal[::-1].copy(), part[::-1]
    normal[..., 1] *= -1
    mask = np.isfinite(zbuf)

    # --- background: light wall, uneven light, faint texture, the hand's shadow ---
    # smooth everywhere, so it is drawn at the final size and enlarged
    half = size // 2
    ys, xs = np.mgrid[0:half, 0:half] / half
    base = np.clip(rng.normal(0.905, 0.014), 0.86, 0.94)
    green = rng.normal(0.972, 0.005)
    tint = np.array([1.0, green, green - 0.045 + rng.normal(0, 0.008)])
    angle = rng.uniform(0, 2 * np.pi)
    gradient = (np.cos(angle) * (xs - 0.5) + np.sin(angle) * (ys - 0.5)) * rng.uniform(0.02, 0.08)
    vignette = -rng.uniform(0.0, 0.06) * ((xs - 0.5) ** 2 + (ys - 0.5) ** 2)
    falloff = -rng.uniform(0.02, 0.12) * ys**1.5  # the wall is lit from above: darker low down
    light = base * (1 + gradient + vignette + falloff + 0.012 * _smooth_noise(rng, half, 6))
    dx, dy = int(rng.uniform(0, 7)), int(rng.uniform(0, 5))  # shadow offset, final pixels
    coverage = mask.reshape(half, 2, half, 2).mean(axis=(1, 3))
    shadow = np.pad(coverage, 8, mode="edge")[8 - dy : 8 - dy + half, 8 - dx : 8 - dx + half]
    shadow = _blur(shadow, rng.uniform(1.5, 3.5))
    light = light * (1 - rng.uniform(0.15, 0.45) * shadow)
    bg = np.repeat(np.repeat(light, 2, axis=0), 2, axis=1)[..., None] * tint

    # --- skin ---
    idx = rng.choice(len(_SKIN_TONES), p=_SKIN_WEIGHTS)
    skin = _SKIN_TONES[idx] + (_SKIN_TONES[min(idx + 1, 6)] - _SKIN_TONES[idx]) * rng.uniform(0, 1)
    skin = skin * np.array([1.0, rng.uniform(0.96, 1.03), rng.uniform(0.94, 1.05)])
    arm = skin * np.array([0.95, 0.9, 0.86]) * rng.uniform(0.85, 1.0)
    # the palm side is lighter and pinker than the back of the hand
    palm = skin * (np.array([1.07, 1.03, 1.04]) if rot[2, 2] > 0 else np.array([0.98, 0.97, 0.97]))
    texture = 1 + 0.05 * _smooth_noise(rng, size, 8) + 0.035 * _smooth_noise(rng, size, 40)
    light_dir = np.array([rng.uniform(-0.6, 0.3), rng.uniform(-0.7, -0.1), 1.0])
    light_dir /= np.linalg.norm(light_dir)
    halfway = light_dir + np.array([0, 0, 1.0])
    halfway /= np.linalg.norm(halfway)

    # contact darkening where a nearer surface overhangs (creases between fingers),
    # worked out on the hand's bounding box only
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:  # nothing of the hand in view: just the wall
        img = bg
    else:
        r0, r1 = max(rows[0] - 8, 0), min(rows[-1] + 9, size)
        c0, c1 = max(cols[0] - 8, 0), min(cols[-1] + 9, size)
        box = mask[r0:r1, c0:c1]
        zfill = np.where(box, zbuf[r0:r1, c0:c1], 0.0)
        near = _blur(zfill, 2.5) / np.maximum(_blur(box.astype(float), 2.5), 1e-6)
        occlusion = np.zeros((size, size))
        # a convex rim lies a little below its neighbours: only deeper steps are creases
        occlusion[r0:r1, c0:c1] = _blur(np.clip((near - zfill - 0.04 * size) / (0.1 * size), 0, 1), 1.5)

        # shading, on the hand's pixels only
        n = normal[mask]
        # half-Lambert: light scattered under the skin keeps the silhouette lit, never outlined in near-black
        lambert = (n @ light_dir + 1) / 2
        shade = ((0.55 + 0.55 * lambert**1.5) * (1 - 0.6 * occlusion[mask]))[:, None]
        spec = rng.uniform(0.04, 0.1) * np.clip(n @ halfway, 0, 1) ** 16
        albedo = np.stack([arm, skin, palm])[part[mask]] * texture[mask][:, None]
        warm = np.array([1.0, 0.93, 0.88])  # shadows on skin go redder
        img = bg.copy()
        img[mask] = albedo * shade * (warm + (1 - warm) * shade) + spec[:, None]

    if rng.uniform() < 0.3:  # a left hand (a mirror image) three times in ten
        img = img[:, ::-1]

    # --- camera: downsample, blur, exposure, noise ---
    img = img.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
    img = _blur(img, rng.uniform(0.2, 0.5))
    img = img * rng.uniform(0.97, 1.03) * np.array([1, rng.uniform(0.985, 1.01), rng.uniform(0.97, 1.02)])
    img = img + rng.normal(0, rng.uniform(0.002, 0.007), img.shape)
    return np.clip(np.round(img * 255), 0, 255).astype(np.uint8)


# The pictures beside the notebooks ("predict your own image"): drawn by the generator from a
# stream of their own, so they are in neither data file. (folder, file name, label)
SAMPLE_IMAGES = (("cnn_application", "my_sign.png", 2), ("residual_networks", "my_image.png", 5))
SAMPLE_SIZE = 256


def sample_image(label, index=0, seed=DEFAULT_SEED):
    """One generated photo of ``label`` outside both data files, enlarged to 256x256 like a photo.

    Returns a uint8 array (256, 256, 3): the 64x64 image drawn from the generator's third
    stream (train is 0, test 1), enlarged with bicubic interpolation.
    """
    from PIL import Image

    small = _render_image(int(label), np.random.default_rng([GENERATOR_VERSION, seed, 2, int(label), int(index)]))
    return np.asarray(Image.fromarray(small).resize((SAMPLE_SIZE, SAMPLE_SIZE), Image.BICUBIC))


def write_sample_images(root):
    """Draw the notebooks' sample pictures into ``root/source/<assignment>/``; returns the paths."""
    from PIL import Image

    paths = []
    for assignment, name, label in SAMPLE_IMAGES:
        path = Path(root) / "source" / assignment / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with _temp_beside(path) as tmp:
            Image.fromarray(sample_image(label)).save(tmp, format="PNG", optimize=True)
            os.replace(tmp, path)
        paths.append(path)
    return paths


STREAMS = {"train": 0, "test": 1, "extra": 2}  # "extra": more training hands for `course pretrain`, in no file


def _render_range(args):
    """Images ``start:stop`` of a (seed, stream): each drawn from a random stream keyed by its index."""
    labels, seed, stream, start, stop = args
    return np.stack(
        [
            _render_image(int(labels[i]), np.random.default_rng([GENERATOR_VERSION, seed, stream, i]))
            for i in range(start, stop)
        ]
    )


def generate_arrays(n_per_class, seed=DEFAULT_SEED, split="train", progress=None, workers=1):
    """Draw ``6 * n_per_class`` SIGNS-like images in shuffled order.

    Returns (X, y): X uint8 of shape (m, 64, 64, 3), y int64 of shape (m,).
    The same (seed, split) always gives the same arrays, whatever ``workers``
    (processes drawing in parallel); each split comes from a random stream of
    its own.
    """
    stream = STREAMS[split]
    order_rng = np.random.default_rng([GENERATOR_VERSION, seed, stream])
    labels = order_rng.permutation(np.repeat(np.arange(N_CLASSES), n_per_class)).astype(np.int64)
    X = np.empty((labels.size, *IMAGE_SHAPE), np.uint8)
    chunk = 48
    ranges = [(labels, seed, stream, a, min(a + chunk, labels.size)) for a in range(0, labels.size, chunk)]
    with contextlib.ExitStack() as stack:
        drawn = map(_render_range, ranges)
        if workers > 1 and len(ranges) > 1:
            import concurrent.futures
            import multiprocessing

            # spawn: the caller may hold TensorFlow's threads, which a fork would copy half-way
            pool = stack.enter_context(
                concurrent.futures.ProcessPoolExecutor(
                    min(workers, len(ranges)), mp_context=multiprocessing.get_context("spawn")
                )
            )
            drawn = pool.map(_render_range, ranges)
        for (_, _, _, a, b), images in zip(ranges, drawn):
            X[a:b] = images
            if progress is not None:
                progress.update(b - a)
    return X, labels


# --------------------------------------------------------------------------
# Files: write, read, validate
# --------------------------------------------------------------------------


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _temp_beside(target):
    """A temporary path in the target's folder, removed unless it was moved into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=".tmp", dir=Path(target).parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the data files are ordinary files
    try:
        yield Path(tmp)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_h5(path, split, X, y):
    """Write one split in the original schema; same arrays -> same bytes."""
    import h5py

    with h5py.File(path, "w", libver="earliest", track_order=False) as fh:
        for name, data in (
            (f"{split}_set_x", X),
            (f"{split}_set_y", y),
            ("list_classes", np.arange(N_CLASSES, dtype=np.int64)),
        ):
            fh.create_dataset(name, data=data, track_times=False)


def _validate(split, X, y, classes, where):
    """Check arrays read from ``where`` against the course's format; returns labels (m,)."""
    fix = (
        "Use the original SIGNS files (train_signs.h5 / test_signs.h5), or run "
        "`course data --generate` to rebuild the generated set."
    )
    if X.dtype != np.uint8:
        raise SignsDataError(f"{where}: {split}_set_x has dtype {X.dtype}, expected uint8 pixel values. {fix}")
    if X.ndim != 4 or X.shape[1:] != IMAGE_SHAPE:
        raise SignsDataError(f"{where}: {split}_set_x has shape {X.shape}, expected (m, 64, 64, 3). {fix}")
    if not np.issubdtype(y.dtype, np.integer):
        raise SignsDataError(f"{where}: {split}_set_y has dtype {y.dtype}, expected integer labels. {fix}")
    if y.ndim == 2 and y.shape[0] == 1:
        y = y[0]
    if y.ndim != 1:
        raise SignsDataError(f"{where}: {split}_set_y has shape {y.shape}, expected (m,). {fix}")
    if y.shape[0] != X.shape[0]:
        raise SignsDataError(f"{where}: {X.shape[0]} images but {y.shape[0]} labels; the counts must match. {fix}")
    if X.shape[0] == 0:
        raise SignsDataError(f"{where}: the {split} set is empty. {fix}")
    if y.min() < 0 or y.max() >= N_CLASSES:
        bad = np.unique(y[(y < 0) | (y >= N_CLASSES)])
        raise SignsDataError(f"{where}: labels must be 0..5 (fingers shown), found {bad[:10].tolist()}. {fix}")
    if not np.issubdtype(classes.dtype, np.integer) or classes.tolist() != list(range(N_CLASSES)):
        raise SignsDataError(f"{where}: list_classes is {classes.tolist()!r}, expected [0, 1, 2, 3, 4, 5]. {fix}")
    counts = np.bincount(y, minlength=N_CLASSES)
    if (counts == 0).any():
        raise SignsDataError(
            f"{where}: classes {np.flatnonzero(counts == 0).tolist()} have no images "
            f"(counts per class {counts.tolist()}); every class must be present. {fix}"
        )
    return y.astype(np.int64)


def read_split(path, split):
    """Read and validate one SIGNS file; returns (X uint8 (m,64,64,3), y int64 (m,), classes (6,))."""
    import h5py

    path = Path(path)
    keys = [f"{split}_set_x", f"{split}_set_y", "list_classes"]
    if not path.is_file():
        raise SignsDataError(f"{path}: no such file.")
    try:
        with h5py.File(path, "r") as fh:
            found = sorted(fh.keys())
            missing = [k for k in keys if k not in fh]
            if missing:
                raise SignsDataError(
                    f"{path}: not a SIGNS {split} file: missing {missing}, found keys {found}. "
                    f"A {split} file holds {keys}; check that train and test files are not swapped, or run "
                    f"`course data --generate` to rebuild the generated set."
                )
            X, y, classes = (np.asarray(fh[k][()]) for k in keys)
    except SignsDataError:
        raise
    except Exception as exc:  # h5py raises OSError/KeyError/... for damaged files
        raise SignsDataError(
            f"{path}: cannot be read as HDF5 ({type(exc).__name__}: {exc}); the file is truncated, "
            f"damaged or in another format. Copy it again from the original release, or run "
            f"`course data --generate`."
        ) from exc
    y = _validate(split, X, y, classes, str(path))
    return X, y, classes.astype(np.int64)


# --------------------------------------------------------------------------
# Manifest and provenance
# --------------------------------------------------------------------------


def _read_manifest(folder):
    path = folder / MANIFEST_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_manifest(folder, files):
    manifest = {"format": 1, "files": files}
    target = folder / MANIFEST_FILE
    with _temp_beside(target) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, target)
    return manifest


def describe(data_dir=None):
    """What SIGNS data is in the data folder, as a dict.

    ``{"data_dir", "source", "files": {name: {...}}}`` where each file entry has
    ``source`` ("generated", "original", "unknown/modified" or "missing"),
    ``sha256`` and, for generated files, ``generator_version`` and ``seed``.
    A file whose SHA-256 differs from the manifest's (or that the manifest does
    not know) is reported as "unknown/modified". ``source`` overall is the
    common source of both files, "mixed" when they differ, "none" when absent.
    """
    folder = datasets_dir(data_dir)
    recorded = _read_manifest(folder).get("files", {})
    files = {}
    for name in SPLITS.values():
        path = folder / name
        if not path.is_file():
            files[name] = {"source": "missing"}
            continue
        sha = _sha256(path)
        entry = dict(recorded.get(name, {}))
        if entry.get("sha256") != sha:
            if KNOWN_ORIGINAL_SHA256.get(name) == sha:
                entry = {"source": "original", "sha256": sha}
            else:
                entry = {
                    "source": UNKNOWN,
                    "sha256": sha,
                    "recorded_sha256": entry.get("sha256"),
                    "recorded_source": entry.get("source"),
                }
        files[name] = entry
    sources = {entry["source"] for entry in files.values()}
    if sources == {"missing"}:
        overall = "none"
    elif len(sources) == 1:
        overall = sources.pop()
    else:
        overall = "mixed"
    return {"data_dir": str(folder), "source": overall, "files": files}


def _summary_line(info, counts):
    """The one line a verbose load prints: which data, how many images, from where."""
    train, test = info["files"][TRAIN_FILE], info["files"][TEST_FILE]
    if train["source"] == test["source"] == "generated" and train.get("seed") == test.get("seed"):
        what = f"generated (generator v{train.get('generator_version')}, seed {train.get('seed')})"
    elif train["source"] == test["source"]:
        what = f"{train['source']} (sha256 {train['sha256'][:12]}… / {test['sha256'][:12]}…)"
    else:

        def one(entry):
            if entry["source"] == "generated":
                return f"generated (v{entry.get('generator_version')}, seed {entry.get('seed')})"
            return f"{entry['source']} (sha256 {entry['sha256'][:12]}…)"

        what = f"train {one(train)}, test {one(test)}"
    return f"SIGNS data: {what} — {counts[0]} train / {counts[1]} test images from {info['data_dir']}"


# --------------------------------------------------------------------------
# Generate, import, load
# --------------------------------------------------------------------------


def generate(data_dir=None, seed=DEFAULT_SEED, verbose=True, per_class=(TRAIN_PER_CLASS, TEST_PER_CLASS)):
    """Draw the SIGNS-like train (1080) and test (120) files into the data folder.

    Deterministic (same seed, same bytes) and atomic (each file is written to a
    temporary name beside it, then moved into place). ``per_class`` (train,
    test) draws smaller sets for quick tests. Returns the manifest dict.
    """
    folder = datasets_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    total = N_CLASSES * sum(per_class)
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=total, desc=f"Generating SIGNS-like images (seed {seed})", unit="img", leave=False)
    start = time.perf_counter()
    arrays = {}
    try:
        for split, count in zip(("train", "test"), per_class):
            arrays[split] = generate_arrays(count, seed=seed, split=split, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    entries = {}
    with _temp_beside(folder / TRAIN_FILE) as tmp_train, _temp_beside(folder / TEST_FILE) as tmp_test:
        temps = {"train": tmp_train, "test": tmp_test}
        for split, (X, y) in arrays.items():
            _write_h5(temps[split], split, X, y)
            entries[SPLITS[split]] = {
                "source": "generated",
                "generator_version": GENERATOR_VERSION,
                "seed": int(seed),
                "sha256": _sha256(temps[split]),
                "images": int(X.shape[0]),
                "class_counts": np.bincount(y, minlength=N_CLASSES).tolist(),
            }
        for split in ("train", "test"):
            os.replace(temps[split], folder / SPLITS[split])
    manifest = _write_manifest(folder, entries)
    if verbose:
        print(
            f"Generated SIGNS-like data (generator v{GENERATOR_VERSION}, seed {seed}) in "
            f"{time.perf_counter() - start:.1f} s: {folder}"
        )
    return manifest


def import_original(src_dir, data_dir=None, verbose=True):
    """Validate the original SIGNS files in ``src_dir`` and install them in the data folder.

    ``src_dir`` holds ``train_signs.h5`` and/or ``test_signs.h5`` (a path to one
    of them also works). Everything is checked before anything is written; the
    files are copied to temporary names and then moved into place, so a failure
    leaves the data folder as it was. A split that is not given keeps its
    current file (generated first if there is none). Returns :func:`describe`.
    """
    import shutil

    src = Path(src_dir).expanduser()
    if src.is_file():
        src, only = src.parent, [src.name]
    else:
        only = None
    if not src.is_dir():
        raise SignsDataError(f"{src}: no such folder. Give the folder holding train_signs.h5 and test_signs.h5.")
    given = {
        split: src / name for split, name in SPLITS.items() if (src / name).is_file() and (only is None or name in only)
    }
    if not given:
        present = sorted(p.name for p in src.iterdir())[:10]
        raise SignsDataError(
            f"{src}: neither {TRAIN_FILE} nor {TEST_FILE} is there (found {present}). "
            f"Give the folder holding the original SIGNS files."
        )
    checked = {}
    for split, path in given.items():
        X, y, _ = read_split(path, split)
        counts = np.bincount(y, minlength=N_CLASSES).tolist()
        checked[split] = (path, _sha256(path), X.shape[0], counts)

    folder = datasets_dir(data_dir)
    if folder.resolve() == src.resolve():
        raise SignsDataError(f"{src} is the data folder itself; give the folder you copy the originals from.")
    folder.mkdir(parents=True, exist_ok=True)
    missing_other = [s for s in SPLITS if s not in checked and not (folder / SPLITS[s]).is_file()]
    if missing_other:
        if verbose:
            print(f"{SPLITS[missing_other[0]]} not given and not in {folder}: generating the default first.")
        generate(folder, verbose=verbose)
    files = dict(describe(folder)["files"])
    with contextlib.ExitStack() as stack:
        temps = {}
        for split, (path, sha, m, counts) in checked.items():
            tmp = stack.enter_context(_temp_beside(folder / SPLITS[split]))
            shutil.copyfile(path, tmp)
            if _sha256(tmp) != sha:
                raise SignsDataError(f"copying {path} to {folder} changed its bytes; check the disk and retry.")
            temps[split] = tmp
            files[SPLITS[split]] = {
                "source": "original",
                "sha256": sha,
                "images": m,
                "class_counts": counts,
                "imported_from": str(path.resolve()),
            }
        for split, tmp in temps.items():
            os.replace(tmp, folder / SPLITS[split])
    _write_manifest(folder, {name: entry for name, entry in files.items() if entry.get("source") != "missing"})
    if verbose:
        for split, (_path, sha, m, counts) in checked.items():
            balance = "balanced" if len(set(counts)) == 1 else "unbalanced"
            print(f"Imported {SPLITS[split]}: {m} images, per class {counts} ({balance}), sha256 {sha}")
    return describe(folder)


def _ensure_data(folder, verbose):
    """Generate the default set when the folder has no SIGNS files; refuse to mix in silence."""
    present = {name: (folder / name).is_file() for name in SPLITS.values()}
    if all(present.values()):
        return
    if not any(present.values()):
        generate(folder, verbose=verbose)
        return
    have = next(name for name, ok in present.items() if ok)
    lack = next(name for name, ok in present.items() if not ok)
    if describe(folder)["files"][have]["source"] == "generated":
        generate(folder, seed=_read_manifest(folder)["files"][have].get("seed", DEFAULT_SEED), verbose=verbose)
        return
    raise SignsDataError(
        f"{folder}: {have} is there but {lack} is missing. Put both original files in place with "
        f"`course data --import DIR`, or replace both with generated data: `course data --generate`."
    )


def load_dataset(data_dir=None, verbose=True):
    """Load SIGNS as in the course, generating the default data first when absent.

    Arguments:
    data_dir -- data folder; default $SIGNS_DATA_DIR, else <repo>/datasets
    verbose -- print one line saying which data was loaded

    Returns:
    X_train_orig -- uint8 numpy array of shape (1080, 64, 64, 3)
    Y_train_orig -- int64 numpy array of shape (1, 1080), labels 0..5
    X_test_orig -- uint8 numpy array of shape (120, 64, 64, 3)
    Y_test_orig -- int64 numpy array of shape (1, 120)
    classes -- int64 numpy array of shape (6,), [0 1 2 3 4 5]
    """
    folder = datasets_dir(data_dir)
    _ensure_data(folder, verbose)
    X_train, y_train, classes = read_split(folder / TRAIN_FILE, "train")
    X_test, y_test, _ = read_split(folder / TEST_FILE, "test")
    if verbose:
        print(_summary_line(describe(folder), (X_train.shape[0], X_test.shape[0])))
    return X_train, y_train.reshape(1, -1), X_test, y_test.reshape(1, -1), classes


# --------------------------------------------------------------------------
# Pictures and the command line
# --------------------------------------------------------------------------


def save_sample_grid(png_path, data_dir=None, per_class=8, split="train"):
    """Save a PNG with ``per_class`` images of each class, one labelled row per class."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    folder = datasets_dir(data_dir)
    _ensure_data(folder, verbose=True)
    X, y, _ = read_split(folder / SPLITS[split], split)
    fig = Figure(figsize=(1.1 * per_class + 0.8, 1.1 * N_CLASSES + 0.4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(N_CLASSES, per_class, squeeze=False)
    for c in range(N_CLASSES):
        picks = np.flatnonzero(y == c)[:per_class]
        for j in range(per_class):
            ax = axes[c, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < picks.size:
                ax.imshow(X[picks[j]])
            else:
                ax.axis("off")
            if j == 0:
                ax.set_ylabel(f"y = {c}", rotation=0, labelpad=22, va="center")
    info = describe(folder)
    fig.suptitle(f"SIGNS {split}: {info['files'][SPLITS[split]]['source']} ({folder.name})", fontsize=10)
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path)
    return png_path


def _print_status(info):
    print(f"SIGNS data folder: {info['data_dir']}")
    for name, entry in info["files"].items():
        if entry["source"] == "missing":
            print(f"  {name}: missing")
            continue
        extra = ""
        if entry["source"] == "generated":
            extra = f", generator v{entry.get('generator_version')}, seed {entry.get('seed')}"
        print(f"  {name}: {entry['source']}{extra}, sha256 {entry.get('sha256')}")
    print(f"In use: {info['source']}")


def _data_command(args):
    """Handler of `course data`; returns the exit code."""
    try:
        if args.generate and args.import_dir:
            raise SignsDataError("--generate and --import are exclusive; give one of them.")
        if args.generate:
            replaced = [
                name
                for name, entry in describe(args.data_dir)["files"].items()
                if entry["source"] not in ("generated", "missing")
            ]
            if replaced:
                print(f"Replacing {', '.join(replaced)} (not generated) with generated data.")
            generate(args.data_dir, seed=args.seed)
        elif args.import_dir:
            import_original(args.import_dir, args.data_dir)
        else:
            _ensure_data(datasets_dir(args.data_dir), verbose=True)
        if args.grid:
            print(f"Sample grid: {save_sample_grid(args.grid, args.data_dir)}")
        if args.samples:
            from helpers.paths import course_root

            for path in write_sample_images(course_root()):
                print(f"Sample picture: {path}")
        _print_status(describe(args.data_dir))
        return 0
    except (SignsDataError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def add_cli(subparsers):
    """Register the ``data`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "data",
        help=i18n.gettext("show, generate or import the SIGNS data"),
        description=i18n.gettext(
            "Show which SIGNS data is in use (generating the default first if none), "
            "regenerate it, import the original files, or draw a sample grid."
        ),
    )
    p.add_argument("--generate", action="store_true", help=i18n.gettext("(re)generate the SIGNS-like default data"))
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=i18n.gettext("seed for --generate (default %(default)s)")
    )
    p.add_argument(
        "--import",
        dest="import_dir",
        metavar="DIR",
        help=i18n.gettext("validate and install original train_signs.h5/test_signs.h5 from DIR"),
    )
    p.add_argument("--grid", metavar="PNG", help=i18n.gettext("write a PNG grid of samples per class"))
    p.add_argument(
        "--samples",
        action="store_true",
        help=i18n.gettext(
            "draw the notebooks' own pictures again (source/*/my_sign.png, my_image.png); then run `course release`"
        ),
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=None,
        help=i18n.gettext("data folder (default $SIGNS_DATA_DIR, else <repo>/datasets)"),
    )
    p.set_defaults(func=_data_command)
    return p


def _standalone(argv=None):
    parser = argparse.ArgumentParser(prog="python -m helpers.signs")
    sub = parser.add_subparsers(dest="command", required=True)
    add_cli(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(_standalone())
