"""Every preprocessing step on pages with known skew and background (CPU; GPU when present)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage
from PIL import Image

from hotocr.preprocess import preprocess, select_backend, to_gray
from hotocr.preprocess.backend import Backend
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.ndimage import NdimageBackend
from hotocr.preprocess.steps import STEPS, estimate_skew
from hotocr.preprocess.survey import survey

from .conftest import (
    CJK_FONT,
    CONTRACT_LINES,
    ENGLISH_LINES,
    degrade,
    eval_path,
    receipt_photo_of,
    render_page,
)

#: Angles stated by the source of ../shared/eval/skew (sbrunner/deskew's tests).
EVAL_SKEW = {1: -1.0, 2: -2.0, 3: -6.0, 4: 7.0, 5: 3.0, 6: -3.0, 7: 3.0, 8: 15.0}


def gpu_backend() -> Backend:
    try:
        return select_backend("gpu").backend
    except Exception as exc:  # noqa: BLE001 - any failure means no usable GPU
        pytest.skip(f"no usable GPU: {exc}")


def numpy_backend() -> Backend:
    """The GPU backend's own code (``NdimageBackend``) on NumPy and SciPy."""
    return NdimageBackend(np, scipy.ndimage, "numpy")


BACKENDS = {"cpu": CpuBackend, "ndimage-numpy": numpy_backend, "gpu": gpu_backend}


@pytest.fixture(params=["cpu", "ndimage-numpy", pytest.param("gpu", marks=pytest.mark.gpu)])
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]()


def text_page() -> np.ndarray:
    lines = ENGLISH_LINES * 4
    return to_gray(render_page(lines, height=3300, size=40))


@pytest.mark.parametrize("angle", [-12.0, -3.3, -0.7, 0.4, 2.0, 7.5, 14.0])
def test_deskew_finds_synthetic_rotations_within_a_tenth_of_a_degree(
    backend: Backend, angle: float
) -> None:
    page = text_page()
    rotated = CpuBackend().rotate(page, angle, fill=255)  # counter-clockwise by `angle`
    found = estimate_skew(backend, backend.to_device(rotated))
    assert found is not None
    skew, confidence = found
    # Counter-clockwise rotation makes lines rise to the right: a negative skew.
    assert abs(skew + angle) <= 0.1
    assert confidence > 0.15


def test_deskew_on_the_eval_scans() -> None:
    """The stated angles are integers from a 1-degree search; real residual skew is smaller.

    On the pages of running text the estimate is checked independently too: after
    correcting by it, the text lines of the left and right halves line up.
    """
    backend = CpuBackend()
    errors = []
    for number, stated in EVAL_SKEW.items():
        image = to_gray(Image.open(eval_path("skew", f"deskew-{number}.png")))
        found = estimate_skew(backend, image)
        assert found is not None
        errors.append(abs(found[0] - stated))
        assert abs(found[0] - stated) <= 0.5, (number, found, stated)
        if number in (1, 2, 3, 5, 7):
            assert abs(residual_skew(backend.rotate(image, found[0], 255))) <= 0.1
    assert float(np.mean(errors)) <= 0.3


def residual_skew(image: np.ndarray) -> float:
    """Skew left after correction: shift between row profiles of the left and right thirds."""
    page = 255.0 - image.astype(np.float64)
    h, w = page.shape
    left = page[:, int(w * 0.1) : int(w * 0.4)].sum(axis=1)
    right = page[:, int(w * 0.6) : int(w * 0.9)].sum(axis=1)
    left -= left.mean()
    right -= right.mean()
    m = max(5, h // 20)
    shifts = np.arange(-80, 81)
    scores = [float((left[m:-m] * np.roll(right, s)[m:-m]).sum()) for s in shifts]
    return float(np.degrees(np.arctan(shifts[int(np.argmax(scores))] / (w * 0.5))))


def test_deskew_leaves_a_page_without_text_alone(backend: Backend) -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(200, 256, (1200, 900), dtype=np.uint8)
    out = preprocess(backend, noise, dpi=300, steps=("deskew",))
    assert not out.skew_applied
    assert np.array_equal(out.image, noise)


def test_deskew_step_straightens_the_page(backend: Backend) -> None:
    rotated = CpuBackend().rotate(text_page(), 4.0, fill=255)
    out = preprocess(backend, rotated, dpi=300, steps=("deskew",))
    assert out.skew_applied and out.skew_degrees is not None
    assert abs(out.skew_degrees + 4.0) <= 0.1
    again = estimate_skew(CpuBackend(), out.image)
    assert again is not None and abs(again[0]) <= 0.1


def test_remove_background_flattens_light_shadow_and_stains(backend: Backend) -> None:
    clean = render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)
    ink = to_gray(clean) < 128
    scan = to_gray(degrade(clean))
    out = preprocess(backend, scan, dpi=300, steps=("remove_background",)).image
    paper_before, paper_after = scan[~ink], out[~ink]
    # Paper goes from a wide range of greys (light fall-off, fold, stains) to near white.
    assert np.percentile(paper_before, 5) < 90
    assert np.percentile(paper_after, 5) > 200
    assert np.median(paper_after) >= 245
    # Ink stays clearly darker than the paper around it.
    assert np.median(out[ink]) < np.median(paper_after) - 60


