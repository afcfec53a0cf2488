"""Recognition: one Tesseract call per page gives text, word boxes and word confidences.

The page text is rebuilt from Tesseract's TSV (blocks, paragraphs, lines) rather than asked
for in a second call, which would double the cost of the page. Tesseract runs as a library
(pixels handed over in memory, models loaded once per worker) or as the ``tesseract``
program (pixels written to an uncompressed PGM); both give the same TSV.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2

from hotocr._exec import libtesseract, tesseract
from hotocr.errors import MissingDependency
from hotocr.preprocess.backend import HostImage

#: The columns of Tesseract's TSV, as the program's header names them.
TSV_COLUMNS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)


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
    image: HostImage,
    *,
    engine: str,
    languages: str,
    psm: int,
    dpi: int | None,
    timeout: float,
    scratch: Path,
) -> Recognition:
    """Read a greyscale page; ``scratch`` is where the program's image file goes."""
    if resolve_engine(engine) == "library":
        rows = libtesseract.image_to_tsv(
            image, languages=languages, psm=psm, dpi=dpi, timeout=timeout
        )
    else:
        write_page_image(scratch, image)
        rows = tesseract.image_to_data(
            scratch, languages=languages, psm=psm, dpi=dpi, timeout=timeout
        )
    return from_tsv(tsv_columns(rows))


def resolve_engine(engine: str) -> str:
    """``library`` or ``command`` for a configured ``ocr.engine``."""
    if engine == "command":
        return "command"
    if libtesseract.available():
        return "library"
    if engine == "library":
        raise MissingDependency(
            f'ocr.engine = "library", but Tesseract\'s library cannot be loaded '
            f'({libtesseract.INSTALL_HINT}); use "command" or "auto"'
        )
    return "command"


def write_page_image(path: Path, image: HostImage) -> None:
    """An uncompressed PGM: a PNG encode would cost 170-570 ms per page for nothing."""
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write the page image to {path}")


def tsv_columns(rows: str) -> dict[str, list[str]]:
    """Tesseract's TSV (with or without its header) as columns, for ``from_tsv``."""
    data: dict[str, list[str]] = {name: [] for name in TSV_COLUMNS}
    for row in rows.splitlines():
        fields = row.split("\t", len(TSV_COLUMNS) - 1)
        if len(fields) < len(TSV_COLUMNS) - 1 or not fields[0].isdigit():
            continue  # a header, or a broken row
        fields += [""] * (len(TSV_COLUMNS) - len(fields))
        for name, value in zip(TSV_COLUMNS, fields, strict=True):
            data[name].append(value)
    return data


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
