"""Text a PDF page already has: born-digital pages, a digital footer on a scan, an earlier
OCR's invisible layer. ``[ocr] existing_text`` says what to do with it, as OCRmyPDF's
``--skip-text``, ``--redo-ocr`` and ``--force-ocr`` do:

- ``skip`` (the default): the page's text is taken as it is, with its boxes, and the page is
  not read again, unless ink lies outside that text (a scan with a digital footer, a
  letterhead's picture): then the page is read, and of the reading only the words where
  the PDF has no text are kept, so each word is there once.
- ``redo``: an earlier OCR's invisible text (render mode 3) is taken out of the page, and
  the page is read again; visible text stays, and is kept as above.
- ``force``: the page is read as an image, whatever text it has; an earlier OCR's invisible
  text is taken out (visible text stays, and is then found twice).

Text that cannot be extracted (a font without a Unicode map, garbage) counts as none: the
page is a scan. The words come from ``pdftotext -bbox-layout`` (poppler), in the page's
blocks and lines; ``invisible`` takes invisible text out of a page with pikepdf.
"""

from __future__ import annotations

import dataclasses
import tempfile
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pikepdf

from hotocr._exec import poppler
from hotocr.datatypes import Word

#: A word the PDF has is this confident (it is the text, not a reading of it).
PDF_CONFIDENCE = 100.0
#: Text is usable when at least this share of its characters are letters, digits,
#: punctuation or symbols a document prints (not control characters, private-use code
#: points or U+FFFD, which fonts without a Unicode map give) ...
USABLE_SHARE = 0.9
#: ... and it has at least this many letters or digits.
USABLE_MIN_CHARACTERS = 3
#: Ink counts as covered by the PDF's text within this many word heights of a word's box.
COVER_MARGIN = 0.35
#: A page whose ink lies outside the PDF's text by less than this share is all text.
UNCOVERED_SHARE = 0.1
#: A pixel is ink when it is this much darker than white.
INK_BELOW = 160
#: An OCR word that overlaps one of the PDF's words by this share of its own box is that
#: word, read again.
SAME_WORD_OVERLAP = 0.3
#: Text render modes that draw nothing (3) or only clip (7): an OCR layer.
INVISIBLE_MODES = frozenset({3, 7})

_BBOX_NS = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class PageText:
    """The words a PDF page has, in pixels of the page as rendered, in reading order."""

    words: tuple[Word, ...]
    text: str


def page_text(
    pdf: Path, number: int, size: tuple[int, int], *, timeout: float, visible_only: bool = False
) -> PageText | None:
    """The text of page ``number`` with its words' boxes in a ``size`` (width, height)
    rendering of the page; None when it has no usable text. ``visible_only``: without
    invisible text (an earlier OCR's layer)."""
    if visible_only:
        with tempfile.TemporaryDirectory(prefix="hotocr-text-") as tmp:
            page = Path(tmp) / "page.pdf"
            with pikepdf.open(pdf) as doc:
                one = pikepdf.new()
                one.pages.append(doc.pages[number - 1])
                strip_invisible(one, one.pages[0])
                one.save(page)
            return page_text(page, 1, size, timeout=timeout)
    layout = poppler.text_layout(pdf, number, timeout=timeout)
    words = _words(layout, size)
    if not usable(w.text for w in words):
        return None
    return PageText(tuple(words), _text(words))


def usable(texts: Iterable[str]) -> bool:
    """Whether extracted text is real text, not what a font without a Unicode map gives."""
    chars = "".join(texts)
    if not chars:
        return False
    good = sum(1 for c in chars if _printable(c))
    alnum = sum(1 for c in chars if c.isalnum())
    return good >= USABLE_SHARE * len(chars) and alnum >= USABLE_MIN_CHARACTERS


def _printable(char: str) -> bool:
    category = unicodedata.category(char)
    return char != "\ufffd" and category[0] in "LNPSZ" and category != "Co"


def _words(layout: str, size: tuple[int, int]) -> list[Word]:
    """pdftotext's words in its blocks and lines, from points to pixels of the rendering."""
    root = ElementTree.fromstring(layout)
    page = root.find(f".//{_BBOX_NS}page")
    if page is None:
        return []
    width, height = float(page.get("width", "0")), float(page.get("height", "0"))
    if (width > height) != (size[0] > size[1]):  # /Rotate: the rendering shows it turned
        width, height = height, width
    sx, sy = size[0] / max(width, 1.0), size[1] / max(height, 1.0)
    words: list[Word] = []
    line_number = 0
    for block_number, block in enumerate(page.iter(f"{_BBOX_NS}block")):
        for line in block.iter(f"{_BBOX_NS}line"):
            for word in line.iter(f"{_BBOX_NS}word"):
                text = (word.text or "").strip()
                if not text:
                    continue
                x0, y0 = float(word.get("xMin", "0")) * sx, float(word.get("yMin", "0")) * sy
                x1, y1 = float(word.get("xMax", "0")) * sx, float(word.get("yMax", "0")) * sy
                box = (round(x0), round(y0), max(1, round(x1 - x0)), max(1, round(y1 - y0)))
                words.append(
                    Word(
                        text,
                        PDF_CONFIDENCE,
                        box,
                        line=line_number,
                        block=block_number,
                        paragraph=block_number,
                        in_pdf=True,
                    )
                )
            line_number += 1
    return words


def _text(words: list[Word]) -> str:
    """Lines joined by newlines, blocks by an empty line."""
    out: list[str] = []
    last_line, last_block = -1, -1
    for word in words:
        if word.line != last_line:
            if out:
                out.append("\n\n" if word.block != last_block else "\n")
        else:
            out.append(" ")
        out.append(word.text)
        last_line, last_block = word.line, word.block
    return "".join(out)


