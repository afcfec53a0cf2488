"""The data that passes between the stages: settings and tasks into the workers, words and
page results out of them, documents into the outputs.

Plain frozen dataclasses with no behaviour beyond what is derived from their own fields, so
any stage can import them without importing another stage (the worker, the outputs and
publishing only meet here). Everything here crosses process boundaries by pickle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hotocr.config import WatchConfig
from hotocr.pages import Kind, SourceInfo

# --- recognition ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str
    #: 0-100, on one scale for every recognizer (``recognize.ppocr`` calibrates PP-OCR's).
    confidence: float
    #: left, top, width, height in pixels: of the image the recognizer saw, until the worker
    #: moves them onto the page as shown (``worker.on_page``).
    box: tuple[int, int, int, int]
    #: The word's line, counted over the page in reading order.
    line: int
    #: The word's text block (a paragraph, a column's stretch, a label), in reading order.
    block: int = 0
    #: The word's paragraph, counted over the page in reading order (Tesseract's paragraphs
    #: within its blocks; PP-OCR's blocks are its paragraphs).
    paragraph: int = 0
    #: The word is the PDF's own text (``pdf_text``), not a reading: the searchable PDF
    #: already has it.
    in_pdf: bool = False


@dataclass(frozen=True)
class Recognition:
    """What a recognizer read on one image: the words in reading order and the page text."""

    text: str
    #: Mean word confidence, 0-100; 0 when no word was found.
    confidence: float
    words: tuple[Word, ...]
    #: Why the page was read with another page segmentation than configured ("" if not).
    layout: str = ""
    #: Which recognizer read it: ``tesseract`` or ``ppocr``.
    engine: str = "tesseract"
    #: Where PP-OCR's models ran, and why there when not where asked ("CUDA device 0",
    #: "CPU: CUDA failed on this page (...)"); "" for Tesseract.
    placed: str = ""


def mean_confidence(words: Iterable[Word]) -> float:
    """Mean word confidence, every word weighing the same; 0 when there are none."""
    values = [w.confidence for w in words]
    return round(sum(values) / len(values), 2) if values else 0.0


@dataclass(frozen=True)
class Correction:
    raw: str
    fixed: str
    #: Character offset of ``raw`` in the page's raw text.
    offset: int


@dataclass(frozen=True)
class Edit:
    """A person's fix of one word (``verify``): the word's index on its page, what it read
    before (the corrected text) and after, who and when. The recognizer's own reading stays
    in the word; outputs show ``after``."""

    word: int
    before: str
    after: str
    who: str
    when: str


@dataclass(frozen=True)
class Separator:
    """Why a page separates documents: ``kind`` blank | patch | barcode."""

    kind: str
    #: The code read: "PATCH T", or the barcode's text; "" for a blank page.
    value: str = ""
    #: The barcode's format as zxing-cpp names it (Code128, QRCode); "" otherwise.
    format: str = ""


# --- into the workers -------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSettings:
    """Everything a worker needs to process a page of a given watch folder."""

    languages: tuple[str, ...]
    steps: tuple[str, ...]
    backend: str
    device: int
    psm: int
    render_dpi: int
    timeout: float
    auto_rotate: bool
    low_confidence: float
    engine: str
    correction: bool
    adaptive: bool = True
    fraktur: str = "off"
    dictionary: Path | None = None
    rules: Path | None = None
    gpu_memory_limit: int = 0
    #: auto | cpu | cuda: where PP-OCR's models run (``recognize.onnx``), and the MiB of GPU
    #: memory their sessions may hold per worker (0: no cap).
    provider: str = "auto"
    ppocr_memory_limit: int = 0
    #: Separator pages looked for (none | blank | barcode) and the barcode value that is one.
    separate: str = "none"
    separator_value: str = "PATCH T"
    #: auto | tesseract | ppocr: which recognizer reads the page (``recognize.choice``).
    recognizer: str = "auto"
    #: skip | redo | force: what a PDF page's own text means (``pdf_text``).
    existing_text: str = "skip"

    @classmethod
    def from_watch(
        cls, watch: WatchConfig, languages: tuple[str, ...] | None = None
    ) -> PageSettings:
        return cls(
            languages=languages or watch.languages,
            steps=watch.preprocess.steps,
            backend=watch.preprocess.backend,
            device=watch.preprocess.device,
            psm=watch.ocr.psm,
            render_dpi=watch.ocr.dpi,
            timeout=watch.ocr.timeout_seconds,
            auto_rotate=watch.ocr.auto_rotate,
            engine=watch.ocr.engine,
            low_confidence=watch.ocr.low_confidence,
            correction=watch.correction.enabled,
            adaptive=watch.preprocess.adaptive,
            fraktur=watch.ocr.fraktur,
            dictionary=watch.correction.dictionary,
            rules=watch.correction.rules,
            gpu_memory_limit=watch.preprocess.gpu_memory_limit,
            provider=watch.ocr.provider,
            ppocr_memory_limit=watch.ocr.gpu_memory_limit,
            separate=watch.separate,
            separator_value=watch.separator_value,
            recognizer=watch.ocr.recognizer,
            existing_text=watch.ocr.existing_text,
        )

    @classmethod
    def defaults(cls, languages: tuple[str, ...] | None = None) -> PageSettings:
        """The settings of a watch folder that overrides nothing (API, probes, benchmarks)."""
        return cls.from_watch(WatchConfig(), languages)

    @property
    def tesseract_languages(self) -> str:
        return "+".join(self.languages)


@dataclass(frozen=True)
class PageTask:
    source: Path
    kind: Kind
    number: int
    settings: PageSettings


@dataclass(frozen=True)
class PageData:
    """One page for a worker on another machine: the bytes of a one-page file (the page cut
    out of its PDF or TIFF, compressed as it came), not decoded pixels."""

    data: bytes
    kind: Kind
    #: The page's number in its document.
    number: int
    settings: PageSettings


# --- out of the workers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """What a page got, and why: the recognizer and model, the preprocessing steps and the
    text's scale."""

    #: Tesseract languages of the kept reading (``frk`` for a page printed in Fraktur); for
    #: a page PP-OCR read, the Tesseract languages it stood in for.
    model: str
    steps: tuple[str, ...]
    #: ``fit_text``'s factor (1.0: the page kept its size).
    scale: float
    #: ``recognizer``, ``model``, a step name, ... -> why.
    reasons: dict[str, str]
    #: The recognizer whose reading was kept: ``tesseract`` or ``ppocr``.
    recognizer: str = "tesseract"


