"""Reading order and page text from lines with boxes, for every recognizer.

Tesseract brings its own blocks, paragraphs and columns (``tesseract.from_tsv``); PP-OCR
brings only text lines, each a box, so its lines are put in order here, a recursive XY cut:
columns at gutters (x stretches no word touches, lines cut there word by word: a detector
may run a line on across a narrow gutter), bands at tall white gaps, or around lines that
cross the gutters of the narrower lines (a title over columns, a headline under them); and
each block is read in rows, top to bottom, each row left to right. A gutter counts only
between stretches of prose: the gap between a form's labels and their values, or a
receipt's items and their prices, is no column, and such pages read row by row, as a
person reads them.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hotocr.datatypes import Word

#: Two lines are in one row when their heights overlap by at least this share, and they
#: overlap side by side by at most ``ROW_TOUCH`` of it.
ROW_OVERLAP = 0.5
ROW_TOUCH = 0.25
#: A column gutter is at least this many line heights wide (a 300-DPI brochure's: 1.1, a
#: magazine's: 0.74; the spaces of justified lines are as wide, but not in line with each
#: other over several lines) ...
GUTTER_LINES = 0.5
#: ... and at least two of the columns it makes are prose (a narrow one beside them may hold
#: margin notes): at least this many lines ...
COLUMN_MIN_LINES = 4
#: ... whose median width is at least this many line heights (about 12 characters) and
#: words (a form's labels beside their values are shorter: 2-4 words) ...
PROSE_WIDTH_LINES = 6.0
PROSE_WORDS = 5
#: A gap this many line heights tall between two stretches of lines starts a new block.
BLOCK_GAP_LINES = 1.0
#: Lines narrower than this share of the text's width may stand in columns; wider ones
#: that cross the narrower ones' gutters are titles or headlines between bands of columns.
NARROW_SHARE = 0.6
#: ... where at most this share of the narrower lines cross them too (a short last line of
#: a list item that runs into the gutter).
CROSSING_SHARE = 0.05


@dataclass
class TextLine:
    """A recognized line: its words, in order, and its box (left, top, right, bottom)."""

    words: list[Word]
    box: tuple[int, int, int, int]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


def line_box(words: Sequence[Word]) -> tuple[int, int, int, int]:
    """The union of the words' boxes, as left, top, right, bottom."""
    return (
        min(w.box[0] for w in words),
        min(w.box[1] for w in words),
        max(w.box[0] + w.box[2] for w in words),
        max(w.box[1] + w.box[3] for w in words),
    )


def in_rows(lines: Sequence[TextLine]) -> list[list[TextLine]]:
    """Lines in rows by height, top to bottom, each row left to right: a line joins a row it
    overlaps by half a line's height and stands beside every line of."""
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda one: one.box[1] + one.box[3]):
        row = next((r for r in rows if _beside(r, line)), None)
        if row is None:
            rows.append([line])
        else:
            row.append(line)
    for row in rows:
        row.sort(key=lambda part: part.box[0])
    return rows


def _beside(row: list[TextLine], line: TextLine) -> bool:
    """Whether ``line`` stands in ``row``: level with it, and beside each of its lines."""
    top = min(part.box[1] for part in row)
    bottom = max(part.box[3] for part in row)
    overlap = min(bottom, line.box[3]) - max(top, line.box[1])
    height = min(bottom - top, line.height)
    if height <= 0 or overlap < ROW_OVERLAP * height:
        return False
    touch = ROW_TOUCH * height  # word boxes of neighbouring lines may just touch
    return all(line.box[2] <= p.box[0] + touch or line.box[0] >= p.box[2] - touch for p in row)


def blocks_in_order(lines: Sequence[TextLine]) -> list[list[list[TextLine]]]:
    """The page's lines as blocks in reading order (columns left to right, each top to
    bottom), each block in rows."""
    if not lines:
        return []
    unit = statistics.median(max(1, line.height) for line in lines)
    out: list[list[list[TextLine]]] = []
    _cut(list(lines), unit, out)
    return out


def _cut(lines: list[TextLine], unit: float, out: list[list[list[TextLine]]]) -> None:
    """Recursive XY cut: columns at gutters that run the whole height of the lines, where two
    or more columns are prose; else bands at tall gaps that run their whole width, or around
    lines that cross the narrower lines' gutters; else one block in rows. Columns go first,
    so paragraph gaps that happen to be level in two columns do not cut the columns into
    stretches read across."""
    columns = _columns(lines, unit)
    if columns:
        for column in columns:
            _cut(column, unit, out)
        return
    bands = _split(lines, axis=1, gap=BLOCK_GAP_LINES * unit)
    if len(bands) == 1:
        bands = _around_crossing_lines(lines, unit)
    if len(bands) > 1:
        for band in bands:
            _cut(band, unit, out)
        return
    out.append(in_rows(lines))


