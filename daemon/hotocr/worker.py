"""The page task that runs in worker processes: load the page, read it (``reading``), put its
words back on the page as shown, correct its text.

A task carries only a path and a page number, so no pixels cross process boundaries and
each worker renders its own page (rendering runs in parallel with recognition). Workers
are started with the ``spawn`` method: CUDA state cannot survive a ``fork``. Each worker
loads what reads pages once: the preprocessing backend, Tesseract's models, PP-OCR's
sessions, the correction word lists (``warm_up``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from hotocr import geometry, pages, pdf_text, separators
from hotocr._exec import libtesseract
from hotocr.correct import correct_text
from hotocr.datatypes import (
    PageData,
    PageResult,
    PageSettings,
    PageTask,
    Recipe,
    Word,
    mean_confidence,
)
from hotocr.errors import InputError, PageTimeout
from hotocr.preprocess import BackendChoice, Preprocessed, preprocess, select_backend, to_gray
from hotocr.preprocess.backend import Backend, HostImage
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.survey import glyph_height
from hotocr.reading import Pixels, Reading, placement, read
from hotocr.recognize import ppocr
from hotocr.recognize.tesseract import resolve_engine
from hotocr.testhooks import kill_worker_point

#: Synthetic pages preprocessed by each worker at start-up.
WARM_PAGES = 2
#: An image less than this many pixels high or wide holds no text: it is a blank page.
TEXT_MIN_PIXELS = 8


def init_worker(warm: tuple[PageSettings, ...] = ()) -> None:
    """Pool initializer for the local process pool."""
    prepare_process()
    _die_with_parent()
    for settings in warm:
        warm_up(settings)


def prepare_process() -> None:
    """One single-threaded Tesseract per worker process: 5x faster on 2 cores than letting
    each Tesseract start a thread per core and fight over them."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    cv2.setNumThreads(1)


def warm_up(settings: PageSettings, *, load_models: bool = True) -> None:
    """Pay the start-up costs once, not on the first page: the preprocessing backend (on a
    GPU: context and kernels), Tesseract's models (library engine, in this thread), PP-OCR's
    sessions where the folder may use them, and the correction word lists."""
    backend = backend_for(settings).backend
    # Touch the preprocessing code paths and memory on page-sized images with some ink:
    # a first real page otherwise costs twice the time (allocator and caches still cold).
    rng = np.random.default_rng(0)
    for _ in range(WARM_PAGES):
        page = np.where(rng.random((3300, 2550)) < 0.05, 0, 255).astype(np.uint8)
        preprocess(backend, page, dpi=300, steps=settings.steps, adaptive=settings.adaptive)
    if load_models and resolve_engine(settings.engine) == "library":
        libtesseract.warm(settings.tesseract_languages)
    if load_models and uses_ppocr(settings):
        ppocr.load(placement(settings)).warm()
    warm_correction(settings)


def uses_ppocr(settings: PageSettings) -> bool:
    """Whether pages of a folder with ``settings`` may be read by PP-OCR."""
    return (
        settings.recognizer != "tesseract"
        and ppocr.available()
        and ppocr.reads(settings.tesseract_languages)
    )


def warm_correction(settings: PageSettings) -> None:
    if settings.correction:
        correct_text(
            "warm",
            languages=settings.languages,
            enabled=True,
            dictionary=settings.dictionary,
            rules=settings.rules,
        )


def ready() -> int:
    """A no-op task: submitting one per worker makes the pool start them all now."""
    time.sleep(0.2)
    return os.getpid()


def _die_with_parent() -> None:
    """If the daemon is killed (OOM, SIGKILL), its workers must not live on as orphans."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


# Process-local: each worker selects (and, on a GPU, initialises) its backend once.
_BACKENDS: dict[tuple[str, int], BackendChoice] = {}


def backend_for(settings: PageSettings) -> BackendChoice:
    key = (settings.backend, settings.device)
    if key not in _BACKENDS:
        _BACKENDS[key] = select_backend(
            settings.backend, settings.device, settings.gpu_memory_limit
        )
    return _BACKENDS[key]


def gpu_failure(backend: Backend, exc: Exception) -> bool:
    """Whether ``exc`` is the GPU backend's own failure (CuPy's out-of-memory or CUDA
    errors), not the page's: then the page is worth preprocessing on the CPU."""
    if backend.name != "gpu" or isinstance(exc, PageTimeout | InputError):
        return False
    module = type(exc).__module__ or ""
    return isinstance(exc, MemoryError) or module.startswith(("cupy", "cupy_backends", "cupyx"))


