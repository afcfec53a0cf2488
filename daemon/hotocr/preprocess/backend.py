"""The array backend interface the preprocessing steps are written against.

A backend supplies an array module (``xp``: NumPy or CuPy) for arithmetic, plus the few
image primitives whose fast implementation differs per device (OpenCV on the CPU,
``cupyx.scipy.ndimage`` on the GPU). Steps never import either library themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

#: An image on the backend's device: ``numpy.ndarray`` or ``cupy.ndarray``, 2-D uint8.
Array = Any
HostImage = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Components:
    """Per component of a mask, in label order (label 1 first), on the host."""

    heights: npt.NDArray[np.int64]
    widths: npt.NDArray[np.int64]
    #: Pixels in the component.
    areas: npt.NDArray[np.int64]


def on_host(array: Any) -> Any:
    """A NumPy copy of a CuPy array (``get``), or the NumPy array itself: for the small
    results (counts, percentiles, component sizes) that the host goes on with."""
    return array.get() if hasattr(array, "get") else array


class Backend(Protocol):
    name: str
    xp: Any

    def to_device(self, image: HostImage) -> Array: ...

    def to_host(self, image: Array) -> HostImage: ...

    def resize(self, image: Array, height: int, width: int, *, smooth: bool) -> Array:
        """Resize; ``smooth`` picks area averaging (down) or cubic (up) over linear."""
        ...

    def grey_closing(self, image: Array, size: int) -> Array:
        """Max then min filter over a ``size`` square: removes dark marks narrower than it."""
        ...

    def grey_dilate(self, image: Array, size: int) -> Array:
        """Max filter over a ``size`` square: the local paper level."""
        ...

    def blur(self, image: Array, size: int) -> Array:
        """Box blur over a ``size`` square, on float32 data."""
        ...

    def median3(self, image: Array) -> Array: ...

    def histogram(self, image: Array, mask: Array | None = None) -> Array:
        """Counts (int64) of the 256 grey levels of a uint8 image (where ``mask`` is true)."""
        ...

    def components(self, mask: Array) -> tuple[Array, Components]:
        """The 8-connected components of a boolean mask: the label image (0: none, 1..n:
        a component; numbering differs per backend) and each component's size."""
        ...

    def lookup(self, image: Array, table: Array) -> Array:
        """``table[image]`` for a 256-entry uint8 table."""
        ...

    def divide(self, image: Array, divisor: Array, scale: float) -> Array:
        """``image * scale / divisor`` (``divisor``: float32, a smaller array is enlarged
        bilinearly to the image's size), truncated and saturated: uint8."""
        ...

    def rotate(self, image: Array, degrees: float, fill: int) -> Array:
        """Rotate counter-clockwise by ``degrees``, growing the canvas so nothing is cut."""
        ...
