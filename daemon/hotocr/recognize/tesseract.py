"""Tesseract as a recognizer: one call per page gives text, word boxes and word confidences.

The page text is rebuilt from Tesseract's TSV (blocks, paragraphs, lines) rather than asked
for in a second call, which would double the cost of the page. Tesseract runs as a library
(pixels handed over in memory, models loaded once per worker) or as the ``tesseract``
program (pixels written to an uncompressed PGM); both give the same TSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cv2

from hotocr._exec import libtesseract, tesseract
from hotocr.datatypes import Recognition, Word, mean_confidence
from hotocr.errors import MissingDependency
from hotocr.preprocess.backend import HostImage
from hotocr.recognize import ReadRequest
from hotocr.recognize.layout import TextLine, in_rows, join_words, line_box

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


def read(image: HostImage, *, engine: str, request: ReadRequest) -> Recognition:
    """Read a greyscale page with Tesseract as a library or as its program (``engine``:
    library | command | auto); the program's image file goes to ``request.scratch``."""
    if resolve_engine(engine) == "library":
        rows = libtesseract.image_to_tsv(
            image,
            languages=request.languages,
            psm=request.psm,
            dpi=request.dpi,
            timeout=request.timeout,
        )
    else:
        write_page_image(request.scratch, image)
        rows = tesseract.image_to_data(
            request.scratch,
            languages=request.languages,
            psm=request.psm,
            dpi=request.dpi,
            timeout=request.timeout,
        )
    return from_tsv(tsv_columns(rows))


@dataclass(frozen=True)
class Tesseract:
    """Tesseract as a ``Recognizer``: ``engine`` library | command | auto."""

    engine: str = "auto"
    name: ClassVar[str] = "tesseract"

    def read(self, image: HostImage, request: ReadRequest) -> Recognition:
        return read(image, engine=self.engine, request=request)


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


def from_tsv(data: dict[str, list[str]]) -> Recognition:
    """Words and layout-preserving text from ``image_to_data``'s columns."""
    words: list[Word] = []
    keys: list[tuple[int, int, int]] = []  # block, paragraph, line of each line
    blocks: list[int] = []
    paragraphs: list[tuple[int, int]] = []
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
        if not keys or key != keys[-1]:
            keys.append(key)
            if not blocks or key[0] != blocks[-1]:
                blocks.append(key[0])
            if not paragraphs or key[:2] != paragraphs[-1]:
                paragraphs.append(key[:2])
        line, block, paragraph = len(keys) - 1, len(blocks) - 1, len(paragraphs) - 1
        words.append(Word(text, round(conf, 2), box, line=line, block=block, paragraph=paragraph))
    lines = [
        _Line(group, line_box(group), key, i > 0 and key[:2] != keys[i - 1][:2])
        for i, (key, group) in enumerate(zip(keys, _by_line(words, len(keys)), strict=True))
    ]
    out: list[str] = []
    rows = _rows(lines)
    joined = any(len(row) > 1 for row in rows)  # a form's rows: no paragraphs to keep
    for row in rows:
        if isinstance(row[0], _Line) and row[0].paragraph_break and out and not joined:
            out.append("")
        out.append(" ".join(join_words([w.text for w in line.words]) for line in row))
    return Recognition(text="\n".join(out), confidence=mean_confidence(words), words=tuple(words))


@dataclass
class _Line(TextLine):
    key: tuple[int, int, int]  # block, paragraph, line
    paragraph_break: bool


def _by_line(words: list[Word], count: int) -> list[list[Word]]:
    groups: list[list[Word]] = [[] for _ in range(count)]
    for word in words:
        groups[word.line].append(word)
    return groups


def _rows(lines: list[_Line]) -> list[list[TextLine]]:
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
    return in_rows(lines)


def _median_width_share(lines: list[_Line]) -> float:
    widths = sorted(line.box[2] - line.box[0] for line in lines)
    span = max(line.box[2] for line in lines) - min(line.box[0] for line in lines)
    return widths[len(widths) // 2] / span if span > 0 else 1.0
