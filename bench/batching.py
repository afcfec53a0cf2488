"""PP-OCR's batching of lines, measured on the CPU: the same pages, CER and time, read with
hotocr's batches (6 lines, each batch as wide as its widest line) and with batches that
would suit a GPU (32 lines, the width rounded up to 64 px: fewer runs, repeating shapes).
The readings differed (CER 0.0888 -> 0.0897), so the GPU reads with the CPU's batches.

Every page of the sets is read by hotocr's pipeline with ``recognizer = "ppocr"`` and
``provider = "cpu"``, once per batching, two pages at a time.

    .venv/bin/python bench/batching.py [--set DIR ...]

Default sets: ``../shared/eval`` and the development set where it is built
(``~/.cache/hotocr-eval-dev``). Writes ``bench/out/batching.json``, prints a table.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, errors, eval_items, machine
from hotocr import pages
from hotocr.datatypes import PageSettings, PageTask
from hotocr.recognize import ppocr
from hotocr.worker import init_worker, process_page

DEV = Path.home() / ".cache" / "hotocr-eval-dev"


#: The batching measured against hotocr's (``ppocr.REC_BATCH``, ``REC_WIDTH_STEP``): what
#: would suit a GPU, with fewer runs and shapes.
GPU_BATCH, GPU_WIDTH_STEP = 32, 64


def _start(batching: str) -> None:
    init_worker()
    if batching == "cuda":  # this bench's own worker processes
        ppocr.REC_BATCH, ppocr.REC_WIDTH_STEP = GPU_BATCH, GPU_WIDTH_STEP


def read(task: PageTask) -> tuple[str, float]:
    start = time.process_time()
    result = process_page(task)
    return result.text, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", dest="sets", action="append", type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    sets = args.sets or [EVAL, *([DEV] if (DEV / "manifest.tsv").is_file() else [])]
    tasks, truths, groups = [], [], []
    for root in sets:
        for item in eval_items(root):
            info = pages.inspect(item.file)
            settings = dataclasses.replace(
                PageSettings.defaults(item.languages), recognizer="ppocr", provider="cpu"
            )
            for number in range(1, info.pages + 1):
                tasks.append(PageTask(item.file, info.kind, number, settings))
                truth = item.truth_pages[number - 1] if number <= len(item.truth_pages) else ""
                truths.append(truth)
                groups.append(f"{root.name}/{item.kind.split('-')[0]}")
    results: dict[str, list[tuple[str, float]]] = {}
    for batching in ("cpu", "cuda"):
        with ProcessPoolExecutor(args.workers, initializer=_start, initargs=(batching,)) as pool:
            results[batching] = list(pool.map(read, tasks))
    totals: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    differing = []
    for i, (truth, group) in enumerate(zip(truths, groups, strict=True)):
        for batching in ("cpu", "cuda"):
            text, seconds = results[batching][i]
            edits, length = errors(text, truth)
            for key in (group, "all"):
                cell = totals[key][batching]
                cell[0] += edits
                cell[1] += length
                cell[2] += seconds
        if results["cpu"][i][0] != results["cuda"][i][0]:
            differing.append(f"{tasks[i].source.name} p{tasks[i].number}")
    rows = []
    print(f"PP-OCR batching on the CPU, {len(tasks)} pages; {machine()}, {dt.date.today()}\n")
    print("| group | CER batches of 6 | CER batches of 32, 64-px widths | CPU s (6 / 32) |")
    print("|---|---|---|---|")
    for key in sorted(totals):
        cpu, cuda = totals[key]["cpu"], totals[key]["cuda"]
        row = {
            "group": key,
            "cer_cpu": cpu[0] / max(cpu[1], 1),
            "cer_cuda": cuda[0] / max(cuda[1], 1),
            "seconds_cpu": cpu[2],
            "seconds_cuda": cuda[2],
        }
        rows.append(row)
        print(
            f"| {key} | {row['cer_cpu']:.4f} | {row['cer_cuda']:.4f} | "
            f"{cpu[2]:.0f} / {cuda[2]:.0f} |"
        )
    print(f"\npages whose text differs: {len(differing)} of {len(tasks)}: {', '.join(differing)}")
    OUT.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "date": str(dt.date.today()), "rows": rows}
    report["differing"] = differing
    (OUT / "batching.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
