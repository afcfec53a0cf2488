"""``preprocess.resample``: the GPU backend's resize, checked on NumPy against OpenCV's."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hotocr.preprocess import resample

SAMPLING = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


def page() -> np.ndarray:
    """Text-like detail: sharp strokes on a smooth gradient, so every weight matters."""
    rng = np.random.default_rng(7)
    image = np.linspace(120, 250, 330 * 255).reshape(330, 255)
    image[rng.random(image.shape) < 0.08] = 10
    return cv2.GaussianBlur(image.astype(np.uint8), (3, 3), 0.8)


@pytest.mark.parametrize(
    ("height", "width", "sampling"),
    [
        (495, 383, "cubic"),  # fit_text's 1.5x
        (660, 510, "cubic"),
        (165, 127, "area"),  # a whole factor, as downscale and deskew's copy
        (110, 85, "area"),
        (57, 43, "area"),  # remove_background's ~50-DPI copy: a fractional factor
        (400, 300, "linear"),
        (100, 90, "linear"),
    ],
)
def test_matches_opencv_within_a_grey_level(height: int, width: int, sampling: str) -> None:
    image = page()
    expected = cv2.resize(image, (width, height), interpolation=SAMPLING[sampling])
    got = resample.resize(np, image, height, width, sampling)  # type: ignore[arg-type]
    assert got.shape == expected.shape and got.dtype == np.uint8
    diff = np.abs(got.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.2


def test_float_images_stay_float_and_exact() -> None:
    image = page().astype(np.float32)
    expected = cv2.resize(image, (600, 700), interpolation=cv2.INTER_LINEAR)
    got = resample.resize(np, image, 700, 600, "linear")
    assert got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-3


def test_area_weights_sum_to_one_and_cover_the_row() -> None:
    for size, out in ((3300, 550), (3300, 66), (1001, 333), (10, 3)):
        index, weight = resample._taps(size, out, "area")
        assert np.allclose(weight.sum(axis=1), 1.0, atol=1e-5)
        assert index.min() >= 0 and index.max() == size - 1


def test_same_size_is_a_copy_and_nonsense_is_refused() -> None:
    image = page()
    assert np.array_equal(resample.resize(np, image, 330, 255, "cubic"), image)
    with pytest.raises(ValueError, match="0x10"):
        resample.resize(np, image, 0, 10, "linear")
