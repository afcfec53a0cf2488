"""Recognition quality, plain Tesseract against hotocr's pipeline, page by page, in one run.

"plain" is the ``tesseract`` program on the page as it came (``tesseract IMG -``; a PDF page
or a frame of a multi-page TIFF is first drawn or taken out as a PNG), with the set's
language: no preprocessing, no orientation detection, no correction. "tesseract", "ppocr"
and "auto" are the default pipeline of a watch folder that overrides nothing, with the same
language, and ``[ocr] recognizer`` set so ("auto" is the default).

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
        [--conditions plain,tesseract,ppocr,auto]

Writes ``bench/out/quality-<set>.json`` and prints a Markdown table per set.
"""

from __future__ import annotations

import argparse
import dataclasses
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
#: What reads each page: the program alone, and hotocr with each ``[ocr] recognizer``.
CONDITIONS = ("plain", "tesseract", "ppocr", "auto")


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
    settings = dataclasses.replace(PageSettings.defaults(job.languages), recognizer=job.condition)
    result = process_page(PageTask(job.source, job.kind, job.number, settings))
    chose = describe_choices(result)
    return Reading(result.text, result.confidence, _cpu() - start, chose)


def describe_choices(result: object) -> str:
    """What the page got, in short: model, fit_text's factor, the steps after downscale and
    fit_text, and which way a page read both ways was kept (the JSON sidecar has the why)."""
    recipe = getattr(result, "recipe", None)
    if recipe is None:
        return ""
    parts = [recipe.recognizer, recipe.model]
    if recipe.scale != 1.0:
        parts.append(f"x{recipe.scale:.2f}")
    steps = [s for s in recipe.steps if s not in ("downscale", "fit_text")]
    parts.append("+".join(steps) or "no step")
    background = recipe.reasons.get("remove_background", "")
    if "both ways" in background:
        parts.append("both ways: " + ("without" if background.startswith("left out") else "with"))
    if "contrast" in recipe.reasons:
        parts.append("faint ink")
    if "read both ways" in recipe.reasons.get("recognizer", ""):
        parts.append("both read")
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


def jobs_for(items: list[EvalItem], conditions: tuple[str, ...]) -> list[tuple[Job, str]]:
    out = []
    for item in items:
        info = pages.inspect(item.file)
        for number in range(1, info.pages + 1):
            truth = item.truth_pages[number - 1] if number <= len(item.truth_pages) else ""
            for condition in conditions:
                group = item.kind.split("-")[0]
                job = Job(item.id, group, number, condition, item.file, info.kind, item.languages)
                out.append((job, truth))
    return out


def synthetic_items(tmp: Path) -> list[EvalItem]:
    contract = tmp / "stained_contract_chi_sim.png"
    degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)).save(contract)
    truth = "\n".join(CONTRACT_LINES)
    return [EvalItem("synthetic_stained_contract", contract, [truth], ("chi_sim",), "synthetic")]


def report(
    name: str,
    rows: list[dict[str, object]],
    previous: dict[str, float],
    conditions: tuple[str, ...],
) -> str:
    ours = [c for c in conditions if c != "plain"]
    final = ours[-1] if ours else "plain"  # the pipeline as it ships: auto, when run
    lines = [f"### {name}", ""]
    lines += [
        "| page | "
        + " | ".join(f"CER {c}" for c in conditions)
        + f" | conf {final} | "
        + " | ".join(f"CPU s {c}" for c in conditions)
        + f" | {final} chose |",
        "|---|" + "---|" * (2 * len(conditions) + 2),
    ]
    for r in rows:
        cers = " | ".join(f"{r[f'{c}_cer']:.3f}" for c in conditions)
        cpus = " | ".join(f"{r[f'{c}_cpu']:.2f}" for c in conditions)
        conf = r.get(f"{final}_conf", float("nan"))
        lines.append(
            f"| {r['id']} p{r['page']} | {cers} | {conf:.1f} | {cpus} | {r.get('chose', '')} |"
        )
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        groups[str(r["group"])].append(r)
    groups["all"] = rows
    lines += [
        "",
        "| group | pages | "
        + " | ".join(f"weighted CER {c}" for c in conditions)
        + (f" | {final} / plain" if "plain" in conditions else "")
        + " | "
        + " | ".join(f"CPU s/page {c}" for c in conditions)
        + " |",
        "|---|---|" + "---|" * (2 * len(conditions) + ("plain" in conditions)),
    ]
    for group, members in groups.items():
        length = sum(int(str(r["length"])) for r in members)
        weighted = {
            c: sum(int(str(r[f"{c}_edits"])) for r in members) / max(1, length) for c in conditions
        }
        n = len(members)
        cpu = {c: sum(float(str(r[f"{c}_cpu"])) for r in members) / n for c in conditions}
        ratio = (
            f" | {weighted[final] / max(weighted['plain'], 1e-9):.2f}"
            if "plain" in conditions
            else ""
        )
        lines.append(
            f"| {group} | {n} | "
            + " | ".join(f"{weighted[c]:.4f}" for c in conditions)
            + ratio
            + " | "
            + " | ".join(f"{cpu[c]:.2f}" for c in conditions)
            + " |"
        )
    if "plain" in conditions and final != "plain":
        worse = [
            f"{r['id']} p{r['page']} ({r['plain_cer']:.3f} -> {r[f'{final}_cer']:.3f})"
            for r in rows
            if float(str(r[f"{final}_cer"])) > float(str(r["plain_cer"])) + WORSE_BY
        ]
        lines += [
            "",
            f"Pages {final} reads worse than plain by more than {WORSE_BY}: "
            + (", ".join(worse) or "none"),
        ]
    if previous:
        regressed = [
            f"{r['id']} p{r['page']} ({previous[key]:.3f} -> {r[f'{final}_cer']:.3f})"
            for r in rows
            if (key := f"{r['id']} p{r['page']}") in previous
            and float(str(r[f"{final}_cer"])) > previous[key] + 0.0005
        ]
        lines.append(
            f"Pages {final} reads worse than the compared run: {', '.join(regressed) or 'none'}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", dest="sets", action="append", help="a folder, or synthetic")
    parser.add_argument("--compare", type=Path, help="an earlier report: its hotocr CER per page")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument(
        "--conditions",
        default=",".join(CONDITIONS),
        help="comma-separated, of " + ", ".join(CONDITIONS),
    )
    args = parser.parse_args()
    conditions = tuple(args.conditions.split(","))
    sets = args.sets or [str(EVAL), "synthetic"]
    previous: dict[str, float] = {}
    if args.compare:
        for row in json.loads(args.compare.read_text(encoding="utf-8"))["rows"]:
            # Reports before the second recognizer called the pipeline "hotocr".
            cer = row.get("auto_cer", row.get("hotocr_cer"))
            if cer is not None:
                previous[f"{row['id']} p{row['page']}"] = cer
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
            jobs = jobs_for(items, conditions)
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
                if job.condition == conditions[-1]:
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
            print(report(name, list(rows.values()), previous, conditions))
            print(f"\n({len(rows)} pages in {wall:.0f} s; {out})\n")


if __name__ == "__main__":
    main()
