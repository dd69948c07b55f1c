#!/usr/bin/env python3
"""PIL + torchvision throughput for the same images and transforms as kiln's loader benchmark
(benches/data_loader.rs), on one core: the figure kiln's per-core number is held against.

    python scripts/data_bench.py [IMAGE_FOLDER] [--size 224] [--repeat 3]
    python scripts/data_bench.py --make-photos DIR [--count 300]   # photo-sized JPEG test set

Eval:  Resize(size*8/7) + CenterCrop(size) + ToTensor + Normalize(ImageNet)
Train: the same + RandomHorizontalFlip + RandomRotation(15) + ColorJitter(0.2, 0.2, 0.2)
(kiln's recipe defaults), each on `Image.open(path).convert("RGB")` as ImageFolder loads.
torch is pinned to one thread so the figure is per core.

--make-photos writes COUNT JPEGs of 500x375 (quality 90) made from the test card in
transform_reference.py, in 5 class folders: a workload closer to real photos than the 28 px
samples, which mostly measure upscaling.
"""

import argparse
import os
import time
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms

EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def images(root: Path):
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTS and not p.name.startswith("."))


def make_photos(out: Path, count: int):
    from transform_reference import scene  # same folder

    for i in range(count):
        d = out / f"class{i % 5}"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(scene(500, 375, 100 + i), "RGB").save(d / f"{i:04d}.jpg", quality=90)
    print(f"wrote {count} JPEGs to {out}")


def bench(paths, tf, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for p in paths:
            tf(Image.open(p).convert("RGB"))
        best = min(best, time.perf_counter() - start)
    return len(paths) / best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent / "assets" / "fashion")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--make-photos", metavar="DIR", type=Path)
    ap.add_argument("--count", type=int, default=300)
    args = ap.parse_args()
    if args.make_photos:
        make_photos(args.make_photos, args.count)
        return

    torch.set_num_threads(1)
    paths = images(args.folder)
    if not paths:
        raise SystemExit(f"no images under {args.folder}")
    resize = round(args.size * 8 / 7)
    tail = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
    eval_tf = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(args.size), *tail])
    train_tf = transforms.Compose([
        transforms.Resize(resize), transforms.CenterCrop(args.size),
        transforms.RandomHorizontalFlip(0.5), transforms.RandomRotation(15),
        transforms.ColorJitter(0.2, 0.2, 0.2), *tail,
    ])
    first = Image.open(paths[0])
    print(f"{len(paths)} images from {args.folder} (first is {first.width}x{first.height}), "
          f"output {args.size} px, best of {args.repeat}, 1 thread, {os.cpu_count()} cores")
    import PIL
    import torchvision
    print(f"Pillow {PIL.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}")
    for name, tf in [("Eval", eval_tf), ("Train", train_tf)]:
        print(f"PIL+torchvision {name}: 1 thread {bench(paths, tf, args.repeat):8.0f} img/s")


if __name__ == "__main__":
    main()