def test_contrast_stretches_faint_print(backend: Backend) -> None:
    faint = to_gray(render_page(ENGLISH_LINES, ink=180, paper=235))
    ink = faint < 200
    out = preprocess(backend, faint, dpi=300, steps=("contrast",)).image
    assert np.median(out[ink]) < 40
    assert np.median(out[~ink]) == 255


def test_contrast_keeps_a_blank_page_blank(backend: Backend) -> None:
    blank = np.full((800, 600), 250, np.uint8)
    assert np.array_equal(preprocess(backend, blank, dpi=300, steps=("contrast",)).image, blank)


def test_despeckle_removes_dust_but_not_text(backend: Backend) -> None:
    page = to_gray(render_page(ENGLISH_LINES))
    rng = np.random.default_rng(3)
    dusty = page.copy()
    ys, xs = rng.integers(0, page.shape[0], 3000), rng.integers(0, page.shape[1], 3000)
    dusty[ys, xs] = 0
    out = preprocess(backend, dusty, dpi=300, steps=("despeckle",)).image
    text = page < 128
    isolated = (dusty == 0) & ~text
    assert (out[isolated] > 128).mean() > 0.95  # dust gone
    assert (out[text] < 128).mean() > 0.9  # strokes kept


def test_binarize_gives_two_levels_split_between_ink_and_paper(backend: Backend) -> None:
    page = to_gray(render_page(ENGLISH_LINES, ink=90, paper=200))
    out = preprocess(backend, page, dpi=300, steps=("binarize",)).image
    assert set(np.unique(out).tolist()) == {0, 255}
    # Clear ink is black, clear paper white; only anti-aliased edge pixels fall either way.
    assert (out[page <= 100] == 0).all()
    assert (out[page >= 190] == 255).all()


def test_sauvola_keeps_faint_print_beside_a_shadow_where_otsu_cannot(backend: Backend) -> None:
    """Paper falling from 255 to 70 across the page (a book-fold shadow), print 60 levels
    darker than the paper under it: one global threshold blackens the shadowed half or
    loses the print in the bright one; Sauvola's local threshold keeps both."""
    text = to_gray(render_page(ENGLISH_LINES * 3, height=1400, ink=0))
    h, w = text.shape
    cols = np.flatnonzero((text < 128).any(axis=0))
    left, right = int(cols[0]), int(cols[-1])  # the shadow falls across the printed width
    ramp = np.clip((np.arange(w) - left) / (right - left), 0, 1).astype(np.float32)
    paper = (255 - 185 * ramp)[None, :].repeat(h, axis=0)
    page = np.where(text < 128, paper - 60, paper).clip(0, 255).astype(np.uint8)
    ink, bare = text < 64, text > 250
    local = preprocess(backend, page, dpi=300, steps=("binarize_sauvola",)).image
    otsu = preprocess(backend, page, dpi=300, steps=("binarize",)).image
    assert set(np.unique(local).tolist()) == {0, 255}
    shadow = np.zeros_like(ink)
    shadow[:, left + (right - left) * 3 // 4 :] = True
    for region in (~shadow, shadow):
        assert (local[ink & region] == 0).mean() > 0.9  # print kept everywhere
        assert (local[bare & region] == 255).mean() > 0.97  # paper white everywhere
    # Otsu fails one way or the other: black shadow, or print lost in the light half.
    otsu_paper_in_shadow = (otsu[bare & shadow] == 255).mean()
    otsu_ink_in_light = (otsu[ink & ~shadow] == 0).mean()
    assert min(otsu_paper_in_shadow, otsu_ink_in_light) < 0.5


def test_upscale_only_below_250_dpi(backend: Backend) -> None:
    page = np.full((1100, 850), 255, np.uint8)
    low = preprocess(backend, page, dpi=100, steps=("upscale",))
    assert low.image.shape == (3300, 2550) and low.dpi == 300
    assert preprocess(backend, page, dpi=300, steps=("upscale",)).image.shape == page.shape
    assert preprocess(backend, page, dpi=None, steps=("upscale",)).image.shape == page.shape


def test_downscale_only_above_400_dpi(backend: Backend) -> None:
    page = np.full((6600, 5100), 255, np.uint8)
    high = preprocess(backend, page, dpi=600, steps=("downscale",))
    assert high.image.shape == (3300, 2550) and high.dpi == 300
    for dpi in (400, 300, None):
        assert preprocess(backend, page, dpi=dpi, steps=("downscale",)).image.shape == page.shape


def test_grayscale_is_what_every_page_becomes() -> None:
    colour = Image.new("RGB", (10, 10), (255, 0, 0))
    gray = to_gray(colour)
    assert gray.shape == (10, 10) and gray.dtype == np.uint8
    assert "grayscale" in STEPS


def test_auto_falls_back_to_the_cpu_with_a_reason() -> None:
    choice = select_backend("auto")
    if choice.backend.name == "cpu":
        assert "no usable GPU" in choice.reason


def contract_scan(angle: float) -> np.ndarray:
    scan = to_gray(degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)))
    return CpuBackend().rotate(scan, angle, fill=int(np.median(scan)))


