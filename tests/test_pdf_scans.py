"""Scanned PDF pages taken out as stored: the same page as pdftoppm draws, or no shortcut.

Every comparison is against poppler's own rendering of the same page, so a wrong turn or
flip shows as a different picture, not as a number someone wrote down.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image

from hotocr import pages
from hotocr._exec import poppler
from hotocr.pdf_scans import placement, scanned_page
from tests.conftest import eval_path

DPI = 100
#: Page of 3 x 4 inches: the stored image is 300 x 400 pixels at 100 DPI.
PAGE = (216.0, 288.0)


def blocks(width: int, height: int, *, seed: int = 3) -> Image.Image:
    """An asymmetric picture (black blocks on white): any wrong turn or flip changes it."""
    rng = np.random.default_rng(seed)
    pixels = np.full((height, width), 255, np.uint8)
    for _ in range(25):
        y, x = int(rng.integers(0, height - 40)), int(rng.integers(0, width - 40))
        pixels[y : y + int(rng.integers(12, 40)), x : x + int(rng.integers(12, 40))] = 0
    pixels[5:25, 5:60] = 0  # a mark near the stored image's top-left corner
    return Image.fromarray(pixels, mode="L")


def image_stream(
    pdf: pikepdf.Pdf, image: Image.Image, *, jpeg: bool = False, **extra: object
) -> pikepdf.Stream:
    if jpeg:
        data = io.BytesIO()
        image.save(data, format="JPEG", quality=90)
        fields: dict[str, object] = {"/Filter": pikepdf.Name.DCTDecode}
        raw = data.getvalue()
    else:
        raw = zlib.compress(image.tobytes())
        fields = {"/Filter": pikepdf.Name.FlateDecode}
    space = pikepdf.Name.DeviceRGB if image.mode == "RGB" else pikepdf.Name.DeviceGray
    bits = 1 if image.mode == "1" else 8
    stream = pikepdf.Stream(pdf, raw)
    stream.update(
        {
            "/Type": pikepdf.Name.XObject,
            "/Subtype": pikepdf.Name.Image,
            "/Width": image.width,
            "/Height": image.height,
            "/ColorSpace": space,
            "/BitsPerComponent": bits,
            **fields,
            **extra,
        }
    )
    return stream


def write_pdf(
    path: Path,
    content: bytes,
    images: dict[str, Image.Image] | None = None,
    *,
    page: tuple[float, float] = PAGE,
    rotate: int = 0,
    jpeg: bool = False,
    image_fields: dict[str, object] | None = None,
    page_fields: dict[str, object] | None = None,
) -> Path:
    pdf = pikepdf.new()
    xobjects = {
        f"/{name}": image_stream(pdf, image, jpeg=jpeg, **(image_fields or {}))
        for name, image in (images or {}).items()
    }
    resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(xobjects),
        Font=pikepdf.Dictionary(
            F1=pikepdf.Dictionary(
                Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
            )
        ),
    )
    pdf.add_blank_page(page_size=page)
    pdf.pages[0].obj.Resources = resources
    pdf.pages[0].obj.Contents = pdf.make_stream(content)
    if rotate:
        pdf.pages[0].obj.Rotate = rotate
    for key, value in (page_fields or {}).items():
        pdf.pages[0].obj[key] = value
    pdf.save(path)
    return path


def covering(transposed: bool, flip_u: bool, flip_v: bool) -> tuple[bytes, tuple[int, int]]:
    """A ``cm`` that draws the image over the whole page, and the stored image's size."""
    w, h = PAGE
    if transposed:  # the image's width runs up or down the page
        a, b, c, d = 0.0, (-h if flip_u else h), (-w if flip_v else w), 0.0
        size = (round(h * DPI / 72), round(w * DPI / 72))
    else:
        a, b, c, d = (-w if flip_u else w), 0.0, 0.0, (-h if flip_v else h)
        size = (round(w * DPI / 72), round(h * DPI / 72))
    e, f = (w if min(a, c) < 0 else 0.0), (h if min(b, d) < 0 else 0.0)
    return f"q {a:g} {b:g} {c:g} {d:g} {e:g} {f:g} cm /Im0 Do Q".encode(), size


def assert_same_picture(shortcut: Image.Image, drawn: Image.Image) -> None:
    """Same size, and the same ink: poppler smooths edges, so compare at 1/4 the size."""
    assert shortcut.size == drawn.size
    a = np.asarray(shortcut.convert("L").reduce(4), dtype=np.float32)
    b = np.asarray(drawn.convert("L").reduce(4), dtype=np.float32)
    assert float(np.abs(a - b).mean()) < 6.0


ORIENTATIONS = [(t, fu, fv) for t in (False, True) for fu in (False, True) for fv in (False, True)]


@pytest.mark.parametrize("rotate", [0, 90, 270])
@pytest.mark.parametrize(("transposed", "flip_u", "flip_v"), ORIENTATIONS)
def test_every_turn_and_flip_gives_the_page_poppler_draws(
    tmp_path: Path, transposed: bool, flip_u: bool, flip_v: bool, rotate: int
) -> None:
    content, size = covering(transposed, flip_u, flip_v)
    pdf = write_pdf(tmp_path / "scan.pdf", content, {"Im0": blocks(*size)}, rotate=rotate)
    shortcut = scanned_page(pdf, 1, dpi=DPI, timeout=60)
    assert shortcut is not None
    assert_same_picture(shortcut, poppler.render_page(pdf, 1, dpi=DPI, timeout=60))


