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

from hotocr import geometry
from hotocr.datatypes import PageResult
from hotocr.outputs import OutputWord, output_words, union_box

Box = geometry.Box


@dataclass(frozen=True)
class _Turn:
    """Between the page as the original shows it and the page turned upright (``geometry``'s
    matrices, made once a page)."""

    upright: geometry.Affine
    shown: geometry.Affine
    size: tuple[int, int]  # the upright page's width and height

    @classmethod
    def of(cls, page: PageResult) -> _Turn:
        width, height = page.size
        turn = page.rotation % 360
        shown = geometry.unturn(turn, width, height)
        size = (height, width) if turn in (90, 270) else (width, height)
        return cls(geometry.invert(shown), shown, size)

    def box(self, box: Box) -> Box:
        return geometry.map_box(self.upright, box, width=self.size[0], height=self.size[1])

    def point(self, x: float, y: float) -> tuple[int, int]:
        """A point of the upright page, on the page as the original shows it."""
        sx, sy = geometry.apply(self.shown, x, y)
        return round(sx), round(sy)


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
    turn = _Turn.of(page)
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
            lines = tuple(_line(line, turn) for line in paragraph)
            paragraphs.append(Paragraph(lines, union_box([w for ln in lines for w in ln.words])))
        every = [w for p in paragraphs for line in p.lines for w in line.words]
        blocks.append(Block(tuple(paragraphs), union_box(every)))
    return blocks


def _line(words: list[OutputWord], turn: _Turn) -> Line:
    box = union_box(words)
    return Line(tuple(words), box, _baseline(words, box, turn))


def _baseline(words: list[OutputWord], box: Box, turn: _Turn) -> Baseline:
    """The least-squares line through the words' bottoms, on the page turned upright."""
    upright = [turn.box(w.box) for w in words]
    line = turn.box(box)
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
        turn.point(left, y_at(left)),
        turn.point(left + width, y_at(left + width)),
    )
    return Baseline(
        slope=round(slope, 5),
        offset=round(y_at(left) - bottom, 1),
        x_size=float(heights[len(heights) // 2]),
        points=ends,
    )
