"""The page task that runs in worker processes: load, orient, preprocess, recognize, correct.

A task carries only a path and a page number, so no pixels cross process boundaries and
each worker renders its own page (rendering runs in parallel with recognition). Workers
are started with the ``spawn`` method: CUDA state cannot survive a ``fork``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hotocr import geometry, pages, separators
from hotocr._exec import libtesseract, tesseract
from hotocr.config import FRAKTUR_LANGUAGES, FRAKTUR_MODEL, fraktur_applies
from hotocr.correct import correct_text
from hotocr.coverage import unread_share
from hotocr.datatypes import (
    PageData,
    PageResult,
    PageSettings,
    PageTask,
    Recipe,
    Recognition,
    Word,
)
from hotocr.errors import InputError, PageTimeout
from hotocr.orientation import looks_upside_down, sure_turn
from hotocr.preprocess import BackendChoice, Preprocessed, preprocess, select_backend, to_gray
from hotocr.preprocess.backend import Backend, HostImage
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.steps import estimate_skew, shrink_to
from hotocr.preprocess.survey import Survey, survey
from hotocr.recognize import ReadRequest, Recognizer, choice, ppocr
from hotocr.recognize.tesseract import Tesseract, resolve_engine, write_page_image
from hotocr.testhooks import kill_worker_point

#: Synthetic pages preprocessed by each worker at start-up.
WARM_PAGES = 2
#: OSD seconds allowed, on top of the page's recognition timeout.
OSD_TIMEOUT = 60.0
#: The script is told on a copy of the page no longer than this (a 600-DPI page: halved).
OSD_WORK_SIDE = 2000
#: Tesseract's automatic page segmentation (the default ``[ocr] psm``) and sparse text.
AUTO_PSM = 3
SPARSE_PSM = 11
#: A reading that leaves this share of the page's letters in no word is tried as sparse
#: text and, if enlarged, at the page's own size (measured: 0.71 on the one development page
#: that needed it, at most 0.24 on the 53 other development and eval pages); the other
#: reading is kept if it leaves at least ``UNREAD_GAIN`` less.
UNREAD_SPARSE = 0.5
UNREAD_GAIN = 0.2
#: Below this deskew confidence a page has no horizontal text lines (turned 90/270, or no
#: text): orientation detection runs before the first reading instead of after it.
SIDEWAYS_CONFIDENCE = 0.1


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
    GPU: context and kernels), Tesseract's models (library engine, in this thread) and the
    correction word lists."""
    backend = backend_for(settings).backend
    # Touch the preprocessing code paths and memory on page-sized images with some ink:
    # a first real page otherwise costs twice the time (allocator and caches still cold).
    rng = np.random.default_rng(0)
    for _ in range(WARM_PAGES):
        page = np.where(rng.random((3300, 2550)) < 0.05, 0, 255).astype(np.uint8)
        preprocess(backend, page, dpi=300, steps=settings.steps, adaptive=settings.adaptive)
    if load_models and resolve_engine(settings.engine) == "library":
        libtesseract.warm(settings.tesseract_languages)
    warm_correction(settings)


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
    if result.error is not None:
        return result
    corrected = correct_text(
        result.raw_text,
        languages=settings.languages,
        enabled=settings.correction,
        confidences=result.word_confidences(),
        dictionary=settings.dictionary,
        rules=settings.rules,
    )
    return dataclasses.replace(result, text=corrected.text, corrections=corrected.corrections)


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
    del loaded  # the decoded pixels (25 MB for an RGB letter page) are not needed again
    if settings.separate != "none":
        mark = separators.find(gray, dpi or 300, settings.separate, settings.separator_value)
        if mark is not None:  # dropped from the documents it separates: not read
            size = (gray.shape[1], gray.shape[0])
            return _textless(task.number, start, settings.backend, size=size, separator=mark)
    backend = backend_for(settings).backend
    with tempfile.TemporaryDirectory(prefix="hotocr-page-") as tmp:
        try:
            reading = _read_image(gray, dpi, settings, backend, Path(tmp) / "page.pgm")
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


@dataclass(frozen=True)
class _Reading:
    """The kept reading of a page: how it was turned and preprocessed, what was read, with
    which model, and why (``recognizer`` and ``model`` reasons)."""

    rotation: int
    prep: Preprocessed
    rec: Recognition
    model: tuple[str, ...]
    reasons: dict[str, str]


