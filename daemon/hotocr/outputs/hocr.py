"""hOCR 1.2: one XHTML document with every page, laid out as Tesseract's hOCR renderer writes
it (``ocr_page`` > ``ocr_line`` > ``ocrx_word`` with ``bbox`` and ``x_wconf``).

The words carry the corrected text; hOCR has no standard place for Tesseract's own reading
(the JSON and ALTO keep it).
"""

from __future__ import annotations

from html import escape

from hotocr import __version__
from hotocr.datatypes import DocumentResult
from hotocr.outputs import language_tags, lines_of, output_words, union_box

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{lang}" lang="{lang}">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="hotocr {version} (tesseract {tesseract})"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_line ocrx_word ocrp_lang ocrp_wconf"/>
  <meta name="ocr-number-of-pages" content="{pages}"/>
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
        )
    ]
    for page in result.pages:
        n = page.number
        width, height = page.size
        out.append(
            f'  <div class="ocr_page" id="page_{n}" title=\'image "{escape(name)}"; '
            f"bbox 0 0 {width} {height}; ppageno {n - 1}'>\n"
        )
        for i, line in enumerate(lines_of(output_words(page)), start=1):
            out.append(
                f'   <span class="ocr_line" id="line_{n}_{i}" title="{_bbox(union_box(line))}">\n'
            )
            for j, word in enumerate(line, start=1):
                out.append(
                    f'    <span class="ocrx_word" id="word_{n}_{i}_{j}" '
                    f'title="{_bbox(word.box)}; x_wconf {round(word.confidence)}">'
                    f"{escape(word.text)}</span>\n"
                )
            out.append("   </span>\n")
        out.append("  </div>\n")
    out.append(" </body>\n</html>\n")
    return "".join(out).encode("utf-8")


def _bbox(box: tuple[int, int, int, int]) -> str:
    left, top, width, height = box
    return f"bbox {left} {top} {left + width} {top + height}"