@dataclass(frozen=True)
class PageResult:
    number: int
    text: str
    raw_text: str
    confidence: float
    low_confidence: bool
    words: tuple[Word, ...]
    #: Clockwise degrees the page was turned to be upright.
    rotation: int
    skew_degrees: float | None
    seconds: float
    backend: str
    preprocess_ms: dict[str, float] = field(default_factory=dict)
    corrections: tuple[Correction, ...] = ()
    #: Why the page has no text, when something went wrong with it alone (e.g. a timeout).
    error: str | None = None
    #: GPU memory held by this worker's preprocessing after the page (0 on the CPU).
    gpu_memory_bytes: int = 0
    recipe: Recipe | None = None
    #: Why the page itself could not be read (a stable reason, e.g. "corrupt"): the rest of
    #: the document is kept, and a document no page of which could be read fails.
    unreadable: str = ""
    #: Width and height in pixels of the page as a viewer shows it (rendered at the folder's
    #: DPI, or the image as decoded), the space of the words' boxes.
    size: tuple[int, int] = (0, 0)
    #: The page separates documents (a blank or PATCH-T sheet): it was not read.
    separator: Separator | None = None
    #: The page holds no ink (``separators.is_blank``): it was not read, and it is not
    #: flagged, since a person has nothing to check on it.
    blank: bool = False
    #: Where the text comes from: ``ocr`` (read), ``pdf text`` (the PDF's own text, not
    #: read), or ``pdf text + ocr`` (the PDF's text, and a reading of the rest of the page).
    source: str = "ocr"
    #: A person's fixes (``verify``), oldest first.
    edits: tuple[Edit, ...] = ()

    def word_confidences(self) -> dict[str, float]:
        """The confidence per word text (the lowest, where a word occurs twice)."""
        out: dict[str, float] = {}
        for word in self.words:
            out[word.text] = min(word.confidence, out.get(word.text, 100.0))
        return out


# --- documents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchFile:
    #: The file's path below the batch folder.
    name: str
    format: str
    pages: int
    sha256: str
    bytes: int


@dataclass(frozen=True)
class PageLocation:
    """Where a worker reads a page from: a file, its kind, and the page's number in it."""

    path: Path
    kind: Kind
    number: int


@dataclass(frozen=True)
class PageOrigin:
    """Where a page of a batch came from: a file of the batch and its page in that file."""

    file: str
    page: int


@dataclass(frozen=True)
class Batch:
    """A batch folder read as one document (``assemble``): its files, and each page's origin."""

    files: tuple[BatchFile, ...]
    #: One per page of the assembled document, in its order.
    origins: tuple[PageOrigin, ...]
    duplex: bool = False

    @property
    def sha256(self) -> str:
        """The batch's identity for duplicate detection: its files' names and contents."""
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(f"{f.name}\0{f.sha256}\n".encode("utf-8", "surrogateescape"))
        return digest.hexdigest()


@dataclass(frozen=True)
class Part:
    """A document cut out of a scanned stack at its separator pages (``splitting``)."""

    number: int
    of: int
    #: The pages of the whole document that are this part's pages 1, 2, ...
    pages: tuple[int, ...]
    #: Every separator page of the whole document: (its page number, what it is).
    separators: tuple[tuple[int, Separator], ...]


@dataclass(frozen=True)
class DocumentResult:
    source: SourceInfo
    languages: tuple[str, ...]
    pages: tuple[PageResult, ...]
    tesseract_version: str
    seconds: float
    #: What produced the pages, so a review can recompute the image the recognizer saw.
    steps: tuple[str, ...] = ()
    render_dpi: int = 300
    low_confidence: float = 70.0
    #: A batch folder read as one document: its files, and where each page came from.
    batch: Batch | None = None
    #: A part of a document split at separator pages (``splitting``).
    part: Part | None = None
    #: rapidocr's version and its models, where PP-OCR is available ("" where not).
    ppocr_version: str = ""

    def source_page(self, page: PageResult) -> int:
        """The page's number in the whole document (a part's pages are numbered anew)."""
        return self.part.pages[page.number - 1] if self.part is not None else page.number

    @property
    def confidence(self) -> float:
        """Mean word confidence over the whole document (every word weighs the same)."""
        return mean_confidence(w for p in self.pages for w in p.words)

    @property
    def flagged_pages(self) -> list[int]:
        return [p.number for p in self.pages if p.low_confidence]

    @property
    def backend(self) -> str:
        names = sorted({p.backend for p in self.pages})
        return "+".join(names) if names else "none"

    @property
    def recognizers(self) -> list[str]:
        """The recognizers whose readings were kept, each once."""
        return sorted({p.recipe.recognizer for p in self.pages if p.recipe is not None})
