"""Memory of one worker process: warmed for Tesseract only, and for ``auto`` (PP-OCR's
sessions loaded too), then after reading pages with each recognizer.

Each condition runs in a fresh spawned process, as the daemon's pool starts its workers;
resident (RSS) and proportional (PSS) set sizes come from psutil after each step.

    .venv/bin/python bench/worker_memory.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import multiprocessing
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, machine
from hotocr import pages
from hotocr.datatypes import PageSettings, PageTask
from hotocr.worker import init_worker, process_page
from tests.conftest import MONO_FONT, RECEIPT_LINES, photographed, render_page

MB = 1024 * 1024


def _mb() -> tuple[float, float]:
    info = psutil.Process().memory_full_info()
    return info.rss / MB, info.pss / MB


def measure(recognizer: str, page_files: list[str]) -> list[tuple[str, float, float]]:
    settings = dataclasses.replace(PageSettings.defaults(("eng",)), recognizer=recognizer)
    out = [("started", *_mb())]
    init_worker((settings,))
    out.append(("warmed", *_mb()))
    for name in page_files:
        path = Path(name)
        process_page(PageTask(path, pages.inspect(path).kind, 1, settings))
        out.append((f"after {path.name}", *_mb()))
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        receipt = Path(tmp) / "receipt.jpg"
        page = render_page(RECEIPT_LINES, font=MONO_FONT, size=15, width=560, height=560)
        photographed(page).save(receipt)
        files = [str(receipt), str(EVAL / "pages" / "ocrmypdf_linn.png")]
        ctx = multiprocessing.get_context("spawn")
        print(f"Machine: {machine()}, {dt.date.today().isoformat()}\n")
        print("| worker | step | RSS MB | PSS MB |")
        print("|---|---|---|---|")
        for recognizer in ("tesseract", "auto", "ppocr"):
            with ctx.Pool(1) as pool:
                for step, rss, pss in pool.apply(measure, (recognizer, files)):
                    print(f"| {recognizer} | {step} | {rss:.0f} | {pss:.0f} |")


if __name__ == "__main__":
    main()