def _read_image(
    gray: HostImage, dpi: int | None, settings: PageSettings, backend: Backend, work: Path
) -> _Reading:
    """Choose the model and the recognizer, read the page, and where the first reading is
    unsure, read it the other way too (``recognize.choice``)."""
    model, model_reason = choose_model(gray, settings, work)
    surveyed = survey(gray, dpi) if settings.recognizer == "auto" and settings.adaptive else None
    decision = choice.decide(settings.recognizer, model, surveyed, ppocr_ready=ppocr.available())
    chosen = dataclasses.replace(settings, languages=model, recognizer=decision.first)
    rotation, prep, rec = _orient_and_recognize(gray, dpi, chosen, backend, work, surveyed=surveyed)
    fraktur = rec.engine == "tesseract" and model != settings.languages
    if fraktur and rec.confidence < settings.low_confidence:
        # A page OSD took for Fraktur that reads poorly (a title page mixing Antiqua and
        # Fraktur): the configured model may read it better.
        configured = dataclasses.replace(chosen, languages=settings.languages)
        other = _orient_and_recognize(gray, dpi, configured, backend, work)
        kept = "Fraktur" if other[2].confidence <= rec.confidence else "configured"
        model_reason += f"; read poorly, also read as configured: {kept} model kept"
        if kept == "configured":
            model, (rotation, prep, rec) = settings.languages, other
    reason = decision.reason
    if decision.second is not None and not choice.sure(rec):
        second = dataclasses.replace(chosen, languages=model, recognizer=decision.second)
        turned = _turned(gray, rotation)
        second_prep, second_rec = _prepare_and_read(turned, dpi, second, backend, work)
        kept_rec, why = choice.keep(rec, second_rec)
        reason = f"{reason}; {why}"
        if kept_rec is second_rec:
            prep, rec = second_prep, second_rec
    return _Reading(rotation, prep, rec, model, {"recognizer": reason, "model": model_reason})


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
    """A page that was not read: failed (``_unread``) or a separator page."""
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


def choose_model(
    gray: HostImage, settings: PageSettings, work: Path
) -> tuple[tuple[str, ...], str]:
    """The languages to read the page with, and why: German pages printed in Fraktur are
    read with the Fraktur model (CER 0.13 -> 0.07 on 1815 pages), told apart by the script
    Tesseract's OSD sees on the page."""
    if not fraktur_applies(settings.languages, settings.fraktur):
        return settings.languages, "as configured"
    fraktur = tuple(
        "+".join(FRAKTUR_MODEL if n in FRAKTUR_LANGUAGES else n for n in lang.split("+"))
        for lang in settings.languages
    )
    if settings.fraktur == "always":
        return fraktur, 'ocr.fraktur = "always"'
    found = detect_script(gray, settings, work)
    if found is None:
        return settings.languages, "OSD saw too little text to tell the script: as configured"
    script, confidence = found
    seen = f"OSD: script {script} (confidence {confidence:.1f})"
    if script == "Fraktur":
        return fraktur, seen
    return settings.languages, seen


def _orient_and_recognize(
    gray: HostImage,
    dpi: int | None,
    settings: PageSettings,
    backend: Backend,
    work: Path,
    *,
    surveyed: Survey | None = None,
) -> tuple[int, Preprocessed, Recognition]:
    """Recognize as scanned; only a poor result pays for orientation detection.

    OSD costs about 30% of a page's recognition, and nearly every page arrives upright, so
    it runs only when the upright reading is below the review threshold; the turned page is
    kept only if it reads better. ``surveyed``: the page's survey, where already made.
    """
    prep = _prepare(gray, dpi, settings, backend, surveyed)
    sideways = _line_confidence(prep, settings, backend) < SIDEWAYS_CONFIDENCE
    suspect = settings.auto_rotate and (
        sideways or looks_upside_down(prep.image, settings.languages)
    )
    if suspect:
        # No horizontal text lines (turned 90/270), or the ink balance of an upside-down
        # page: turn it before reading, rather than reading garbage first.
        turned = _turn_before_reading(
            gray,
            dpi,
            prep=prep,
            sideways=sideways,
            settings=settings,
            backend=backend,
            work=work,
        )
        if turned is not None:
            return turned
    prep, rec = _read(gray, dpi, prep, settings=settings, backend=backend, work=work)
    if not settings.auto_rotate or rec.confidence >= settings.low_confidence or suspect:
        return 0, prep, rec
    # Upside down (180 degrees) has horizontal lines too: only a poor reading tells.
    turned = _turn_if_osd_says(
        gray, dpi, prep, settings=settings, backend=backend, work=work, better_than=rec.confidence
    )
    return turned if turned is not None else (0, prep, rec)


