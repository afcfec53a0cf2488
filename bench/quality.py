"""Recognition quality, plain Tesseract against hotocr's pipeline, page by page, in one run.

"plain" is the ``tesseract`` program on the page as it came (``tesseract IMG -``; a PDF page
or a frame of a multi-page TIFF is first drawn or taken out as a PNG), with the set's
language: no preprocessing, no orientation detection, no correction. "hotocr" is the default
pipeline of a watch folder that overrides nothing, with the same language.

Sets: folders in ``../shared/eval``'s layout (``manifest.tsv``, ``pages/``, ``gt/``) and
``synthetic``, the stained Chinese contract of the tests. Default: ``../shared/eval`` and
``synthetic``. The development set of real noisy pages (``../shared/eval-dev``'s README) is
built outside the repository; pass it with ``--set``.

CER = character edits / ground-truth length, whitespace collapsed to single spaces,
historical characters mapped (``bench._common.normalise``); "weighted" sums the edits and
lengths of all pages of a group. Word errors are order-free (missed + extra words over the
ground-truth words): forms and receipts have an approximate reading order. CPU seconds are
this process's and its children's (OSD runs as a program), per page, two pages at a time.

    .venv/bin/python bench/quality.py [--set DIR|synthetic ...] [--compare OLD.json]

Writes ``bench/out/quality-<set>.json`` and prints a Markdown table per set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, EvalItem, errors, eval_items, machine, word_errors
from hotocr import pages
from hotocr.datatypes import PageSettings, PageTask
from hotocr.worker import init_worker, process_page
from tests.conftest import CJK_FONT, CONTRACT_LINES, degrade, render_page

#: A page worse than plain Tesseract by more than this is listed.
WORSE_BY = 0.02


@dataclass(frozen=True)
class Job:
    item_id: str
    group: str
    number: int
    condition: str
    source: Path
    kind: pages.Kind
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float
    cpu_seconds: float
    #: What the pipeline chose for the page (model, steps and why), for hotocr.
    chose: str = ""


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def read(job: Job) -> Reading:
    start = _cpu()
    if job.condition == "plain":
        text = _plain(job)
        return Reading(text, float("nan"), _cpu() - start)
    result = process_page(
        PageTask(job.source, job.kind, job.number, PageSettings.defaults(job.languages))
    )
    chose = describe_choices(result)
    return Reading(result.text, result.confidence, _cpu() - start, chose)


def describe_choices(result: object) -> str:
    """What the page got, in short: model, fit_text's factor, the steps after downscale and
    fit_text, and which way a page read both ways was kept (the JSON sidecar has the why)."""
    recipe = getattr(result, "recipe", None)
    if recipe is None:
        return ""
    parts = [recipe.model]
    if recipe.scale != 1.0:
        parts.append(f"x{recipe.scale:.2f}")
    steps = [s for s in recipe.steps if s not in ("downscale", "fit_text")]
    parts.append("+".join(steps) or "no step")
    background = recipe.reasons.get("remove_background", "")
    if "both ways" in background:
        parts.append("both ways: " + ("without" if background.startswith("left out") else "with"))
    if "contrast" in recipe.reasons:
        parts.append("faint ink")
    return "; ".join(parts)


def _plain(job: Job) -> str:
    langs = "+".join(job.languages)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        source = job.source
        if job.kind is pages.Kind.PDF or (
            job.kind is pages.Kind.TIFF and pages.inspect(job.source).pages > 1
        ):
            page = pages.load_page(job.source, job.kind, job.number, dpi=300, timeout=120)
            source = Path(tmp) / "page.png"
            page.image.save(source, dpi=(page.dpi or 300,) * 2)
        run = subprocess.run(
            ["tesseract", str(source), "-", "-l", langs],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    return run.stdout.split("\f")[0]


def jobs_for(items: list[EvalItem]) -> list[tuple[Job, str]]:
    out = []
    for item in items:
        info = pages.inspect(item.file)
        for number in range(1, info.pages + 1):
            truth = item.truth_pages[number - 1] if number <= len(item.truth_pages) else ""
            for condition in ("plain", "hotocr"):
                group = item.kind.split("-")[0]
                job = Job(item.id, group, number, condition, item.file, info.kind, item.languages)
                out.append((job, truth))
    return out


def synthetic_items(tmp: Path) -> list[EvalItem]:
    contract = tmp / "stained_contract_chi_sim.png"
    degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)).save(contract)
    truth = "\n".join(CONTRACT_LINES)
    return [EvalItem("synthetic_stained_contract", contract, [truth], ("chi_sim",), "synthetic")]


def report(name: str, rows: list[dict[str, object]], previous: dict[str, float]) -> str:
    lines = [f"### {name}", ""]
    lines += [
        "| page | CER plain | CER hotocr | words plain | words hotocr | conf | CPU s plain | "
        "CPU s hotocr | hotocr chose |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['id']} p{r['page']} | {r['plain_cer']:.3f} | {r['hotocr_cer']:.3f} | "
            f"{r['plain_wer']:.3f} | {r['hotocr_wer']:.3f} | {r['hotocr_conf']:.1f} | "
            f"{r['plain_cpu']:.2f} | {r['hotocr_cpu']:.2f} | {r['chose']} |"
        )
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        groups[str(r["group"])].append(r)
    groups["all"] = rows
    lines += [
        "",
        "| group | pages | weighted CER plain | hotocr | ratio | mean CER plain | hotocr | "
        "CPU s/page plain | hotocr | added |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for group, members in groups.items():
        length = sum(int(str(r["length"])) for r in members)
        plain = sum(int(str(r["plain_edits"])) for r in members) / max(1, length)
        ours = sum(int(str(r["hotocr_edits"])) for r in members) / max(1, length)
        n = len(members)
        cpu_p = sum(float(str(r["plain_cpu"])) for r in members) / n
        cpu_h = sum(float(str(r["hotocr_cpu"])) for r in members) / n
        mean_p = sum(float(str(r["plain_cer"])) for r in members) / n
        mean_h = sum(float(str(r["hotocr_cer"])) for r in members) / n
        lines.append(
            f"| {group} | {n} | {plain:.4f} | {ours:.4f} | {ours / max(plain, 1e-9):.2f} | "
            f"{mean_p:.3f} | {mean_h:.3f} | {cpu_p:.2f} | {cpu_h:.2f} | {cpu_h - cpu_p:+.2f} |"
        )
    worse = [
        f"{r['id']} p{r['page']} ({r['plain_cer']:.3f} -> {r['hotocr_cer']:.3f})"
        for r in rows
        if float(str(r["hotocr_cer"])) > float(str(r["plain_cer"])) + WORSE_BY
    ]
    lines += ["", f"Pages worse than plain by more than {WORSE_BY}: {', '.join(worse) or 'none'}"]
    if previous:
        regressed = [
            f"{r['id']} p{r['page']} ({previous[key]:.3f} -> {r['hotocr_cer']:.3f})"
            for r in rows
            if (key := f"{r['id']} p{r['page']}") in previous
            and float(str(r["hotocr_cer"])) > previous[key] + 0.0005
        ]
        lines.append(f"Pages worse than the compared run: {', '.join(regressed) or 'none'}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="sets", action="append", help="a folder, or synthetic")
    parser.add_argument("--compare", type=Path, help="an earlier report: its hotocr CER per page")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    sets = args.sets or [str(EVAL), "synthetic"]
    previous: dict[str, float] = {}
    if args.compare:
        for row in json.loads(args.compare.read_text(encoding="utf-8"))["rows"]:
            previous[f"{row['id']} p{row['page']}"] = row["hotocr_cer"]
    tmp = Path(tempfile.mkdtemp())
    named = [
        ("synthetic", synthetic_items(tmp))
        if s == "synthetic"
        else (Path(s).name, eval_items(Path(s)))
        for s in sets
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("spawn")
    print(f"Machine: {machine()}, {dt.date.today().isoformat()}\n")
    with ProcessPoolExecutor(args.workers, initializer=init_worker, mp_context=ctx) as pool:
        for name, items in named:
            jobs = jobs_for(items)
            start = time.perf_counter()
            readings = list(pool.map(read, [job for job, _ in jobs]))
            wall = time.perf_counter() - start
            rows: dict[tuple[str, int], dict[str, object]] = {}
            for (job, truth), reading in zip(jobs, readings, strict=True):
                row = rows.setdefault(
                    (job.item_id, job.number),
                    {"id": job.item_id, "page": job.number, "group": job.group},
                )
                edits, length = errors(reading.text, truth)
                words, _ = word_errors(reading.text, truth)
                row["length"] = length
                row[f"{job.condition}_edits"] = edits
                row[f"{job.condition}_cer"] = round(edits / max(1, length), 4)
                row[f"{job.condition}_wer"] = round(words / max(1, len(truth.split())), 4)
                row[f"{job.condition}_conf"] = reading.confidence
                row[f"{job.condition}_cpu"] = round(reading.cpu_seconds, 3)
                row[f"{job.condition}_text"] = reading.text
                if job.condition == "hotocr":
                    row["chose"] = reading.chose
            data = {
                "date": dt.date.today().isoformat(),
                "machine": machine(),
                "set": name,
                "wall_seconds": round(wall, 1),
                "rows": list(rows.values()),
            }
            out = OUT / f"quality-{name}.json"
            out.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
            print(report(name, list(rows.values()), previous))
            print(f"\n({len(rows)} pages in {wall:.0f} s; {out})\n")


if __name__ == "__main__":
    main()
