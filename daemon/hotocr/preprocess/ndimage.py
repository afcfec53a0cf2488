"""The backend written against an array module and a SciPy-style ``ndimage``.

On the GPU these are CuPy and ``cupyx.scipy.ndimage`` (``gpu.py``); the tests run the very
same code on NumPy and ``scipy.ndimage``, so what the GPU computes is checked against the
OpenCV backend on every machine, GPU or not. Where OpenCV's result depends on a convention
(pixel centres when resizing, the canvas of a rotation, borders of a box filter), this
follows OpenCV's: the two backends give the same shapes and nearly the same pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hotocr import geometry
from hotocr.preprocess import resample
from hotocr.preprocess.backend import Array, Components, HostImage, on_host


class NdimageBackend:
    """Array arithmetic on ``xp``, filters from ``ndimage``, resizing from ``resample``."""

    def __init__(
        self,
        xp: Any,
        ndimage: Any,
        name: str,
        *,
        scatter_min: Callable[[Any, Any, Any], None] = np.minimum.at,
        scatter_max: Callable[[Any, Any, Any], None] = np.maximum.at,
    ) -> None:
        """``scatter_min``/``scatter_max``: ``a[i] = min(a[i], v)`` over repeated indices
        (NumPy's ``minimum.at``; ``cupyx.scatter_min`` on CuPy)."""
        self.xp: Any = xp
        self._nd = ndimage
        self.name = name
        self._scatter_min, self._scatter_max = scatter_min, scatter_max

    def to_device(self, image: HostImage) -> Array:
        return self.xp.asarray(image)

    def to_host(self, image: Array) -> HostImage:
        return np.ascontiguousarray(on_host(image), dtype=np.uint8)

    def resize(self, image: Array, height: int, width: int, *, smooth: bool) -> Array:
        shrinking = height * width < image.shape[0] * image.shape[1]
        sampling: resample.Sampling = ("area" if shrinking else "cubic") if smooth else "linear"
        return resample.resize(self.xp, image, height, width, sampling)

    def grey_closing(self, image: Array, size: int) -> Array:
        return self._nd.grey_closing(image, size=(size, size), mode="nearest")

    def grey_dilate(self, image: Array, size: int) -> Array:
        return self._nd.grey_dilation(image, size=(size, size), mode="nearest")

    def blur(self, image: Array, size: int) -> Array:
        # "mirror" is OpenCV's default border (BORDER_REFLECT_101).
        return self._nd.uniform_filter(image.astype(self.xp.float32), size=size, mode="mirror")

    def median3(self, image: Array) -> Array:
        return self._nd.median_filter(image, size=3, mode="nearest")

    def histogram(self, image: Array, mask: Array | None = None) -> Array:
        values = image.ravel() if mask is None else image[mask.astype(bool)]
        return self.xp.bincount(values, minlength=256).astype(self.xp.int64)

    def components(self, mask: Array) -> tuple[Array, Components]:
        xp = self.xp
        # The structure as NumPy: cupyx takes it as array_like (and would refuse CuPy's).
        labels, count = self._nd.label(mask, structure=np.ones((3, 3), dtype=bool))
        count = int(count)
        rows, cols = xp.nonzero(labels)
        which = labels[rows, cols].astype(xp.int64) - 1
        extent = []
        for coords in (rows, cols):
            # int32: atomic min and max on the GPU, and pages are far below 2**31 pixels.
            low = xp.full(count, np.iinfo(np.int32).max, dtype=xp.int32)
            high = xp.full(count, -1, dtype=xp.int32)
            self._scatter_min(low, which, coords.astype(xp.int32))
            self._scatter_max(high, which, coords.astype(xp.int32))
            extent.append(np.asarray(on_host(high - low + 1), dtype=np.int64))
        areas = np.asarray(on_host(xp.bincount(which, minlength=count)), dtype=np.int64)
        return labels, Components(heights=extent[0], widths=extent[1], areas=areas)

    def lookup(self, image: Array, table: Array) -> Array:
        return self.xp.asarray(table, dtype=self.xp.uint8)[image]

    def divide(self, image: Array, divisor: Array, scale: float) -> Array:
        xp = self.xp
        h, w = image.shape
        divisor = divisor.astype(xp.float32)
        if divisor.shape != image.shape:
            divisor = resample.resize(xp, divisor, h, w, "linear")
        quotient = image.astype(xp.float32) * xp.float32(scale) / divisor
        return xp.clip(quotient, 0, 255).astype(xp.uint8)

    def rotate(self, image: Array, degrees: float, fill: int) -> Array:
        """The canvas and matrix of ``geometry.rotation``, as the CPU backend's warpAffine."""
        h, w = image.shape
        matrix, new_w, new_h = geometry.rotation(h, w, degrees)
        # ndimage maps each output (row, column) back to the input: the inverse, axes swapped.
        (a, b, c), (d, e, f) = geometry.invert(matrix)
        return self._nd.affine_transform(
            image,
            self.xp.asarray([[e, d], [b, a]], dtype=self.xp.float64),
            offset=(f, c),
            output_shape=(new_h, new_w),
            order=1,
            mode="constant",
            cval=float(fill),
        )


__all__ = ["NdimageBackend"]