def _turn_before_reading(
    gray: HostImage,
    dpi: int | None,
    *,
    prep: Preprocessed,
    sideways: bool,
    settings: PageSettings,
    backend: Backend,
    work: Path,
) -> tuple[int, Preprocessed, Recognition] | None:
    """A clear ink balance turns the page without OSD; a poor reading after that turn, or
    an unclear balance, lets OSD decide (keeping whichever reading is better)."""
    guess = sure_turn(prep.image, sideways=sideways, languages=settings.languages)
    if guess is None:
        by_osd = _turn_if_osd_says(gray, dpi, prep, settings=settings, backend=backend, work=work)
        if by_osd is None or by_osd[2].confidence >= settings.low_confidence:
            return by_osd
        # OSD's turn reads poorly: OSD can be wrong on a stained or shadowed page (it turned
        # an upright one by 180 degrees), so the page as scanned is read too.
        return _or_as_scanned(
            by_osd, gray, dpi, prep, settings=settings, backend=backend, work=work
        )
    turned = _turned(gray, guess)
    guessed_prep, rec = _prepare_and_read(turned, dpi, settings, backend, work)
    if rec.confidence >= settings.low_confidence:
        return guess, guessed_prep, rec
    by_osd = _turn_if_osd_says(
        gray, dpi, prep, settings=settings, backend=backend, work=work, better_than=rec.confidence
    )
    if by_osd is not None:
        return by_osd
    # OSD sees no turn: the balance was wrong, or the page is hard to read either way.
    guessed = (guess, guessed_prep, rec)
    return _or_as_scanned(guessed, gray, dpi, prep, settings=settings, backend=backend, work=work)


def _or_as_scanned(
    turned: tuple[int, Preprocessed, Recognition],
    gray: HostImage,
    dpi: int | None,
    scanned: Preprocessed,
    *,
    settings: PageSettings,
    backend: Backend,
    work: Path,
) -> tuple[int, Preprocessed, Recognition]:
    """A turned page that read poorly, against the page read as scanned: the better one."""
    prep, as_scanned = _read(gray, dpi, scanned, settings=settings, backend=backend, work=work)
    return (0, prep, as_scanned) if as_scanned.confidence > turned[2].confidence else turned


def _turn_if_osd_says(
    gray: HostImage,
    dpi: int | None,
    scanned: Preprocessed,
    *,
    settings: PageSettings,
    backend: Backend,
    work: Path,
    better_than: float = -1.0,
) -> tuple[int, Preprocessed, Recognition] | None:
    """Turn the page as OSD (on the ``scanned`` page) says and read it; None if OSD sees
    no turn or the turned page reads worse."""
    write_page_image(work, scanned.image)
    orientation = tesseract.detect_orientation(work, timeout=OSD_TIMEOUT)
    if orientation is None or orientation.rotate == 0:
        return None
    turned = _turned(gray, orientation.rotate)
    prep, rec = _prepare_and_read(turned, dpi, settings, backend, work)
    return (orientation.rotate, prep, rec) if rec.confidence > better_than else None


def _prepare_and_read(
    gray: HostImage, dpi: int | None, settings: PageSettings, backend: Backend, work: Path
) -> tuple[Preprocessed, Recognition]:
    prep = _prepare(gray, dpi, settings, backend)
    return _read(gray, dpi, prep, settings=settings, backend=backend, work=work)


def detect_script(gray: HostImage, settings: PageSettings, work: Path) -> tuple[str, float] | None:
    """OSD's script for the page, on a copy no longer than ``OSD_WORK_SIDE`` (the same
    answer on the eval's Fraktur and Antiqua pages, in 40% less time on a 600-DPI page)."""
    small = np.asarray(shrink_to(CpuBackend(), gray, OSD_WORK_SIDE), dtype=np.uint8)
    if resolve_engine(settings.engine) == "library":
        return libtesseract.detect_script(small, dpi=None)
    write_page_image(work, small)
    osd = tesseract.detect_orientation(work, timeout=OSD_TIMEOUT)
    return (osd.script, osd.script_confidence) if osd is not None and osd.script else None


def _line_confidence(prep: Preprocessed, settings: PageSettings, backend: Backend) -> float:
    """How clearly the page shows horizontal text lines: deskew's confidence, or for a page
    PP-OCR reads (not deskewed) measured here; 1.0 (no doubt) where nothing was measured."""
    if prep.skew_confidence is not None:
        return prep.skew_confidence
    if settings.recognizer != "ppocr":
        return 1.0
    estimate = estimate_skew(backend, backend.to_device(prep.image))
    return 1.0 if estimate is None else estimate[1]


