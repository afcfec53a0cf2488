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
    #: Why the page was read with another page segmentation than configured ("" if not).
    layout: str = ""


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


#: A text line from a block of at most this many lines is a fragment: a label, a value, a
#: price of a form or a receipt.
FRAGMENT_BLOCK_LINES = 2
#: A page most of whose lines are fragments is a form, read row by row.
FORM_FRAGMENT_SHARE = 0.5
#: So is a page of many blocks nearly all of which are fragments (a column of labels,
#: read as one block, beside their values).
FORM_MIN_BLOCKS = 8
FORM_BLOCK_SHARE = 0.75
#: ... if its lines are short: their median width at most this share of the text's width
#: (bullet points of prose are blocks of their own too, but run the column's width).
FORM_LINE_WIDTH = 0.35
#: Two lines are in one row when their heights overlap by at least this share.
ROW_OVERLAP = 0.5


@dataclass
class _Line:
    key: tuple[int, int, int]  # block, paragraph, line
    words: list[str]
    box: list[int]  # left, top, right, bottom
    paragraph_break: bool


def from_tsv(data: dict[str, list[str]]) -> Recognition:
    """Words and layout-preserving text from ``image_to_data``'s columns."""
    words: list[Word] = []
    lines: list[_Line] = []
    last_par: tuple[int, int] | None = None
    for i, raw in enumerate(data["text"]):
        text = str(raw).strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        box = (
            int(data["left"][i]),
            int(data["top"][i]),
            int(data["width"][i]),
            int(data["height"][i]),
        )
        if not lines or key != lines[-1].key:
            brk = last_par is not None and key[:2] != last_par
            lines.append(_Line(key, [], [box[0], box[1], box[0] + box[2], box[1] + box[3]], brk))
            last_par = key[:2]
        line = lines[-1]
        line.words.append(text)
        line.box = [
            min(line.box[0], box[0]),
            min(line.box[1], box[1]),
            max(line.box[2], box[0] + box[2]),
            max(line.box[3], box[1] + box[3]),
        ]
        words.append(Word(text=text, confidence=round(conf, 2), box=box, line=len(lines) - 1))
    out: list[str] = []
    rows = _rows(lines)
    joined = any(len(row) > 1 for row in rows)  # a form's rows: no paragraphs to keep
    for row in rows:
        if row[0].paragraph_break and out and not joined:
            out.append("")
        out.append(" ".join(join_words(line.words) for line in row))
    return Recognition(text="\n".join(out), confidence=mean_confidence(words), words=tuple(words))


def _rows(lines: list[_Line]) -> list[list[_Line]]:
    """Tesseract's lines in its reading order; on a form, rows from top to bottom.

    On forms and receipts Tesseract makes a block of each label, value and price and reads
    the blocks one after another ("Date", "Total", then "12.3.1994", "42.00"), so what
    belongs on one line ends up far apart. A page most of whose lines come from blocks of
    one or two lines is a form: its lines are put into rows by height, each row left to
    right. Anything else (prose, columns, a title page) keeps Tesseract's order, which knows
    columns."""
    per_block: dict[int, int] = {}
    for line in lines:
        per_block[line.key[0]] = per_block.get(line.key[0], 0) + 1
    fragments = sum(1 for line in lines if per_block[line.key[0]] <= FRAGMENT_BLOCK_LINES)
    small = sum(1 for n in per_block.values() if n <= FRAGMENT_BLOCK_LINES)
    if not lines:
        return []
    form = fragments >= FORM_FRAGMENT_SHARE * len(lines) or (
        small >= FORM_MIN_BLOCKS
        and small >= FORM_BLOCK_SHARE * len(per_block)
        and _median_width_share(lines) <= FORM_LINE_WIDTH
    )
    if not form:
        return [[line] for line in lines]
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda one: one.box[1] + one.box[3]):
        row = next((r for r in rows if _beside(r, line)), None)
        if row is None:
            rows.append([line])
        else:
            row.append(line)
    for row in rows:
        row.sort(key=lambda part: part.box[0])
    return rows


def _median_width_share(lines: list[_Line]) -> float:
    widths = sorted(line.box[2] - line.box[0] for line in lines)
    span = max(line.box[2] for line in lines) - min(line.box[0] for line in lines)
    return widths[len(widths) // 2] / span if span > 0 else 1.0


def _beside(row: list[_Line], line: _Line) -> bool:
    """Whether ``line`` stands in ``row``: level with it, and beside each of its lines."""
    top = min(part.box[1] for part in row)
    bottom = max(part.box[3] for part in row)
    overlap = min(bottom, line.box[3]) - max(top, line.box[1])
    height = min(bottom - top, line.box[3] - line.box[1])
    if height <= 0 or overlap < ROW_OVERLAP * height:
        return False
    return all(line.box[2] <= p.box[0] or line.box[0] >= p.box[2] for p in row)


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
