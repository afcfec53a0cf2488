"""Confidence that means the same on both recognizers: PP-OCR's scores against Tesseract's.

Every page of the sets is read twice, as a folder with ``recognizer = "tesseract"`` and with
``"ppocr"`` reads it (no correction). Each word is right when the ground truth of its page
holds it (case and the punctuation around it ignored; each ground-truth word counts once).

1. Words: the share of right words per confidence band, for each recognizer. PP-OCR's raw
   score (its characters' mean probability, ``ppocr.calibrate`` undone) is mapped to the
   Tesseract confidence whose words are right as often; the points printed are what
   ``recognize/ppocr.py`` holds in ``_CALIBRATION_SCORE`` / ``_CALIBRATION_CONFIDENCE``.
2. Pages: CER by page confidence, both recognizers, with the calibration as it is: a page
   flagged at ``low_confidence = 70`` should be about as bad whichever engine read it.

    .venv/bin/python bench/calibration.py [--set DIR ...]

Writes ``bench/out/calibration.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import multiprocessing
import os
import re
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, cer, eval_items, machine, normalise
from hotocr import pages
from hotocr.datatypes import PageSettings, PageTask
from hotocr.recognize import ppocr
from hotocr.worker import init_worker, process_page

DEV = Path.home() / ".cache" / "hotocr-eval-dev"
#: Confidence bands of the word table (Tesseract's 0-100 scale).
BANDS = (0, 50, 60, 70, 80, 85, 90, 93, 96, 101)
#: PP-OCR raw scores at which the mapping is given.
SCORE_POINTS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)
_EDGE = re.compile(r"^\W+|\W+$")


def _key(word: str) -> str:
    return _EDGE.sub("", word).casefold()


def read(job: tuple[str, Path, int, tuple[str, ...], str, str]) -> dict[str, object]:
    item, path, number, languages, recognizer, truth = job
    settings = dataclasses.replace(
        PageSettings.defaults(languages), recognizer=recognizer, correction=False
    )
    result = process_page(PageTask(path, pages.inspect(path).kind, number, settings))
    wanted = Counter(_key(w) for w in normalise(truth).split())
    words = []
    for word in result.words:
        key = _key(word.text)
        right = wanted[key] > 0
        if right:
            wanted[key] -= 1
        words.append((word.confidence, right))
    return {
        "id": item,
        "page": number,
        "recognizer": recognizer,
        "confidence": result.confidence,
        "cer": cer(result.text, truth),
        "words": words,
    }


def raw_score(confidence: float) -> float:
    """A PP-OCR word's score before ``ppocr.calibrate`` mapped it."""
    return float(np.interp(confidence, ppocr.CALIBRATION_CONFIDENCE, ppocr.CALIBRATION_SCORE))


def right_share(pairs: list[tuple[float, bool]], low: float, high: float) -> tuple[int, float]:
    inside = [right for value, right in pairs if low <= value < high]
    return len(inside), (sum(inside) / len(inside) if inside else float("nan"))


def mapping(tess: list[tuple[float, bool]], pp: list[tuple[float, bool]]) -> list[float]:
    """For each of ``SCORE_POINTS``, the Tesseract confidence whose words are right as often
    as PP-OCR's words around that raw score (isotonic: never decreasing)."""
    tess_sorted = sorted(tess)
    conf = np.array([c for c, _ in tess_sorted])
    right = np.array([r for _, r in tess_sorted], dtype=float)
    # Tesseract's right share as a function of confidence, smoothed over 200 words.
    window = 200
    share = np.convolve(right, np.ones(window) / window, mode="same")
    share = np.maximum.accumulate(share)
    out = []
    scores = np.array([s for s, _ in pp])
    rights = np.array([r for _, r in pp], dtype=float)
    for point in SCORE_POINTS:
        near = np.argsort(np.abs(scores - point))[:window]
        target = rights[near].mean() if len(near) else 0.0
        index = int(np.searchsorted(share, target))
        out.append(float(conf[min(index, len(conf) - 1)]))
    return list(np.maximum.accumulate(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="sets", action="append", type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    sets = [s for s in args.sets or [DEV, EVAL] if (s / "manifest.tsv").is_file()]
    jobs = []
    for folder in sets:
        for item in eval_items(folder):
            for number in range(1, pages.inspect(item.file).pages + 1):
                truth = item.truth_pages[number - 1] if number <= len(item.truth_pages) else ""
                for recognizer in ("tesseract", "ppocr"):
                    job = (item.id, item.file, number, item.languages, recognizer, truth)
                    jobs.append(job)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, initializer=init_worker, mp_context=ctx) as pool:
        results = list(pool.map(read, jobs))
    tess = [w for r in results if r["recognizer"] == "tesseract" for w in r["words"]]  # type: ignore[attr-defined]
    pp_calibrated = [w for r in results if r["recognizer"] == "ppocr" for w in r["words"]]  # type: ignore[attr-defined]
    pp = [(raw_score(c), right) for c, right in pp_calibrated]

    print(f"Machine: {machine()}, {dt.date.today().isoformat()}\n")
    print(f"{len(results) // 2} pages, {len(tess)} Tesseract and {len(pp)} PP-OCR words\n")
    print("| confidence | Tesseract words | right | PP-OCR words (calibrated) | right |")
    print("|---|---|---|---|---|")
    for low, high in itertools.pairwise(BANDS):
        n_t, s_t = right_share(tess, low, high)
        n_p, s_p = right_share(pp_calibrated, low, high)
        print(f"| {low}-{min(high, 100)} | {n_t} | {s_t:.3f} | {n_p} | {s_p:.3f} |")
    points = mapping(tess, pp)
    print("\nPP-OCR raw score -> Tesseract confidence as often right:")
    print("| raw score | " + " | ".join(f"{p:.2f}" for p in SCORE_POINTS) + " |")
    print("|---|" + "---|" * len(SCORE_POINTS))
    print("| confidence | " + " | ".join(f"{c:.1f}" for c in points) + " |")

    print("\n| page confidence | Tesseract pages | mean CER | PP-OCR pages | mean CER |")
    print("|---|---|---|---|---|")
    page_bands = (0, 60, 70, 80, 90, 101)
    for low, high in itertools.pairwise(page_bands):
        cells = []
        for recognizer in ("tesseract", "ppocr"):
            inside = [
                float(str(r["cer"]))
                for r in results
                if r["recognizer"] == recognizer and low <= float(str(r["confidence"])) < high
            ]
            mean = sum(inside) / len(inside) if inside else float("nan")
            cells.append(f"{len(inside)} | {mean:.3f}")
        print(f"| {low}-{min(high, 100)} | " + " | ".join(cells) + " |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "calibration.json").write_text(
        json.dumps(
            {
                "date": dt.date.today().isoformat(),
                "machine": machine(),
                "points": points,
                "pages": [{k: v for k, v in r.items() if k != "words"} for r in results],
            },
            indent=1,
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
