"""Tests of helpers.signs: loading, generation, the manifest, importing originals, the CLI."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from helpers import signs

REAL_TEST_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "signs" / "test_signs.h5"
SMALL = (3, 2)  # images per class (train, test) where the full set is not needed


def _snapshot(folder):
    """Every file in the folder (hidden temp files included) with its SHA-256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def _write_split(path, split, X, y, classes=None, keys=None):
    classes = np.arange(6, dtype=np.int64) if classes is None else classes
    data = {f"{split}_set_x": X, f"{split}_set_y": y, "list_classes": classes}
    with h5py.File(path, "w") as fh:
        for key, value in data.items():
            if keys is None or key in keys:
                fh.create_dataset(key, data=value)


def _run_cli(argv):
    parser = argparse.ArgumentParser(prog="course")
    signs.add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.func(args)


@pytest.fixture(scope="session")
def first_load(tmp_path_factory):
    """The first load_dataset() of an empty folder: (folder, returned arrays, printed text).

    Generating the full set takes seconds, so it is done once and shared (read-only).
    """
    folder = tmp_path_factory.mktemp("signs_full") / "datasets"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        arrays = signs.load_dataset(folder)
    return folder, arrays, printed.getvalue()


@pytest.fixture(scope="session")
def full_dir(first_load):
    return first_load[0]


@pytest.fixture
def data_copy(full_dir, tmp_path):
    """A private copy of the full generated folder."""
    folder = tmp_path / "data"
    shutil.copytree(full_dir, folder)
    return folder


# ----- loading and generation -------------------------------------------------


def test_first_load_generates_course_shapes(first_load):
    folder, (X_train, Y_train, X_test, Y_test, classes), printed = first_load
    assert X_train.shape == (1080, 64, 64, 3) and X_train.dtype == np.uint8
    assert X_test.shape == (120, 64, 64, 3) and X_test.dtype == np.uint8
    assert Y_train.shape == (1, 1080) and Y_train.dtype == np.int64
    assert Y_test.shape == (1, 120) and Y_test.dtype == np.int64
    assert classes.shape == (6,) and classes.tolist() == list(range(6))
    assert (folder / signs.TRAIN_FILE).is_file() and (folder / signs.TEST_FILE).is_file()
    lines = [line for line in printed.splitlines() if line.startswith("SIGNS data:")]
    assert len(lines) == 1
    assert "generated" in lines[0] and f"seed {signs.DEFAULT_SEED}" in lines[0] and str(folder) in lines[0]
    # not a degenerate picture: a light background and a darker hand in every image
    assert X_train[:, :4, :4].mean() > 170
    assert (X_train.reshape(1080, -1).std(axis=1) > 15).all()


def test_second_load_reads_files_without_regenerating(full_dir, capsys):
    before = {name: (full_dir / name).stat().st_mtime_ns for name in signs.SPLITS.values()}
    first = signs.load_dataset(full_dir, verbose=True)
    second = signs.load_dataset(full_dir, verbose=False)
    after = {name: (full_dir / name).stat().st_mtime_ns for name in signs.SPLITS.values()}
    assert before == after
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    out = capsys.readouterr().out
    assert "Generating" not in out and out.count("SIGNS data:") == 1


def test_class_balance_and_shuffled_order(full_dir):
    _, Y_train, _, Y_test, _ = signs.load_dataset(full_dir, verbose=False)
    assert np.bincount(Y_train[0], minlength=6).tolist() == [180] * 6
    assert np.bincount(Y_test[0], minlength=6).tolist() == [20] * 6
    assert not np.array_equal(Y_train[0], np.sort(Y_train[0]))


