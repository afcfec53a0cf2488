"""Where a word Tesseract found lies on the page as it came in.

Preprocessing changes a page's geometry (scaling, deskew's rotation) and the worker may turn
a page by 90/180/270 degrees before reading it. Each step records how its output pixels map
back to its input (an affine matrix); the composition maps a word's box back to the page as
rendered or decoded, so every output (JSON, PDF text layer, hOCR, ALTO) uses one pixel space:
the page as a viewer shows it at the rendering resolution.

Coordinates are pixel edges (a box ``left, top, width, height`` spans ``left`` to
``left + width``), x to the right and y down.
"""

from __future__ import annotations

import math

#: A 2x3 affine matrix ``((a, b, c), (d, e, f))``: ``x' = a x + b y + c``, ``y' = d x + e y + f``.
Affine = tuple[tuple[float, float, float], tuple[float, float, float]]
Box = tuple[int, int, int, int]

IDENTITY: Affine = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))


def scaling(sx: float, sy: float) -> Affine:
    return ((sx, 0.0, 0.0), (0.0, sy, 0.0))


def compose(outer: Affine, inner: Affine) -> Affine:
    """``outer`` after ``inner``: a point mapped by ``inner``, then by ``outer``."""
    (a, b, c), (d, e, f) = outer
    (g, h, i), (j, k, l_) = inner
    return (
        (a * g + b * j, a * h + b * k, a * i + b * l_ + c),
        (d * g + e * j, d * h + e * k, d * i + e * l_ + f),
    )


def invert(matrix: Affine) -> Affine:
    (a, b, c), (d, e, f) = matrix
    det = a * e - b * d
    if abs(det) < 1e-12:
        raise ValueError("the matrix cannot be inverted")
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return ((ia, ib, -(ia * c + ib * f)), (id_, ie, -(id_ * c + ie * f)))


def apply(matrix: Affine, x: float, y: float) -> tuple[float, float]:
    (a, b, c), (d, e, f) = matrix
    return a * x + b * y + c, d * x + e * y + f


def rotation(height: int, width: int, degrees: float) -> tuple[Affine, int, int]:
    """A counter-clockwise rotation by ``degrees`` about the page's centre, on a canvas grown
    so that nothing is cut: the matrix from the page to the canvas, and the canvas's width and
    height. The same matrix as OpenCV's ``getRotationMatrix2D`` shifted to the new canvas."""
    rad = math.radians(degrees)
    cos, sin = math.cos(rad), math.sin(rad)
    new_w = round(width * abs(cos) + height * abs(sin))
    new_h = round(height * abs(cos) + width * abs(sin))
    cx, cy = width / 2.0, height / 2.0
    matrix: Affine = (
        (cos, sin, (1 - cos) * cx - sin * cy + (new_w - width) / 2.0),
        (-sin, cos, sin * cx + (1 - cos) * cy + (new_h - height) / 2.0),
    )
    return matrix, new_w, new_h


def unturn(rotation_cw: int, width: int, height: int) -> Affine:
    """From a page turned clockwise by ``rotation_cw`` (``np.rot90(page, k=-rotation_cw // 90)``)
    back to the page as it was; ``width`` and ``height`` are the page's before the turn."""
    turn = rotation_cw % 360
    if turn == 0:
        return IDENTITY
    if turn == 90:  # turned (x', y') came from (y', H - x')
        return ((0.0, 1.0, 0.0), (-1.0, 0.0, float(height)))
    if turn == 180:
        return ((-1.0, 0.0, float(width)), (0.0, -1.0, float(height)))
    if turn == 270:  # turned (x', y') came from (W - y', x')
        return ((0.0, -1.0, float(width)), (1.0, 0.0, 0.0))
    raise ValueError(f"a page is turned by a multiple of 90 degrees, not {rotation_cw}")


def map_box(matrix: Affine, box: Box, *, width: int, height: int) -> Box:
    """The axis-aligned box around ``box``'s corners mapped by ``matrix``, kept on a page of
    ``width`` x ``height`` pixels."""
    left, top, w, h = box
    corners = [apply(matrix, x, y) for x in (left, left + w) for y in (top, top + h)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    x0 = min(max(0, math.floor(min(xs) + 1e-6)), width)
    y0 = min(max(0, math.floor(min(ys) + 1e-6)), height)
    x1 = min(max(x0, math.ceil(max(xs) - 1e-6)), width)
    y1 = min(max(y0, math.ceil(max(ys) - 1e-6)), height)
    return x0, y0, x1 - x0, y1 - y0


__all__ = [
    "IDENTITY",
    "Affine",
    "Box",
    "apply",
    "compose",
    "invert",
    "map_box",
    "rotation",
    "scaling",
    "unturn",
]
