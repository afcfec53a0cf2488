"""How a page is read: with which model and which recognizer, turned which way, after which
preprocessing, and when read twice, which reading is kept.

Every decision is the page's own and is recorded in its recipe: the model (Fraktur or not,
by OSD's script), the recognizer (``recognize.choice``), the turn (an ink balance, or OSD
where the first reading is poor), the preprocessing steps (``preprocess.plan``), and the
second readings that settle a doubt (background removal, layout, the other recognizer).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hotocr import geometry
from hotocr._exec import libtesseract, tesseract
from hotocr.config import FRAKTUR_LANGUAGES, FRAKTUR_MODEL, fraktur_applies
from hotocr.coverage import unread_share
from hotocr.datatypes import PageSettings, Recognition
from hotocr.orientation import looks_upside_down, sure_turn
from hotocr.preprocess import Preprocessed, preprocess
from hotocr.preprocess.backend import Backend, HostImage
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.steps import estimate_skew, shrink_to
from hotocr.preprocess.survey import Survey, survey
from hotocr.recognize import ReadRequest, Recognizer, choice, onnx, ppocr
from hotocr.recognize.tesseract import Tesseract, resolve_engine, write_page_image

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


@dataclass(frozen=True)
class Pixels:
    """A page's pixels as loaded: grey, for preprocessing and Tesseract, and where the page
    came in colour its colours too (BGR), for PP-OCR (development set: yellowed Fraktur
    pages 0.073 -> 0.063 read in colour)."""

    gray: HostImage
    colour: HostImage | None = None

    def turned(self, rotation: int) -> Pixels:
        """The page turned clockwise by ``rotation`` degrees."""
        if rotation % 360 == 0:
            return self
        turns = -rotation // 90
        colour = self.colour
        return Pixels(
            np.ascontiguousarray(np.rot90(self.gray, k=turns)),
            None if colour is None else np.ascontiguousarray(np.rot90(colour, k=turns)),
        )


@dataclass(frozen=True)
class Reading:
    """The kept reading of a page: how it was turned and preprocessed, what was read, with
    which model, and why (``recognizer`` and ``model`` reasons)."""

    rotation: int
    prep: Preprocessed
    rec: Recognition
    model: tuple[str, ...]
    reasons: dict[str, str]


def read(
    page: Pixels, dpi: int | None, settings: PageSettings, backend: Backend, work: Path
) -> Reading:
    """Choose the model and the recognizer, read the page, and where the first reading is
    unsure, read it the other way too (``recognize.choice``)."""
    model, model_reason = choose_model(page.gray, settings, work)
    auto = settings.recognizer == "auto" and settings.adaptive
    surveyed = survey(page.gray, dpi, backend) if auto else None
    decision = choice.decide(
        settings.recognizer,
        model,
        surveyed,
        photo=choice.is_photo(page.colour is not None, dpi),
        ppocr_ready=ppocr.available(),
    )
    chosen = dataclasses.replace(settings, languages=model, recognizer=decision.first)
    rotation, prep, rec = _orient_and_recognize(page, dpi, chosen, backend, work, surveyed=surveyed)
    fraktur = rec.engine == "tesseract" and model != settings.languages
    if fraktur and rec.confidence < settings.low_confidence:
        # A page OSD took for Fraktur that reads poorly (a title page mixing Antiqua and
        # Fraktur): the configured model may read it better.
        configured = dataclasses.replace(chosen, languages=settings.languages)
        other = _orient_and_recognize(page, dpi, configured, backend, work)
        kept = "Fraktur" if other[2].confidence <= rec.confidence else "configured"
        model_reason += f"; read poorly, also read as configured: {kept} model kept"
        if kept == "configured":
            model, (rotation, prep, rec) = settings.languages, other
    reason = decision.reason
    if decision.second is not None and not choice.sure(rec):
        second = dataclasses.replace(chosen, languages=model, recognizer=decision.second)
        turned = page.turned(rotation)
        second_prep, second_rec = _prepare_and_read(turned, dpi, second, backend, work)
        kept_rec, why = choice.keep(rec, second_rec)
        reason = f"{reason}; {why}"
        if kept_rec is second_rec:
            prep, rec = second_prep, second_rec
    reasons = {"recognizer": reason, "model": model_reason}
    if rec.placed:
        reasons["ppocr_provider"] = rec.placed
    return Reading(rotation, prep, rec, model, reasons)


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
    page: Pixels,
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
    prep = _prepare(page, dpi, settings, backend, surveyed)
    sideways = _line_confidence(prep, settings, backend) < SIDEWAYS_CONFIDENCE
    suspect = settings.auto_rotate and (
        sideways or looks_upside_down(prep.image, settings.languages)
    )
    if suspect:
        # No horizontal text lines (turned 90/270), or the ink balance of an upside-down
        # page: turn it before reading, rather than reading garbage first.
        turned = _turn_before_reading(
            page,
            dpi,
            prep=prep,
            sideways=sideways,
            settings=settings,
            backend=backend,
            work=work,
        )
        if turned is not None:
            return turned
    prep, rec = _read(page, dpi, prep, settings=settings, backend=backend, work=work)
    if not settings.auto_rotate or rec.confidence >= settings.low_confidence or suspect:
        return 0, prep, rec
    # Upside down (180 degrees) has horizontal lines too: only a poor reading tells.
    turned = _turn_if_osd_says(
        page, dpi, prep, settings=settings, backend=backend, work=work, better_than=rec.confidence
    )
    return turned if turned is not None else (0, prep, rec)


def _turn_before_reading(
    page: Pixels,
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
        by_osd = _turn_if_osd_says(page, dpi, prep, settings=settings, backend=backend, work=work)
        if by_osd is None or by_osd[2].confidence >= settings.low_confidence:
            return by_osd
        # OSD's turn reads poorly: OSD can be wrong on a stained or shadowed page (it turned
        # an upright one by 180 degrees), so the page as scanned is read too.
        return _or_as_scanned(
            by_osd, page, dpi, prep, settings=settings, backend=backend, work=work
        )
    turned = page.turned(guess)
    guessed_prep, rec = _prepare_and_read(turned, dpi, settings, backend, work)
    if rec.confidence >= settings.low_confidence:
        return guess, guessed_prep, rec
    by_osd = _turn_if_osd_says(
        page, dpi, prep, settings=settings, backend=backend, work=work, better_than=rec.confidence
    )
    if by_osd is not None:
        return by_osd
    # OSD sees no turn: the balance was wrong, or the page is hard to read either way.
    guessed = (guess, guessed_prep, rec)
    return _or_as_scanned(guessed, page, dpi, prep, settings=settings, backend=backend, work=work)


def _or_as_scanned(
    turned: tuple[int, Preprocessed, Recognition],
    page: Pixels,
    dpi: int | None,
    scanned: Preprocessed,
    *,
    settings: PageSettings,
    backend: Backend,
    work: Path,
) -> tuple[int, Preprocessed, Recognition]:
    """A turned page that read poorly, against the page read as scanned: the better one."""
    prep, as_scanned = _read(page, dpi, scanned, settings=settings, backend=backend, work=work)
    return (0, prep, as_scanned) if as_scanned.confidence > turned[2].confidence else turned


def _turn_if_osd_says(
    page: Pixels,
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
    turned = page.turned(orientation.rotate)
    prep, rec = _prepare_and_read(turned, dpi, settings, backend, work)
    return (orientation.rotate, prep, rec) if rec.confidence > better_than else None


def _prepare_and_read(
    page: Pixels, dpi: int | None, settings: PageSettings, backend: Backend, work: Path
) -> tuple[Preprocessed, Recognition]:
    prep = _prepare(page, dpi, settings, backend)
    return _read(page, dpi, prep, settings=settings, backend=backend, work=work)


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


def _prepare(
    page: Pixels,
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
        return preprocess(backend, page.gray, dpi=dpi, steps=())
    return preprocess(
        backend,
        page.gray,
        dpi=dpi,
        steps=settings.steps,
        adaptive=settings.adaptive,
        surveyed=surveyed,
    )


def _read(
    page: Pixels,
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
    rec = _recognize(prep, settings, work, colour=page.colour)
    if rec.engine == "ppocr":
        return prep, rec  # its detector finds the lines on either paper, in any layout
    other = prep.plan.alternative
    if other is not None:
        alt = preprocess(backend, page.gray, dpi=dpi, steps=other.steps, plan=other)
        alt_rec = _recognize(alt, settings, work)
        if alt_rec.confidence > rec.confidence:
            prep, rec = alt, alt_rec
    return _if_text_was_left(
        page.gray, dpi, prep, rec, settings=settings, backend=backend, work=work
    )


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
    prep: Preprocessed,
    settings: PageSettings,
    work: Path,
    *,
    psm: int | None = None,
    colour: HostImage | None = None,
) -> Recognition:
    """Read the preprocessed page; PP-OCR reads the page's ``colour`` where it has one (it
    gets the page as it is, so the two are the same page)."""
    request = ReadRequest(
        languages=settings.tesseract_languages,
        psm=settings.psm if psm is None else psm,
        dpi=prep.dpi,
        timeout=settings.timeout,
        scratch=work,
    )
    image = colour if settings.recognizer == "ppocr" and colour is not None else prep.image
    return recognizer_for(settings).read(image, request)


def recognizer_for(settings: PageSettings) -> Recognizer:
    """The recognizer a reading with ``settings`` uses (loaded once per process)."""
    if settings.recognizer == "ppocr":
        return ppocr.load(placement(settings))
    return Tesseract(settings.engine)


def placement(settings: PageSettings) -> onnx.Placement:
    """Where this folder's PP-OCR sessions run (``[ocr] provider``, ``recognize.onnx``)."""
    provider, why = onnx.choose(settings.provider, settings.device)
    refused = settings.provider == "cuda" and provider != "cuda"
    return onnx.Placement(
        provider, settings.device, settings.ppocr_memory_limit, why if refused else ""
    )
