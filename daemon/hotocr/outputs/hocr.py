"""hOCR 1.2: one XHTML document with every page, laid out as Tesseract's hOCR renderer writes
it: ``ocr_page`` > ``ocr_carea`` (a text block) > ``ocr_par`` > ``ocr_line`` (with
``baseline`` and ``x_size``, and ``textangle`` on a page read turned) > ``ocrx_word`` (with
``bbox`` and ``x_wconf``).

The words carry the corrected text; hOCR has no standard place for Tesseract's own reading
(the JSON and ALTO keep it).
"""

from __future__ import annotations

from html import escape

from hotocr import __version__
from hotocr.datatypes import DocumentResult
from hotocr.outputs import language_tags
from hotocr.outputs.structure import blocks_of

CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_lang ocrp_wconf"
_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}" lang="{lang}">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="hotocr {version} (tesseract {tesseract})"/>
  <meta name="ocr-capabilities" content="{capabilities}"/>
  <meta name="ocr-number-of-pages" content="{pages}"/>
  <meta name="ocr-langs" content="{langs}"/>
 </head>
 <body>
"""


def render(result: DocumentResult, *, name: str) -> bytes:
    out = [
        _HEAD.format(
            lang=escape(language_tags(result.languages)[0]),
            title=escape(name),
            version=__version__,
            tesseract=escape(result.tesseract_version),
            pages=len(result.pages),
            capabilities=CAPABILITIES,
            langs=escape(" ".join(language_tags(result.languages))),
        )
    ]
    for page in result.pages:
        n = page.number
        width, height = page.size
        out.append(
            f'  <div class="ocr_page" id="page_{n}" title=\'image "{escape(name)}"; '
            f"bbox 0 0 {width} {height}; ppageno {n - 1}'>\n"
        )
        angle = f"; textangle {page.rotation % 360}" if page.rotation % 360 else ""
        i = 0
        for b, block in enumerate(blocks_of(page), start=1):
            out.append(
                f'   <div class="ocr_carea" id="block_{n}_{b}" title="{_bbox(block.box)}">\n'
            )
            for p, paragraph in enumerate(block.paragraphs, start=1):
                out.append(
                    f'    <p class="ocr_par" id="par_{n}_{b}_{p}" title="{_bbox(paragraph.box)}">\n'
                )
                for line in paragraph.lines:
                    i += 1
                    base = line.baseline
                    out.append(
                        f'     <span class="ocr_line" id="line_{n}_{i}" title="{_bbox(line.box)}; '
                        f"baseline {base.slope:g} {base.offset:g}; x_size {base.x_size:g}"
                        f'{angle}">\n'
                    )
                    for j, word in enumerate(line.words, start=1):
                        out.append(
                            f'      <span class="ocrx_word" id="word_{n}_{i}_{j}" '
                            f'title="{_bbox(word.box)}; x_wconf {round(word.confidence)}">'
                            f"{escape(word.text)}</span>\n"
                        )
                    out.append("     </span>\n")
                out.append("    </p>\n")
            out.append("   </div>\n")
        out.append("  </div>\n")
    out.append(" </body>\n</html>\n")
    return "".join(out).encode("utf-8")


def _bbox(box: tuple[int, int, int, int]) -> str:
    left, top, width, height = box
    return f"bbox {left} {top} {left + width} {top + height}"
