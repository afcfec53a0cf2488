"""Which recognizer reads a page (``[ocr] recognizer = "auto"``), and why.

Measured on the development set and the eval pages (``docs/benchmarks.md``): PP-OCR reads
noisy pages (photographed and thermal receipts, 100-DPI faxed forms, yellowed Fraktur, the
stained Chinese contract) with far fewer errors than Tesseract, but on clean 300-DPI pages,
above all those in columns, Tesseract is as good or better, and 3-4x cheaper. So:

1. A folder whose languages PP-OCR cannot read uses Tesseract; where PP-OCR is not
   installed, too.
2. What the page shows before it is read decides which engine reads first: PP-OCR for
   Chinese or Japanese script, text too small for Tesseract (a fax), or a photograph (a
   colour image that says no scan resolution: receipts and book pages taken with a
   phone); Tesseract for anything else. Paper measures do not decide: a bilevel scan's
   black border looks as uneven as a stain.
3. A first reading that is sure of itself is kept. Where it is unsure, the page is read by
   the other engine too, and the reading with the higher confidence (one scale for both,
   ``ppocr.calibrate``) is kept, with a margin for PP-OCR's better character accuracy on
   such pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotocr.datatypes import Recognition
from hotocr.preprocess.survey import Survey
from hotocr.recognize import ppocr

#: Languages whose script PP-OCR reads far better than Tesseract does.
CJK_LANGUAGES = frozenset({"chi_sim", "chi_tra", "jpn"})
#: Text lower than this (px, as scanned) is too small for Tesseract: a 100-DPI fax.
SMALL_TEXT = 12.0
#: A colour image below this resolution (or with none) is a photograph.
PHOTO_DPI = 150
#: A Tesseract reading at least this confident is kept without asking PP-OCR: clean pages
#: read at 89-96 (German ones with the English model at 89-91), the development set's scans
#: that Tesseract reads first at 67-80; and PP-OCR costs 4x Tesseract on a 300-DPI page
#: (throughput corpus: 42 pages in 81 s at 92, against 59 s with Tesseract alone).
TESSERACT_SURE = 88.0
#: A PP-OCR reading at least this confident (calibrated) is kept without asking Tesseract.
PPOCR_SURE = 80.0
#: Read both ways, PP-OCR's reading is kept unless Tesseract's confidence is higher by more
#: than this: on the pages where both are unsure PP-OCR had the fewer errors.
PPOCR_MARGIN = 5.0


@dataclass(frozen=True)
class Decision:
    """Which recognizer reads first, whether the other may read too, and why."""

    first: str
    reason: str
    #: The recognizer that reads the page too where the first is unsure (None: never).
    second: str | None = None


def decide(
    recognizer: str,
    languages: tuple[str, ...],
    survey: Survey | None,
    *,
    photo: bool,
    ppocr_ready: bool,
) -> Decision:
    """The reading plan of a page of a folder configured with ``recognizer``; ``photo``:
    the page is a photograph (``is_photo``)."""
    spec = "+".join(languages)
    if recognizer == "tesseract":
        return Decision("tesseract", 'ocr.recognizer = "tesseract"')
    if not ppocr_ready:
        return Decision("tesseract", "PP-OCR is not installed: Tesseract")
    if not ppocr.reads(spec):
        return Decision("tesseract", f"PP-OCR does not read {spec}: Tesseract")
    if recognizer == "ppocr":
        return Decision("ppocr", 'ocr.recognizer = "ppocr"')
    noisy = _noisy(languages, survey, photo)
    if noisy:
        return Decision("ppocr", noisy, second="tesseract")
    return Decision("tesseract", "a clean page", second="ppocr")


def is_photo(colour: bool, dpi: int | None) -> bool:
    """A colour image that says no scan resolution, or a screen's: taken with a camera."""
    return colour and (dpi is None or dpi < PHOTO_DPI)


def _noisy(languages: tuple[str, ...], survey: Survey | None, photo: bool) -> str:
    """Why the page is one PP-OCR reads better ("" if nothing says so)."""
    if CJK_LANGUAGES & {n for spec in languages for n in spec.split("+")}:
        return "Chinese or Japanese script"
    height = survey.text_height if survey is not None else None
    if height is not None and height < SMALL_TEXT:
        return f"small text ({height:.0f} px)"
    if photo:
        return "a photograph (colour, no scan resolution)"
    return ""


def sure(reading: Recognition) -> bool:
    """Whether a first reading is kept without asking the other recognizer."""
    limit = PPOCR_SURE if reading.engine == "ppocr" else TESSERACT_SURE
    return reading.confidence >= limit


def keep(first: Recognition, second: Recognition) -> tuple[Recognition, str]:
    """The better of two readings of one page, and why."""
    pp, tess = (first, second) if first.engine == "ppocr" else (second, first)
    measured = f"confidence PP-OCR {pp.confidence:.1f}, Tesseract {tess.confidence:.1f}"
    if tess.confidence > pp.confidence + PPOCR_MARGIN or not pp.words:
        return tess, f"read both ways ({measured}): Tesseract kept"
    return pp, f"read both ways ({measured}): PP-OCR kept"


__all__ = ["Decision", "decide", "is_photo", "keep", "sure"]
