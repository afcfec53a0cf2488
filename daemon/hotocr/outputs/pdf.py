"""A searchable PDF: the original pages with an invisible text layer under each word.

PDF input: the original file, opened with pikepdf, each read page given one more content
stream of invisible text (render mode 3) in Tesseract's glyphless font; its images, fonts
and drawings are left as they are, byte for byte. A page read turned is shown upright
(``/Rotate``), where the folder asks for it. Image input (PNG, JPEG, TIFF frames): one
page per frame made by img2pdf, which embeds JPEG and CCITT G4 data as they are and PNG
data losslessly, the page size from the image's resolution (300 DPI when it has none).

A word's box (pixels of the page as a viewer shows it) becomes a text position in the
page's own coordinates, honouring its crop box and ``/Rotate``, so the text lies under the
word as the page is shown. A page without words or that failed gets no text layer.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import pikepdf

from hotocr import __version__
from hotocr.datatypes import DocumentResult, PageResult
from hotocr.errors import MissingDependency
from hotocr.outputs import DEFAULT_PDF_OPTIONS, PdfOptions, language_tags, lines_of, output_words
from hotocr.outputs.pdfa import Archived, archive
from hotocr.pages import Kind
from hotocr.pdf_text import strip_invisible

#: Tesseract's glyphless font (every glyph an empty box, half an em wide): installed with
#: tesseract-ocr in its tessdata folder.
FONT_FILE = "pdf.ttf"
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
#: Advance of every glyph of the glyphless font, in thousandths of the font size.
GLYPH_WIDTH = 500
#: Resolution assumed for an image that does not state one (as for recognition).
ASSUMED_DPI = 300
FONT_RESOURCE = "/HotocrText"
#: The Producer of every searchable PDF, in its document information and XMP.
PRODUCER = f"hotocr {__version__} (pikepdf {pikepdf.__version__})"


def render(
    result: DocumentResult, *, original: Path, name: str, options: PdfOptions = DEFAULT_PDF_OPTIONS
) -> Archived:
    """The searchable PDF; PDF/A-2b where the folder asks for it and the original allows."""
    plain = _render_plain(result, original=original, name=name, options=options)
    if not options.pdfa:
        return Archived(plain, None, "not asked for ([ocr] pdfa = false)")
    return archive(plain, producer=PRODUCER)


def _render_plain(
    result: DocumentResult, *, original: Path, name: str, options: PdfOptions
) -> bytes:
    kind = Kind.PDF if result.batch is not None else result.source.kind
    with open_as_pdf(original, kind) as pdf:
        font = glyphless_font(pdf)
        for page_result in result.pages:
            page = pdf.pages[result.source_page(page_result) - 1]
            if options.existing_text != "skip" and kind is Kind.PDF:
                strip_invisible(pdf, page)  # an earlier OCR's layer: read again below
            if page_result.error is None and page_result.words:
                _add_text_layer(pdf, page, page_result, font)
            if options.upright_pages and page_result.rotation % 360:
                _turn_upright(page, page_result.rotation)
        if result.part is not None:  # a part of a split document: only its own pages
            keep = {n - 1 for n in result.part.pages}
            for index in reversed(range(len(pdf.pages))):
                if index not in keep:
                    del pdf.pages[index]
        _set_metadata(pdf, result, name)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def open_as_pdf(original: Path, kind: Kind) -> pikepdf.Pdf:
    """The original as a PDF: itself, or its images as pages (a batch is assembled so too)."""
    if kind is Kind.PDF:
        return pikepdf.open(original)
    import img2pdf  # noqa: PLC0415 - only for image input

    try:
        data = img2pdf.convert(str(original), layout_fun=_layout(original))
    except (img2pdf.AlphaChannelError, img2pdf.ImageOpenError, ValueError):
        data = img2pdf.convert(_without_alpha(original), layout_fun=_layout(original))
    return pikepdf.open(io.BytesIO(data))


def _layout(original: Path) -> Any:
    """img2pdf's page size: the image's own resolution, else ``ASSUMED_DPI``."""
    import img2pdf  # noqa: PLC0415
    from PIL import Image  # noqa: PLC0415

    with Image.open(original) as image:
        dpi = image.info.get("dpi")
    if dpi and all(float(d) > 1 for d in dpi):
        return img2pdf.default_layout_fun
    return img2pdf.get_fixed_dpi_layout_fun((ASSUMED_DPI, ASSUMED_DPI))


def _without_alpha(original: Path) -> list[bytes]:
    """Frames img2pdf refuses (transparency): flattened on white, kept lossless as PNG."""
    from PIL import Image, ImageSequence  # noqa: PLC0415

    frames = []
    with Image.open(original) as image:
        dpi = image.info.get("dpi") or (ASSUMED_DPI, ASSUMED_DPI)
        for frame in ImageSequence.Iterator(image):
            rgba = frame.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            buffer = io.BytesIO()
            flat.save(buffer, format="PNG", dpi=dpi)
            frames.append(buffer.getvalue())
    return frames


@cache
def font_path() -> Path:
    prefix = os.environ.get("TESSDATA_PREFIX")
    for folder in ((prefix,) if prefix else ()) + TESSDATA_DIRS:
        path = Path(folder) / FONT_FILE
        if path.is_file():
            return path
    raise MissingDependency(
        f"the pdf output needs Tesseract's glyphless font {FONT_FILE} (Debian: installed with "
        "tesseract-ocr in /usr/share/tesseract-ocr/5/tessdata)"
    )


def glyphless_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """A Type0 font whose codes are UTF-16 code units, every one drawn as glyph 1 of the
    glyphless font (as Tesseract's PDF renderer builds it), so copying text gives Unicode."""
    font_file = pdf.make_stream(font_path().read_bytes())
    cid_to_gid = pdf.make_stream(zlib.compress(b"\x00\x01" * 65536))
    cid_to_gid.Filter = pikepdf.Name.FlateDecode
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor,
        FontName=pikepdf.Name.GlyphLessFont,
        Flags=5,
        FontBBox=[0, 0, GLYPH_WIDTH, 1000],
        ItalicAngle=0,
        Ascent=1000,
        Descent=0,
        CapHeight=1000,
        StemV=80,
        FontFile2=font_file,
    )
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType2,
        BaseFont=pikepdf.Name.GlyphLessFont,
        CIDSystemInfo=pikepdf.Dictionary(
            Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0
        ),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=GLYPH_WIDTH,
        CIDToGIDMap=cid_to_gid,
    )
    to_unicode = pdf.make_stream(_IDENTITY_CMAP)
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type0,
        BaseFont=pikepdf.Name.GlyphLessFont,
        Encoding=pikepdf.Name("/Identity-H"),
        DescendantFonts=[pdf.make_indirect(cid_font)],
        ToUnicode=to_unicode,
    )
    return pdf.make_indirect(font)


