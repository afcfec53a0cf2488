"""How much of a page's text a reading took in: letters on the page that no word covers.

Tesseract's page layout analysis sometimes drops a whole region: an enlarged 1990s form's
table body was read as a picture (6 of 25 lines read at 2x; ``--psm 11``, sparse text, read
all 25). Confidence cannot show this, since the words that were read are read well. The
letters can: connected components of ink of about the page's letter size, and how many of
them lie inside no word's box.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from hotocr.preprocess.backend import HostImage

#: Fewer letter-sized components than this: too little text to judge.
MIN_LETTERS = 60
#: Letter size: within this factor of the median component's height.
SIZE_FACTOR = 2.0


def unread_share(image: HostImage, boxes: Iterable[tuple[int, int, int, int]]) -> float:
    """The share of the page's letter-sized ink components whose centre lies in no word box
    (``left, top, width, height`` in the image's pixels); 0.0 when there is too little text
    to judge."""
    gray = np.asarray(image, dtype=np.uint8)
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    count, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    heights = stats[1:, cv2.CC_STAT_HEIGHT]
    widths = stats[1:, cv2.CC_STAT_WIDTH]
    if count - 1 < MIN_LETTERS:
        return 0.0
    typical = _letter_height(heights, stats[1:, cv2.CC_STAT_AREA], gray.shape[0])
    if typical <= 0:
        return 0.0
    letters = (
        (heights >= typical / SIZE_FACTOR)
        & (heights <= typical * SIZE_FACTOR)
        & (widths <= typical * 3 * SIZE_FACTOR)
    )
    if int(letters.sum()) < MIN_LETTERS:
        return 0.0
    covered = np.zeros(gray.shape, dtype=bool)
    for left, top, width, height in boxes:
        covered[max(0, top) : top + height, max(0, left) : left + width] = True
    centres = centroids[1:][letters].astype(int)
    ys = np.clip(centres[:, 1], 0, gray.shape[0] - 1)
    xs = np.clip(centres[:, 0], 0, gray.shape[1] - 1)
    return float(1.0 - covered[ys, xs].mean())


def _letter_height(heights: np.ndarray, areas: np.ndarray, page_height: int) -> float:
    """The height most of the ink is in (a median weighted by ink): letters, not the specks
    of a halftone shading, which are many but light, nor rules and pictures, which are few."""
    keep = (heights >= 4) & (heights < page_height / 10)
    if not np.any(keep):
        return 0.0
    order = np.argsort(heights[keep])
    weights = np.cumsum(areas[keep][order].astype(np.float64))
    middle = int(np.searchsorted(weights, weights[-1] / 2))
    return float(heights[keep][order][middle])
