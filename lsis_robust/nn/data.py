"""Data sets of the deep-network benchmark, held whole on the training device.

* CIFAR-10 from the official python archive (``cifar-10-python.tar.gz``, or
  its extracted ``cifar-10-batches-py/``), md5-checked, found through
  ``data_dir`` or the environment variable ``LSIS_ROBUST_DATA_DIR``.
* scikit-learn's handwritten digits (8x8, 10 classes, 1797 images) with a
  fixed stratified 75/25 split (``random_state=0``), the embedded CPU default.

Images stay uint8 on the device; a batch is cropped/flipped there and only
then converted and normalised, so no CPU data loader sits in the loop.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DeviceData",
    "ImageData",
    "load_cifar10",
    "load_digits",
    "load_dataset",
    "CIFAR10_MD5",
    "CIFAR10_FILE_MD5",
    "DATA_ENV",
]

DATA_ENV = "LSIS_ROBUST_DATA_DIR"
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_FILE_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
_TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


@dataclass
class ImageData:
    """uint8 images (N, C, H, W) with integer labels, plus normalisation and augmentation settings.

    ``scale`` maps raw pixels to [0, 1]; ``mean``/``std`` are per channel on that
    scale.  ``pad`` is the random-crop padding (zeros, in raw pixels) and
    ``flip`` enables random horizontal flips.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scale: float
    pad: int
    flip: bool
    n_classes: int = 10

    def __post_init__(self):
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.dtype != np.uint8 or x.ndim != 4 or y.shape != (x.shape[0],):
                raise ValueError(f"{self.name}: {part} images must be uint8 (N, C, H, W) with N labels")
            if y.min() < 0 or y.max() >= self.n_classes:
                raise ValueError(f"{self.name}: {part} labels must lie in [0, {self.n_classes - 1}]")
        x = self.x_train.astype(np.float64) * self.scale
        self.mean = x.mean(axis=(0, 2, 3))
        self.std = x.std(axis=(0, 2, 3))

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    def fingerprint(self) -> dict:
        """What a checkpoint must agree on: sizes and a hash of the pixels and labels."""
        h = hashlib.sha256()
        for a in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(np.ascontiguousarray(a).tobytes())
        return {"dataset": self.name, "n_train": int(self.x_train.shape[0]), "n_test": int(self.x_test.shape[0]),
                "shape": list(self.x_train.shape[1:]), "sha256": h.hexdigest()[:16], "pad": self.pad,
                "flip": self.flip}


