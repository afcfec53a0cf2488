"""Inputs: what a file is, whether it is complete, how many pages it has, and one page as pixels.

Pages are loaded one at a time, by number, inside the worker that recognizes them, so a
500-page PDF is never in memory at once and rendering runs in parallel with recognition.
"""

from __future__ import annotations

import enum
import hashlib
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from hotocr._exec import poppler, qpdf
from hotocr.errors import (
    CorruptInput,
    HotocrError,
    NotReady,
    TooLarge,
    Truncated,
    UnsupportedFormat,
)

#: Pillow raises above 2x this and only warns between 1x and 2x; hotocr treats both as errors.
MAX_IMAGE_PIXELS = 180_000_000  # about an A0 page at 300 DPI
#: Largest PDF page side accepted before rendering (inches): larger is a bomb, not a scan.
MAX_PDF_PAGE_INCHES = 200.0


class Kind(enum.StrEnum):
    PDF = "pdf"
    TIFF = "tiff"
    PNG = "png"
    JPEG = "jpeg"


_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"%PDF-", Kind.PDF),
    (b"II*\x00", Kind.TIFF),
    (b"MM\x00*", Kind.TIFF),
    (b"II+\x00", Kind.TIFF),  # BigTIFF (files over 4 GB, some scanners' archives): Pillow reads it
    (b"MM\x00+", Kind.TIFF),
    (b"\x89PNG\r\n\x1a\n", Kind.PNG),
    (b"\xff\xd8\xff", Kind.JPEG),
)


def sniff(path: Path) -> Kind:
    """The format from the file's first bytes, not its name (scanners name files oddly)."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if not head:
        raise NotReady("the file is empty (a placeholder still being written?)")
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"%PDF-" in head:  # some producers put junk before the header; readers accept it
        return Kind.PDF
    raise UnsupportedFormat(
        "not a PDF, TIFF, PNG or JPEG file (first bytes: " + head[:8].hex(" ") + ")"
    )


def check_complete(path: Path, kind: Kind) -> None:
    """Raise ``NotReady`` when the file's end marker is missing: it is still being written.

    Size and mtime settling is not enough over SMB, where a writer may pause longer than the
    settle time; every supported format but TIFF has an end marker to look for, and a TIFF's
    directories say where its parts lie.
    """
    size = path.stat().st_size
    if kind is Kind.TIFF:
        _check_tiff_directories(path, size)
        return
    with path.open("rb") as fh:
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if kind is Kind.PDF and b"%%EOF" not in tail:
        raise NotReady("the PDF has no %%EOF marker yet (still being written, or truncated)")
    if kind is Kind.PNG and b"IEND" not in tail[-32:]:
        raise NotReady("the PNG has no IEND chunk yet (still being written, or truncated)")
    if kind is Kind.JPEG and b"\xff\xd9" not in tail[-32:]:
        raise NotReady("the JPEG has no end marker yet (still being written, or truncated)")


#: A TIFF directory offset beyond this (1 PiB) cannot be a file still being written.
TIFF_MAX_OFFSET = 2**50


def _check_tiff_directories(path: Path, size: int) -> None:
    """Walk the chain of image directories (classic TIFF and BigTIFF): each one must lie
    inside the file. Their image data is checked by ``_count_frames``, with Pillow's tags."""
    with path.open("rb") as fh:
        head = fh.read(16)
        order = "<" if head[:2] == b"II" else ">"
        big = len(head) >= 4 and struct.unpack(order + "H", head[2:4])[0] == 43
        word, count_size, entry = ("Q", 8, 20) if big else ("I", 4, 12)
        start = head[8:16] if big else head[4:8]
        if len(start) < count_size:
            raise NotReady("the TIFF's header is not complete yet (still being written)")
        offset, seen, number = struct.unpack(order + word, start)[0], set(), 0
        while offset:
            number += 1
            if offset in seen:
                raise CorruptInput(f"the TIFF's directory {number} points back to an earlier one")
            seen.add(offset)
            if offset >= size:
                if offset > TIFF_MAX_OFFSET:  # no file grows there: a broken header
                    raise CorruptInput(
                        f"the TIFF's directory {number} lies at byte {offset}, beyond any file"
                    )
                raise NotReady(_tiff_short(number))
            fh.seek(offset)
            raw = fh.read(count_size if big else 2)
            if offset + len(raw) > size or len(raw) < (count_size if big else 2):
                raise NotReady(_tiff_short(number))
            count = struct.unpack(order + ("Q" if big else "H"), raw)[0]
            end = fh.tell() + count * entry + count_size
            if end > size:
                raise NotReady(_tiff_short(number))
            fh.seek(end - count_size)
            offset = struct.unpack(order + word, fh.read(count_size))[0]


def _tiff_short(page: int) -> str:
    return (
        f"the TIFF ends before page {page}'s directory or data (still being written, or truncated)"
    )


