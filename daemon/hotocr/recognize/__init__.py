"""Recognition engines behind one small interface, one module per engine (as watchdog has one
module per observer):

- ``tesseract``: Tesseract through its C API or its program, with Tesseract's own layout;
- ``ppocr``: PP-OCR (the detection, orientation and recognition models that the ``rapidocr``
  wheel ships) on ONNX Runtime, its lines put in reading order by ``layout``.

Both take a greyscale page and return a ``Recognition``: words with boxes in the image's
pixels, confidences on one 0-100 scale, lines and blocks in reading order, and the page
text. ``choice`` decides per page which engine reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from hotocr.datatypes import Recognition
from hotocr.preprocess.backend import HostImage

#: The recognizers a folder can choose (``[ocr] recognizer``), besides ``auto``.
RECOGNIZERS = ("tesseract", "ppocr")


@dataclass(frozen=True)
class ReadRequest:
    """How to read one image: what every engine is told (each uses what it knows)."""

    #: Tesseract's language set (``eng+deu``); PP-OCR's models read the languages it maps to.
    languages: str
    #: Tesseract's page segmentation mode; PP-OCR finds its own lines.
    psm: int
    dpi: int | None
    #: Seconds the reading may take.
    timeout: float
    #: Where the ``tesseract`` program's image file goes.
    scratch: Path


class Recognizer(Protocol):
    """A recognition engine, loaded once per worker process."""

    name: ClassVar[str]

    def read(self, image: HostImage, request: ReadRequest) -> Recognition:
        """Read a greyscale page."""
        ...


__all__ = ["RECOGNIZERS", "ReadRequest", "Recognizer"]