def _read_on(
    backend: Backend, pixels: Pixels, dpi: int | None, settings: PageSettings, tmp: Path
) -> Reading:
    """``reading.read`` with ``backend``; where the GPU backend fails on the page (out of
    memory, a CUDA error), the page is read again with the CPU's, and the reasons say why."""
    work = tmp / "page.pgm"
    try:
        return read(pixels, dpi, settings, backend, work)
    except Exception as exc:
        if not gpu_failure(backend, exc):
            raise
        reading = read(pixels, dpi, settings, CpuBackend(), work)
        why = f"cpu: the GPU failed on this page ({type(exc).__name__}: {exc})"
        reasons = {**reading.reasons, "backend": " ".join(why.split())[:200]}
        return dataclasses.replace(reading, reasons=reasons)


def describe_backend(kind: str, device: int) -> tuple[str, str]:
    """Select (and warm) this worker's backend; report which and why, for the daemon's log.

    Run in a worker so that the daemon's own process never imports CuPy or touches CUDA.
    """
    probe = dataclasses.replace(
        PageSettings.defaults(), backend=kind, device=device, correction=False
    )
    choice = backend_for(probe)
    return choice.backend.name, choice.reason


def process_page(task: PageTask) -> PageResult:
    """The whole page task of the local pool: read the page, then correct its text."""
    kill_worker_point(task.number)
    return correct_page(read_page(task), task.settings)


def read_page_data(page: PageData) -> PageResult:
    """``read_page`` for a page that travelled as bytes (a Dask task)."""
    kill_worker_point(page.number)
    with tempfile.TemporaryDirectory(prefix="hotocr-remote-") as tmp:
        path = Path(tmp) / f"page.{page.kind.value}"
        path.write_bytes(page.data)
        result = read_page(PageTask(path, page.kind, 1, page.settings))
    return dataclasses.replace(result, number=page.number)


def correct_page(result: PageResult, settings: PageSettings) -> PageResult:
    """Post-OCR correction of a page read by ``read_page`` (cheap, and it needs the watch
    folder's dictionary and rules files, so with a cluster it runs in the daemon)."""
    if result.error is not None or result.source == "pdf text":  # the PDF's text is exact
        return result
    corrected = correct_text(
        result.raw_text,
        languages=settings.languages,
        enabled=settings.correction,
        confidences=result.word_confidences(),
        dictionary=settings.dictionary,
        rules=settings.rules,
    )
    recipe = result.recipe
    if corrected.left_out and recipe is not None:
        reasons = {**recipe.reasons, "correction": corrected.left_out}
        recipe = dataclasses.replace(recipe, reasons=reasons)
    return dataclasses.replace(
        result, text=corrected.text, corrections=corrected.corrections, recipe=recipe
    )


def read_page(task: PageTask) -> PageResult:
    """Load, orient, preprocess and recognize one page; the text is not corrected yet."""
    start = time.perf_counter()
    settings = task.settings
    try:
        loaded = pages.load_page(
            task.source, task.kind, task.number, dpi=settings.render_dpi, timeout=settings.timeout
        )
    except InputError as exc:  # this page alone (a 0x0 page, a broken image): flag it
        error = f"page {task.number} cannot be read: {exc}"
        return _unread(task.number, start, settings.backend, error, unreadable=exc.reason)
    gray, dpi = to_gray(loaded.image), loaded.dpi
    colour = colour_of(loaded.image) if uses_ppocr(settings) else None
    del loaded  # the decoded pixels (25 MB for an RGB letter page) are not needed again
    if settings.separate != "none":
        mark = separators.find(gray, dpi or 300, settings.separate, settings.separator_value)
        if mark is not None:  # dropped from the documents it separates: not read
            size = (gray.shape[1], gray.shape[0])
            return _textless(task.number, start, settings.backend, size=size, separator=mark)
    elif holds_no_text(gray, dpi):
        size = (gray.shape[1], gray.shape[0])
        return _textless(task.number, start, settings.backend, size=size, blank=True)
    existing = _existing_text(task, gray)
    if existing is not None and not pdf_text.ink_outside(gray, existing.words):
        return _from_pdf_text(task.number, start, settings, existing, gray.shape)
    result = _read_pixels(task, start, gray, colour, dpi)
    if existing is None or result.error is not None:
        return result
    return _with_pdf_text(result, existing, settings.low_confidence)


def holds_no_text(gray: np.ndarray, dpi: int | None) -> bool:
    """A blank page: too small to hold a letter, or no marks of ink a millimetre and a half
    long (``separators.is_blank``) and nothing shaped like a glyph either (an image without
    a resolution may hold type far smaller than its assumed 300 DPI makes it look: a fax's
    6-pixel letters are no specks)."""
    if min(gray.shape) < TEXT_MIN_PIXELS:
        return True
    return separators.is_blank(gray, dpi or 300) and glyph_height(gray) is None


def _existing_text(task: PageTask, gray: np.ndarray) -> pdf_text.PageText | None:
    """The text a PDF page already has, where the folder's ``existing_text`` wants it."""
    mode = task.settings.existing_text
    if task.kind is not pages.Kind.PDF or mode == "force":
        return None
    return pdf_text.page_text(
        task.source,
        task.number,
        (gray.shape[1], gray.shape[0]),
        timeout=task.settings.timeout,
        visible_only=mode == "redo",
    )