def test_generation_is_deterministic(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    signs.generate(a, seed=7, verbose=False, per_class=SMALL)
    signs.generate(b, seed=7, verbose=False, per_class=SMALL)
    signs.generate(c, seed=8, verbose=False, per_class=SMALL)
    for name in signs.SPLITS.values():
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()
    train_a, _, _ = signs.read_split(a / signs.TRAIN_FILE, "train")
    test_a, _, _ = signs.read_split(a / signs.TEST_FILE, "test")
    assert not np.array_equal(train_a[: test_a.shape[0]], test_a)  # different streams
    assert sorted(p.name for p in a.iterdir()) == sorted([*signs.SPLITS.values(), signs.MANIFEST_FILE])


def test_manifest_records_generated_data(full_dir):
    info = signs.describe(full_dir)
    assert info["source"] == "generated" and info["data_dir"] == str(full_dir)
    for name, per_class in ((signs.TRAIN_FILE, 180), (signs.TEST_FILE, 20)):
        entry = info["files"][name]
        assert entry["source"] == "generated"
        assert entry["generator_version"] == signs.GENERATOR_VERSION
        assert entry["seed"] == signs.DEFAULT_SEED
        assert entry["sha256"] == hashlib.sha256((full_dir / name).read_bytes()).hexdigest()
        assert entry["class_counts"] == [per_class] * 6


def test_describe_notices_modified_files(data_copy, capsys):
    path = data_copy / signs.TEST_FILE
    X, y, _ = signs.read_split(path, "test")
    X[0] = 255 - X[0]
    _write_split(path, "test", X, y)
    info = signs.describe(data_copy)
    assert info["files"][signs.TEST_FILE]["source"] == signs.UNKNOWN
    assert info["files"][signs.TRAIN_FILE]["source"] == "generated"
    assert info["source"] == "mixed"
    signs.load_dataset(data_copy)
    assert signs.UNKNOWN in capsys.readouterr().out


def test_missing_partner_of_an_original_file_is_an_error(tmp_path):
    folder = tmp_path / "half"
    folder.mkdir()
    rng = np.random.default_rng(0)
    _write_split(
        folder / signs.TEST_FILE,
        "test",
        rng.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8),
        np.repeat(np.arange(6), 2),
    )
    with pytest.raises(signs.SignsDataError, match="missing"):
        signs.load_dataset(folder, verbose=False)
    assert sorted(p.name for p in folder.iterdir()) == [signs.TEST_FILE]


def test_env_var_selects_data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "from_env"
    signs.generate(folder, verbose=False, per_class=SMALL)
    monkeypatch.setenv("SIGNS_DATA_DIR", str(folder))
    X_train, Y_train, X_test, _, _ = signs.load_dataset(verbose=False)
    assert X_train.shape[0] == 6 * SMALL[0] and X_test.shape[0] == 6 * SMALL[1]
    assert signs.describe()["data_dir"] == str(folder.resolve())


# ----- the original files ------------------------------------------------------


def _require_real():
    if not REAL_TEST_FILE.is_file():
        pytest.skip(f"original SIGNS test file not available at {REAL_TEST_FILE}")


def test_real_test_file_passes_the_same_validation():
    _require_real()
    X, y, classes = signs.read_split(REAL_TEST_FILE, "test")
    assert X.shape == (120, 64, 64, 3) and X.dtype == np.uint8
    assert np.bincount(y, minlength=6).tolist() == [20] * 6
    assert classes.tolist() == list(range(6))


def test_import_real_test_file_next_to_generated_train(data_copy, capsys):
    _require_real()
    info = signs.import_original(REAL_TEST_FILE.parent, data_copy)
    out = capsys.readouterr().out
    real_sha = hashlib.sha256(REAL_TEST_FILE.read_bytes()).hexdigest()
    assert real_sha in out and "[20, 20, 20, 20, 20, 20]" in out
    assert info["source"] == "mixed"
    assert info["files"][signs.TEST_FILE] == {
        **info["files"][signs.TEST_FILE],
        "source": "original",
        "sha256": real_sha,
    }
    assert info["files"][signs.TRAIN_FILE]["source"] == "generated"
    assert (data_copy / signs.TEST_FILE).read_bytes() == REAL_TEST_FILE.read_bytes()
    X_train, _, X_test, Y_test, _ = signs.load_dataset(data_copy)
    line = capsys.readouterr().out
    assert "test original" in line and "train generated" in line
    with h5py.File(REAL_TEST_FILE, "r") as fh:
        np.testing.assert_array_equal(X_test, fh["test_set_x"][()])
        np.testing.assert_array_equal(Y_test[0], fh["test_set_y"][()])
    assert X_train.shape == (1080, 64, 64, 3)


