from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hotocr import pages
from hotocr.errors import (
    CorruptInput,
    EncryptedInput,
    NotReady,
    TooLarge,
    Truncated,
    UnsupportedFormat,
)

from .conftest import ENGLISH_LINES, eval_path, render_page


def make_pdf(path: Path, n: int = 2) -> Path:
    images = [render_page(ENGLISH_LINES[:2]).convert("RGB") for _ in range(n)]
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:], resolution=300)
    return path


def test_format_comes_from_content_not_name(tmp_path: Path) -> None:
    disguised = tmp_path / "scan.dat"
    make_pdf(disguised, 1)
    assert pages.sniff(disguised) is pages.Kind.PDF
    png = tmp_path / "really-a.pdf"
    render_page(("x",)).save(png, format="PNG")
    assert pages.sniff(png) is pages.Kind.PNG


def test_unsupported_and_empty_files(tmp_path: Path) -> None:
    doc = tmp_path / "letter.docx"
    doc.write_bytes(b"PK\x03\x04 not a scan")
    with pytest.raises(UnsupportedFormat, match="not a PDF, TIFF, PNG or JPEG"):
        pages.inspect(doc)
    empty = tmp_path / "placeholder.pdf"
    empty.touch()
    with pytest.raises(NotReady, match="empty"):
        pages.inspect(empty)