_IDENTITY_CMAP = b"""/CIDInit /ProcSet findresource begin
12 dict begin
begincmap
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
/CMapName /Adobe-Identity-UCS def
/CMapType 2 def
1 begincodespacerange
<0000> <FFFF>
endcodespacerange
1 beginbfrange
<0000> <FFFF> <0000>
endbfrange
endcmap
CMapName currentdict /CMap defineresource pop
end
end
"""


def _add_text_layer(
    pdf: pikepdf.Pdf, page: pikepdf.Page, result: PageResult, font: pikepdf.Object
) -> None:
    placement = _Placement.of(page, result.size, result.rotation)
    ops = []
    for line in lines_of(output_words(result)):
        for word in line:
            if word.in_pdf:  # the PDF's own text: there already
                continue
            op = placement.word(word.text, word.box)
            if op:
                ops.append(op)
    if not ops:
        return
    name = page.add_resource(font, pikepdf.Name.Font, prefix="HotocrText")
    layer = "BT\n3 Tr\n" + "".join(op.replace(FONT_RESOURCE, str(name)) for op in ops) + "ET\n"
    # The original content is wrapped in q/Q, so whatever state it leaves does not move us.
    page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
    page.contents_add(pdf.make_stream(b"Q\n" + layer.encode("ascii")), prepend=False)


def _turn_upright(page: pikepdf.Page, rotation: int) -> None:
    """Show the page turned by ``rotation`` more degrees clockwise: upright, as it was read.
    Only ``/Rotate`` changes (set on the page itself, over what it inherits): the content and
    the text layer stay in their user space, so the words stay on their text."""
    shown = int(_inherited(page.obj, "/Rotate") or 0) % 360
    page.obj.Rotate = (shown + rotation) % 360