def _check_tiff_data(image: Image.Image, size: int) -> None:
    """Every strip or tile of every page must end inside the file."""
    for frame in range(int(getattr(image, "n_frames", 1))):
        image.seek(frame)
        tags = getattr(image, "tag_v2", {})
        offsets = tags.get(273) or tags.get(324) or ()  # StripOffsets or TileOffsets
        counts = tags.get(279) or tags.get(325) or ()  # StripByteCounts or TileByteCounts
        ends = [int(o) + int(c) for o, c in zip(offsets, counts, strict=False)]
        if ends and max(ends) > size:
            raise NotReady(_tiff_short(frame + 1))


def read_all_the_same(path: Path, not_ready: NotReady, waited: float) -> Kind:
    """A file that looked incomplete for the whole wait and never changed: read it as it is.

    A scanner's PDF without a final ``%%EOF`` that poppler reads is complete (OCRmyPDF reads
    it too); a PNG or JPEG without its end marker that decodes whole is too. A TIFF that
    still does not decode will never decode: corrupt. Anything else is ``Truncated``."""
    kind = sniff(path)
    if kind is Kind.PDF:
        try:
            _pdf_info(path)
        except CorruptInput:
            raise _truncated(not_ready, waited) from None
        return kind
    if kind is Kind.TIFF:
        try:
            check_complete(path, kind)
            _count_frames(path, kind)
        except NotReady as exc:
            raise CorruptInput(f"{exc}; unchanged for {waited:.0f} s, so it never will") from None
        return kind
    try:
        with _open_image(path) as image:
            image.load()
    except _DECODE_ERRORS:
        raise _truncated(not_ready, waited) from None
    return kind


def _truncated(not_ready: NotReady, waited: float) -> Truncated:
    return Truncated(f"{not_ready}; unchanged for {waited:.0f} s, so it was cut short")


@dataclass(frozen=True)
class SourceInfo:
    """What the sidecar says about the original file."""

    path: Path
    kind: Kind
    pages: int
    sha256: str
    bytes: int
    #: The PDF's structure was damaged (a bad page count, a page tree of the wrong type) and
    #: ``path`` is a copy pikepdf repaired; the original is kept as it came.
    repaired: bool = False


def check_ready(path: Path) -> Kind:
    """Cheap checks run while the file is still in the inbox: type, end marker, TIFF decodes.

    Raises ``NotReady`` (look again later) or ``InputError`` (unusable); never reads it all.
    """
    kind = sniff(path)
    check_complete(path, kind)
    if kind is Kind.TIFF:
        _count_frames(path, kind)
    return kind


def inspect(
    path: Path, *, max_pages: int = 0, dpi: int = 300, repair_to: Path | None = None
) -> SourceInfo:
    """Format, page count and hash; raises ``InputError`` subclasses for unusable files.

    ``dpi``: the resolution PDF pages will be drawn at, to refuse a page too large to draw
    before any drawing starts. ``repair_to``: where a PDF poppler cannot read may be written
    again by pikepdf (qpdf's repair), to be read from there."""
    kind = sniff(path)
    unfinished: NotReady | None = None
    try:
        check_complete(path, kind)
    except NotReady as exc:
        if kind is not Kind.PDF:
            raise
        unfinished = exc  # some scanners end a PDF without %%EOF: poppler judges
    digest, size = _sha256(path)
    repaired = False
    if kind is Kind.PDF:
        try:
            info = _pdf_info(path)
        except CorruptInput as exc:
            if unfinished is not None:  # cut short: never "repaired" into a part of itself
                raise Truncated(f"the PDF ends without %%EOF, and {exc}") from None
            if repair_to is None or not repair_pdf(path, repair_to):
                raise
            try:
                info = _pdf_info(repair_to)
            except CorruptInput:
                raise exc from None
            path, repaired = repair_to, True
        width, height = (points / 72.0 for points in info.max_page_points)
        if max(width, height) > MAX_PDF_PAGE_INCHES:
            raise TooLarge(
                f"a PDF page is {max(width, height):.0f} inches on its long side "
                f"(at most {MAX_PDF_PAGE_INCHES:.0f} accepted)"
            )
        pixels = width * dpi * height * dpi
        if pixels > MAX_IMAGE_PIXELS:
            raise TooLarge(
                f"a PDF page of {width:.0f} x {height:.0f} inches would be drawn as "
                f"{pixels / 1e6:.0f} megapixels at {dpi} DPI (at most "
                f"{MAX_IMAGE_PIXELS / 1e6:.0f} accepted; ocr.dpi sets the resolution)"
            )
        pages = info.pages
    else:
        pages = _count_frames(path, kind)
    if max_pages and pages > max_pages:
        raise TooLarge(f"{pages} pages; this folder accepts at most {max_pages} (ocr.max_pages)")
    return SourceInfo(
        path=path, kind=kind, pages=pages, sha256=digest, bytes=size, repaired=repaired
    )


def _pdf_info(path: Path) -> poppler.PdfInfo:
    info = poppler.pdfinfo(path)
    if info.pages < 1:
        raise CorruptInput("the PDF has no pages")
    return info


