"""Preprocessing steps, written once against a ``Backend`` (NumPy/OpenCV or CuPy).

Each step takes a 2-D uint8 page on the backend's device and returns one. The expensive
estimates (background, skew) work on downsampled copies; only the final divide, rotate and
lookup touch every full-resolution pixel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hotocr import geometry
from hotocr.preprocess.backend import Array, Backend

#: Resolution assumed when a page says nothing about its own.
ASSUMED_DPI = 300
#: Pages scanned below this are enlarged to ``UPSCALE_TO_DPI`` by the upscale step.
UPSCALE_BELOW_DPI = 250
UPSCALE_TO_DPI = 300
DOWNSCALE_ABOVE_DPI = 400
DOWNSCALE_TO_DPI = 300

#: Deskew searches this range of angles (degrees) ...
DESKEW_RANGE = 15.0
#: ... on a copy shrunk by a whole factor to about this many pixels on its long side ...
DESKEW_WORK_SIDE = 1600
#: ... using at most this many ink pixels (fewer for the coarse search over 61 angles) ...
DESKEW_MAX_POINTS = 120_000
DESKEW_COARSE_POINTS = 30_000
#: ... and applies the estimate only when the best angle's profile stands out this much.
DESKEW_MIN_CONFIDENCE = 0.15
#: Rotations smaller than this are not worth the interpolation blur.
DESKEW_MIN_ANGLE = 0.05


@dataclass
class PageState:
    """What the steps know about the page besides its pixels."""

    dpi: int | None
    skew_degrees: float | None = None
    skew_confidence: float | None = None
    skew_applied: bool = False
    #: ``fit_text``'s factor, from the page's plan (1.0: the page keeps its size).
    fit_scale: float = 1.0
    #: Grey level of faint ink that ``contrast`` stretches to black (None: the usual stretch).
    faint_ink: int | None = None
    #: From the current page's pixels back to the page the steps started from.
    to_input: geometry.Affine = geometry.IDENTITY

    def resized(self, before: tuple[int, ...], after: tuple[int, ...]) -> None:
        """A step scaled the page from ``before`` to ``after`` (height, width)."""
        step = geometry.scaling(before[1] / after[1], before[0] / after[0])
        self.to_input = geometry.compose(self.to_input, step)

    @property
    def effective_dpi(self) -> int:
        return self.dpi or ASSUMED_DPI


Step = Callable[[Backend, Array, PageState], Array]


def grayscale(backend: Backend, image: Array, state: PageState) -> Array:
    """Pages are made greyscale before any step runs; this step exists to be named."""
    return image


def upscale(backend: Backend, image: Array, state: PageState) -> Array:
    """Enlarge pages scanned below 250 DPI: Tesseract misreads small glyphs."""
    if state.dpi is None or state.dpi >= UPSCALE_BELOW_DPI:
        return image
    factor = UPSCALE_TO_DPI / state.dpi
    h, w = image.shape
    state.dpi = UPSCALE_TO_DPI
    return _resized(
        state, image, backend.resize(image, round(h * factor), round(w * factor), smooth=True)
    )


def downscale(backend: Backend, image: Array, state: PageState) -> Array:
    """Shrink pages scanned above 400 DPI to 300 DPI: Tesseract's models read 300-DPI text
    as well (the 600-DPI eval pages: same or lower error), in 30-40% less time, and every
    later step has a quarter of the pixels to touch."""
    if state.dpi is None or state.dpi <= DOWNSCALE_ABOVE_DPI:
        return image
    factor = state.dpi / DOWNSCALE_TO_DPI
    h, w = image.shape
    state.dpi = DOWNSCALE_TO_DPI
    if factor.is_integer():
        return _shrunk(state, backend, image, int(factor))
    return _resized(
        state, image, backend.resize(image, round(h / factor), round(w / factor), smooth=True)
    )


#: ``fit_text`` enlarges a page to at most this many pixels (a letter page at 600 DPI).
FIT_MAX_PIXELS = 36_000_000


def fit_text(backend: Backend, image: Array, state: PageState) -> Array:
    """Bring the text to the height Tesseract reads best (the plan's factor, from the page's
    measured glyph height): small type of 100-150 DPI scans and photos is enlarged, the huge
    type of a receipt scanned at 600 DPI is shrunk by a whole factor."""
    h, w = image.shape
    factor = min(state.fit_scale, math.sqrt(FIT_MAX_PIXELS / (h * w)))
    if 0.99 <= factor <= 1.01:
        return image
    if state.dpi is not None:
        state.dpi = round(state.dpi * factor)
    shrink = 1.0 / factor
    if shrink.is_integer() and shrink > 1:
        return _shrunk(state, backend, image, int(shrink))
    return _resized(
        state, image, backend.resize(image, round(h * factor), round(w * factor), smooth=True)
    )


def remove_background(backend: Backend, image: Array, state: PageState) -> Array:
    """Divide out the paper: uneven light, a book-fold shadow, yellowing, stains, show-through.

    The background is estimated on a ~50 DPI copy with a grey closing wider than any stroke
    (about 3.5 mm), smoothed, enlarged back, and divided out, so paper becomes white and ink
    keeps its contrast relative to the paper around it.
    """
    xp = backend.xp
    h, w = image.shape
    factor = max(1.0, state.effective_dpi / 50.0)
    sh, sw = max(8, round(h / factor)), max(8, round(w / factor))
    small = backend.resize(image, sh, sw, smooth=True)
    work_dpi = state.effective_dpi / factor
    size = _odd(3.5 / 25.4 * work_dpi)
    paper = backend.grey_closing(small, size)
    paper = backend.blur(paper, size)
    # Enlarged as float32, the smooth background stays free of 8-bit banding.
    return backend.divide(image, xp.maximum(paper, xp.float32(24.0)), 255.0)


def contrast(backend: Backend, image: Array, state: PageState) -> Array:
    """Stretch faint print: the darkest 0.5% become black, the lightest 10% white."""
    xp = backend.xp
    cdf = xp.cumsum(backend.histogram(image)) / float(image.size)
    lo = int(xp.searchsorted(cdf, 0.005))
    hi = int(xp.searchsorted(cdf, 0.90))
    if state.faint_ink is not None:
        # Faint print (a fading thermal receipt): a few dark specks would otherwise set the
        # black point and leave the print as grey as it was.
        lo = max(lo, min(state.faint_ink, hi - 16))
    if hi - lo < 16 or (lo <= 8 and hi >= 247):
        return image  # blank page, or the full range is already used
    lut = xp.clip((xp.arange(256, dtype=xp.float32) - lo) * (255.0 / (hi - lo)), 0, 255)
    return backend.lookup(image, lut.astype(xp.uint8))


def despeckle(backend: Backend, image: Array, state: PageState) -> Array:
    """A 3x3 median: removes isolated dust pixels, keeps strokes."""
    return backend.median3(image)


def binarize(backend: Backend, image: Array, state: PageState) -> Array:
    """Otsu's global threshold, computed from the 256-bin histogram."""
    xp = backend.xp
    hist = backend.histogram(image).astype(xp.float64)
    levels = xp.arange(256, dtype=xp.float64)
    weight_bg = xp.cumsum(hist)
    weight_fg = weight_bg[-1] - weight_bg
    sum_bg = xp.cumsum(hist * levels)
    mean_bg = sum_bg / xp.maximum(weight_bg, 1)
    mean_fg = (sum_bg[-1] - sum_bg) / xp.maximum(weight_fg, 1)
    between = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
    threshold = int(xp.argmax(between))
    return backend.lookup(image, xp.where(levels > threshold, 255, 0).astype(xp.uint8))


