"""Milliseconds per preprocessing step and backend, against Tesseract's time on the same page.

Pages: ocrmypdf_linn.png (a clean 300-DPI letter page), ocrmypdf_skew.pdf rendered at 300 DPI,
and the stained Chinese contract from the tests. Each step is timed alone (median of
``--repeat`` runs) on the CPU backend, and on the GPU backend when one works. Tesseract's time is
one recognition of the preprocessed page, single-threaded, as the workers run it.

    .venv/bin/python bench/preprocess.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, machine
from hotocr import pages
from hotocr.config import PREPROCESS_STEPS, PreprocessConfig
from hotocr.preprocess import preprocess, select_backend, to_gray
from hotocr.preprocess.backend import Backend, HostImage
from hotocr.preprocess.cpu import CpuBackend
from hotocr.recognize import ReadRequest
from hotocr.recognize.tesseract import read
from tests.conftest import CJK_FONT, CONTRACT_LINES, degrade, render_page

#: Every step that changes pixels at 300 DPI (grayscale, up- and downscale are conversions).
STEPS = tuple(s for s in PREPROCESS_STEPS if s not in ("grayscale", "upscale", "downscale"))
DEFAULT = PreprocessConfig().steps


def load_pages() -> dict[str, tuple[HostImage, str]]:
    skew = pages.load_page(
        EVAL / "pages" / "ocrmypdf_skew.pdf", pages.Kind.PDF, 1, dpi=300, timeout=60
    )
    contract = degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500))
    return {
        "linn.png 2550x3300": (to_gray(Image.open(EVAL / "pages" / "ocrmypdf_linn.png")), "eng"),
        "skew.pdf @300dpi": (to_gray(skew.image), "eng"),
        "stained contract 2480x1500": (to_gray(contract), "chi_sim"),
    }


def median_ms(backend: Backend, image: HostImage, steps: tuple[str, ...], repeat: int) -> float:
    preprocess(backend, image, dpi=300, steps=steps)  # warm-up (GPU kernels, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        preprocess(backend, image, dpi=300, steps=steps)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def tesseract_ms(image: HostImage, lang: str) -> float:
    """The tesseract program's time on the page (writing its PGM included), as in earlier runs."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        read(image, engine="command", request=ReadRequest(lang, 3, 300, 300, Path(tmp) / "p.pgm"))
        return (time.perf_counter() - t0) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    backends: list[Backend] = [CpuBackend()]
    gpu = select_backend("auto")
    if gpu.backend.name == "gpu":
        backends.append(gpu.backend)
    else:
        print(f"GPU: not measured ({gpu.reason})")
    results = []
    for name, (image, lang) in load_pages().items():
        cleaned = preprocess(CpuBackend(), image, dpi=300, steps=DEFAULT).image
        tess = tesseract_ms(cleaned, lang)
        for backend in backends:
            row = {"page": name, "backend": backend.name, "tesseract_ms": round(tess)}
            for step in STEPS:
                row[step] = round(median_ms(backend, image, (step,), args.repeat), 1)
            row["default_steps"] = round(median_ms(backend, image, DEFAULT, args.repeat), 1)
            row["share_of_tesseract"] = round(row["default_steps"] / tess, 3)
            results.append(row)
    OUT.mkdir(parents=True, exist_ok=True)
    report = {"date": dt.date.today().isoformat(), "machine": machine(), "rows": results}
    (OUT / "preprocess.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"Machine: {report['machine']}, {report['date']}\n")
    cols = ["page", "backend", *STEPS, "default_steps", "tesseract_ms", "share_of_tesseract"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in results:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