class _Placement:
    """From a word box in displayed pixels to text space in the page's user space.

    ``rotate`` is the page's ``/Rotate``; ``turn`` the clockwise turn that made the page
    upright to be read (its words run up, down or right to left as the page is shown).
    """

    def __init__(
        self, box: tuple[float, float, float, float], rotate: int, size: tuple[int, int], turn: int
    ) -> None:
        self.x0, self.y0, self.x1, self.y1 = box
        self.rotate, self.turn = rotate, turn % 360
        width, height = self.x1 - self.x0, self.y1 - self.y0
        shown_w, shown_h = (height, width) if rotate in (90, 270) else (width, height)
        self.sx, self.sy = shown_w / max(1, size[0]), shown_h / max(1, size[1])

    @classmethod
    def of(cls, page: pikepdf.Page, size: tuple[int, int], turn: int) -> _Placement:
        media = _box(_inherited(page.obj, "/MediaBox")) or (0.0, 0.0, 612.0, 792.0)
        crop = _box(_inherited(page.obj, "/CropBox")) or media
        box = (
            max(media[0], crop[0]),
            max(media[1], crop[1]),
            min(media[2], crop[2]),
            min(media[3], crop[3]),
        )
        rotate = int(_inherited(page.obj, "/Rotate") or 0) % 360
        return cls(box, rotate if rotate in (0, 90, 180, 270) else 0, size, turn)

    def user_point(self, u: float, v: float) -> tuple[float, float]:
        """A point ``u`` points right and ``v`` points down from the shown page's top left."""
        if self.rotate == 90:
            return self.x0 + v, self.y0 + u
        if self.rotate == 180:
            return self.x1 - u, self.y0 + v
        if self.rotate == 270:
            return self.x1 - v, self.y1 - u
        return self.x0 + u, self.y1 - v

    def word(self, text: str, box: tuple[int, int, int, int]) -> str:
        left, top, width, height = box
        if not text or width <= 0 or height <= 0:
            return ""
        right, bottom = left + width, top + height
        # Where the baseline starts on the shown page, and the word's length and height: a
        # page turned to be read has its words running up (90), left (180) or down (270).
        if self.turn == 90:
            u, v, length, size = (
                right * self.sx,
                bottom * self.sy,
                height * self.sy,
                width * self.sx,
            )
        elif self.turn == 180:
            u, v, length, size = right * self.sx, top * self.sy, width * self.sx, height * self.sy
        elif self.turn == 270:
            u, v, length, size = left * self.sx, top * self.sy, height * self.sy, width * self.sx
        else:
            u, v, length, size = left * self.sx, bottom * self.sy, width * self.sx, height * self.sy
        units = len(text.encode("utf-16-be")) // 2
        scale = 100.0 * length / (units * size * GLYPH_WIDTH / 1000.0)
        x, y = self.user_point(u, v)
        angle = math.radians(self.rotate + self.turn)
        a, b = round(math.cos(angle)), round(math.sin(angle))
        return (
            f"{FONT_RESOURCE} {size:.2f} Tf {scale:.2f} Tz "
            f"{a} {b} {-b} {a} {x:.2f} {y:.2f} Tm "
            f"<{text.encode('utf-16-be').hex()}> Tj\n"
        )


def _inherited(page: pikepdf.Object, key: str) -> Any:
    """A page attribute, looked up the page tree as PDF's inheritance rules say."""
    node: pikepdf.Object | None = page
    for _ in range(64):  # a page tree deeper than this is a loop
        if node is None:
            break
        if key in node:
            return node[key]
        node = node.get("/Parent")
    return None


def _box(value: Any) -> tuple[float, float, float, float] | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _set_metadata(pdf: pikepdf.Pdf, result: DocumentResult, name: str) -> None:
    """Title, creator tool, producer, dates and language, the same in the document info and
    the XMP metadata (an original's XMP that still names the program that made it, or an
    old modification date, would disagree with the file hotocr writes)."""
    tags = language_tags(result.languages)
    now = dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        if not meta.get("dc:title"):
            meta["dc:title"] = Path(name).stem
        meta["xmp:CreatorTool"] = f"hotocr {__version__} (tesseract {result.tesseract_version})"
        meta["pdf:Producer"] = PRODUCER
        meta["xmp:ModifyDate"] = now
        meta["xmp:MetadataDate"] = now
        meta["dc:language"] = tags
    pdf.Root.Lang = pikepdf.String(tags[0])
