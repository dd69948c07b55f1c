#!/usr/bin/env python3
"""Produce the reference values kiln's eval transform is tested against (tests/data_transform.rs).

Run once; commits small files under tests/fixtures/data/:
  * input images (made here with numpy, so the repository needs no third-party photo):
      photo.png     400x300 RGB, gradients + shapes + noise: a downscale with antialias, and an
                    odd centre-crop offset (341 - 224 = 117, Python rounds 58.5 to 58);
      rgba.png      28x28 RGBA, a Fashion-MNIST coat tinted in colour with a varying alpha:
                    a large upscale, and alpha that must be dropped (not blended);
      photo.jpg     257x193 JPEG (quality 95, 4:4:4) of the same scene: the JPEG decoder too.
    plus assets/digits/3/0000.png (grey) at image_size 32.
  * for each case NAME: NAME.expected.png, the 8-bit image torchvision produces before
    ToTensor (after Resize + CenterCrop), and an entry in expected.json with the shape, the
    per-channel mean/std of the normalised tensor and a few normalised values at fixed positions.

torchvision pipeline: Resize(R) + CenterCrop(S) + ToTensor() + Normalize(ImageNet mean/std) on
`PIL.Image.open(path).convert("RGB")`, as torchvision's ImageFolder loads images.
"""

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tests" / "fixtures" / "data"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def scene(w: int, h: int, seed: int) -> np.ndarray:
    """A colourful, photo-like test card: smooth gradients, hard edges, fine stripes, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / w * 6.0) * np.cos(y / h * 3.0)
    g = 255 * (y / h)
    b = 255 * (1 - x / w) * (0.5 + 0.5 * np.sin((x + y) / 9.0))
    img = np.stack([r, g, b], axis=-1)
    # A disc and a square: hard edges where resampling differences would show.
    disc = (x - w * 0.3) ** 2 + (y - h * 0.45) ** 2 < (min(w, h) * 0.2) ** 2
    img[disc] = [250, 40, 30]
    square = (abs(x - w * 0.7) < w * 0.1) & (abs(y - h * 0.6) < h * 0.15)
    img[square] = [20, 30, 220]
    # Fine stripes: aliasing bait for a resize without antialias.
    stripes = (np.abs(x - w * 0.5) < w * 0.08) & (y < h * 0.3)
    img[stripes] = np.where((x[stripes].astype(int) // 2) % 2 == 0, 255, 0)[:, None]
    img += rng.normal(0, 8, img.shape)
    return img.clip(0, 255).round().astype(np.uint8)


def make_inputs():
    OUT.mkdir(parents=True, exist_ok=True)
    Image.fromarray(scene(400, 300, 1), "RGB").save(OUT / "photo.png")
    Image.fromarray(scene(257, 193, 2), "RGB").save(OUT / "photo.jpg", quality=95, subsampling=0)
    coat = np.array(Image.open(REPO / "assets" / "fashion" / "coat" / "0000.png").convert("L"), dtype=np.float64)
    tint = np.stack([coat, coat * 0.6, 255 - coat * 0.8], axis=-1)
    alpha = np.linspace(60, 255, 28)[None, :].repeat(28, axis=0)
    rgba = np.concatenate([tint, alpha[..., None]], axis=-1).round().astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(OUT / "rgba.png")


CASES = [
    # name, input path (relative to repo), resize, crop
    ("photo", "tests/fixtures/data/photo.png", 256, 224),
    ("rgba", "tests/fixtures/data/rgba.png", 256, 224),
    ("jpeg", "tests/fixtures/data/photo.jpg", 256, 224),
    ("digit32", "assets/digits/3/0000.png", 37, 32),
]


def main():
    make_inputs()
    expected = {}
    for name, rel, resize, crop in CASES:
        img = Image.open(REPO / rel).convert("RGB")
        cropped = transforms.CenterCrop(crop)(transforms.Resize(resize)(img))
        tensor = transforms.ToTensor()(cropped)
        normalised = transforms.Normalize(MEAN, STD)(tensor)
        # ToTensor of an 8-bit image is exactly bytes / 255: the 8-bit crop is the whole truth.
        as_bytes = np.array(cropped, dtype=np.uint8)
        assert torch.equal(tensor, torch.from_numpy(as_bytes).permute(2, 0, 1).float() / 255)
        cropped.save(OUT / f"{name}.expected.png")
        positions = [(c, y, x) for c in range(3) for (y, x) in [(0, 0), (crop // 2, crop // 3), (crop - 1, crop - 1), (crop // 5, crop - 7)]]
        expected[name] = {
            "input": rel,
            "resize": resize,
            "image_size": crop,
            "resized_size": list(transforms.Resize(resize)(img).size),
            "mean": normalised.mean(dim=(1, 2)).tolist(),
            "std": normalised.std(dim=(1, 2)).tolist(),
            "samples": [[c, y, x, normalised[c, y, x].item()] for (c, y, x) in positions],
        }
    import PIL
    import torchvision

    expected["_produced_by"] = {
        "script": "scripts/transform_reference.py",
        "pillow": PIL.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {len(CASES)} cases to {OUT}")


if __name__ == "__main__":
    main()