#: Pipelines whose results the backends must share: the default one as the daemon runs it
#: (adaptive, its survey deciding), every step at once, and each resizing step alone.
AGREEING = [
    (("deskew", "remove_background", "contrast"), False, 300),
    (("downscale", "fit_text", "deskew", "remove_background", "contrast"), True, 300),
    (("fit_text", "deskew", "remove_background", "contrast", "despeckle"), False, 150),
    (("upscale", "deskew"), False, 200),
    (("downscale",), False, 450),
    (("binarize_sauvola",), False, 300),
]


@pytest.mark.parametrize("other", ["ndimage-numpy", pytest.param("gpu", marks=pytest.mark.gpu)])
@pytest.mark.parametrize(("steps", "adaptive", "dpi"), AGREEING)
def test_the_backends_agree(other: str, steps: tuple[str, ...], adaptive: bool, dpi: int) -> None:
    """Same recipe, same shape, same skew, nearly the same pixels: the GPU's page is the
    CPU's. (The CuPy case was 1 row apart after deskew before the canvas came from
    ``geometry.rotation`` on both.)"""
    scan = contract_scan(2.5)
    a = preprocess(CpuBackend(), scan, dpi=dpi, steps=steps, adaptive=adaptive)
    b = preprocess(BACKENDS[other](), scan, dpi=dpi, steps=steps, adaptive=adaptive)
    assert (a.applied, a.plan.scale, a.dpi) == (b.applied, b.plan.scale, b.dpi)
    assert a.skew_degrees == b.skew_degrees and a.skew_applied == b.skew_applied
    assert a.image.shape == b.image.shape
    assert np.allclose(a.to_input, b.to_input)
    diff = np.abs(a.image.astype(int) - b.image.astype(int))
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 16


def survey_pages() -> dict[str, np.ndarray]:
    fax = (
        render_page(ENGLISH_LINES, height=1800)
        .resize((827, 600))
        .point(lambda v: 255 if v > 150 else 0)
    )
    return {
        "stained contract": contract_scan(1.0),
        "photographed receipt": to_gray(receipt_photo_of()),
        "100-DPI fax": to_gray(fax),
        "blank": np.full((1100, 850), 250, np.uint8),
    }


@pytest.mark.parametrize("other", ["ndimage-numpy", pytest.param("gpu", marks=pytest.mark.gpu)])
def test_the_survey_is_the_same_on_every_backend(other: str) -> None:
    """The survey decides a page's plan (and which recognizer reads it first): it must
    measure the same on the GPU as on the CPU, to the pixel and the grey level."""
    backend = BACKENDS[other]()
    for name, page in survey_pages().items():
        for dpi in (300, None):
            expected = survey(page, dpi)
            assert survey(backend.to_device(page), dpi, backend) == expected, name


@pytest.mark.parametrize("other", ["ndimage-numpy", pytest.param("gpu", marks=pytest.mark.gpu)])
@pytest.mark.parametrize("angle", [-7.3, 0.8, 2.5, 90.0, 13.0])
def test_rotation_canvas_is_the_same_on_every_backend(other: str, angle: float) -> None:
    page = np.full((1717, 2611), 255, np.uint8)
    page[400:1300, 300:2300] = 0
    backend = BACKENDS[other]()
    a = CpuBackend().rotate(page, angle, fill=200)
    b = backend.to_host(backend.rotate(backend.to_device(page), angle, fill=200))
    assert a.shape == b.shape
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 0.5