def test_import_original_pair(full_dir, tmp_path, capsys):
    src = tmp_path / "instructor"
    shutil.copytree(full_dir, src)
    (src / signs.MANIFEST_FILE).unlink()
    target = tmp_path / "target"
    info = signs.import_original(src, target)
    assert info["source"] == "original"
    for name in signs.SPLITS.values():
        assert (target / name).read_bytes() == (src / name).read_bytes()
        assert info["files"][name]["sha256"] == hashlib.sha256((src / name).read_bytes()).hexdigest()
    assert sorted(p.name for p in target.iterdir()) == sorted([*signs.SPLITS.values(), signs.MANIFEST_FILE])
    assert "[180, 180, 180, 180, 180, 180]" in capsys.readouterr().out
    signs.load_dataset(target)
    assert "SIGNS data: original" in capsys.readouterr().out


def _good_test_arrays():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8), np.repeat(np.arange(6), 2).astype(np.int64)


def _bad_truncated(src):
    X, y = _good_test_arrays()
    path = src / signs.TEST_FILE
    _write_split(path, "test", X, y)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_not_hdf5(src):
    (src / signs.TEST_FILE).write_bytes(b"PK\x03\x04 this is a zip, not HDF5" * 40)


def _bad_keys(src):
    X, y = _good_test_arrays()
    _write_split(src / signs.TEST_FILE, "train", X, y)  # train keys in the test file


def _bad_shape(src):
    X, y = _good_test_arrays()
    _write_split(src / signs.TEST_FILE, "test", X[:, :32, :32], y)


def _bad_dtype(src):
    X, y = _good_test_arrays()
    _write_split(src / signs.TEST_FILE, "test", X.astype(np.float32) / 255, y)


def _bad_label_dtype(src):
    X, y = _good_test_arrays()
    _write_split(src / signs.TEST_FILE, "test", X, y.astype(np.float64))


def _bad_labels(src):
    X, y = _good_test_arrays()
    y[3] = 7
    _write_split(src / signs.TEST_FILE, "test", X, y)


def _bad_counts(src):
    X, y = _good_test_arrays()
    _write_split(src / signs.TEST_FILE, "test", X, y[:-1])


def _bad_missing_class(src):
    X, y = _good_test_arrays()
    y[y == 4] = 0
    _write_split(src / signs.TEST_FILE, "test", X, y)


@pytest.mark.parametrize(
    "make_bad, expected",
    [
        (_bad_truncated, "truncated"),
        (_bad_not_hdf5, "HDF5"),
        (_bad_keys, "missing"),
        (_bad_shape, r"\(m, 64, 64, 3\)"),
        (_bad_dtype, "uint8"),
        (_bad_label_dtype, "integer labels"),
        (_bad_labels, r"0\.\.5.*\[7\]"),
        (_bad_counts, "12 images but 11 labels"),
        (_bad_missing_class, r"classes \[4\].*\[4, 2, 2, 2, 0, 2\]"),
    ],
)
def test_import_rejects_bad_files_and_changes_nothing(make_bad, expected, data_copy, tmp_path):
    src = tmp_path / "bad"
    src.mkdir()
    make_bad(src)
    before = _snapshot(data_copy)
    with pytest.raises(signs.SignsDataError, match=expected) as info:
        signs.import_original(src, data_copy, verbose=False)
    message = str(info.value)
    assert str(src / signs.TEST_FILE) in message
    assert "course data" in message  # says what to do
    assert _snapshot(data_copy) == before


def test_bad_second_file_leaves_first_uninstalled(data_copy, tmp_path):
    src = tmp_path / "pair"
    src.mkdir()
    X, y = _good_test_arrays()
    _write_split(src / signs.TRAIN_FILE, "train", X, y)
    _write_split(src / signs.TEST_FILE, "test", X, y[:5])
    before = _snapshot(data_copy)
    with pytest.raises(signs.SignsDataError):
        signs.import_original(src, data_copy, verbose=False)
    assert _snapshot(data_copy) == before


