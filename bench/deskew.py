"""Deskew accuracy: exact synthetic rotations, and the ../shared/eval/skew scans.

For the eval scans the stated angles come from a 1-degree search (sbrunner/deskew's tests), so
the residual skew after correcting by our estimate is also measured independently: the shift
between the row profiles of the left and right parts of the page.

    .venv/bin/python bench/deskew.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, machine
from hotocr.preprocess import to_gray
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.steps import estimate_skew
from tests.conftest import ENGLISH_LINES, render_page
from tests.test_preprocess import EVAL_SKEW, residual_skew


def main() -> None:
    backend = CpuBackend()
    print(f"Machine: {machine()}\n")
    page = to_gray(render_page(ENGLISH_LINES * 4, height=3300, size=40))
    errors = []
    for angle in (-14.0, -9.5, -5.2, -2.0, -0.7, -0.2, 0.3, 1.1, 3.3, 6.6, 10.4, 14.9):
        found = estimate_skew(backend, backend.rotate(page, angle, fill=255))
        assert found is not None
        errors.append(abs(found[0] + angle))
    print(
        f"synthetic letter page, 12 angles in [-14, 14.9]: mean |error| {np.mean(errors):.3f},"
        f" max {np.max(errors):.3f} degrees\n"
    )
    print("| image | stated | found | confidence | residual after ours | after stated | ms |")
    print("|---|---|---|---|---|---|---|")
    for number, stated in EVAL_SKEW.items():
        image = to_gray(Image.open(EVAL / "skew" / f"deskew-{number}.png"))
        t0 = time.perf_counter()
        found = estimate_skew(backend, image)
        ms = (time.perf_counter() - t0) * 1000
        assert found is not None
        ours = residual_skew(backend.rotate(image, found[0], 255))
        theirs = residual_skew(backend.rotate(image, stated, 255))
        print(
            f"| deskew-{number} | {stated} | {found[0]} | {found[1]} | {ours:+.2f} | "
            f"{theirs:+.2f} | {ms:.0f} |"
        )


if __name__ == "__main__":
    main()