#: Sauvola's parameters: the window (about 1/10 inch: a few character heights), the weight
#: of the local contrast, and the dynamic range of the standard deviation (8-bit images).
SAUVOLA_WINDOW_INCH = 0.1
SAUVOLA_K = 0.2
SAUVOLA_R = 128.0


def binarize_sauvola(backend: Backend, image: Array, state: PageState) -> Array:
    """Sauvola's local threshold, mean * (1 + k * (std / R - 1)) over a small window: faint
    print next to dark areas (a shadow, a stamp) survives, where one global threshold turns
    the dark area black or the faint print white. Two box filters, on either backend."""
    xp = backend.xp
    window = max(15, round((state.dpi or 300) * SAUVOLA_WINDOW_INCH)) | 1
    values = image.astype(xp.float32)
    mean = backend.blur(values, window)
    mean_sq = backend.blur(values * values, window)
    std = xp.sqrt(xp.maximum(mean_sq - mean * mean, 0))
    threshold = mean * (1 + SAUVOLA_K * (std / SAUVOLA_R - 1))
    return xp.where(values > threshold, xp.uint8(255), xp.uint8(0))


def deskew(backend: Backend, image: Array, state: PageState) -> Array:
    """Estimate the skew from text lines and rotate it away; unsure estimates are not applied."""
    estimate = estimate_skew(backend, image)
    if estimate is None:
        return image
    angle, confidence = estimate
    state.skew_degrees, state.skew_confidence = angle, confidence
    if confidence < DESKEW_MIN_CONFIDENCE or abs(angle) < DESKEW_MIN_ANGLE:
        return image
    state.skew_applied = True
    h, w = image.shape
    matrix, _, _ = geometry.rotation(h, w, angle)
    state.to_input = geometry.compose(state.to_input, geometry.invert(matrix))
    return backend.rotate(image, angle, fill=_paper_level(backend, image))


