"""PDF pages that are one scanned image: their pixels taken out as stored, not drawn.

A scanner's PDF page is one image (CCITT, JBIG2, JPEG) covering the page at the scan's
resolution. Drawing it with pdftoppm costs 0.15-0.45 s a page (most when the page draws the
image turned); taking it out with pdfimages costs 0.03-0.1 s, and turning it as the page
does is a lossless array operation. Only a page that would draw exactly that image
qualifies: one image, covering the page, axis-aligned, at the rendering resolution, with no
mask, decode array, transparency or clipping, and nothing else painted (an invisible OCR text
layer is allowed). Any other page, or one this module cannot read, is drawn by pdftoppm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pikepdf
from PIL import Image

from hotocr._exec import poppler

#: Largest difference between the image's resolution and the rendering's (a fraction).
DPI_TOLERANCE = 0.01
#: Largest gap or overhang, in rendered pixels, between the image's edges and the page's.
EDGE_TOLERANCE_PX = 1.5
#: Content streams larger than this (as stored, then decoded) are not one image: a scan's is
#: about 100 bytes, with an invisible OCR text layer tens of kB. Parsing a vector-heavy page
#: into Python objects would cost more time and memory than drawing it.
MAX_CONTENT_STORED = 64 * 1024
MAX_CONTENT_DECODED = 1024 * 1024

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)

# Operators that set state, mark content or place text without painting anything.
_NEUTRAL = frozenset(
    {"w", "J", "j", "M", "d", "ri", "i"}
    | {"CS", "cs", "SC", "SCN", "sc", "scn", "G", "g", "RG", "rg", "K", "k"}
    | {"BT", "ET", "Tc", "Tw", "Tz", "TL", "Tf", "Ts", "Td", "TD", "Tm", "T*"}
    | {"BX", "EX", "MP", "DP", "BMC", "BDC", "EMC"}
)
_SHOW_TEXT = frozenset(("Tj", "TJ", "'", '"'))
_INVISIBLE_TEXT = 3
# Graphics-state parameters that change nothing about an opaque image drawn once.
_HARMLESS_STATE = frozenset(
    {"/Type", "/OPM", "/OP", "/op", "/TK", "/SA", "/LW", "/LC", "/LJ", "/ML", "/D", "/RI"}
    | {"/FL", "/SM", "/AIS", "/BM", "/CA", "/ca", "/SMask"}
)
_PLAIN_COLOUR_SPACES = {"/DeviceGray": 1, "/DeviceRGB": 3}


@dataclass(frozen=True)
class Placement:
    """How the stored image lands on the drawn page: transpose first, then flip."""

    transpose: bool
    flip_x: bool
    flip_y: bool
    #: The image's resolution on the page, across and down the drawn page.
    dpi: tuple[float, float]


def scanned_page(path: Path, number: int, *, dpi: int, timeout: float) -> Image.Image | None:
    """Page ``number`` (1-based) as ``pdftoppm -gray`` would draw it at ``dpi``, taken out of
    the PDF when the page is one plain scanned image at that resolution; None otherwise."""
    found = placement(path, number)
    if found is None or not all(abs(d - dpi) <= dpi * DPI_TOLERANCE for d in found.dpi):
        return None
    try:
        images = poppler.page_images(path, number, timeout=timeout)
    except Exception:  # noqa: BLE001 - a shortcut never fails a page pdftoppm can draw
        return None
    if len(images) != 1:
        return None
    return place(images[0], found)


def place(image: Image.Image, where: Placement) -> Image.Image:
    """The stored image turned and flipped as the page draws it."""
    if not (where.transpose or where.flip_x or where.flip_y):
        return image
    pixels = np.asarray(image)
    if where.transpose:
        pixels = np.swapaxes(pixels, 0, 1)
    if where.flip_x:
        pixels = pixels[:, ::-1]
    if where.flip_y:
        pixels = pixels[::-1]
    return Image.fromarray(np.ascontiguousarray(pixels), mode=image.mode)


def placement(path: Path, number: int) -> Placement | None:
    """Where page ``number``'s only image lands, if the page is nothing but that image."""
    try:
        with pikepdf.open(path) as pdf:
            page = pdf.pages[number - 1]
            if not _small_content(page.obj):
                return None
            drawn = _only_image(page.obj, pikepdf.parse_content_stream(page))
            if drawn is None:
                return None
            ctm, xobject = drawn
            if not _plain_image(xobject):
                return None
            return _place_on_page(ctm, int(xobject.Width), int(xobject.Height), page.obj)
    except Exception:  # noqa: BLE001 - a shortcut never fails a page pdftoppm can draw
        return None  # pdftoppm draws it, or says clearly what is wrong with it


def _small_content(page: Any) -> bool:
    contents = page.get("/Contents")
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    if not all(isinstance(stream, pikepdf.Stream) for stream in streams):
        return False
    if sum(int(stream.get("/Length", 0)) for stream in streams) > MAX_CONTENT_STORED:
        return False
    return sum(len(stream.read_bytes()) for stream in streams) <= MAX_CONTENT_DECODED


