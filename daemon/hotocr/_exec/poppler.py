"""Poppler: ``pdfinfo`` for page count and sizes, ``pdftoppm`` for rendering one page,
``pdftotext`` for the text a page already has,
``pdfimages`` for taking a scanned page's image out as stored, ``pdfseparate`` for cutting
one page out (to send it to another machine).

Called directly rather than through pdf2image, whose ``convert_from_path`` runs ``pdfinfo``
without a timeout on every call. Paths are made absolute so a file named ``-v`` is a file.
"""

from __future__ import annotations

import io
import re
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image

from hotocr._exec import run
from hotocr.errors import CorruptInput, EncryptedInput, ExternalProgramError, TooLarge

INSTALL_HINT = "Debian: apt-get install poppler-utils"


@cache
def version() -> str:
    out = run(["pdftoppm", "-v"], timeout=30, check=False, install_hint=INSTALL_HINT)
    text = (out.stderr or out.stdout).decode("utf-8", "replace")
    match = re.search(r"version\s+(\d+\.\d+(?:\.\d+)?)", text)
    if not match:
        raise ExternalProgramError(f"cannot read poppler's version from: {text[:200]!r}")
    return match.group(1)


@dataclass(frozen=True)
class PdfInfo:
    pages: int
    encrypted: bool
    #: Largest page width and height in points (1/72 inch).
    max_page_points: tuple[float, float]


_PAGES = re.compile(r"^Pages:\s+(\d+)", re.MULTILINE)
_ENCRYPTED = re.compile(r"^Encrypted:\s+yes", re.MULTILINE)
_SIZE = re.compile(r"^Page\s+\d+\s+size:\s+([\d.eE+]+)\s+x\s+([\d.eE+]+)", re.MULTILINE)


#: Longest reason taken from poppler's messages.
REASON_CHARS = 300


def reason(stderr: str) -> str:
    """Poppler's messages as one line for a failure report: each message once, in order,
    without the "Command Line Error" lines that are about hotocr's own arguments (``-l -1``
    on a PDF of no readable pages says the page range is wrong), cut at ``REASON_CHARS``."""
    seen: dict[str, None] = {}
    for message in (line.strip() for line in stderr.splitlines()):
        if message and not message.startswith("Command Line Error"):
            seen.setdefault(message, None)
    text = "; ".join(seen) or "no reason given"
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


def pdfinfo(path: Path, *, timeout: float = 60) -> PdfInfo:
    """Page count and sizes, or a clear ``InputError`` for encrypted and broken files."""
    # -l -1 lists every page's size; the largest one guards rendering against absurd sizes.
    out = run(
        ["pdfinfo", "-l", "-1", str(path.absolute())],
        timeout=timeout,
        check=False,
        install_hint=INSTALL_HINT,
    )
    text = out.stdout.decode("utf-8", "replace")
    err = out.stderr_text
    if out.returncode != 0:
        if "Incorrect password" in err or "encrypted" in err.lower():
            raise EncryptedInput("the PDF is encrypted and needs a password")
        raise CorruptInput(f"pdfinfo cannot read the PDF: {reason(err)}")
    pages = _PAGES.search(text)
    if not pages:
        raise CorruptInput("pdfinfo reports no page count")
    sizes = [(float(w), float(h)) for w, h in _SIZE.findall(text)]
    widest = max((w for w, _ in sizes), default=0.0)
    tallest = max((h for _, h in sizes), default=0.0)
    return PdfInfo(
        pages=int(pages.group(1)),
        encrypted=bool(_ENCRYPTED.search(text)),
        max_page_points=(widest, tallest),
    )


def text_layout(path: Path, page: int, *, timeout: float) -> str:
    """Page ``page``'s text as ``pdftotext -bbox-layout`` gives it: XHTML of blocks, lines
    and words with their boxes in points, from the shown page's top left."""
    out = run(
        ["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(path.absolute()), "-"],
        timeout=timeout,
        check=False,
        install_hint=INSTALL_HINT,
    )
    if out.returncode != 0:
        raise CorruptInput(f"pdftotext cannot read page {page}: {reason(out.stderr_text)}")
    return out.stdout.decode("utf-8", "replace")


def render_page(path: Path, page: int, *, dpi: int, timeout: float) -> Image.Image:
    """One page (1-based) as an 8-bit greyscale image, streamed through a pipe."""
    out = run(
        [
            "pdftoppm",
            "-r",
            str(dpi),
            "-gray",
            "-f",
            str(page),
            "-l",
            str(page),
            str(path.absolute()),
        ],
        timeout=timeout,
        check=False,
        install_hint=INSTALL_HINT,
    )
    if out.returncode != 0 or not out.stdout:
        raise CorruptInput(f"pdftoppm cannot render page {page}: {reason(out.stderr_text)}")
    try:
        image = Image.open(io.BytesIO(out.stdout))
        image.load()
    except Image.DecompressionBombError as exc:  # a page inspect could not size beforehand
        raise TooLarge(f"page {page} is too large to draw at {dpi} DPI: {exc}") from exc
    if image.width <= 1 or image.height <= 1:
        # pdftoppm exits 0 with a 1x1 image when the page size is absurd.
        raise CorruptInput(f"pdftoppm rendered page {page} as {image.width}x{image.height}")
    return image


def separate_page(path: Path, page: int, *, timeout: float) -> bytes:
    """Page ``page`` (1-based) as a one-page PDF: its content and images as they are, which
    is far smaller than its pixels."""
    with tempfile.TemporaryDirectory(prefix="hotocr-separate-") as tmp:
        pattern = Path(tmp) / "page-%d.pdf"
        out = run(
            ["pdfseparate", "-f", str(page), "-l", str(page), str(path.absolute()), str(pattern)],
            timeout=timeout,
            check=False,
            install_hint=INSTALL_HINT,
        )
        produced = Path(tmp) / f"page-{page}.pdf"
        if out.returncode != 0 or not produced.exists():
            raise CorruptInput(f"pdfseparate cannot cut out page {page}: {reason(out.stderr_text)}")
        return produced.read_bytes()


def page_images(path: Path, page: int, *, timeout: float) -> list[Image.Image]:
    """The images drawn on page ``page`` (1-based), greyscale, as stored: not scaled, turned
    or clipped as the page draws them. JPEG images come out as stored and are decoded
    straight to grey (libjpeg keeps only the luma: a third of the memory and time)."""
    with tempfile.TemporaryDirectory(prefix="hotocr-images-") as tmp:
        root = Path(tmp) / "image"
        out = run(
            ["pdfimages", "-j", "-f", str(page), "-l", str(page), str(path.absolute()), str(root)],
            timeout=timeout,
            check=False,
            install_hint=INSTALL_HINT,
        )
        if out.returncode != 0:
            raise CorruptInput(f"pdfimages cannot read page {page}: {reason(out.stderr_text)}")
        images: list[Image.Image] = []
        for file in sorted(Path(tmp).iterdir()):
            image = Image.open(file)
            if image.format == "JPEG":
                image.draft("L", image.size)
            image.load()  # reads the pixels and closes the file before the folder goes
            images.append(image if image.mode == "L" else image.convert("L"))
        return images