def _turned(gray: HostImage, rotation: int) -> HostImage:
    """The page turned clockwise by ``rotation`` degrees."""
    if rotation % 360 == 0:
        return gray
    return np.ascontiguousarray(np.rot90(gray, k=-rotation // 90))


def _prepare(
    gray: HostImage,
    dpi: int | None,
    settings: PageSettings,
    backend: Backend,
    surveyed: Survey | None = None,
) -> Preprocessed:
    """The page preprocessed for the recognizer of ``settings``. PP-OCR reads the page as it
    is: its detector scales the page itself and finds skewed lines, on stained paper too,
    and each line is read from the page's own pixels (development set: 0.1695 as it is,
    0.1712 deskewed, 0.1707 with the steps Tesseract gets; deskewing moved a form's label
    and value out of one row)."""
    if settings.recognizer == "ppocr":
        return preprocess(backend, gray, dpi=dpi, steps=())
    return preprocess(
        backend, gray, dpi=dpi, steps=settings.steps, adaptive=settings.adaptive, surveyed=surveyed
    )


def _read(
    gray: HostImage,
    dpi: int | None,
    prep: Preprocessed,
    *,
    settings: PageSettings,
    backend: Backend,
    work: Path,
) -> tuple[Preprocessed, Recognition]:
    """Read the preprocessed page; where its plan was unsure of a step (background removal
    on paper neither clearly even nor clearly stained), read it without too and keep the
    reading Tesseract is more confident of."""
    rec = _recognize(prep, settings, work)
    if rec.engine == "ppocr":
        return prep, rec  # its detector finds the lines on either paper, in any layout
    other = prep.plan.alternative
    if other is not None:
        alt = preprocess(backend, gray, dpi=dpi, steps=other.steps, plan=other)
        alt_rec = _recognize(alt, settings, work)
        if alt_rec.confidence > rec.confidence:
            prep, rec = alt, alt_rec
    return _if_text_was_left(gray, dpi, prep, rec, settings=settings, backend=backend, work=work)


def _if_text_was_left(
    gray: HostImage,
    dpi: int | None,
    prep: Preprocessed,
    rec: Recognition,
    *,
    settings: PageSettings,
    backend: Backend,
    work: Path,
) -> tuple[Preprocessed, Recognition]:
    """Tesseract's automatic layout may take a region of text for a picture and read none of
    it (a 1990s form's ruled table, enlarged: 6 of its 25 lines read). Confidence cannot show
    this, the letters left outside every word can. Such a page is read again as sparse text
    and, if it was enlarged, at its own size (the enlargement can be what turned the table's
    cells into pictures); the reading leaving clearly fewer letters unread is kept."""
    if settings.psm != AUTO_PSM:
        return prep, rec  # the folder chose its segmentation
    missed = unread_share(prep.image, (w.box for w in rec.words))
    if missed < UNREAD_SPARSE:
        return prep, rec
    tries = [("as sparse text", prep, _recognize(prep, settings, work, psm=SPARSE_PSM))]
    if prep.plan.scale > 1.0:
        fitted = prep.plan.reasons.get("fit_text", "")
        own_plan = dataclasses.replace(
            prep.plan,
            scale=1.0,
            alternative=None,
            reasons={**prep.plan.reasons, "fit_text": f"{fitted}; read at its own size (layout)"},
        )
        own = preprocess(backend, gray, dpi=dpi, steps=own_plan.steps, plan=own_plan)
        tries.append(("at its own size", own, _recognize(own, settings, work)))
    shares = [_unread_on(prep, other, reading) for _, other, reading in tries]
    measured = ", ".join(
        f"{how} {share:.0%}" for (how, _, _), share in zip(tries, shares, strict=True)
    )
    best = min(range(len(tries)), key=shares.__getitem__)
    if shares[best] > missed - UNREAD_GAIN:
        return prep, rec
    how, kept_prep, kept = tries[best]
    why = f"the page layout left {missed:.0%} of the letters unread ({measured}): read {how}"
    return kept_prep, dataclasses.replace(kept, layout=why)


def _unread_on(reference: Preprocessed, prep: Preprocessed, rec: Recognition) -> float:
    """``unread_share`` of a reading of ``prep`` measured on ``reference``'s image: readings
    at different sizes are compared on one page (the letters are counted best enlarged)."""
    boxes = [w.box for w in rec.words]
    if prep is not reference:
        height, width = reference.image.shape[:2]
        to_reference = geometry.compose(geometry.invert(reference.to_input), prep.to_input)
        boxes = [geometry.map_box(to_reference, b, width=width, height=height) for b in boxes]
    return unread_share(reference.image, boxes)


def _recognize(
    prep: Preprocessed, settings: PageSettings, work: Path, *, psm: int | None = None
) -> Recognition:
    request = ReadRequest(
        languages=settings.tesseract_languages,
        psm=settings.psm if psm is None else psm,
        dpi=prep.dpi,
        timeout=settings.timeout,
        scratch=work,
    )
    return recognizer_for(settings).read(prep.image, request)


def recognizer_for(settings: PageSettings) -> Recognizer:
    """The recognizer a reading with ``settings`` uses (loaded once per process)."""
    if settings.recognizer == "ppocr":
        return ppocr.load(ppocr.provider_for(settings.backend))
    return Tesseract(settings.engine)
