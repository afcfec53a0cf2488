"""Character error rate per page of ../shared/eval, plain Tesseract against hotocr's pipeline.

"plain": no preprocessing, no orientation detection, no correction (``tesseract IMG -``).
"hotocr": the default steps (downscale, deskew, remove_background, contrast) and orientation
detection.
Also the synthetic stained Chinese contract from the tests. Writes bench/out/quality.json and
prints a Markdown table.

    .venv/bin/python bench/quality.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import multiprocessing
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import OUT, cer, eval_items, machine
from hotocr import pages
from hotocr.worker import PageSettings, PageTask, init_worker, process_page
from tests.conftest import CJK_FONT, CONTRACT_LINES, degrade, render_page

CONDITIONS = {
    "plain": {"steps": (), "auto_rotate": False, "correction": False},
    "hotocr": {},
}


def settings(languages: tuple[str, ...], **changes: object) -> PageSettings:
    return dataclasses.replace(PageSettings.defaults(languages), **changes)


def run(task: tuple[str, str, int, str, PageTask]) -> tuple[str, str, int, str, float, float]:
    item_id, condition, number, _truth, page_task = task
    result = process_page(page_task)
    return item_id, condition, number, result.text, result.confidence, result.seconds


def main() -> None:
    tasks = []
    for item in eval_items():
        info = pages.inspect(item.file)
        for number in range(1, info.pages + 1):
            truth = item.truth_pages[number - 1] if number <= len(item.truth_pages) else ""
            for name, changes in CONDITIONS.items():
                s = settings(item.languages, **changes)
                tasks.append(
                    (item.id, name, number, truth, PageTask(item.file, info.kind, number, s))
                )
    tmp = Path(tempfile.mkdtemp())
    contract = tmp / "stained_contract_chi_sim.png"
    degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)).save(contract)
    for name, changes in CONDITIONS.items():
        s = settings(("chi_sim",), **changes)
        tasks.append(
            (
                "synthetic_stained_contract (chi_sim)",
                name,
                1,
                "\n".join(CONTRACT_LINES),
                PageTask(contract, pages.Kind.PNG, 1, s),
            )
        )
    truths = {(t[0], t[2]): t[3] for t in tasks}
    rows: dict[tuple[str, int], dict[str, float]] = {}
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(initializer=init_worker, mp_context=ctx) as pool:
        for item_id, condition, number, text, conf, secs in pool.map(run, tasks):
            row = rows.setdefault((item_id, number), {})
            row[f"{condition}_cer"] = round(cer(text, truths[(item_id, number)]), 3)
            row[f"{condition}_conf"] = conf
            row[f"{condition}_s"] = secs
    OUT.mkdir(parents=True, exist_ok=True)
    report = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "rows": [{"id": k[0], "page": k[1], **v} for k, v in rows.items()],
    }
    (OUT / "quality.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"Machine: {report['machine']}, {report['date']}\n")
    print("| page | CER plain | CER hotocr | conf plain | conf hotocr | s plain | s hotocr |")
    print("|---|---|---|---|---|---|---|")
    for (item_id, number), r in rows.items():
        print(
            f"| {item_id} p{number} | {r['plain_cer']:.3f} | {r['hotocr_cer']:.3f} | "
            f"{r['plain_conf']:.1f} | {r['hotocr_conf']:.1f} | "
            f"{r['plain_s']:.2f} | {r['hotocr_s']:.2f} |"
        )
    plain = sum(r["plain_cer"] for r in rows.values()) / len(rows)
    ours = sum(r["hotocr_cer"] for r in rows.values()) / len(rows)
    worse = [k for k, r in rows.items() if r["hotocr_cer"] > r["plain_cer"] + 0.005]
    print(f"\nmean CER plain {plain:.3f}, hotocr {ours:.3f}; pages worse by > 0.005: {worse}")


if __name__ == "__main__":
    main()
