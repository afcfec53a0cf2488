"""The verification station: how long saving a page's fixes takes, all outputs rewritten.

A 1-page letter and a 20-page document (each page a rendered letter, in one PDF) are read by
``hotocr process`` with all five outputs; then one word of a page is fixed and saved,
``--rounds`` times, through ``verify.documents.Catalogue.save``: the fixed result rendered
again (text, JSON, hOCR, ALTO, the PDF/A searchable PDF with its check), staged, journalled
and renamed. The target: under 1 s a save on this machine. Switching pages in the browser
loads only the page's picture (no reload): it is not measured here.

    .venv/bin/python bench/verify.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import img2pdf

from bench._common import OUT, machine
from hotocr import config
from hotocr.verify.documents import Catalogue
from tests.conftest import ENGLISH_LINES, render_page


def document(folder: Path, pages: int) -> Path:
    frames = []
    for n in range(pages):
        buffer = io.BytesIO()
        lines = (f"Page {n + 1} of the contract.", *ENGLISH_LINES)
        render_page(lines, height=1400).save(buffer, format="PNG", dpi=(300, 300))
        frames.append(buffer.getvalue())
    path = folder / f"doc{pages}.pdf"
    path.write_bytes(img2pdf.convert(frames))
    subprocess.run(
        [sys.executable, "-m", "hotocr", "process", str(path), "--outputs",
         "txt,json,pdf,hocr,alto"],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hotocr-verify-bench-"))
    (work / "config.toml").write_text(
        f'[daemon]\nstate_dir = "{work / "state"}"\n[[watch]]\ninbox = "{work / "in"}"\n'
        f'outbox = "{work}"\nfailed = "{work / "failed"}"\n'
    )
    cfg = config.load(work / "config.toml")
    catalogue = Catalogue(cfg)
    report: dict[str, object] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
    print(f"Machine: {machine()}\n\n| document | pages | save, median s | save, max s |")
    print("|---|---|---|---|")
    for pages in (1, 20):
        document(work, pages)
        name = f"0/doc{pages}"
        page = min(7, pages)
        times = []
        for round_number in range(args.rounds):
            doc = catalogue.get(name)
            start = time.perf_counter()
            catalogue.save(
                name, doc.version, who="bench", page=page, fixes={0: f"Round{round_number}"}
            )
            times.append(time.perf_counter() - start)
        report[f"{pages}_pages"] = [round(t, 3) for t in times]
        print(f"| doc{pages}.pdf | {pages} | {statistics.median(times):.2f} | {max(times):.2f} |")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "verify.json").write_text(json.dumps(report, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