def test_import_from_folder_without_signs_files(data_copy, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    before = _snapshot(data_copy)
    with pytest.raises(signs.SignsDataError, match="neither"):
        signs.import_original(empty, data_copy)
    assert _snapshot(data_copy) == before


def test_loader_validates_what_it_reads(data_copy):
    path = data_copy / signs.TRAIN_FILE
    X, y, _ = signs.read_split(path, "train")
    y[0] = -1
    _write_split(path, "train", X, y)
    with pytest.raises(signs.SignsDataError, match="0..5"):
        signs.load_dataset(data_copy, verbose=False)
    path.write_bytes(b"")
    with pytest.raises(signs.SignsDataError, match="HDF5"):
        signs.load_dataset(data_copy, verbose=False)


# ----- course utilities --------------------------------------------------------


def test_convert_to_one_hot():
    Y = np.array([[2, 0, 5, 1, 2]])
    one_hot = signs.convert_to_one_hot(Y, 6)
    assert one_hot.shape == (6, 5)
    np.testing.assert_array_equal(one_hot.argmax(axis=0), Y[0])
    np.testing.assert_array_equal(one_hot.sum(axis=0), np.ones(5))
    assert signs.convert_to_one_hot(Y, 6).T.shape == (5, 6)


def test_random_mini_batches_sizes_pairing_and_seed():
    m = 150
    X = np.arange(m * 2 * 2 * 3, dtype=np.float64).reshape(m, 2, 2, 3)
    Y = signs.convert_to_one_hot(np.arange(m) % 6, 6).T
    batches = signs.random_mini_batches(X, Y, mini_batch_size=64, seed=1)
    assert [b[0].shape[0] for b in batches] == [64, 64, 22]
    assert [b[1].shape for b in batches] == [(64, 6), (64, 6), (22, 6)]
    all_X = np.concatenate([b[0] for b in batches])
    all_Y = np.concatenate([b[1] for b in batches])
    index = (all_X[:, 0, 0, 0] // 12).astype(int)  # which example each row came from
    assert sorted(index.tolist()) == list(range(m))
    assert not np.array_equal(index, np.arange(m))
    np.testing.assert_array_equal(all_Y.argmax(axis=1), index % 6)  # rows stay paired
    again = signs.random_mini_batches(X, Y, mini_batch_size=64, seed=1)
    other = signs.random_mini_batches(X, Y, mini_batch_size=64, seed=2)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in again]), all_X)
    assert not np.array_equal(np.concatenate([b[0] for b in other]), all_X)
    exact = signs.random_mini_batches(X[:128], Y[:128], mini_batch_size=64, seed=0)
    assert [b[0].shape[0] for b in exact] == [64, 64]


# ----- pictures and the CLI ----------------------------------------------------


def test_cli_show(data_copy, capsys):
    assert _run_cli(["--data-dir", str(data_copy)]) == 0
    out = capsys.readouterr().out
    assert "generated" in out and str(data_copy) in out
    assert hashlib.sha256((data_copy / signs.TEST_FILE).read_bytes()).hexdigest() in out


def test_cli_show_generates_when_empty(tmp_path, monkeypatch, capsys):
    calls = []
    real_generate = signs.generate

    def small_generate(data_dir=None, seed=signs.DEFAULT_SEED, verbose=True, per_class=SMALL):
        calls.append(seed)
        return real_generate(data_dir, seed=seed, verbose=verbose, per_class=SMALL)

    monkeypatch.setattr(signs, "generate", small_generate)
    assert _run_cli(["--data-dir", str(tmp_path / "new")]) == 0
    assert calls == [signs.DEFAULT_SEED]
    assert (tmp_path / "new" / signs.TRAIN_FILE).is_file()


