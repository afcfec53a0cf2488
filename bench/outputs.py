"""Searchable PDF, hOCR and ALTO: how large the PDFs are, and what writing the outputs costs.

1. sizes: each file of ../shared/eval/pages through ``hotocr process --outputs json,pdf`` and
   ``ocrmypdf --output-type pdf`` (``--image-dpi 300`` for images without a resolution);
   hotocr's target is at most the original + 10% + 15 kB a page. Per file also the seconds a
   page, whether the ``.ocr.pdf`` is PDF/A-2b (the JSON's ``pdf``, or why not), and what
   Apache PDFBox's Preflight, an independent checker of PDF/A-1b, finds besides the part
   number (it expects part 1);
2. cost: the throughput corpus (``bench/throughput.py``'s 42 pages) through ``hotocr process``
   with the default outputs (txt, json) and with all five, alternating, ``--rounds`` times,
   beside ``ocrmypdf --sidecar --output-type none`` once (as ``bench/throughput.py`` runs it).

    .venv/bin/python bench/outputs.py [--rounds 2] [--skip-cost]

Writes ``bench/out/outputs.json`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import EVAL, OUT, machine
from bench.throughput import BIN, CORES, build_corpus, run_ocrmypdf
from hotocr import pages
from tests.conftest import preflight

ALL = "txt,json,pdf,hocr,alto"


def hotocr(paths: list[Path], out: Path, outputs: str) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    subprocess.run(
        [
            *(str(BIN / "hotocr"), "process", *map(str, paths), "--lang", "eng"),
            *("--output", str(out), "--outputs", outputs),
        ],
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - start


def ocrmypdf_pdf(path: Path, out: Path) -> int | None:
    argv = [str(BIN / "ocrmypdf"), "--output-type", "pdf", "-j", str(CORES), "-l", "eng"]
    if path.suffix.lower() != ".pdf":
        argv += ["--image-dpi", "300"]
    run = subprocess.run([*argv, str(path), str(out)], capture_output=True, check=False)
    return out.stat().st_size if run.returncode == 0 and out.exists() else None


def sizes(work: Path) -> list[dict[str, object]]:
    rows = []
    for path in sorted((EVAL / "pages").iterdir()):
        count = pages.inspect(path).pages
        seconds = hotocr([path], work / "h", "json,pdf")
        pdf = work / "h" / f"{path.stem}.ocr.pdf"
        ours = pdf.stat().st_size
        said = json.loads((work / "h" / f"{path.stem}.json").read_text())["pdf"]
        others = [e for e in preflight(pdf) if not e.startswith("7.11.2 ")]
        theirs = ocrmypdf_pdf(path, work / f"{path.stem}.ocrmypdf.pdf")
        original = path.stat().st_size
        limit = original * 1.1 + 15_000 * count
        rows.append(
            {
                "file": path.name,
                "pages": count,
                "original": original,
                "hotocr": ours,
                "ocrmypdf": theirs,
                "limit": round(limit),
                "within": ours <= limit,
                "seconds_per_page": round(seconds / count, 2),
                "pdfa": said["pdfa"],
                "why_not": said["why_not"],
                "preflight_other_errors": others,
            }
        )
        print(f"  {path.name}: {original} -> hotocr {ours}, ocrmypdf {theirs}", flush=True)
    return rows


def cost(work: Path, rounds: int) -> dict[str, object]:
    corpus = work / "corpus"
    total = build_corpus(corpus, 3)
    default, everything = [], []
    for r in range(rounds):
        default.append(hotocr([corpus], work / "d", "txt,json"))
        everything.append(hotocr([corpus], work / "a", ALL))
        print(f"  [{r + 1}] txt,json {default[-1]:.1f} s; all five {everything[-1]:.1f} s")
    ocr = run_ocrmypdf(corpus, work / "ocrmypdf")
    print(f"  ocrmypdf --output-type none: {ocr:.1f} s")
    d, a = statistics.median(default), statistics.median(everything)
    return {
        "pages": total,
        "txt_json_seconds": [round(x, 1) for x in default],
        "all_outputs_seconds": [round(x, 1) for x in everything],
        "added_share": round(a / d - 1, 3),
        "ocrmypdf_seconds": round(ocr, 1),
        "all_outputs_vs_ocrmypdf": round(ocr / a, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-cost", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hotocr-outputs-"))
    print(f"Machine: {machine()}, {dt.date.today().isoformat()}\n", flush=True)
    rows = sizes(work)
    report: dict[str, object] = {"date": dt.date.today().isoformat(), "machine": machine()}
    report["sizes"] = rows
    print(
        "\n| file | pages | original | hotocr .ocr.pdf | ocrmypdf pdf | limit | within "
        "| s/page | PDF/A | Preflight, besides the part |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        theirs = r["ocrmypdf"] if r["ocrmypdf"] is not None else "failed"
        pdfa = r["pdfa"] or f"no: {r['why_not']}"
        found = "; ".join(map(str, r["preflight_other_errors"])) or "nothing"  # type: ignore[call-overload]
        print(
            f"| {r['file']} | {r['pages']} | {r['original']} | {r['hotocr']} | {theirs} | "
            f"{r['limit']} | {'yes' if r['within'] else 'NO'} | {r['seconds_per_page']} "
            f"| {pdfa} | {found} |"
        )
    if not args.skip_cost:
        report["cost"] = found = cost(work, args.rounds)
        print(f"\n{json.dumps(found, indent=1)}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "outputs.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
