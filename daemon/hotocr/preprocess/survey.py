"""A quick look at a page before preprocessing: how big its text is, how even and how light its
paper is, how dark its ink is. The measurements decide which steps the page gets (``plan``).

Written against the preprocessing backend, on the page where it lies (the GPU's copy, which
preprocessing then goes on with): the same measures on either backend, so a page gets the
same plan on the CPU and on the GPU. About 60 ms for a letter page at 300 DPI on one CPU core
(most of it the labelling of ink components); pages larger than ``WORK_SIDE`` on their long
side are measured on a copy shrunk by a whole factor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotocr.preprocess.backend import Array, Backend, HostImage, on_host
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.steps import shrink_factor, shrink_to

#: Long side of the copy the text size is measured on.
WORK_SIDE = 3500
#: A pixel is ink when it is darker than this share of the local paper level.
INK_SHARE = 0.8
#: Fewer text-like components than this: no text size can be told (photo, blank page).
MIN_COMPONENTS = 20
#: A glyph is at least this many pixels high.
MIN_GLYPH = 4
#: The paper is estimated at about this resolution (dots per inch of the original) ...
PAPER_WORK_DPI = 50
#: ... with a grey closing about this wide (mm): wider than any stroke.
PAPER_CLOSING_MM = 3.5


@dataclass(frozen=True)
class Survey:
    #: Height in pixels of the page's typical glyph (ink components, weighted by their ink),
    #: between the x-height and the cap height; None when the page shows no text-like ink.
    text_height: float | None
    #: Grey level of the paper (median of the estimated background): 255 is white.
    paper_level: int
    #: How uneven the paper is: the 5th to 95th percentile range of the estimated background
    #: (shadows, folds, stains, uneven light).
    paper_spread: int
    #: Grey level of the ink (the darkest tenth of the ink pixels); None without ink.
    ink_level: int | None


def survey(image: HostImage | Array, dpi: int | None, backend: Backend | None = None) -> Survey:
    """The page's measures; ``image`` on ``backend``'s device (default: the CPU's)."""
    backend = backend or CpuBackend()
    page = backend.to_device(image)
    level, spread = _paper(backend, page, dpi or 300)
    height, ink = _text(backend, page)
    return Survey(text_height=height, paper_level=level, paper_spread=spread, ink_level=ink)


def glyph_height(image: HostImage) -> float | None:
    """The page's typical glyph height in pixels (``Survey.text_height``) alone."""
    return _text(CpuBackend(), image)[0]


#: Grey level -> the ink threshold below it (``INK_SHARE`` of it, rounded): uint8 throughout,
#: as float copies of a letter page would cost 34 MB each.
_INK_BELOW = np.rint(np.arange(256) * INK_SHARE).astype(np.uint8)


def _text(backend: Backend, image: Array) -> tuple[float | None, int | None]:
    """Glyph height: connected components of ink that are shaped like characters (not rules,
    not specks, not filled boxes), their heights weighted by their ink so that specks of
    dust or the dots of a dot-matrix print do not pull it down. The ink level is measured on
    those glyphs too: a scanner's black border or a dark photo edge is no ink of the text (a
    faded thermal receipt in a black border measured 0, its letters 167)."""
    factor = shrink_factor(image, WORK_SIDE)
    small = shrink_to(backend, image, WORK_SIDE)
    if min(small.shape) < MIN_GLYPH:  # no glyph fits (and OpenCV takes a 1x1 for a scalar)
        return None, None
    size = max(15, max(small.shape) // 60) | 1
    paper = backend.grey_dilate(small, size)
    ink = small < backend.lookup(paper, backend.xp.asarray(_INK_BELOW))
    del paper
    labels, found = backend.components(ink)
    heights, widths, areas = found.heights, found.widths, found.areas
    glyph = (
        (heights >= MIN_GLYPH)
        & (heights <= small.shape[0] / 8)
        & (widths >= 2)
        & (widths <= 3 * heights)
        & (areas >= 8)
        & (areas <= 0.9 * heights * widths)
    )
    if int(glyph.sum()) < MIN_COMPONENTS:
        return None, _ink_level(backend, small, ink)
    # Every other row and column: the level is a percentile, a quarter of the pixels tell it
    # (6 against 23 ms for a letter page).
    is_glyph = backend.xp.asarray(np.concatenate(([0], glyph)).astype(np.uint8))
    glyph_ink = is_glyph[labels[::2, ::2]]
    del labels
    ink_level = _ink_level(backend, small[::2, ::2], glyph_ink)
    order = np.argsort(heights[glyph], kind="stable")
    sorted_heights, weights = heights[glyph][order], np.cumsum(areas[glyph][order])
    median = float(sorted_heights[int(np.searchsorted(weights, weights[-1] / 2))])
    return median * factor, ink_level


def _ink_level(backend: Backend, small: Array, ink: Array) -> int | None:
    """The darkest tenth of the ink pixels' grey levels (a histogram, no copy of them)."""
    counts = np.asarray(on_host(backend.histogram(small, ink)), dtype=np.int64)
    total = float(counts.sum())
    if total < 100:
        return None
    return int(np.searchsorted(np.cumsum(counts), total * 0.1))


def _paper(backend: Backend, image: Array, dpi: int) -> tuple[int, int]:
    """The background as ``remove_background`` estimates it: a grey closing wider than any
    stroke on a ~50 DPI copy, smoothed (rounded to whole grey levels, as OpenCV's 8-bit
    box filter gives them)."""
    factor = max(1, round(dpi / PAPER_WORK_DPI))
    small = shrink_to(backend, image, max(int(n) for n in image.shape) // factor)
    size = max(3, round(PAPER_CLOSING_MM / 25.4 * dpi / factor)) | 1
    paper = backend.xp.rint(backend.blur(backend.grey_closing(small, size), size))
    low, mid, high = (float(v) for v in on_host(backend.xp.percentile(paper, [5, 50, 95])))
    return int(mid), int(high - low)


__all__ = ["Survey", "glyph_height", "survey"]