def estimate_skew(backend: Backend, image: Array) -> tuple[float, float] | None:
    """Skew in degrees (positive: lines fall to the right) and a confidence, or None.

    Projection profiles of the ink pixels for every candidate angle are built in one batched
    scatter-add (``bincount`` over angle-major bin indices), coarse to fine. The sharpest
    profile (largest sum of squares) wins; its margin over the median angle is the confidence.
    """
    xp = backend.xp
    small = shrink_to(backend, image, DESKEW_WORK_SIDE)
    sh, sw = small.shape
    # Ink is what is clearly darker than the local paper, so shadows do not count as ink.
    paper = backend.grey_dilate(small, _odd(max(sh, sw) / 40))
    ink = small.astype(xp.float32) < paper.astype(xp.float32) * xp.float32(0.75)
    ys, xs = xp.nonzero(ink)
    if int(ys.size) < 500:
        return None
    # Integer pixel coordinates line up whole rows at angles whose slope is 1/n (1.4 degrees
    # is 1/41), which biased the estimate by up to 0.5 degree. Sub-pixel jitter (seeded, so
    # runs repeat exactly) and a random subset instead of a raster-order stride remove that.
    rng = xp.random.RandomState(12345)
    keep = rng.permutation(int(ys.size))[:DESKEW_MAX_POINTS]  # shuffled: any prefix is a sample
    ys, xs = ys[keep], xs[keep]
    ys = ys.astype(xp.float32) + rng.uniform(-0.5, 0.5, ys.size).astype(xp.float32) - sh / 2.0
    xs = xs.astype(xp.float32) + rng.uniform(-0.5, 0.5, xs.size).astype(xp.float32) - sw / 2.0
    reach = math.ceil(math.hypot(sh, sw) / 2) + 2

    def scores(angles: Array, limit: int = DESKEW_MAX_POINTS) -> Array:
        rad = xp.deg2rad(angles).astype(xp.float32)
        py, px = ys[:limit], xs[:limit]  # already a random subset, so a prefix is one too
        rows = py[None, :] * xp.cos(rad)[:, None] - px[None, :] * xp.sin(rad)[:, None]
        bins = xp.floor(rows + 0.5).astype(xp.int64) + reach
        bins += (xp.arange(angles.size, dtype=xp.int64) * (2 * reach + 1))[:, None]
        hist = xp.bincount(bins.ravel(), minlength=int(angles.size) * (2 * reach + 1))
        hist = hist.reshape(int(angles.size), -1).astype(xp.float64)
        return (hist * hist).sum(axis=1)

    coarse = xp.arange(-DESKEW_RANGE, DESKEW_RANGE + 0.25, 0.5)
    coarse_scores = scores(coarse, DESKEW_COARSE_POINTS)
    best = float(coarse[int(xp.argmax(coarse_scores))])
    median = float(xp.median(coarse_scores))
    confidence = (float(coarse_scores.max()) - median) / max(median, 1.0)
    for half_width, step in ((0.5, 0.05), (0.05, 0.01)):
        fine = xp.arange(best - half_width, best + half_width + step / 2, step)
        best = float(fine[int(xp.argmax(scores(fine)))])
    return round(best, 2) + 0.0, round(confidence, 3)  # + 0.0: no "-0.0" in reports


