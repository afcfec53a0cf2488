"""Recognition: one Tesseract call per page gives text, word boxes and word confidences.

The page text is rebuilt from Tesseract's TSV (blocks, paragraphs, lines) rather than asked
for in a second call, which would double the cost of the page.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from hotocr._exec import tesseract


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float
    #: left, top, width, height in pixels of the image Tesseract saw (after preprocessing).
    box: tuple[int, int, int, int]
    line: int


@dataclass(frozen=True)
class Recognition:
    text: str
    #: Mean word confidence, 0-100; 0 when no word was found.
    confidence: float
    words: tuple[Word, ...]


def recognize(
    image: Path, *, languages: str, psm: int, dpi: int | None, timeout: float
) -> Recognition:
    data = tesseract.image_to_data(image, languages=languages, psm=psm, dpi=dpi, timeout=timeout)
    return from_tsv(data)


def from_tsv(data: dict[str, list[str]]) -> Recognition:
    """Words and layout-preserving text from ``image_to_data``'s columns."""
    words: list[Word] = []
    lines: list[list[str]] = []
    breaks: list[bool] = []  # a blank line goes before lines[i] when breaks[i]
    last_line: tuple[int, int, int] | None = None
    last_par: tuple[int, int] | None = None
    line_no = -1
    for i, raw in enumerate(data["text"]):
        text = str(raw).strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        block, par, ln = (
            int(data["block_num"][i]),
            int(data["par_num"][i]),
            int(data["line_num"][i]),
        )
        if (block, par, ln) != last_line:
            breaks.append(last_par is not None and (block, par) != last_par)
            lines.append([])
            line_no += 1
            last_line, last_par = (block, par, ln), (block, par)
        lines[-1].append(text)
        box = (
            int(data["left"][i]),
            int(data["top"][i]),
            int(data["width"][i]),
            int(data["height"][i]),
        )
        words.append(Word(text=text, confidence=round(conf, 2), box=box, line=line_no))
    out: list[str] = []
    for brk, line in zip(breaks, lines, strict=True):
        if brk:
            out.append("")
        out.append(join_words(line))
    return Recognition(text="\n".join(out), confidence=mean_confidence(words), words=tuple(words))


def mean_confidence(words: Iterable[Word]) -> float:
    """Mean word confidence, every word weighing the same; 0 when there are none."""
    values = [w.confidence for w in words]
    return round(sum(values) / len(values), 2) if values else 0.0


def join_words(words: list[str]) -> str:
    """Join with spaces, except between CJK characters, which Tesseract spaces apart."""
    if not words:
        return ""
    parts = [words[0]]
    for word in words[1:]:
        if _is_cjk(parts[-1][-1]) and _is_cjk(word[0]):
            parts.append(word)
        else:
            parts.append(" " + word)
    return "".join(parts)


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, kana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or unicodedata.east_asian_width(char) == "W"
    )