def _from_pdf_text(
    number: int,
    start: float,
    settings: PageSettings,
    existing: pdf_text.PageText,
    shape: tuple[int, ...],
) -> PageResult:
    """A page whose text is the PDF's own: not read, nothing to check."""
    return PageResult(
        number=number,
        text=existing.text,
        raw_text=existing.text,
        confidence=pdf_text.PDF_CONFIDENCE,
        low_confidence=False,
        words=existing.words,
        rotation=0,
        skew_degrees=None,
        seconds=round(time.perf_counter() - start, 3),
        backend=settings.backend,
        size=(shape[1], shape[0]),
        source="pdf text",
    )


def _with_pdf_text(result: PageResult, existing: pdf_text.PageText, threshold: float) -> PageResult:
    """A page read where ink lies outside the PDF's text: the PDF's words, and of the
    reading those the PDF does not have. Its confidence and flag are the added words'."""
    words, text = pdf_text.merged(result.words, existing)
    fresh = [w for w in words if not w.in_pdf]
    confidence = mean_confidence(fresh) if fresh else pdf_text.PDF_CONFIDENCE
    return dataclasses.replace(
        result,
        text=text,
        raw_text=text,
        words=words,
        confidence=confidence,
        low_confidence=confidence < threshold,
        source="pdf text + ocr",
    )


def _read_pixels(
    task: PageTask, start: float, gray: np.ndarray, colour: HostImage | None, dpi: int | None
) -> PageResult:
    """Orient, preprocess and recognize the page's pixels."""
    settings = task.settings
    backend = backend_for(settings).backend
    with tempfile.TemporaryDirectory(prefix="hotocr-page-") as tmp:
        try:
            reading = _read_on(backend, Pixels(gray, colour), dpi, settings, Path(tmp))
        except PageTimeout as exc:
            size = (gray.shape[1], gray.shape[0])
            return _unread(task.number, start, backend.name, str(exc), size=size)
    rotation, prep, rec = reading.rotation, reading.prep, reading.rec
    return PageResult(
        number=task.number,
        text=rec.text,
        raw_text=rec.text,
        confidence=rec.confidence,
        low_confidence=rec.confidence < settings.low_confidence,
        words=on_page(rec.words, prep, rotation, gray.shape),
        rotation=rotation,
        skew_degrees=prep.skew_degrees if prep.skew_applied else 0.0,
        seconds=round(time.perf_counter() - start, 3),
        backend=prep.backend,
        preprocess_ms=prep.milliseconds,
        gpu_memory_bytes=int(getattr(backend, "memory_used", lambda: 0)()),
        recipe=Recipe(
            model="+".join(reading.model),
            steps=prep.applied,
            scale=prep.plan.scale,
            reasons={
                **reading.reasons,
                **prep.plan.reasons,
                **({"layout": rec.layout} if rec.layout else {}),
            },
            recognizer=rec.engine,
        ),
        size=(gray.shape[1], gray.shape[0]),
    )


def colour_of(image: Image.Image) -> HostImage | None:
    """A colour page's pixels as PP-OCR takes them (BGR); None for a grey or bilevel one."""
    if image.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        return None
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def _unread(
    number: int,
    start: float,
    backend: str,
    error: str,
    *,
    size: tuple[int, int] = (0, 0),
    unreadable: str = "",
) -> PageResult:
    """A page without text, and why: flagged for a person; the document goes on."""
    return _textless(
        number, start, backend, size=size, error=error, unreadable=unreadable, low_confidence=True
    )


def _textless(
    number: int,
    start: float,
    backend: str,
    *,
    size: tuple[int, int],
    low_confidence: bool = False,
    **fields: Any,
) -> PageResult:
    """A page that was not read: failed (``_unread``), blank, or a separator page."""
    return PageResult(
        number=number,
        text="",
        raw_text="",
        confidence=0.0,
        low_confidence=low_confidence,
        words=(),
        rotation=0,
        skew_degrees=None,
        seconds=round(time.perf_counter() - start, 3),
        backend=backend,
        size=size,
        **fields,
    )


def on_page(
    words: tuple[Word, ...], prep: Preprocessed, rotation: int, shape: tuple[int, ...]
) -> tuple[Word, ...]:
    """The words' boxes moved from the image Tesseract read (preprocessed, maybe turned) to
    the page as it was loaded: one pixel space for the JSON, the PDF, hOCR and ALTO."""
    height, width = shape[0], shape[1]
    back = geometry.compose(geometry.unturn(rotation, width, height), prep.to_input)
    if back == geometry.IDENTITY:
        return words
    return tuple(
        dataclasses.replace(w, box=geometry.map_box(back, w.box, width=width, height=height))
        for w in words
    )