def shrink_to(backend: Backend, image: Array, long_side: int) -> Array:
    """``image`` shrunk by the whole factor that brings its long side nearest ``long_side``
    (unchanged when that factor is 1): for estimates that need only a small copy."""
    return _shrink(backend, image, shrink_factor(image, long_side))


def shrink_factor(image: Array, long_side: int) -> int:
    """The whole factor that brings ``image``'s long side nearest ``long_side`` (at least 1;
    1 for a wanted side under a pixel, as a tiny image asks for)."""
    return max(1, round(max(int(n) for n in image.shape) / max(long_side, 1)))


def _resized(state: PageState, before: Array, after: Array) -> Array:
    state.resized(before.shape, after.shape)
    return after


def _shrunk(state: PageState, backend: Backend, image: Array, factor: int) -> Array:
    """``_shrink`` on the page itself: its geometry is recorded (a whole factor exactly, the
    few rows and columns left out lie beyond the last pixel)."""
    out = _shrink(backend, image, factor)
    if out.shape[0] * factor <= image.shape[0] and out.shape[1] * factor <= image.shape[1]:
        state.to_input = geometry.compose(state.to_input, geometry.scaling(factor, factor))
    else:
        state.resized(image.shape, out.shape)
    return out


def _shrink(backend: Backend, image: Array, factor: int) -> Array:
    """``image`` made ``factor`` times smaller by area averaging, its last few rows and columns
    left out to make the size a whole multiple: OpenCV's area resize is 20-70x faster at a
    whole factor (1.5 against 30 ms for a letter page halved) than at a fractional one."""
    if factor <= 1:
        return image
    h, w = image.shape
    sh, sw = max(8, h // factor), max(8, w // factor)
    if sh * factor > h or sw * factor > w:  # smaller than 8 pixels: no whole factor
        return backend.resize(image, sh, sw, smooth=True)
    return backend.resize(image[: sh * factor, : sw * factor], sh, sw, smooth=True)


def _paper_level(backend: Backend, image: Array) -> int:
    """The page's paper grey (90th percentile), used to fill corners uncovered by rotation."""
    xp = backend.xp
    cdf = xp.cumsum(backend.histogram(image)) / float(image.size)
    return int(xp.searchsorted(cdf, 0.90))


def _odd(value: float) -> int:
    n = max(3, round(value))
    return n if n % 2 else n + 1


STEPS: dict[str, Step] = {
    "grayscale": grayscale,
    "upscale": upscale,
    "fit_text": fit_text,
    "downscale": downscale,
    "deskew": deskew,
    "remove_background": remove_background,
    "contrast": contrast,
    "despeckle": despeckle,
    "binarize": binarize,
    "binarize_sauvola": binarize_sauvola,
}