@pytest.mark.parametrize(
    ("mode", "jpeg"), [("1", False), ("RGB", False), ("RGB", True), ("L", True)]
)
def test_bilevel_colour_and_jpeg_images_come_out_grey(
    tmp_path: Path, mode: str, jpeg: bool
) -> None:
    content, size = covering(False, False, False)
    picture = blocks(*size).convert(mode)
    pdf = write_pdf(tmp_path / "scan.pdf", content, {"Im0": picture}, jpeg=jpeg)
    loaded = pages.load_page(pdf, pages.Kind.PDF, 1, dpi=DPI, timeout=60)
    assert loaded.image.mode == "L"
    assert loaded.dpi == DPI
    assert_same_picture(loaded.image, poppler.render_page(pdf, 1, dpi=DPI, timeout=60))


def test_an_invisible_ocr_text_layer_does_not_stop_the_shortcut(tmp_path: Path) -> None:
    content, size = covering(False, False, False)
    text = b" BT 3 Tr /F1 12 Tf 10 10 Td (hidden words) Tj ET"
    pdf = write_pdf(tmp_path / "ocred.pdf", content + text, {"Im0": blocks(*size)})
    assert placement(pdf, 1) is not None


@pytest.mark.parametrize(
    ("name", "content", "fields", "page_fields"),
    [
        ("visible text", b" BT /F1 12 Tf 10 10 Td (words) Tj ET", {}, {}),
        ("a drawn box", b" 0 0 20 20 re f", {}, {}),
        ("a clip", b"", {}, {}),
        ("a second image", b" q 10 0 0 10 0 0 cm /Im1 Do Q", {}, {}),
        ("an inverting decode array", b"", {"/Decode": [1, 0]}, {}),
        ("a stencil mask", b"", {"/ImageMask": True}, {}),
        ("a smaller crop box", b"", {}, {"/CropBox": [0, 0, 100, 100]}),
    ],
)
def test_pages_with_anything_else_on_them_are_drawn(
    tmp_path: Path,
    name: str,
    content: bytes,
    fields: dict[str, object],
    page_fields: dict[str, object],
) -> None:
    drawing, size = covering(False, False, False)
    if name == "a clip":
        drawing = b"0 0 100 100 re W n " + drawing
    images = {"Im0": blocks(*size), "Im1": blocks(80, 80)}
    path = write_pdf(
        tmp_path / "page.pdf",
        drawing + content,
        images,
        image_fields=fields,
        page_fields=page_fields,
    )
    assert placement(path, 1) is None, name


def test_a_soft_masked_image_is_drawn(tmp_path: Path) -> None:
    content, size = covering(False, False, False)
    path = write_pdf(tmp_path / "masked.pdf", content, {"Im0": blocks(*size)})
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        image = pdf.pages[0].obj.Resources.XObject.Im0
        image.SMask = image_stream(pdf, blocks(*size, seed=9))
        pdf.save(path)
    assert placement(path, 1) is None


def test_a_page_with_megabytes_of_content_is_not_parsed(tmp_path: Path) -> None:
    """Harmless operators, but far more of them than a scan has: drawn, not parsed."""
    content, size = covering(False, False, False)
    pdf = write_pdf(tmp_path / "long.pdf", b"q Q " * 300_000 + content, {"Im0": blocks(*size)})
    assert placement(pdf, 1) is None
    shorter = write_pdf(tmp_path / "short.pdf", b"q Q " * 1000 + content, {"Im0": blocks(*size)})
    assert placement(shorter, 1) is not None


def test_an_image_that_does_not_cover_the_page_is_drawn(tmp_path: Path) -> None:
    w, h = PAGE
    content = f"q {w / 2:g} 0 0 {h / 2:g} 36 36 cm /Im0 Do Q".encode()
    pdf = write_pdf(tmp_path / "small.pdf", content, {"Im0": blocks(150, 200)})
    assert placement(pdf, 1) is None


def test_another_resolution_is_drawn_at_the_asked_one(tmp_path: Path) -> None:
    content, size = covering(False, False, False)
    pdf = write_pdf(tmp_path / "scan.pdf", content, {"Im0": blocks(*size)})
    assert scanned_page(pdf, 1, dpi=DPI * 2, timeout=60) is None
    loaded = pages.load_page(pdf, pages.Kind.PDF, 1, dpi=DPI * 2, timeout=60)
    assert loaded.image.size == (size[0] * 2, size[1] * 2)


def test_when_pdfimages_fails_the_page_is_drawn(tmp_path: Path, monkeypatch) -> None:
    content, size = covering(False, False, False)
    pdf = write_pdf(tmp_path / "scan.pdf", content, {"Im0": blocks(*size)})
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # no pdfimages (nor pdftoppm)
    assert scanned_page(pdf, 1, dpi=DPI, timeout=60) is None


def test_a_file_pikepdf_cannot_read_is_left_to_pdftoppm(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    assert placement(broken, 1) is None


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_real_scans_drawn_turned_come_out_as_poppler_draws_them(number: int) -> None:
    """The cardinal PDF draws one JBIG2 scan at 0, 90, 180 and 270 degrees."""
    path = eval_path("pages", "ocrmypdf_cardinal.pdf")
    shortcut = scanned_page(path, number, dpi=300, timeout=60)
    assert shortcut is not None
    assert_same_picture(shortcut, poppler.render_page(path, number, dpi=300, timeout=60))


def test_a_scan_drawn_at_an_angle_is_drawn_by_poppler() -> None:
    assert placement(eval_path("pages", "ocrmypdf_skew.pdf"), 1) is None
