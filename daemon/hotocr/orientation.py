"""A cheap look at whether a page is upside down, before paying for a reading.

Latin script puts more ink above a line's x-height band (ascenders, capitals) than below it
(descenders); turned by 180 degrees the balance flips. On the eval pages the ratio of ink
above to ink below was 2.3 to 1754 upright and 0.00 to 0.18 upside down (on the 14 pages of
the throughput corpus, 4.8 to 1754 and 0.00 to 0.23 since the page is shrunk by a whole
factor). Where the balance
is that clear (``sure_turn``), the page is turned without asking Tesseract's OSD (a third of
a page's recognition time); where it is not, OSD decides. Scripts without ascenders (Chinese,
Japanese, Korean) give no signal: it is not used for them.
"""

from __future__ import annotations

import numpy as np

from hotocr.preprocess.backend import HostImage
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.steps import shrink_to

#: Below this ratio of ink above to ink below the line cores, suspect an upside-down page.
UPSIDE_DOWN_RATIO = 0.5
#: Beyond these ratios the balance decides alone, without OSD (eval pages: >= 2.3 upright,
#: <= 0.18 upside down). A wrong decision reads poorly, and a poor reading still gets OSD.
SURE_UPRIGHT_RATIO = 2.0
SURE_UPSIDE_DOWN_RATIO = 0.25
#: The ink balance is measured on a copy shrunk to about this long side.
WORK_SIDE = 1600
#: Tesseract languages whose script has no ascender/descender asymmetry.
NO_ASCENDERS = frozenset(
    {"chi_sim", "chi_tra", "chi_sim_vert", "chi_tra_vert", "jpn", "jpn_vert", "kor", "kor_vert"}
)


def ascender_ratio(image: HostImage) -> float | None:
    """Ink above the lines' core bands over ink below them; None without text lines."""
    small = np.asarray(shrink_to(CpuBackend(), image, WORK_SIDE), dtype=np.uint8)
    profile = (small < 128).sum(axis=1).astype(np.float64)
    if profile.max() <= 0:
        return None
    on = profile > profile.max() * 0.05
    above = below = 0.0
    i, n = 0, len(profile)
    while i < n:
        if not on[i]:
            i += 1
            continue
        j = i
        while j < n and on[j]:
            j += 1
        line = profile[i:j]
        if len(line) >= 4:
            core = np.flatnonzero(line >= line.max() * 0.5)
            above += float(line[: core[0]].sum())
            below += float(line[core[-1] + 1 :].sum())
        i = j
    if above + below == 0:
        return None
    return above / max(below, 1.0)


def looks_upside_down(image: HostImage, languages: tuple[str, ...]) -> bool:
    if any(lang in NO_ASCENDERS for lang in languages):
        return False
    ratio = ascender_ratio(image)
    return ratio is not None and ratio < UPSIDE_DOWN_RATIO


def sure_turn(image: HostImage, *, sideways: bool, languages: tuple[str, ...]) -> int | None:
    """Clockwise degrees that make the page upright, when the ink balance is clear; else None.

    ``sideways``: the page has no horizontal text lines (turned by 90 or 270 degrees); it is
    looked at turned 90 degrees clockwise, which is either upright or upside down.
    """
    if any(lang in NO_ASCENDERS for lang in languages):
        return None
    if sideways:
        ratio = ascender_ratio(np.ascontiguousarray(np.rot90(image, k=-1)))
        if ratio is None:
            return None
        if ratio >= SURE_UPRIGHT_RATIO:
            return 90
        return 270 if ratio <= SURE_UPSIDE_DOWN_RATIO else None
    ratio = ascender_ratio(image)
    return 180 if ratio is not None and ratio <= SURE_UPSIDE_DOWN_RATIO else None