@pytest.mark.parametrize("fmt", ["PDF", "PNG", "JPEG"])
def test_a_file_cut_short_is_not_ready_or_truncated(tmp_path: Path, fmt: str) -> None:
    whole = tmp_path / f"whole.{fmt.lower()}"
    if fmt == "PDF":
        make_pdf(whole, 1)
    else:
        render_page(ENGLISH_LINES).save(whole, format=fmt)
    data = whole.read_bytes()
    half = tmp_path / f"half.{fmt.lower()}"
    half.write_bytes(data[: len(data) // 2])
    pages.inspect(whole)
    # A PDF poppler cannot read without its %%EOF is cut short; an image may be still coming.
    with pytest.raises(Truncated if fmt == "PDF" else NotReady) as caught:
        pages.inspect(half)
    if fmt == "PDF":  # poppler's reason, once, on one line, and nothing about our arguments
        message = str(caught.value)
        assert "ends without %%EOF" in message and "\n" not in message
        assert "Command Line Error" not in message


def test_a_tiff_that_does_not_decode_is_not_ready_yet(tmp_path: Path) -> None:
    whole = eval_path("pages", "tess_unlv_2page_multipage.tif").read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    with pytest.raises(NotReady, match=r"TIFF (cannot be decoded|ends before page)"):
        pages.inspect(cut)


@pytest.mark.parametrize(
    ("compression", "big"),
    [("raw", False), ("tiff_lzw", False), ("group4", False), ("raw", True)],
    ids=["raw", "lzw", "g4", "bigtiff"],
)
def test_a_tiff_written_part_way_is_never_taken_for_whole(
    tmp_path: Path, compression: str, big: bool
) -> None:
    """TIFF has no end marker, and Pillow counts the pages of a TIFF cut short after a page
    (or before the last page's data) without complaint; its directories say where the
    parts lie. A slow scanner's TIFF, cut anywhere, is not ready."""
    frames = [render_page((line,), height=260, width=1200) for line in ENGLISH_LINES[:3]]
    if compression == "group4":
        frames = [f.convert("1") for f in frames]
    whole = tmp_path / "whole.tif"
    frames[0].save(
        whole, save_all=True, append_images=frames[1:], compression=compression, big_tiff=big
    )
    data = whole.read_bytes()
    assert pages.check_ready(whole) is pages.Kind.TIFF and pages.inspect(whole).pages == 3
    part = tmp_path / "part.tif"
    for cut in range(16, len(data), max(1, len(data) // 97)):
        part.write_bytes(data[:cut])
        with pytest.raises((NotReady, UnsupportedFormat, CorruptInput)):
            pages.check_ready(part)
        with pytest.raises((NotReady, UnsupportedFormat, CorruptInput)):
            pages.inspect(part)


def test_a_bigtiff_is_read_like_a_tiff(tmp_path: Path) -> None:
    path = tmp_path / "big.tif"
    frames = [
        render_page(ENGLISH_LINES[:1], height=300),
        render_page(ENGLISH_LINES[1:2], height=300),
    ]
    frames[0].save(path, save_all=True, append_images=frames[1:], big_tiff=True)
    assert path.read_bytes()[:4] == b"II+\x00"
    assert pages.sniff(path) is pages.Kind.TIFF
    assert pages.inspect(path).pages == 2
    page = pages.load_page(path, pages.Kind.TIFF, 2, dpi=300, timeout=60)
    assert page.image.size == (2480, 300)


def test_page_counts(tmp_path: Path) -> None:
    assert pages.inspect(make_pdf(tmp_path / "two.pdf", 2)).pages == 2
    tif = eval_path("pages", "tess_unlv_2page_multipage.tif")
    info = pages.inspect(tif)
    assert (info.kind, info.pages, info.bytes) == (pages.Kind.TIFF, 2, tif.stat().st_size)
    assert len(info.sha256) == 64


def test_encrypted_pdf_is_refused_clearly(tmp_path: Path) -> None:
    if not shutil.which("qpdf"):
        pytest.skip("qpdf not installed")
    plain = make_pdf(tmp_path / "plain.pdf", 1)
    locked = tmp_path / "locked.pdf"
    subprocess.run(
        ["qpdf", "--encrypt", "secret", "secret", "256", "--", str(plain), str(locked)],
        check=True,
    )
    with pytest.raises(EncryptedInput, match="encrypted"):
        pages.inspect(locked)


def test_corrupt_pdf_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj garbage\ntrailer\n%%EOF\n")
    with pytest.raises(CorruptInput):
        pages.inspect(broken)


def test_decompression_bomb_is_too_large_not_a_warning(tmp_path: Path) -> None:
    # 1.5x Pillow's limit: Pillow alone would only warn and go on decoding.
    side = int((pages.MAX_IMAGE_PIXELS * 1.5) ** 0.5)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (side, side), 1).save(bomb, optimize=True)
    with pytest.raises(TooLarge, match="too large"):
        pages.inspect(bomb)


def test_absurd_pdf_page_size_is_refused_before_rendering(tmp_path: Path) -> None:
    pdf = tmp_path / "huge.pdf"
    make_pdf(pdf, 1)
    data = pdf.read_bytes()
    # Rewrite the MediaBox to 14,400 inches square (pdftoppm would make a 1x1 image).
    data = re.sub(rb"/MediaBox \[[^\]]*\]", b"/MediaBox [0 0 1036800 1036800]", data)
    pdf.write_bytes(data)
    with pytest.raises(TooLarge, match="inches"):
        pages.inspect(pdf)


def test_a_long_pdf_page_too_large_to_draw_is_refused_before_drawing(tmp_path: Path) -> None:
    """A 117 x 18 inch page (a plotter roll) is under the inch limit, but at 300 DPI it would
    be 190 megapixels, past Pillow's bomb limit: too_large at inspection, not an internal
    error while drawing. At 150 DPI it fits."""
    pdf = tmp_path / "banner.pdf"
    make_pdf(pdf, 1)
    data = re.sub(rb"/MediaBox \[[^\]]*\]", b"/MediaBox [0 0 8424 1296]", pdf.read_bytes())
    pdf.write_bytes(data)
    with pytest.raises(TooLarge, match="megapixels at 300 DPI") as info:
        pages.inspect(pdf, dpi=300)
    assert info.value.reason == "too_large"
    assert pages.inspect(pdf, dpi=150).pages == 1


def test_page_cap(tmp_path: Path) -> None:
    with pytest.raises(TooLarge, match="at most 1"):
        pages.inspect(make_pdf(tmp_path / "two.pdf", 2), max_pages=1)


def test_load_page_renders_pdf_pages_in_grey_at_the_asked_dpi(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "doc.pdf", 2)
    page = pages.load_page(pdf, pages.Kind.PDF, 2, dpi=150, timeout=60)
    assert page.dpi == 150 and page.image.mode == "L"
    assert abs(page.image.width - 2480 // 2) <= 2


def test_a_file_named_like_an_option_is_read_as_a_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_pdf(tmp_path / "-v", 1)
    info = pages.inspect(Path("-v"))
    assert info.pages == 1


def test_tiff_frames_are_loaded_one_by_one() -> None:
    tif = eval_path("pages", "tess_unlv_2page_multipage.tif")
    first = pages.load_page(tif, pages.Kind.TIFF, 1, dpi=300, timeout=10)
    second = pages.load_page(tif, pages.Kind.TIFF, 2, dpi=300, timeout=10)
    assert first.image.mode == "L" and second.image.mode == "L"
    assert first.image.tobytes() != second.image.tobytes()
    assert first.dpi == 300


def test_a_page_cut_out_for_a_remote_worker_has_the_same_pixels(tmp_path: Path) -> None:
    """What a cluster worker renders from ``page_bytes`` equals what a local worker renders
    from the whole file: the cluster's sidecars can only match if this holds."""
    frames = [render_page((f"Frame {n} of the fax.",), height=600) for n in range(1, 4)]
    bilevel = [f.point(lambda v: 255 if v > 128 else 0).convert("1") for f in frames[:2]]
    tiff = tmp_path / "mixed.tif"
    bilevel[0].save(
        tiff,
        save_all=True,
        append_images=[bilevel[1], frames[2]],
        dpi=(200, 200),
        compression="tiff_lzw",
    )
    pdf = tmp_path / "three.pdf"
    frames[0].save(pdf, save_all=True, append_images=frames[1:], resolution=300)
    for path in (tiff, pdf):
        info = pages.inspect(path)
        for n in range(1, info.pages + 1):
            data = pages.page_bytes(path, info.kind, n, info.pages, timeout=60)
            single = tmp_path / f"single.{info.kind.value}"
            single.write_bytes(data)
            assert pages.inspect(single).pages == 1
            here = pages.load_page(path, info.kind, n, dpi=300, timeout=60)
            there = pages.load_page(single, info.kind, 1, dpi=300, timeout=60)
            assert there.dpi == here.dpi
            assert np.array_equal(np.asarray(there.image), np.asarray(here.image))
            assert len(data) < path.stat().st_size or info.pages == 1


def test_palette_pages_are_read_grey_and_transparent_areas_as_paper(tmp_path: Path) -> None:
    """Palette PNGs (scanner software writes them) go straight to grey, the same grey as
    through RGB; a transparent palette entry is paper, not black."""
    rgb = Image.new("RGB", (60, 40), (250, 240, 200))
    rgb.paste((20, 30, 120), (10, 10, 30, 20))
    rgb.paste((0, 0, 0), (40, 10, 50, 30))
    palette = rgb.quantize(colors=8)
    opaque = tmp_path / "opaque.png"
    palette.save(opaque)
    loaded = pages.load_page(opaque, pages.Kind.PNG, 1, dpi=300, timeout=30).image
    assert loaded.mode == "L"
    assert np.array_equal(np.asarray(loaded), np.asarray(palette.convert("RGB").convert("L")))

    black = palette.getpixel((45, 20))
    clear = tmp_path / "clear.png"
    palette.save(clear, transparency=black)
    grey = np.asarray(
        pages.load_page(clear, pages.Kind.PNG, 1, dpi=300, timeout=30).image.convert("L")
    )
    assert grey[20, 45] == 255  # the transparent (black) entry reads as white paper
    assert grey[15, 20] < 100  # the blue box is still ink
