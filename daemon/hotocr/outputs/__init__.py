"""The files a document's result becomes: one module per format, each a function from the
document's result to bytes. ``sidecars`` writes them together, atomically.

- ``txt``: the corrected text, pages separated by form feeds;
- ``json``: everything (schema ``hotocr/1``, ``docs/sidecars.md``);
- ``pdf``: the original with an invisible text layer under each word (``<stem>.ocr.pdf``);
- ``hocr``: hOCR 1.2 (``<stem>.hocr``), as Tesseract's hOCR renderer writes it;
- ``alto``: ALTO v4 XML (``<stem>.alto.xml``).

Word boxes are in the pixels of the page as a viewer shows it at the rendering resolution,
the same as the JSON's (``geometry``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hotocr.config import OUTPUT_FORMATS, OcrConfig
from hotocr.datatypes import PageResult, Word

FORMATS = OUTPUT_FORMATS
DEFAULT_FORMATS = ("txt", "json")
#: The file name ending of each format, after the output's stem.
SUFFIXES = {
    "txt": ".txt",
    "json": ".json",
    "pdf": ".ocr.pdf",
    "hocr": ".hocr",
    "alto": ".alto.xml",
}


@dataclass(frozen=True)
class PdfOptions:
    """How the searchable PDF is made (the folder's ``[ocr]`` settings)."""

    #: Pages read turned get ``/Rotate`` so that they are shown upright.
    upright_pages: bool = True
    #: skip | redo | force (``pdf_text``): with redo and force, an earlier OCR's invisible
    #: text is taken out first.
    existing_text: str = "skip"
    #: PDF/A-2b where the original allows it (``outputs.pdfa``).
    pdfa: bool = True

    @classmethod
    def of(cls, ocr: OcrConfig) -> PdfOptions:
        return cls(upright_pages=ocr.upright_pages, existing_text=ocr.existing_text, pdfa=ocr.pdfa)


#: The PDF as the defaults make it.
DEFAULT_PDF_OPTIONS = PdfOptions()


@dataclass(frozen=True)
class OutputWord:
    """A word as the outputs show it: the corrected text, and Tesseract's where it differs."""

    text: str
    raw: str
    confidence: float
    box: tuple[int, int, int, int]
    line: int
    block: int = 0
    paragraph: int = 0
    #: The PDF's own text: the searchable PDF has it already.
    in_pdf: bool = False


def output_words(page: PageResult) -> list[OutputWord]:
    """The page's words with the corrector's changes applied to the words they fall in, and
    a person's fixes over those."""
    spans = list(_word_spans(page.raw_text, page.words))
    fixed = [w.text for w in page.words]
    for correction in page.corrections:
        raw = correction.raw.rstrip(" ")
        for index, (start, end) in enumerate(spans):
            if start <= correction.offset and correction.offset + len(raw) <= end:
                word = fixed[index]
                at = correction.offset - start
                if word[at : at + len(raw)] == raw:
                    fixed[index] = word[:at] + correction.fixed + word[at + len(raw) :]
                break
    for edit in page.edits:  # a person's fix has the last word
        if 0 <= edit.word < len(fixed):
            fixed[edit.word] = edit.after
    return [
        OutputWord(text, w.text, w.confidence, w.box, w.line, w.block, w.paragraph, w.in_pdf)
        for text, w in zip(fixed, page.words, strict=True)
    ]


def _word_spans(raw_text: str, words: tuple[Word, ...]) -> Iterator[tuple[int, int]]:
    """Where each word lies in the page's raw text (the text is built from the words, in order)."""
    pos = 0
    for word in words:
        found = raw_text.find(word.text, pos)
        if found < 0:
            yield (-1, -1)
            continue
        yield (found, found + len(word.text))
        pos = found + len(word.text)


def lines_of(words: list[OutputWord]) -> list[list[OutputWord]]:
    """Words grouped by line, in reading order."""
    lines: dict[int, list[OutputWord]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    return [lines[key] for key in sorted(lines)]


#: Tesseract language -> ISO 639-1 (BCP 47), for the outputs' language tags.
ISO639_1 = {
    "eng": "en",
    "deu": "de",
    "frk": "de",
    "fra": "fr",
    "nld": "nl",
    "ita": "it",
    "spa": "es",
    "chi_sim": "zh-Hans",
    "chi_tra": "zh-Hant",
}


def language_tags(languages: tuple[str, ...]) -> list[str]:
    """The document's languages as BCP 47 tags, in order, each once (``und`` for none)."""
    tags: dict[str, None] = {}
    for spec in languages:
        for name in spec.split("+"):
            tags[ISO639_1.get(name, name)] = None
    return list(tags) or ["und"]


def union_box(words: list[OutputWord]) -> tuple[int, int, int, int]:
    left = min(w.box[0] for w in words)
    top = min(w.box[1] for w in words)
    right = max(w.box[0] + w.box[2] for w in words)
    bottom = max(w.box[1] + w.box[3] for w in words)
    return left, top, right - left, bottom - top


__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "ISO639_1",
    "SUFFIXES",
    "OutputWord",
    "language_tags",
    "lines_of",
    "output_words",
    "union_box",
]
