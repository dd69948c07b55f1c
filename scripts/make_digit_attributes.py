#!/usr/bin/env python3
"""Write assets/digit-attributes.csv: a multi-label view of the bundled digits.

Each image gets the attributes of the digit it shows, facts about the numeral, not about the
handwriting:
  even      0 2 4 6 8
  prime     2 3 5 7
  loop      0 6 8 9   (a closed loop in the usual glyph; 4 is left out, written open or closed)
  straight  1 4 7     (drawn with straight strokes only)
  big       5 6 7 8 9 (five or more)
No two digits share a label set, so the labels fix the digit and a model has to see it.

Usage: python scripts/make_digit_attributes.py   (stdlib only; paths relative to assets/digits)
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIGITS = REPO / "assets" / "digits"
ATTRIBUTES = {
    "even": {0, 2, 4, 6, 8},
    "prime": {2, 3, 5, 7},
    "loop": {0, 6, 8, 9},
    "straight": {1, 4, 7},
    "big": {5, 6, 7, 8, 9},
}


def main() -> None:
    rows = ["path,labels"]
    for digit in range(10):
        labels = ";".join(name for name, digits in ATTRIBUTES.items() if digit in digits)
        for image in sorted((DIGITS / str(digit)).glob("*.png")):
            rows.append(f"{digit}/{image.name},{labels}")
    out = REPO / "assets" / "digit-attributes.csv"
    out.write_text("\n".join(rows) + "\n")
    print(f"wrote {out} ({len(rows) - 1} images)")


if __name__ == "__main__":
    main()