def test_cli_grid_writes_png(data_copy, tmp_path):
    png = tmp_path / "grid" / "signs.png"
    assert _run_cli(["--data-dir", str(data_copy), "--grid", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as image:
        assert image.size[0] > 400 and image.size[1] > 300


def test_cli_import_error_returns_2(data_copy, tmp_path, capsys):
    src = tmp_path / "bad"
    src.mkdir()
    _bad_labels(src)
    before = _snapshot(data_copy)
    assert _run_cli(["--data-dir", str(data_copy), "--import", str(src)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "0..5" in err
    assert _snapshot(data_copy) == before


def test_cli_generate_with_seed(tmp_path, monkeypatch):
    seen = []
    real_generate = signs.generate

    def small_generate(data_dir=None, seed=signs.DEFAULT_SEED, verbose=True):
        seen.append(seed)
        return real_generate(data_dir, seed=seed, verbose=False, per_class=SMALL)

    monkeypatch.setattr(signs, "generate", small_generate)
    assert _run_cli(["--data-dir", str(tmp_path / "d"), "--generate", "--seed", "5"]) == 0
    assert seen == [5]
    assert signs.describe(tmp_path / "d")["files"][signs.TRAIN_FILE]["seed"] == 5


# ----- generator v2: how the images look, and the notebooks' own pictures -------


def _skin_mask(X):
    """Pixels clearly redder than the image's own wall (its border's median)."""
    X = X.astype(float) / 255.0
    border = np.concatenate([X[:, :3].reshape(len(X), -1, 3), X[:, :, :3].reshape(len(X), -1, 3)], axis=1)
    wall = np.median(border, axis=1)
    return (X[..., 0] - X[..., 2]) - (wall[:, 0] - wall[:, 2])[:, None, None] > 0.08


def test_generated_photos_look_like_the_course_set(first_load):
    """A bright, even wall; a hand of photo size entering from the bottom; no dark outlines."""
    _, (X_train, Y_train, _, _, _), _ = first_load
    X, y = X_train[:600], Y_train[0, :600]
    border = X[:, :2].reshape(len(X), -1, 3).astype(float) / 255.0
    wall = np.median(border, axis=1)
    assert 0.84 < wall[:, 0].mean() < 0.94 and wall[:, 0].std() < 0.04  # near-white grey, few dark walls
    skin = _skin_mask(X)
    share = skin.mean(axis=(1, 2))
    assert 0.12 < share.mean() < 0.35 and (share > 0.03).all()  # every image shows a hand, none fills it
    assert skin[:, -2:].mean() > 0.1  # the wrist and forearm leave through the bottom edge
    assert skin[:, :2].mean() < 0.02  # fingertips stay inside the frame
    # the open hands (4, 5) cover more of the frame than a fist showing one finger
    assert share[y >= 4].mean() > share[y == 1].mean() * 1.2
    # no dark outline: almost no near-black pixels (they were the outlines of version 1)
    assert (X.mean(axis=-1) < 50).mean() < 0.004


def test_sample_pictures_are_the_generators(tmp_path):
    """source/*/my_sign.png and my_image.png are what `course data --samples` draws (and release/ carries)."""
    from PIL import Image

    root = Path(__file__).resolve().parents[1]
    drawn = signs.write_sample_images(tmp_path)
    for (assignment, name, _label), path in zip(signs.SAMPLE_IMAGES, drawn):
        committed = root / "source" / assignment / name
        with Image.open(committed) as image, Image.open(path) as fresh:
            assert image.size == (signs.SAMPLE_SIZE, signs.SAMPLE_SIZE)
            np.testing.assert_array_equal(
                np.asarray(image.convert("RGB")),
                np.asarray(fresh.convert("RGB")),
                err_msg=f"{committed} is stale: run `course data --samples`",
            )
        released = root / "release" / assignment / name
        assert released.read_bytes() == committed.read_bytes(), f"{released} is stale: run `course release`"


def test_parallel_drawing_gives_the_same_images():
    """Processes drawing parts of a split give byte for byte what one process draws; the extra stream is new."""
    X1, y1 = signs.generate_arrays(17, seed=4, split="train")
    X2, y2 = signs.generate_arrays(17, seed=4, split="train", workers=2)
    assert X1.shape == (102, 64, 64, 3) and np.array_equal(X1, X2) and np.array_equal(y1, y2)
    Xe, ye = signs.generate_arrays(17, seed=4, split="extra")
    assert np.bincount(ye).tolist() == [17] * 6 and not (Xe[:, None] == X1[None]).all(axis=(2, 3, 4)).any()
