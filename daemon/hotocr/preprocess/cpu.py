"""CPU backend: NumPy for arithmetic, OpenCV for the filters SciPy is slow at.

Measured on a 300-DPI letter page: OpenCV ``warpAffine`` 17-49 ms against 235 ms for
``scipy.ndimage.rotate``, ``medianBlur`` 5 ms against 1282 ms for ``median_filter``.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from hotocr.preprocess.backend import Array, HostImage


class CpuBackend:
    name = "cpu"
    xp: Any = np

    def __init__(self) -> None:
        # One worker process per core already; OpenCV's own threads would only contend.
        cv2.setNumThreads(1)

    def to_device(self, image: HostImage) -> Array:
        return np.ascontiguousarray(image)

    def to_host(self, image: Array) -> HostImage:
        return np.ascontiguousarray(image, dtype=np.uint8)

    def resize(self, image: Array, height: int, width: int, *, smooth: bool) -> Array:
        shrinking = height * width < image.shape[0] * image.shape[1]
        if smooth:
            interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
        else:
            interp = cv2.INTER_LINEAR
        return cv2.resize(image, (width, height), interpolation=interp)

    def grey_closing(self, image: Array, size: int) -> Array:
        kernel = np.ones((size, size), np.uint8)
        return cv2.morphologyEx(image, cv2.MORPH_CLOSE, kernel)

    def grey_dilate(self, image: Array, size: int) -> Array:
        return cv2.dilate(image, np.ones((size, size), np.uint8))

    def blur(self, image: Array, size: int) -> Array:
        return cv2.blur(image.astype(np.float32, copy=False), (size, size))

    def median3(self, image: Array) -> Array:
        return cv2.medianBlur(image, 3)

    def rotate(self, image: Array, degrees: float, fill: int) -> Array:
        h, w = image.shape
        rad = math.radians(degrees)
        cos, sin = abs(math.cos(rad)), abs(math.sin(rad))
        new_w, new_h = round(w * cos + h * sin), round(h * cos + w * sin)
        matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
        matrix[0, 2] += (new_w - w) / 2.0
        matrix[1, 2] += (new_h - h) / 2.0
        return cv2.warpAffine(
            image,
            matrix,
            (new_w, new_h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=int(fill),
        )
