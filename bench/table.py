#!/usr/bin/env python3
"""Pairs `kiln bench --json` and `torch_reference.py --json` lines into a Markdown table.

Usage: table.py KILN.jsonl TORCH.jsonl
Rows are matched on model, mode, batch, image size and precision; the ratio is kiln's
images/s over PyTorch's. A benchmark missing on one side shows as "-".
"""

import json
import sys


def load(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    rows[(r["model"], r["mode"], r["batch"], r["image_size"], r["precision"])] = r
    except FileNotFoundError:
        pass
    return rows


def fmt(r, key, spec):
    return format(r[key], spec) if r and r.get(key) is not None else "-"


def main():
    kiln, torch = load(sys.argv[1]), load(sys.argv[2])
    print("| model | mode | batch | size | precision | PyTorch img/s | kiln img/s | kiln / PyTorch | PyTorch MB | kiln MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted(set(kiln) | set(torch), key=lambda k: (k[0], k[4], k[1], k[2], k[3])):
        k, t = kiln.get(key), torch.get(key)
        ratio = f"{k['images_per_second'] / t['images_per_second']:.2f}" if k and t else "-"
        model, mode, batch, size, precision = key
        print(
            f"| {model} | {mode} | {batch} | {size} | {precision} | {fmt(t, 'images_per_second', '.1f')} "
            f"| {fmt(k, 'images_per_second', '.1f')} | {ratio} | {fmt(t, 'peak_memory_mb', '.0f')} "
            f"| {fmt(k, 'peak_memory_mb', '.0f')} |"
        )


if __name__ == "__main__":
    main()