class DeviceData:
    """An :class:`ImageData` moved to ``device``, serving normalised (augmented) batches."""

    def __init__(self, data: ImageData, device, channels_last: bool = False):
        self.data = data
        self.device = torch.device(device)
        self.channels_last = channels_last
        # Copies in C order: a size-1 axis may carry any stride (digits' channel axis has stride 1 after
        # sklearn's split, 64 after pickling to a worker), and torch takes (N, 1, H, W) with channel stride 1
        # for channels-last and evaluates with other kernels, so the metrics would depend on the array's history.
        self.x_train = torch.from_numpy(np.array(data.x_train, order="C")).to(self.device)
        self.y_train = torch.from_numpy(data.y_train.astype(np.int64)).to(self.device)
        self.x_test = torch.from_numpy(np.array(data.x_test, order="C")).to(self.device)
        self.y_test = torch.from_numpy(data.y_test.astype(np.int64)).to(self.device)
        shape = (1, -1, 1, 1)
        self._mean = torch.tensor(data.mean, dtype=torch.float32, device=self.device).view(shape)
        self._std = torch.tensor(data.std, dtype=torch.float32, device=self.device).view(shape)
        h, w = data.x_train.shape[2:]
        self._rows = torch.arange(h, device=self.device)
        self._cols = torch.arange(w, device=self.device)

    def _normalise(self, x):
        x = (x.float() * self.data.scale - self._mean) / self._std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def augment(self, x, generator: torch.Generator):
        """Random crop with zero padding ``pad`` and optional horizontal flip, batched on the device."""
        n, c, h, w = x.shape
        p = self.data.pad
        if p:
            padded = torch.nn.functional.pad(x, (p, p, p, p))
            off = torch.randint(0, 2 * p + 1, (2, n), device=x.device, generator=generator)
            rows = (off[0][:, None] + self._rows)[:, None, :, None]
            cols = (off[1][:, None] + self._cols)[:, None, None, :]
            x = padded[torch.arange(n, device=x.device)[:, None, None, None],
                       torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
        if self.data.flip:
            flip = torch.rand(n, device=x.device, generator=generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def train_batch(self, idx, generator: torch.Generator | None):
        """Normalised training batch at ``idx``; augmented when ``generator`` is given."""
        x = self.x_train[idx]
        if generator is not None:
            x = self.augment(x, generator)
        return self._normalise(x), self.y_train[idx]

    def batches(self, part: str, batch_size: int):
        """Un-augmented batches of the ``train`` or ``test`` set, in order."""
        x, y = (self.x_train, self.y_train) if part == "train" else (self.x_test, self.y_test)
        for i in range(0, x.shape[0], batch_size):
            yield self._normalise(x[i:i + batch_size]), y[i:i + batch_size]


def load_digits() -> ImageData:
    """scikit-learn digits, stratified 75/25 split with random_state=0 (fixed for every run)."""
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    d = _load()
    x = d.images.astype(np.uint8)[:, None]  # pixel values 0..16
    xtr, xte, ytr, yte = train_test_split(x, d.target, test_size=0.25, stratify=d.target, random_state=0)
    # One pixel of padding is the 8x8 analogue of 4 on 32x32; no flips, since
    # mirrored digits are other symbols (or none).
    return ImageData("digits", xtr, ytr.astype(np.int64), xte, yte.astype(np.int64), scale=1 / 16, pad=1,
                     flip=False)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _md5_file(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unpickle(raw: bytes, name: str):
    # The batches are pickles (the official format); their md5 has been
    # checked against the published value before they are unpickled.
    entry = pickle.load(io.BytesIO(raw), encoding="bytes")
    data = np.asarray(entry[b"data"], dtype=np.uint8)
    labels = np.asarray(entry[b"labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise ValueError(f"CIFAR-10 batch {name} has data {data.shape} and labels {labels.shape}; "
                         "expected (n, 3072) and (n,)")
    return data.reshape(-1, 3, 32, 32), labels


def _candidates(data_dir) -> list[Path]:
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir))
    elif os.environ.get(DATA_ENV):
        dirs.append(Path(os.environ[DATA_ENV]))
    return dirs


def _download(target: Path, md5: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(CIFAR10_URL, timeout=60) as r, open(tmp, "wb") as f:
            while chunk := r.read(1 << 20):
                f.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"could not download CIFAR-10 from {CIFAR10_URL} ({exc}); without a network, "
                         f"copy {CIFAR10_ARCHIVE} into {target.parent} by hand") from None
    got = _md5_file(tmp)
    if got != md5:
        tmp.unlink()
        raise ValueError(f"downloaded {CIFAR10_URL} has md5 {got}, expected {md5}; not kept")
    os.replace(tmp, target)


def load_cifar10(data_dir=None, download: bool = False, md5: str = CIFAR10_MD5,
                 file_md5: dict | None = None) -> ImageData:
    """Load CIFAR-10 from ``data_dir`` (or ``$LSIS_ROBUST_DATA_DIR``).

    Looks for ``cifar-10-batches-py/`` (each batch md5-checked against
    ``file_md5``, the official values by default) and then for
    ``cifar-10-python.tar.gz`` (md5-checked against ``md5``), read without
    extracting.  ``download=True`` fetches the archive into the folder if
    neither is there.  ``md5``/``file_md5`` exist so tests can use generated
    archives of the same format.
    """
    file_md5 = CIFAR10_FILE_MD5 if file_md5 is None else file_md5
    dirs = _candidates(data_dir)
    if not dirs:
        raise FileNotFoundError(f"CIFAR-10 needs a folder: pass --data-dir DIR or set {DATA_ENV}; the folder "
                                f"should hold {CIFAR10_ARCHIVE} (from {CIFAR10_URL}) or {CIFAR10_FOLDER}/, "
                                "or add --download to fetch it there")
    root = dirs[0]
    folder, archive = root / CIFAR10_FOLDER, root / CIFAR10_ARCHIVE
    if folder.is_dir():
        raw = {}
        for name in _TRAIN_BATCHES + ["test_batch"]:
            path = folder / name
            if not path.is_file():
                raise FileNotFoundError(f"{path} is missing: {folder} is not a complete CIFAR-10 python folder")
            raw[name] = path.read_bytes()
            if _md5(raw[name]) != file_md5[name]:
                raise ValueError(f"{path} has md5 {_md5(raw[name])}, expected {file_md5[name]}: the file is "
                                 f"corrupt or not CIFAR-10; delete it and get {CIFAR10_ARCHIVE} again")
    else:
        if not archive.is_file():
            if not download:
                raise FileNotFoundError(
                    f"no CIFAR-10 in {root.resolve()}: looked for {folder.name}/ and {archive.name}. "
                    f"Download {CIFAR10_URL} into that folder, or rerun with --download")
            _download(archive, md5)
        got = _md5_file(archive)
        if got != md5:
            raise ValueError(f"{archive} has md5 {got}, expected {md5}: the archive is corrupt or incomplete; "
                             f"delete it and download {CIFAR10_URL} again")
        raw = {}
        with tarfile.open(archive, "r:gz") as tar:
            for name in _TRAIN_BATCHES + ["test_batch"]:
                try:
                    raw[name] = tar.extractfile(f"{CIFAR10_FOLDER}/{name}").read()
                except KeyError:
                    raise ValueError(f"{archive} lacks {CIFAR10_FOLDER}/{name}: not a CIFAR-10 python archive") \
                        from None
    train = [_unpickle(raw[n], n) for n in _TRAIN_BATCHES]
    xte, yte = _unpickle(raw["test_batch"], "test_batch")
    return ImageData("cifar10", np.concatenate([t[0] for t in train]), np.concatenate([t[1] for t in train]),
                     xte, yte, scale=1 / 255, pad=4, flip=True)


def load_dataset(name: str, data_dir=None, download: bool = False) -> ImageData:
    if name == "digits":
        return load_digits()
    if name == "cifar10":
        return load_cifar10(data_dir, download)
    raise ValueError(f"unknown dataset {name!r}; allowed: digits, cifar10")
