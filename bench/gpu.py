"""One check for a machine with a GPU: its GPU tests and benchmarks, CPU-only against GPU,
side by side in one run, in one table. Also runs where there is no GPU (it then says so, and
the GPU column is what ``auto`` chose: the CPU).

1. the GPU tests (``pytest -m gpu``);
2. milliseconds per preprocessing step on a 300-DPI letter page (eval's linn.png), CPU
   backend against GPU backend (each in a process of its own, the GPU's kernels warmed);
3. pages/min of ``hotocr process`` (one worker per core) on two generated corpora, with the
   CPU only (``backend = "cpu"``, ``provider = "cpu"``) and with the GPU where it pays
   (``auto``, ``auto``): *noisy* pages (phone photos of receipts, 100-DPI faxes, stained
   letters) and *clean* ones (300-DPI letters), the CER of each run against the text the
   pages were made from; and the English pages of ``../shared/eval`` (real scans), once
   each (the development set is not on the GPU machine).

Needs no network: the pages are drawn here (DejaVu fonts) and eval's linn.png is read from
``../shared/eval``. On the GPU machine: ``bash .gpu-bundle/run.sh python3 bench/gpu.py``
(about 4 minutes on 16 cores and an H200 with the default ``--pages``).

    python3 bench/gpu.py [--pages 48] [--rounds 2] [--workers N] [--skip-tests]

Writes ``bench/out/gpu.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, errors, eval_items, machine
from tests.conftest import (
    ENGLISH_LINES,
    RECEIPT_LINES,
    degrade,
    receipt_photo_of,
    render_page,
)

ROOT = Path(__file__).resolve().parent.parent
#: Steps timed one by one, and the default recipe as a whole.
STEPS = ("fit_text", "deskew", "remove_background", "contrast", "binarize_sauvola")
MODES = {"cpu": ("cpu", "cpu"), "gpu": ("auto", "auto")}


def gpu_name() -> str:
    """The GPU as ``nvidia-smi`` names it, or why there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "none (no nvidia-smi)"
    out = subprocess.run(
        [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout else "none"


def run_gpu_tests() -> str:
    """``pytest -m gpu``'s summary line."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "tests"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    lines = [
        line for line in out.stdout.splitlines() if re.search(r"\d+ (passed|failed|skip)", line)
    ]
    failed = [line for line in out.stdout.splitlines() if line.startswith("FAILED")]
    return "; ".join([*(lines[-1:] or ["no summary"]), *failed])


def step_times(kind: str) -> dict[str, object]:
    """Per-step milliseconds on linn.png with backend ``kind``, measured in a child process
    (CUDA is never initialised in this one, which starts ``hotocr process`` later)."""
    out = subprocess.run(
        [sys.executable, __file__, "--time-steps", kind],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _time_steps(kind: str) -> None:
    from bench.preprocess import median_ms  # noqa: PLC0415 - only in this child
    from hotocr.config import PreprocessConfig  # noqa: PLC0415
    from hotocr.preprocess import select_backend, to_gray  # noqa: PLC0415

    choice = select_backend(kind)
    image = to_gray(Image.open(EVAL / "pages" / "ocrmypdf_linn.png"))
    row: dict[str, object] = {"backend": choice.backend.name, "why": choice.reason}
    for step in STEPS:
        row[step] = round(median_ms(choice.backend, image, (step,), 3), 1)
    row["default steps"] = round(median_ms(choice.backend, image, PreprocessConfig().steps, 3), 1)
    print(json.dumps(row))


def make_corpus(folder: Path, kind: str, count: int) -> dict[str, str]:
    """``count`` pages of ``kind`` (noisy or clean) in ``folder``: file name -> the text."""
    folder.mkdir(parents=True)
    truths = {}
    for n in range(count):
        lines = tuple(ENGLISH_LINES[(n + i) % len(ENGLISH_LINES)] for i in range(6))
        if kind == "clean":
            name = f"letter-{n:03d}.png"
            render_page(lines, height=1800).save(folder / name, dpi=(300, 300))
        elif n % 3 == 0:
            name, lines = f"receipt-{n:03d}.jpg", RECEIPT_LINES
            receipt_photo_of(seed=n).save(folder / name, quality=90)
        elif n % 3 == 1:
            name = f"fax-{n:03d}.tif"
            page = render_page(lines, height=1800).resize((827, 600), Image.Resampling.LANCZOS)
            fax = page.point(lambda v: 255 if v > 150 else 0).convert("1")
            fax.save(folder / name, compression="group4", dpi=(100, 100))
        else:
            name = f"stained-{n:03d}.png"
            degrade(render_page(lines, height=1800), seed=n).save(folder / name, dpi=(300, 300))
        truths[name] = "\n".join(lines)
    return truths


def eval_corpus(folder: Path) -> dict[str, str]:
    """The English pages of ``../shared/eval`` (real scans), copied into ``folder``."""
    folder.mkdir(parents=True)
    truths = {}
    for item in eval_items():
        if item.languages == ("eng",) and item.file.is_file():
            shutil.copy(item.file, folder / item.file.name)
            truths[item.file.name] = "\f".join(item.truth_pages)
    return truths


def run_corpus(
    folder: Path, truths: dict[str, str], mode: str, workers: int, work: Path
) -> dict[str, object]:
    backend, provider = MODES[mode]
    config = work / f"{folder.name}-{mode}.toml"
    config.write_text(
        f'[daemon]\nstate_dir = "{work / "state"}"\nworkers = {workers}\n'
        f'[preprocess]\nbackend = "{backend}"\n[ocr]\nprovider = "{provider}"\n',
        encoding="utf-8",
    )
    out = work / f"{folder.name}-{mode}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    argv = [str(Path(sys.executable).parent / "hotocr"), "process", str(folder)]
    if not Path(argv[0]).exists():
        argv = [sys.executable, "-m", "hotocr", "process", str(folder)]
    argv += ["--config", str(config), "--output", str(out), "--lang", "eng"]
    start = time.perf_counter()
    run = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    seconds = time.perf_counter() - start
    edits = length = pages_read = 0
    placed: dict[str, int] = {}
    backends: dict[str, int] = {}
    for name, truth in truths.items():
        sidecar = out / (Path(name).stem + ".json")
        if not sidecar.is_file():
            edits, length = edits + len(truth), length + len(truth)
            continue
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        found = [p["text"] for p in data["pages"]]
        wanted = truth.split("\f")
        for page_text, page_truth in zip(
            found, wanted + [""] * (len(found) - len(wanted)), strict=False
        ):
            e, n = errors(page_text, page_truth)
            edits, length = edits + e, length + n
        pages_read += len(data["pages"])
        for page in data["pages"]:
            backends[page.get("backend", "?")] = backends.get(page.get("backend", "?"), 0) + 1
            where = (page.get("recipe") or {}).get("reasons", {}).get("ppocr_provider")
            if where:
                key = where.split(":")[0]
                placed[key] = placed.get(key, 0) + 1
    return {
        "returncode": run.returncode,
        "seconds": round(seconds, 1),
        "pages_per_min": round(pages_read / seconds * 60, 1),
        "cer": round(edits / max(length, 1), 4),
        "preprocess_backend": backends,
        "ppocr_ran_on": placed,
        "stderr_tail": run.stderr[-500:] if run.returncode else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=48, help="pages per corpus")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each corpus and mode")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--time-steps", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.time_steps:
        _time_steps(args.time_steps)
        return
    began = time.perf_counter()
    report: dict[str, object] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "gpu": gpu_name(),
        "workers": args.workers,
    }
    if not args.skip_tests:
        report["gpu_tests"] = run_gpu_tests()
    steps = {kind: step_times(kind) for kind in ("cpu", "gpu")}
    report["steps_ms"] = steps
    runs: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="hotocr-gpu-bench-") as tmp:
        work = Path(tmp)
        for kind in ("noisy", "clean", "eval"):
            if kind == "eval":
                truths = eval_corpus(work / kind)
            else:
                truths = make_corpus(work / kind, kind, args.pages)
            # Alternating (cpu, gpu, gpu, cpu, ...), the median of each: a shared machine's
            # speed drifts, and a worker pool's start weighs on a short corpus.
            tried: dict[str, list[dict[str, object]]] = {mode: [] for mode in MODES}
            for round_ in range(args.rounds):
                for mode in list(MODES)[:: 1 if round_ % 2 == 0 else -1]:
                    tried[mode].append(run_corpus(work / kind, truths, mode, args.workers, work))
            for mode, results in tried.items():
                speeds = [float(str(r["pages_per_min"])) for r in results]
                runs[f"{kind} {mode}"] = {
                    **results[0],
                    "pages_per_min": round(statistics.median(speeds), 1),
                    "rounds": speeds,
                }
    report["runs"] = runs
    report["seconds"] = round(time.perf_counter() - began, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "gpu.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print_table(report)


def print_table(report: dict[str, object]) -> None:
    steps = report["steps_ms"]
    runs = report["runs"]
    assert isinstance(steps, dict) and isinstance(runs, dict)
    print(
        f"{report['machine']}; GPU: {report['gpu']}; {report['workers']} workers; "
        f"{report['date']}; {report['seconds']} s in all"
    )
    if "gpu_tests" in report:
        print(f"pytest -m gpu: {report['gpu_tests']}")
    gpu_step = steps["gpu"]
    if "error" in gpu_step or gpu_step.get("backend") != "gpu":
        print(f"GPU preprocessing: not measured ({gpu_step.get('error') or gpu_step.get('why')})")
    print("\n| | CPU only | with the GPU | GPU / CPU |")
    print("|---|---|---|---|")
    for kind in ("noisy", "clean", "eval"):
        cpu, gpu = runs[f"{kind} cpu"], runs[f"{kind} gpu"]
        ratio = gpu["pages_per_min"] / max(cpu["pages_per_min"], 1e-9)
        print(
            f"| {kind} pages/min | {cpu['pages_per_min']} | {gpu['pages_per_min']} | {ratio:.2f}x |"
        )
        print(f"| {kind} CER | {cpu['cer']} | {gpu['cer']} | |")
        print(f"| {kind}: PP-OCR ran on | {cpu['ppocr_ran_on']} | {gpu['ppocr_ran_on']} | |")
    for step in (*STEPS, "default steps"):
        a, b = steps["cpu"].get(step, "-"), steps["gpu"].get(step, "-")
        print(f"| {step}, ms (letter page) | {a} | {b} | |")
    for name, run in runs.items():
        if run["returncode"]:
            print(f"\n{name}: hotocr process exited {run['returncode']}: {run['stderr_tail']}")


if __name__ == "__main__":
    main()
