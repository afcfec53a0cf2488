"""A page's words as the layout formats nest them: blocks (a column's stretch, a caption, a
label) of paragraphs of lines of words, in reading order, with each line's baseline.

hOCR (``ocr_carea`` > ``ocr_par`` > ``ocr_line``) and ALTO (``TextBlock`` > ``TextLine``)
both take it from here, so they show the same columns. Boxes are in the page as the
original shows it; a page that was turned to be read has its text running up, down or
upside down there, so baselines and text sizes are measured on the page turned upright
(by its ``rotation``) and carried back.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotocr.datatypes import PageResult
from hotocr.outputs import OutputWord, output_words, union_box

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Baseline:
    #: hOCR's ``baseline``: in the upright line, y = slope * x + offset, from the bottom left
    #: corner of the line's box (offset negative where descenders reach below it).
    slope: float
    offset: float
    #: hOCR's ``x_size``: the line's typical word height (pixels).
    x_size: float
    #: ALTO's ``BASELINE``: the baseline's two ends on the page as the original shows it.
    points: tuple[tuple[int, int], tuple[int, int]]


@dataclass(frozen=True)
class Line:
    words: tuple[OutputWord, ...]
    box: Box
    baseline: Baseline


@dataclass(frozen=True)
class Paragraph:
    lines: tuple[Line, ...]
    box: Box


@dataclass(frozen=True)
class Block:
    paragraphs: tuple[Paragraph, ...]
    box: Box

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(line for paragraph in self.paragraphs for line in paragraph.lines)


def blocks_of(page: PageResult) -> list[Block]:
    """The page's words nested by block, paragraph and line, in reading order (the order of
    the words: a block that comes back later, as a form's rows may, is a new block)."""
    words = output_words(page)
    size = page.size
    turn = page.rotation % 360
    nested: list[list[list[list[OutputWord]]]] = []
    last: tuple[int, int, int] | None = None
    for word in words:
        key = (word.block, word.paragraph, word.line)
        if last is None or key[0] != last[0]:
            nested.append([[[word]]])
        elif key[1] != last[1]:
            nested[-1].append([[word]])
        elif key[2] != last[2]:
            nested[-1][-1].append([word])
        else:
            nested[-1][-1][-1].append(word)
        last = key
    blocks = []
    for block in nested:
        paragraphs = []
        for paragraph in block:
            lines = tuple(_line(line, size, turn) for line in paragraph)
            paragraphs.append(Paragraph(lines, union_box([w for ln in lines for w in ln.words])))
        every = [w for p in paragraphs for line in p.lines for w in line.words]
        blocks.append(Block(tuple(paragraphs), union_box(every)))
    return blocks


def _line(words: list[OutputWord], size: tuple[int, int], turn: int) -> Line:
    box = union_box(words)
    return Line(tuple(words), box, _baseline(words, box, size, turn))


def _baseline(words: list[OutputWord], box: Box, size: tuple[int, int], turn: int) -> Baseline:
    """The least-squares line through the words' bottoms, on the page turned upright."""
    upright = [upright_box(w.box, size, turn) for w in words]
    line = upright_box(box, size, turn)
    xs = [left + width / 2 for left, _, width, _ in upright]
    ys = [float(top + height) for _, top, _, height in upright]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = (
        sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
        if len(xs) > 1 and spread > 0
        else 0.0
    )
    left, top, width, height = line
    bottom = top + height

    def y_at(x: float) -> float:
        return mean_y + slope * (x - mean_x)

    heights = sorted(h for *_, h in upright)
    ends = (
        shown_point(left, y_at(left), size, turn),
        shown_point(left + width, y_at(left + width), size, turn),
    )
    return Baseline(
        slope=round(slope, 5),
        offset=round(y_at(left) - bottom, 1),
        x_size=float(heights[len(heights) // 2]),
        points=ends,
    )


def upright_size(size: tuple[int, int], turn: int) -> tuple[int, int]:
    return (size[1], size[0]) if turn in (90, 270) else size


def upright_box(box: Box, size: tuple[int, int], turn: int) -> Box:
    """A box of the page as the original shows it, on the page turned ``turn`` degrees
    clockwise (upright)."""
    left, top, width, height = box
    x0, y0 = _upright_xy(left, top, size, turn)
    x1, y1 = _upright_xy(left + width, top + height, size, turn)
    return min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0)


def _upright_xy(x: int, y: int, size: tuple[int, int], turn: int) -> tuple[int, int]:
    width, height = size
    if turn == 90:
        return height - y, x
    if turn == 180:
        return width - x, height - y
    if turn == 270:
        return y, width - x
    return x, y


def shown_point(x: float, y: float, size: tuple[int, int], turn: int) -> tuple[int, int]:
    """A point of the upright page, on the page as the original shows it."""
    width, height = size
    if turn == 90:
        return round(y), round(height - x)
    if turn == 180:
        return round(width - x), round(height - y)
    if turn == 270:
        return round(width - y), round(x)
    return round(x), round(y)
