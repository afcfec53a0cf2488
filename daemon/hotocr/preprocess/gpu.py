"""GPU backend: CuPy for arithmetic, ``cupyx.scipy.ndimage`` for the filters.

Importing CuPy succeeds on machines without a driver; only the first real call fails
(``CUDARuntimeError``). The constructor therefore runs a small smoke kernel on the chosen
device, so ``auto`` falls back to the CPU instead of failing on the first page. Only worker
processes (started with ``spawn``) construct this class.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hotocr.errors import ConfigError
from hotocr.preprocess.backend import Array, HostImage


class GpuBackend:
    name = "gpu"

    def __init__(self, device: int = 0, *, memory_limit_mb: int = 0) -> None:
        import cupy  # noqa: PLC0415 - imported only where a GPU is wanted
        from cupyx.scipy import ndimage  # noqa: PLC0415

        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= device < count:
            raise ConfigError(
                f"[preprocess] device = {device}: this machine has {count} CUDA device(s)"
            )
        cupy.cuda.Device(device).use()
        if memory_limit_mb:
            cupy.get_default_memory_pool().set_limit(size=memory_limit_mb * 2**20)
        self.xp: Any = cupy
        self._nd = ndimage
        # Smoke test: a real kernel launch and copy back, not just an import.
        probe = cupy.arange(256, dtype=cupy.float32)
        if float(cupy.asnumpy((probe * 2).sum())) != 65280.0:
            raise RuntimeError("CUDA smoke kernel returned a wrong result")

    def memory_used(self) -> int:
        """Bytes CuPy's memory pool holds on this device (for the metrics)."""
        return int(self.xp.get_default_memory_pool().total_bytes())

    def to_device(self, image: HostImage) -> Array:
        return self.xp.asarray(image)

    def to_host(self, image: Array) -> HostImage:
        return np.ascontiguousarray(self.xp.asnumpy(image), dtype=np.uint8)

    def resize(self, image: Array, height: int, width: int, *, smooth: bool) -> Array:
        h, w = image.shape
        shrinking = height * width < h * w
        src = image
        if smooth and shrinking:
            # Area averaging (as OpenCV's INTER_AREA) avoids aliasing on reduction.
            fy, fx = max(1, h // height), max(1, w // width)
            src = self._nd.uniform_filter(image.astype(self.xp.float32), size=(fy, fx))
        order = 3 if smooth and not shrinking else 1
        out = self._nd.zoom(
            src.astype(self.xp.float32), (height / h, width / w), order=order, mode="nearest"
        )
        out = out[:height, :width]
        if image.dtype == self.xp.uint8:
            return self.xp.clip(out, 0, 255).astype(self.xp.uint8)
        return out

    def grey_closing(self, image: Array, size: int) -> Array:
        return self._nd.grey_closing(image, size=(size, size))

    def grey_dilate(self, image: Array, size: int) -> Array:
        return self._nd.grey_dilation(image, size=(size, size))

    def blur(self, image: Array, size: int) -> Array:
        return self._nd.uniform_filter(image.astype(self.xp.float32), size=size, mode="nearest")

    def median3(self, image: Array) -> Array:
        return self._nd.median_filter(image, size=3, mode="nearest")

    def histogram(self, image: Array) -> Array:
        return self.xp.bincount(image.ravel(), minlength=256).astype(self.xp.int64)

    def lookup(self, image: Array, table: Array) -> Array:
        return self.xp.asarray(table, dtype=self.xp.uint8)[image]

    def divide(self, image: Array, divisor: Array, scale: float) -> Array:
        xp = self.xp
        h, w = image.shape
        divisor = divisor.astype(xp.float32)
        if divisor.shape != image.shape:
            divisor = self.resize(divisor, h, w, smooth=False)
        quotient = image.astype(xp.float32) * xp.float32(scale) / divisor
        return xp.clip(quotient, 0, 255).astype(xp.uint8)

    def rotate(self, image: Array, degrees: float, fill: int) -> Array:
        h, w = image.shape
        rad = math.radians(degrees)
        cos, sin = abs(math.cos(rad)), abs(math.sin(rad))
        new_w, new_h = round(w * cos + h * sin), round(h * cos + w * sin)
        out = self._nd.rotate(
            image, degrees, reshape=True, order=1, mode="constant", cval=float(fill)
        )
        return out[:new_h, :new_w]