def ink_outside(gray: np.ndarray, words: Iterable[Word]) -> bool:
    """Whether the page has ink its own text does not explain (``UNCOVERED_SHARE``): it is
    then read, and the reading's words the PDF lacks are added."""
    return uncovered_ink(gray, words) >= UNCOVERED_SHARE


def uncovered_ink(gray: np.ndarray, words: Iterable[Word]) -> float:
    """The share of the page's ink that lies outside the PDF's words (each box grown by
    ``COVER_MARGIN`` of its height): 0 for a born-digital page of text, most of it for a
    scan with a digital footer."""
    ink = np.asarray(gray) < INK_BELOW
    total = int(ink.sum())
    if total == 0:
        return 0.0
    covered = np.zeros_like(ink)
    height, width = ink.shape
    for word in words:
        left, top, w, h = word.box
        m = round(COVER_MARGIN * h)
        covered[
            max(0, top - m) : min(height, top + h + m), max(0, left - m) : min(width, left + w + m)
        ] = True
    return float(np.count_nonzero(ink & ~covered)) / total


def new_words(read: Iterable[Word], existing: Iterable[Word]) -> list[Word]:
    """The words of a reading that are not already among the PDF's words (by their boxes)."""
    boxes = [w.box for w in existing]
    return [w for w in read if not any(_overlap(w.box, b) >= SAME_WORD_OVERLAP for b in boxes)]


def merged(read: Iterable[Word], existing: PageText) -> tuple[tuple[Word, ...], str]:
    """The PDF's words and the reading's words it lacks, as one page in reading order: the
    PDF's blocks above everything read first (a letterhead), the others after (a footer);
    lines, paragraphs and blocks numbered anew, and the text made from the words."""
    fresh = new_words(read, existing.words)
    top = min((w.box[1] for w in fresh), default=0)
    blocks: dict[int, list[Word]] = {}
    for word in existing.words:
        blocks.setdefault(word.block, []).append(word)
    before = [b for b in blocks.values() if max(w.box[1] + w.box[3] for w in b) <= top]
    after = [b for b in blocks.values() if max(w.box[1] + w.box[3] for w in b) > top]
    groups = [*before, fresh, *after] if fresh else [*before, *after]
    words: list[Word] = []
    line = paragraph = block = -1
    for group in groups:
        last: tuple[int, int, int] | None = None
        for word in group:
            key = (word.block, word.paragraph, word.line)
            if last is None or key[0] != last[0]:
                block += 1
            if last is None or key[:2] != last[:2]:
                paragraph += 1
            if last is None or key != last:
                line += 1
            last = key
            words.append(dataclasses.replace(word, line=line, paragraph=paragraph, block=block))
    return tuple(words), _text(words)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """The share of ``a``'s area that ``b`` covers."""
    dx = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    dy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if dx <= 0 or dy <= 0:
        return 0.0
    return dx * dy / max(1, a[2] * a[3])


# --- taking an OCR layer out ---------------------------------------------------------------

_SHOW = frozenset({"Tj", "TJ", "'", '"'})


def strip_invisible(pdf: pikepdf.Pdf, page: pikepdf.Page) -> int:
    """Take the invisible text (render modes 3 and 7) out of the page's content and of the
    form XObjects it draws; visible text, images and drawings stay. How many text showing
    operators were taken out."""
    return _strip_stream(pdf, page.obj, 0, set(), is_page=True)


def _strip_stream(
    pdf: pikepdf.Pdf, holder: Any, mode: int, done: set[tuple[int, int]], *, is_page: bool
) -> int:
    """Rewrite the content of a page or form XObject (``holder``), starting in text render
    mode ``mode``; forms it draws are rewritten once each."""
    instructions = pikepdf.parse_content_stream(holder)
    kept: list[Any] = []
    stack: list[int] = []
    removed = 0
    resources = holder.get("/Resources") if "/Resources" in holder else None
    xobjects = resources.get("/XObject") if resources is not None else None
    for instruction in instructions:
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            kept.append(instruction)
            continue
        operands, operator = instruction.operands, instruction.operator
        op = str(operator)
        if op == "q":
            stack.append(mode)
        elif op == "Q":
            mode = stack.pop() if stack else mode
        elif op == "Tr" and operands:
            mode = int(operands[0])
        elif op in _SHOW and mode in INVISIBLE_MODES:
            removed += 1
            kept.extend(_without_showing(operands, op))
            continue
        elif op == "Do" and xobjects is not None and operands:
            form = xobjects.get(operands[0])
            if form is not None and form.get("/Subtype") == "/Form":
                key = form.objgen
                if key == (0, 0) or key not in done:
                    done.add(key)
                    removed += _strip_stream(pdf, form, mode, done, is_page=False)
        kept.append(instruction)
    if removed:
        data = pikepdf.unparse_content_stream(kept)
        if is_page:
            holder.Contents = pdf.make_stream(data)
        else:
            holder.write(data)
    return removed


def _without_showing(operands: Any, op: str) -> list[Any]:
    """What a text showing operator does besides showing: ' and " move to the next line
    (and " sets the spacing)."""
    if op == "'":
        return [pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*"))]
    if op == '"':
        return [
            pikepdf.ContentStreamInstruction([operands[0]], pikepdf.Operator("Tw")),
            pikepdf.ContentStreamInstruction([operands[1]], pikepdf.Operator("Tc")),
            pikepdf.ContentStreamInstruction([], pikepdf.Operator("T*")),
        ]
    return []
