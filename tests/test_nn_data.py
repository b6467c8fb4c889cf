"""CIFAR-10 loader on generated archives of the official format, digits split, device augmentation, models."""
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
import torch

from lsis_robust.nn import data as D
from lsis_robust.nn.models import ResNet18, SmallCNN, build_model

N_PER_BATCH = 6


def _batch(seed, n=N_PER_BATCH):
    rng = np.random.default_rng(seed)
    return {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, n)]}


def make_cifar(root, archive=True):
    """Write a small CIFAR-10 in the official python layout; returns (md5 of archive, per-file md5s, batches)."""
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {n: _batch(i) for i, n in enumerate(names)}
    raw = {n: pickle.dumps(b) for n, b in batches.items()}
    file_md5 = {n: hashlib.md5(r).hexdigest() for n, r in raw.items()}
    if archive:
        path = root / D.CIFAR10_ARCHIVE
        with tarfile.open(path, "w:gz") as tar:
            for n, r in raw.items():
                info = tarfile.TarInfo(f"{D.CIFAR10_FOLDER}/{n}")
                info.size = len(r)
                tar.addfile(info, io.BytesIO(r))
        return hashlib.md5(path.read_bytes()).hexdigest(), file_md5, batches
    folder = root / D.CIFAR10_FOLDER
    folder.mkdir()
    for n, r in raw.items():
        (folder / n).write_bytes(r)
    return None, file_md5, batches


def test_cifar_archive_roundtrip(tmp_path):
    md5, _, batches = make_cifar(tmp_path)
    d = D.load_cifar10(tmp_path, md5=md5)
    assert d.x_train.shape == (5 * N_PER_BATCH, 3, 32, 32) and d.x_test.shape == (N_PER_BATCH, 3, 32, 32)
    # Row-major 3072 = 3 channels of 32x32: the first pixel of channel 1 is byte 1024.
    assert d.x_train[0, 1, 0, 0] == batches["data_batch_1"][b"data"][0, 1024]
    assert d.x_train[N_PER_BATCH, 2, 31, 31] == batches["data_batch_2"][b"data"][0, 3071]
    assert list(d.y_test) == batches["test_batch"][b"labels"]
    assert (d.pad, d.flip, d.scale) == (4, True, 1 / 255)


def test_cifar_extracted_folder_and_env(tmp_path, monkeypatch):
    _, file_md5, batches = make_cifar(tmp_path, archive=False)
    monkeypatch.setenv(D.DATA_ENV, str(tmp_path))
    d = D.load_cifar10(file_md5=file_md5)
    assert list(d.y_train[:N_PER_BATCH]) == batches["data_batch_1"][b"labels"]
    bad = dict(file_md5, test_batch="0" * 32)
    with pytest.raises(ValueError, match="test_batch has md5"):
        D.load_cifar10(tmp_path, file_md5=bad)
    (tmp_path / D.CIFAR10_FOLDER / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3 is missing"):
        D.load_cifar10(tmp_path, file_md5=file_md5)


def test_cifar_errors(tmp_path, monkeypatch):
    monkeypatch.delenv(D.DATA_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="--data-dir"):
        D.load_cifar10()
    with pytest.raises(FileNotFoundError, match="looked for cifar-10-batches-py/ and cifar-10-python.tar.gz"):
        D.load_cifar10(tmp_path)
    md5, _, _ = make_cifar(tmp_path)
    with pytest.raises(ValueError, match="md5 .* expected c58f3010"):  # generated archive is not the official one
        D.load_cifar10(tmp_path)
    path = tmp_path / D.CIFAR10_ARCHIVE
    path.write_bytes(path.read_bytes()[:-100])  # truncated download
    with pytest.raises(ValueError, match="corrupt or incomplete"):
        D.load_cifar10(tmp_path, md5=md5)


def test_download_without_network_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "CIFAR10_URL", (tmp_path / "nowhere" / "cifar.tar.gz").as_uri())
    with pytest.raises(ValueError, match="could not download CIFAR-10 .* copy cifar-10-python.tar.gz"):
        D.load_cifar10(tmp_path / "data", download=True)
    assert not list((tmp_path / "data").glob("*"))  # no partial file left behind


def test_download_checks_md5(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    md5, _, _ = make_cifar(src)
    monkeypatch.setattr(D, "CIFAR10_URL", (src / D.CIFAR10_ARCHIVE).as_uri())
    d = D.load_cifar10(tmp_path / "data", download=True, md5=md5)
    assert d.x_train.shape[0] == 5 * N_PER_BATCH
    with pytest.raises(ValueError, match="not kept"):
        D.load_cifar10(tmp_path / "other", download=True)


def test_digits_split_fixed_and_stratified():
    a, b = D.load_digits(), D.load_digits()
    assert a.x_train.shape == (1347, 1, 8, 8) and a.x_test.shape == (450, 1, 8, 8)
    assert a.fingerprint() == b.fingerprint()
    test = np.bincount(a.y_test, minlength=10)
    total = test + np.bincount(a.y_train, minlength=10)
    assert np.abs(test - 0.25 * total).max() <= 1  # stratified: each class split 75/25 up to rounding
    assert a.x_train.max() == 16 and (a.pad, a.flip) == (1, False)


def test_device_augmentation_is_a_crop_of_the_padded_image():
    d = D.load_digits()
    dev = D.DeviceData(d, "cpu")
    x = dev.x_train[:64]
    g = torch.Generator().manual_seed(0)
    out = dev.augment(x, g)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(64):  # every output is one of the 9 shifted windows
        windows = [padded[i, :, r:r + 8, c:c + 8] for r in range(3) for c in range(3)]
        assert any(torch.equal(out[i], w) for w in windows)
    assert not torch.equal(out, x)
    g2 = torch.Generator().manual_seed(0)
    assert torch.equal(dev.augment(x, g2), out)  # reproducible from the generator state


def test_flip_and_normalisation():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 3, 4, 4), dtype=np.uint8)
    y = rng.integers(0, 10, 40)
    d = D.ImageData("t", x, y, x[:5], y[:5], scale=1 / 255, pad=0, flip=True)
    dev = D.DeviceData(d, "cpu")
    out = dev.augment(dev.x_train, torch.Generator().manual_seed(3))
    flipped = [torch.equal(out[i], dev.x_train[i].flip(2)) for i in range(40)]
    kept = [torch.equal(out[i], dev.x_train[i]) for i in range(40)]
    assert all(f or k for f, k in zip(flipped, kept)) and 5 < sum(flipped) < 35
    xb, _ = next(dev.batches("train", 40))
    np.testing.assert_allclose(xb.mean((0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(xb.std((0, 2, 3), unbiased=False).numpy(), 1, atol=1e-4)
    with pytest.raises(ValueError, match="labels must lie"):
        D.ImageData("t", x, y + 10, x, y, scale=1, pad=0, flip=False)
    with pytest.raises(ValueError, match="uint8"):
        D.ImageData("t", x.astype(float), y, x, y, scale=1, pad=0, flip=False)
    with pytest.raises(ValueError, match="unknown dataset"):
        D.load_dataset("mnist")


def test_models():
    torch.manual_seed(0)
    net = ResNet18()
    assert sum(p.numel() for p in net.parameters()) == 11_173_962  # the CIFAR ResNet-18 parameter count
    assert net.stem[0].kernel_size == (3, 3) and net.stem[0].stride == (1, 1)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in net.modules())
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert SmallCNN()(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    assert build_model("small_cnn", 4, 3)(torch.randn(2, 3, 8, 8)).shape == (2, 4)
    with pytest.raises(ValueError, match="unknown model"):
        build_model("vgg", 10, 3)