def _columns(lines: list[TextLine], unit: float) -> list[list[TextLine]]:
    """The lines cut into columns at their gutters (``_gutters``). A recognizer may run a
    line on across a narrow gutter, so lines are cut at the gutters word by word. [] unless
    at least two of the columns are prose."""
    gutters = _gutters(lines, unit)
    if not gutters:
        return []
    columns: list[list[TextLine]] = [[] for _ in range(len(gutters) + 1)]
    for line in lines:
        parts: list[list[Word]] = [[] for _ in columns]
        for word in line.words:
            parts[bisect.bisect(gutters, word.box[0] + word.box[2] / 2)].append(word)
        for column, part in zip(columns, parts, strict=True):
            if len(part) == len(line.words):
                column.append(line)
            elif part:
                column.append(TextLine(part, line_box(part)))
    found = [column for column in columns if column]
    return found if sum(_is_prose(column, unit) for column in found) >= 2 else []


def _gutters(lines: list[TextLine], unit: float, crossing: int = 0) -> list[float]:
    """The middles of the x stretches, at least ``GUTTER_LINES`` wide, that the words of no
    more than ``crossing`` of the lines touch, between words, left to right."""
    spans = [(w.box[0], w.box[0] + w.box[2]) for line in lines for w in line.words]
    if not spans:
        return []
    origin = min(start for start, _ in spans)
    covered = np.zeros(max(end for _, end in spans) - origin + 1, dtype=np.int32)
    for line in lines:
        touched = np.zeros_like(covered, dtype=bool)
        for word in line.words:
            touched[word.box[0] - origin : word.box[0] + word.box[2] - origin] = True
        covered += touched
    free = np.flatnonzero(np.diff(np.concatenate(([0], covered <= crossing, [0])).astype(np.int8)))
    gutters = []
    for start, end in zip(free[::2], free[1::2], strict=True):
        if start > 0 and end < len(covered) and end - start >= GUTTER_LINES * unit:
            gutters.append(origin + (start + end) / 2)
    return gutters


def _around_crossing_lines(lines: list[TextLine], unit: float) -> list[list[TextLine]]:
    """The lines in bands, top to bottom, cut at the lines that cross the gutters between the
    narrower lines' columns: a title or an introduction above columns, a headline under
    them. [lines] where the narrower lines stand in no columns."""
    left = min(line.box[0] for line in lines)
    width = max(line.box[2] for line in lines) - left
    narrow = [line for line in lines if line.width < NARROW_SHARE * width]
    if len(narrow) < 2 * COLUMN_MIN_LINES:
        return [lines]
    allowed = max(1, round(CROSSING_SHARE * len(narrow)))
    gutters = _gutters(narrow, unit, allowed)
    if not gutters:
        return [lines]
    bands: list[list[TextLine]] = [[]]
    crossing = False
    for line in sorted(lines, key=lambda one: one.box[1] + one.box[3]):
        crosses = any(
            w.box[0] < gutter < w.box[0] + w.box[2] for w in line.words for gutter in gutters
        ) or any(
            a.box[0] + a.box[2] < gutter < b.box[0]
            for a, b in itertools.pairwise(line.words)
            for gutter in gutters
            if b.box[0] - a.box[0] - a.box[2] < GUTTER_LINES * unit
        )
        if crosses != crossing and bands[-1]:
            bands.append([])
        bands[-1].append(line)
        crossing = crosses
    in_columns = [bool(_columns(band, unit)) for band in bands]
    if len(bands) < 2 or not any(in_columns):
        return [lines]
    merged = [bands[0]]  # bands without columns next to each other are one
    for band, columns, before in zip(bands[1:], in_columns[1:], in_columns[:-1], strict=True):
        if columns or before:
            merged.append(band)
        else:
            merged[-1] = merged[-1] + band
    return merged


def _split(lines: list[TextLine], *, axis: int, gap: float) -> list[list[TextLine]]:
    """The lines in groups separated by an empty stretch at least ``gap`` wide along ``axis``
    (0: x, columns; 1: y, blocks), in order along it."""
    ordered = sorted(lines, key=lambda line: line.box[axis])
    groups: list[list[TextLine]] = [[ordered[0]]]
    reach = ordered[0].box[axis + 2]
    for line in ordered[1:]:
        if line.box[axis] - reach >= gap:
            groups.append([])
        groups[-1].append(line)
        reach = max(reach, line.box[axis + 2])
    return groups


def _is_prose(lines: list[TextLine], unit: float) -> bool:
    if len(lines) < COLUMN_MIN_LINES:
        return False
    return (
        statistics.median(line.width for line in lines) >= PROSE_WIDTH_LINES * unit
        and statistics.median(len(line.words) for line in lines) >= PROSE_WORDS
    )


def join_words(words: Sequence[str]) -> str:
    """Join with spaces, except between CJK characters, which recognizers space apart."""
    if not words:
        return ""
    parts = [words[0]]
    for word in words[1:]:
        if is_cjk(parts[-1][-1]) and is_cjk(word[0]):
            parts.append(word)
        else:
            parts.append(" " + word)
    return "".join(parts)


def is_cjk(char: str) -> bool:
    """Chinese, Japanese and Korean characters and their full-width punctuation."""
    code = ord(char)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, kana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or unicodedata.east_asian_width(char) == "W"
    )


__all__ = ["TextLine", "blocks_in_order", "in_rows", "is_cjk", "join_words", "line_box"]
