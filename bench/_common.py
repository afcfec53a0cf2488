"""Helpers shared by the benchmarks: the eval corpus, CER, machine description."""

from __future__ import annotations

import csv
import os
import platform
import re
import subprocess
import unicodedata
from collections import Counter
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


def eval_items(root: Path = EVAL) -> list[EvalItem]:
    """The pages of a set in ``../shared/eval``'s layout (``manifest.tsv``, ``pages/``, ``gt/``)."""
    items = []
    with (root / "manifest.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            truth = (root / row["gt_file"]).read_text(encoding="utf-8")
            lang = row["language"]
            if lang.startswith("deu"):
                languages: tuple[str, ...] = ("deu",)
            elif lang.startswith("eng+"):
                languages = ("eng", "deu", "fra")
            elif lang.startswith("chi_sim"):
                languages = ("chi_sim",)
            else:
                languages = ("eng",)
            items.append(
                EvalItem(row["id"], root / row["file"], truth.split("\f"), languages, row["kind"])
            )
    return items


_CJK_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) (?=[\u3000-\u9fff\uff00-\uffef])")


def normalise(text: str) -> str:
    """Historical characters mapped, NFC, whitespace collapsed to single spaces (none
    between two CJK characters, which Tesseract spaces apart and Chinese does not)."""
    for old, new in _HISTORIC.items():
        text = text.replace(old, new)
    return _CJK_SPACE.sub("", " ".join(unicodedata.normalize("NFC", text).split()))


def errors(found: str, truth: str) -> tuple[int, int]:
    """Character edits and ground-truth length, for a weighted CER over many pages."""
    a, b = normalise(found), normalise(truth)
    return Levenshtein.distance(a, b), len(b)


def cer(found: str, truth: str) -> float:
    edits, length = errors(found, truth)
    return edits / max(1, length)


def word_errors(found: str, truth: str) -> tuple[int, int]:
    """Order-free: ground-truth words not found plus words found in excess (multisets), and
    the number of ground-truth words. Forms and receipts have an approximate reading order."""
    a, b = Counter(normalise(found).split()), Counter(normalise(truth).split())
    matched = sum((a & b).values())
    return sum(b.values()) - matched + sum(a.values()) - matched, sum(b.values())


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