def repair_pdf(path: Path, dest: Path) -> bool:
    """Write ``path`` again with pikepdf, which repairs what qpdf can (cross-reference tables,
    page counts); where it finds no page tree, qpdf's JSON round trip gives the file a new
    one. False when neither yields a page."""
    import pikepdf  # noqa: PLC0415 - only for damaged files

    try:
        with pikepdf.open(path) as pdf:
            if len(pdf.pages) >= 1:
                pdf.save(dest)
                return True
    except (pikepdf.PdfError, OSError, ValueError, RecursionError):
        pass
    dest.unlink(missing_ok=True)
    try:
        return qpdf.rebuild_page_tree(path, dest) > 0
    except (HotocrError, OSError, ValueError, RecursionError):  # qpdf missing, or a bad dump
        dest.unlink(missing_ok=True)
        return False


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _open_image(path: Path) -> Image.Image:
    """Open with Pillow, turning its bomb warning into an error instead of a log line."""
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge(f"image too large to process safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise CorruptInput(f"Pillow cannot read the image: {exc}") from exc


#: What Pillow raises on damaged or truncated files besides its own errors.
_DECODE_ERRORS = (OSError, EOFError, SyntaxError, ValueError, TypeError, IndexError, struct.error)


def _count_frames(path: Path, kind: Kind) -> int:
    try:
        with _open_image(path) as image, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Corrupt EXIF data" noise
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if kind is Kind.TIFF:
                _check_tiff_data(image, path.stat().st_size)
            return int(getattr(image, "n_frames", 1))
    except _DECODE_ERRORS as exc:
        if kind is Kind.TIFF:
            # TIFF has no end marker: a writer that paused looks exactly like this.
            raise NotReady(
                f"the TIFF cannot be decoded (yet): {exc or type(exc).__name__}"
            ) from exc
        raise CorruptInput(f"cannot decode the image: {exc or type(exc).__name__}") from exc


@dataclass(frozen=True)
class PageImage:
    image: Image.Image
    #: Resolution the pixels were scanned or rendered at, when known.
    dpi: int | None


def load_page(path: Path, kind: Kind, number: int, *, dpi: int, timeout: float) -> PageImage:
    """Page ``number`` (1-based) as an 8-bit greyscale or RGB image."""
    if kind is Kind.PDF:
        # Imported here: only workers read PDF pages, and pikepdf costs 15 MB per process.
        from hotocr.pdf_scans import scanned_page  # noqa: PLC0415

        image = scanned_page(path, number, dpi=dpi, timeout=timeout)
        if image is None:
            image = poppler.render_page(path, number, dpi=dpi, timeout=timeout)
        return PageImage(image, dpi)
    try:
        with _open_image(path) as image, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(number - 1)
            page = _to_8bit(image)
            page_dpi = _image_dpi(image)
    except _DECODE_ERRORS as exc:
        raise CorruptInput(f"cannot decode page {number}: {exc or type(exc).__name__}") from exc
    return PageImage(page, page_dpi)


def page_bytes(path: Path, kind: Kind, number: int, pages: int, *, timeout: float) -> bytes:
    """Page ``number`` as the bytes of a one-page file of the same kind, for a worker that
    cannot read ``path``. Lossless: the worker sees the pixels a local worker would."""
    if pages == 1:
        return path.read_bytes()
    if kind is Kind.PDF:
        return poppler.separate_page(path, number, timeout=timeout)
    try:
        with _open_image(path) as image:
            image.seek(number - 1)
            image.load()
            out = io.BytesIO()
            extra = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
            # CCITT G4 for bilevel frames as scanners write them; deflate (lossless) otherwise.
            compression = "group4" if image.mode == "1" else "tiff_adobe_deflate"
            image.save(out, format="TIFF", compression=compression, **extra)
    except _DECODE_ERRORS as exc:
        raise CorruptInput(f"cannot decode page {number}: {exc or type(exc).__name__}") from exc
    return out.getvalue()


def _to_8bit(image: Image.Image) -> Image.Image:
    if image.mode in ("L", "RGB"):
        image.load()
        return image.copy()
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I") or image.mode == "F":
        return _scale_16bit(image)
    if image.mode == "P" and "transparency" not in image.info:
        # Straight to grey, which is all the pipeline reads: the same pixels as through RGB,
        # without a page-sized RGBA copy and composite (100-200 ms for a letter page).
        return image.convert("L")
    if image.mode == "P" or "A" in image.getbands():
        # Transparent areas are paper, not black.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _scale_16bit(image: Image.Image) -> Image.Image:
    arr = np.asarray(image, dtype=np.float64)
    hi = float(arr.max()) or 1.0
    return Image.fromarray((arr * (255.0 / hi)).astype(np.uint8), mode="L")


def _image_dpi(image: Image.Image) -> int | None:
    dpi = image.info.get("dpi")
    if not dpi:
        return None
    try:
        value = round(float(dpi[0]))
    except (TypeError, ValueError, IndexError):
        return None
    # Many writers store 1 or 72 as a placeholder; anything outside scanner range is unknown.
    return value if 75 <= value <= 2400 else None


def is_regular_file(path: Path) -> bool:
    """True for a plain file; False for links, FIFOs, devices (never opened: a FIFO blocks)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
