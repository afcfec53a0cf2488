"""Resizing written once for any array module (NumPy or CuPy), with OpenCV's sampling.

``cupyx.scipy.ndimage.zoom`` (order 3) was slower on an H200 than OpenCV on one CPU core
(77 against 73 ms for a letter page enlarged, 2026-12-04), and it samples differently from
``cv2.resize``, so the two backends' pages differed. Here a resize is two passes, one per
axis, each a weighted sum of a few gathered rows or columns: the weights and source indices
of every output row and column are computed once on the host (a few KB, cached), and the
device does only gathers and multiply-adds over the page, a handful of elementwise passes.

The weights are OpenCV's: pixel centres at ``(i + 0.5) * scale - 0.5``, borders replicated;
linear, cubic (a = -0.75) and area (each source pixel weighted by how much of it an output
pixel covers). uint8 results are rounded, as OpenCV rounds; they differ from ``cv2.resize``
by at most a grey level or two (its fixed-point weights).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

#: How an axis is sampled: ``linear``, ``cubic`` (enlarging) or ``area`` (shrinking).
Sampling = Literal["linear", "cubic", "area"]

#: OpenCV's cubic coefficient.
CUBIC_A = -0.75

Taps = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]


def resize(xp: Any, image: Any, height: int, width: int, sampling: Sampling) -> Any:
    """``image`` (2-D, uint8 or float32, on ``xp``'s device) resized to ``height`` x ``width``.

    The axis that shrinks more goes first, so the second pass has fewer rows to touch."""
    if height < 1 or width < 1:
        raise ValueError(f"cannot resize to {height}x{width}")
    h, w = (int(n) for n in image.shape)
    work = image.astype(xp.float32)
    if (height, width) != (h, w):
        if height / h <= width / w:
            work = _along(xp, work, _taps(h, height, sampling), axis=0)
            work = _along(xp, work, _taps(w, width, sampling), axis=1)
        else:
            work = _along(xp, work, _taps(w, width, sampling), axis=1)
            work = _along(xp, work, _taps(h, height, sampling), axis=0)
    if image.dtype == xp.uint8:
        return xp.clip(xp.floor(work + xp.float32(0.5)), 0, 255).astype(xp.uint8)
    return work


def _along(xp: Any, image: Any, taps: Taps, axis: int) -> Any:
    """One pass: each output row (axis 0) or column (axis 1) a weighted sum of source ones."""
    index, weight = (xp.asarray(a) for a in taps)
    out = None
    for k in range(index.shape[1]):
        if axis == 0:
            term = image[index[:, k], :] * weight[:, k, None]
        else:
            term = image[:, index[:, k]] * weight[None, :, k]
        out = term if out is None else out + term
    return out


@lru_cache(maxsize=256)
def _taps(size: int, out_size: int, sampling: Sampling) -> Taps:
    """Per output pixel of one axis: the source pixels it reads and their weights
    (``out_size`` x taps, a weight of 0 where a pixel has fewer taps than the most)."""
    if sampling == "area" and out_size < size:
        return _area_taps(size, out_size)
    scale = size / out_size
    centre = (np.arange(out_size, dtype=np.float64) + 0.5) * scale - 0.5
    first = np.floor(centre)
    frac = centre - first
    if sampling == "cubic":
        offsets = np.arange(-1, 3)
        weights = np.stack([_cubic(frac + 1), _cubic(frac), _cubic(1 - frac), _cubic(2 - frac)])
    else:  # linear (and area when enlarging, which OpenCV samples bilinearly too)
        offsets = np.arange(0, 2)
        weights = np.stack([1 - frac, frac])
    index = first[None, :].astype(np.int64) + offsets[:, None]
    return np.clip(index, 0, size - 1).T.copy(), weights.T.astype(np.float32)


def _cubic(distance: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Keys' cubic convolution kernel with OpenCV's a = -0.75, at ``distance`` (0-2)."""
    d = np.abs(distance)
    a = CUBIC_A
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _area_taps(size: int, out_size: int) -> Taps:
    """Area averaging: output pixel ``i`` covers source ``[i * s, (i + 1) * s)``, and each
    source pixel counts by the part of it covered (``cv2.INTER_AREA``)."""
    scale = size / out_size
    width = math.ceil(scale) + 1
    index = np.zeros((out_size, width), np.int64)
    weight = np.zeros((out_size, width), np.float32)
    for i in range(out_size):
        start, end = i * scale, min(size, (i + 1) * scale)
        first = math.floor(start)
        for k in range(width):
            pixel = first + k
            if pixel >= size:
                break
            covered = min(end, pixel + 1) - max(start, pixel)
            if covered <= 1e-6:
                continue
            index[i, k] = pixel
            weight[i, k] = covered / (end - start)
    return index, weight


__all__ = ["Sampling", "resize"]
