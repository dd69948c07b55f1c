#!/usr/bin/env python3
"""Pairs `kiln bench --json` and `torch_reference.py --json` lines into a Markdown table.

Usage: table.py KILN.jsonl TORCH.jsonl
Rows are matched on model, mode, batch, image size and precision; the ratio is kiln's
images/s over PyTorch's. A benchmark run in several rounds (bench/compare.sh's ROUNDS) shows
the median of each side, the median of the rounds' ratios (each round's kiln figure over the
PyTorch figure measured next to it) and every round's ratio. A benchmark missing on one side
shows as "-".
"""

import json
import statistics
import sys


def load(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    key = (r["model"], r["mode"], r["batch"], r["image_size"], r["precision"])
                    rows.setdefault(key, []).append(r)
    except FileNotFoundError:
        pass
    return rows


def median(runs, key, spec):
    values = [r[key] for r in runs if r.get(key) is not None]
    return format(statistics.median(values), spec) if values else "-"


def main():
    kiln, torch = load(sys.argv[1]), load(sys.argv[2])
    rounds = max(map(len, [*kiln.values(), *torch.values()]), default=0)
    extra = " rounds' ratios |" if rounds > 1 else ""
    print(f"| model | mode | batch | size | precision | PyTorch img/s | kiln img/s | kiln / PyTorch | PyTorch MB | kiln MB |{extra}")
    print("|---|---|---|---|---|---|---|---|---|---|" + ("---|" if extra else ""))
    for key in sorted(set(kiln) | set(torch), key=lambda k: (k[0], k[4], k[1], k[2], k[3])):
        k, t = kiln.get(key, []), torch.get(key, [])
        ratios = [a["images_per_second"] / b["images_per_second"] for a, b in zip(k, t)]
        ratio = f"{statistics.median(ratios):.2f}" if ratios else "-"
        model, mode, batch, size, precision = key
        row = (
            f"| {model} | {mode} | {batch} | {size} | {precision} | {median(t, 'images_per_second', '.1f')} "
            f"| {median(k, 'images_per_second', '.1f')} | {ratio} | {median(t, 'peak_memory_mb', '.0f')} "
            f"| {median(k, 'peak_memory_mb', '.0f')} |"
        )
        if extra:
            row += " " + " ".join(f"{r:.2f}" for r in ratios) + " |"
        print(row)


if __name__ == "__main__":
    main()