def _only_image(page: Any, operations: Iterable[Any]) -> tuple[Matrix, Any] | None:
    """The transformation and XObject of the page's one image, if nothing else is painted."""
    resources = _inherited(page, "/Resources")
    ctm, text_mode = _IDENTITY, 0
    saved: list[tuple[Matrix, int]] = []
    found: tuple[Matrix, Any] | None = None
    for operands, operator in operations:
        op = str(operator)
        if op == "q":
            saved.append((ctm, text_mode))
        elif op == "Q":
            if not saved:
                return None
            ctm, text_mode = saved.pop()
        elif op == "cm":
            ctm = _multiply(_matrix(operands), ctm)
        elif op == "Tr":
            text_mode = int(operands[0])
        elif op in _SHOW_TEXT:
            if text_mode != _INVISIBLE_TEXT:
                return None
        elif op == "gs":
            if not _harmless_state(resources.ExtGState[str(operands[0])]):
                return None
        elif op == "Do":
            xobject = resources.XObject[str(operands[0])]
            if found is not None or str(xobject.get("/Subtype")) != "/Image":
                return None
            found = (ctm, xobject)
        elif op not in _NEUTRAL:
            return None  # paths, clips, shadings, inline images: drawn by pdftoppm
    return found


def _plain_image(xobject: Any) -> bool:
    """An opaque 1-bit or 8-bit grey or RGB image whose samples are its pixels."""
    if xobject.get("/ImageMask") or "/SMask" in xobject or "/Mask" in xobject:
        return False
    filters = xobject.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
    if "/JPXDecode" in names:  # the colour space may live in the JPEG 2000 stream
        return False
    components = _components(xobject.get("/ColorSpace"))
    bits = int(xobject.get("/BitsPerComponent", 0))
    if components is None or bits not in (1, 8) or (bits == 1 and components != 1):
        return False
    decode = xobject.get("/Decode")
    return decode is None or [float(v) for v in decode] == [0.0, 1.0] * components


def _components(space: Any) -> int | None:
    if space is None:
        return None
    name = str(space)
    if name in _PLAIN_COLOUR_SPACES:
        return _PLAIN_COLOUR_SPACES[name]
    try:
        family, stream = space[0], space[1]
    except (TypeError, IndexError, KeyError):
        return None
    components = int(stream.get("/N", 0)) if str(family) == "/ICCBased" else 0
    return components if components in (1, 3) else None


def _harmless_state(state: Any) -> bool:
    if not _HARMLESS_STATE.issuperset(state.keys()):
        return False
    if str(state.get("/BM", "/Normal")) not in ("/Normal", "/Compatible"):
        return False
    if str(state.get("/SMask", "/None")) != "/None":
        return False
    return float(state.get("/CA", 1)) == 1.0 and float(state.get("/ca", 1)) == 1.0


def _place_on_page(ctm: Matrix, width: int, height: int, page: Any) -> Placement | None:
    if float(_inherited(page, "/UserUnit", 1)) != 1.0:
        return None
    media = [float(v) for v in _inherited(page, "/MediaBox")]
    crop = _inherited(page, "/CropBox")
    if crop is not None and [float(v) for v in crop] != media:
        return None  # pdftoppm draws the media box; a viewer shows the crop box
    x0, y0 = min(media[0], media[2]), min(media[1], media[3])
    x1, y1 = max(media[0], media[2]), max(media[1], media[3])
    rotate = int(_inherited(page, "/Rotate", 0)) % 360
    if rotate % 90:
        return None

    def drawn(u: float, v: float) -> tuple[float, float]:
        """Image space (unit square) to the drawn page, in points, y downwards."""
        a, b, c, d, e, f = ctm
        x, y = a * u + c * v + e - x0, y1 - (b * u + d * v + f)
        height = y1 - y0
        for turn in range(rotate // 90):  # a quarter turn clockwise of the page
            x, y = height - y, x
            height = (x1 - x0) if turn % 2 == 0 else (y1 - y0)
        return x, y

    top_left, top_right, bottom_left = drawn(0, 1), drawn(1, 1), drawn(0, 0)
    across = (top_right[0] - top_left[0], top_right[1] - top_left[1])
    down = (bottom_left[0] - top_left[0], bottom_left[1] - top_left[1])
    transpose = abs(across[0]) < abs(across[1])
    if transpose:  # the image's rows run down the page
        across, down = down, across
        width, height = height, width
    if abs(across[1]) > 1e-3 * abs(across[0]) or abs(down[0]) > 1e-3 * abs(down[1]):
        return None  # drawn at an angle or sheared
    page_w, page_h = (y1 - y0, x1 - x0) if rotate in (90, 270) else (x1 - x0, y1 - y0)
    corners = (top_left, top_right, bottom_left, drawn(1, 0))
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    dpi = (width * 72.0 / abs(across[0]), height * 72.0 / abs(down[1]))
    edge = EDGE_TOLERANCE_PX * 72.0 / min(dpi)
    bounds = (min(xs), min(ys), max(xs) - page_w, max(ys) - page_h)
    if any(abs(v) > edge for v in bounds) or not all(math.isfinite(v) for v in dpi):
        return None  # the page shows paper around the image, or crops it
    return Placement(
        transpose=transpose,
        flip_x=across[0] < 0,
        flip_y=down[1] < 0,
        dpi=dpi,
    )


def _matrix(operands: Any) -> Matrix:
    a, b, c, d, e, f = (float(v) for v in operands)
    return (a, b, c, d, e, f)


def _multiply(m: Matrix, n: Matrix) -> Matrix:
    """``m`` applied first, then ``n`` (PDF's row-vector convention: ``cm`` is m x CTM)."""
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    )


def _inherited(page: Any, key: str, default: Any = None) -> Any:
    """A page attribute, looked up through its parent page-tree nodes as PDF allows."""
    node, depth = page, 0
    while node is not None and depth < 64:
        if key in node:
            return node[key]
        node, depth = node.get("/Parent"), depth + 1
    return default
