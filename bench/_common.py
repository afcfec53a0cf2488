"""Helpers shared by the benchmarks: the eval corpus, CER, machine description."""

from __future__ import annotations

import csv
import os
import platform
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
OUT = ROOT / "bench" / "out"

#: Historical characters in the OCR-D ground truth, mapped to what a modern model outputs.
_HISTORIC = {
    "ſ": "s",
    "ꝛ": "r",
    "⸗": "-",
    "aͤ": "ä",
    "oͤ": "ö",
    "uͤ": "ü",
    "Aͤ": "Ä",
    "Oͤ": "Ö",
    "Uͤ": "Ü",
}


@dataclass(frozen=True)
class EvalItem:
    id: str
    file: Path
    truth_pages: list[str]
    languages: tuple[str, ...]
    kind: str


def eval_items() -> list[EvalItem]:
    items = []
    with (EVAL / "manifest.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            truth = (EVAL / row["gt_file"]).read_text(encoding="utf-8")
            lang = row["language"]
            if lang.startswith("deu"):
                languages: tuple[str, ...] = ("deu",)
            elif lang.startswith("eng+"):
                languages = ("eng", "deu", "fra")
            else:
                languages = ("eng",)
            items.append(
                EvalItem(row["id"], EVAL / row["file"], truth.split("\f"), languages, row["kind"])
            )
    return items


def normalise(text: str) -> str:
    for old, new in _HISTORIC.items():
        text = text.replace(old, new)
    return "".join(unicodedata.normalize("NFC", text).split())


def cer(found: str, truth: str) -> float:
    a, b = normalise(found), normalise(truth)
    return Levenshtein.distance(a, b) / max(1, len(b))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    version = (tess.stdout or tess.stderr).split("\n", 1)[0]
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {version}"
