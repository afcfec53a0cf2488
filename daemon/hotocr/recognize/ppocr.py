"""PP-OCR as a recognizer: the text detection and recognition models that the
``rapidocr`` wheel ships, run on ONNX Runtime by this module.

Why not ``rapidocr.RapidOCR`` itself: it detects and recognizes on one copy of the page
(shrunk to 2,000 px, so a 600-DPI receipt's lines reach the recognizer at a quarter of
their pixels), it has no deadline, and any model it does not find makes it download one.
Here the models are opened by path from the installed wheel, checked against the SHA-256
this version was measured with, and nothing can reach the network; lines are found on a
copy scaled for the detector and read from the page itself; a page has a deadline, checked
between batches of lines. rapidocr's own post-processing of the detector's map is used.

Each worker process loads the two sessions once (``load``), with one thread each: the
workers already fill the cores. Where ``onnxruntime-gpu`` offers CUDA they run there
(``recognize.onnx``); a page the GPU fails on (out of memory, a CUDA error) is read again
on the CPU, and its JSON says so. A colour page is read in colour (BGR, as the models were
trained).

Confidence: PP-OCR's score of a character is its softmax probability, 0.9-1.0 on nearly
every character whether right or wrong. A word's score (its characters' mean) is mapped
onto Tesseract's 0-100 scale (``calibrate``) so that a page flagged at a threshold is
about as bad whichever engine read it (measured on the development set,
``docs/benchmarks.md``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np

from hotocr.datatypes import Recognition, Word, mean_confidence
from hotocr.errors import MissingDependency, PageTimeout
from hotocr.preprocess.backend import HostImage
from hotocr.preprocess.survey import glyph_height
from hotocr.recognize import ReadRequest, onnx
from hotocr.recognize.layout import TextLine, blocks_in_order, is_cjk, join_words, line_box

#: The package whose wheel carries the models, and the version they were measured with.
PACKAGE = "rapidocr"
INSTALL_HINT = "pip install 'rapidocr==3.10.0' onnxruntime (make run / make test install them)"


@dataclass(frozen=True)
class ModelFile:
    role: str
    name: str
    sha256: str


#: The models, by file name in the wheel's ``models`` folder, pinned by their SHA-256.
MODELS = (
    ModelFile(
        "det",
        "PP-OCRv6_det_small.onnx",
        "090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f",
    ),
    ModelFile(
        "rec",
        "PP-OCRv6_rec_small.onnx",
        "6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884",
    ),
)

#: What the models are, for the JSON and ``hotocr check``.
MODEL_NAME = "PP-OCRv6 small (detection, recognition)"

#: Tesseract languages that PP-OCR's multilingual recognition model reads (Chinese, Japanese,
#: English and the Latin-script languages of PP-OCRv6), with PP-OCR's name for each.
LANGUAGES = {
    "eng": "en",
    "chi_sim": "ch",
    "chi_tra": "chinese_cht",
    "jpn": "japan",
    "deu": "de",
    "frk": "de",
    "Fraktur": "de",
    "fra": "fr",
    "nld": "nl",
    "ita": "it",
    "spa": "es",
    "por": "pt",
    "dan": "da",
    "swe": "sv",
    "nor": "no",
    "fin": "fi",
    "isl": "is",
    "pol": "pl",
    "ces": "cs",
    "slk": "sk",
    "slv": "sl",
    "hrv": "hr",
    "bos": "bs",
    "srp_latn": "rs_latin",
    "hun": "hu",
    "ron": "ro",
    "tur": "tr",
    "aze": "az",
    "uzb": "uz",
    "est": "et",
    "lav": "lv",
    "lit": "lt",
    "cat": "ca",
    "eus": "eu",
    "glg": "gl",
    "oci": "oc",
    "lat": "la",
    "gle": "ga",
    "cym": "cy",
    "mlt": "mt",
    "ltz": "lb",
    "afr": "af",
    "sqi": "sq",
    "ind": "id",
    "msa": "ms",
    "vie": "vi",
    "swa": "sw",
    "tgl": "tl",
}

#: The detector sees the page as rapidocr scales it: the long side at most this many pixels
#: (its cost grows with its pixels), the short side at least ``DET_MIN_SIDE`` ...
DET_DEFAULT_SIDE = 2000
DET_MIN_SIDE = 736
#: ... unless that leaves its text lower than this (px): then it is enlarged to that height
#: (a 100-DPI fax's 8-px text: lines were missed; development forms 0.140 -> 0.120) ...
DET_TEXT_HEIGHT = 16.0
#: ... by at most this factor, with its long side at most this many pixels.
DET_MAX_ENLARGE = 3.0
DET_MAX_SIDE = 3000
#: The detector's map: a pixel is text above this; a region is kept above ``BOX_THRESH``
#: mean, and grown by ``UNCLIP`` (rapidocr's defaults).
DET_THRESH = 0.3
BOX_THRESH = 0.5
UNCLIP = 1.6
#: The recognizer's input: lines scaled to this height, this wide at least, in batches.
REC_HEIGHT = 48
REC_MIN_WIDTH = 320


#: Lines per run of the recognizer, and the step (px) its batch's width is rounded up to
#: (1: as wide as its widest line). The same on CUDA as on the CPU, so both read the same:
#: batches of 32 rounded to 64 px (fewer, repeating shapes for the GPU) read the
#: development set and eval pages worse, CER 0.0888 -> 0.0897, 31 of 54 pages changed
#: (``bench/batching.py``, 2026-12-05): the wider padding shifts the model's reading.
REC_BATCH = 6
REC_WIDTH_STEP = 1
#: A line whose characters' mean score is below this is dropped as noise (rapidocr's default).
MIN_LINE_SCORE = 0.5
#: Within a line, a gap of more than this many of the recognizer's columns between two
#: characters ends a word, spaces or not (PaddleOCR's rule).
WORD_GAP_COLUMNS = 5
#: The recognizer's columns are this many input pixels wide (its width stride).
REC_STRIDE = 8


def models_dir() -> Path:
    """The ``models`` folder of the installed rapidocr wheel; ``MissingDependency`` if none."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise MissingDependency(f"PP-OCR needs the {PACKAGE} package ({INSTALL_HINT})")
    return Path(spec.origin).parent / "models"


@cache
def available() -> bool:
    """Whether rapidocr's models and ONNX Runtime are installed (nothing is loaded)."""
    try:
        folder = models_dir()
    except MissingDependency:
        return False
    has_runtime = importlib.util.find_spec("onnxruntime") is not None
    return has_runtime and all((folder / m.name).is_file() for m in MODELS)


@cache
def version() -> str:
    """``rapidocr 3.10.0, PP-OCRv6 small``; "" where PP-OCR is not installed."""
    if not available():
        return ""
    return f"{PACKAGE} {importlib.metadata.version(PACKAGE)}, {MODEL_NAME}"


def reads(languages: str) -> bool:
    """Whether PP-OCR reads every language of a Tesseract language set (``eng+deu``)."""
    return all(name in LANGUAGES for name in languages.split("+"))


@dataclass(frozen=True)
class EngineInfo:
    """What ``hotocr check`` reports about PP-OCR."""

    version: str
    runtime: str
    providers: tuple[str, ...]
    models: tuple[str, ...]


def describe() -> EngineInfo:
    """Versions, model files and ONNX Runtime's execution providers, without loading a model."""
    ort = onnx.runtime()
    folder = models_dir()
    return EngineInfo(
        version=importlib.metadata.version(PACKAGE),
        runtime=str(ort.__version__),
        providers=tuple(str(p) for p in ort.get_available_providers()),
        models=tuple(str(folder / m.name) for m in MODELS),
    )


def calibrate(score: float) -> float:
    """A word's PP-OCR score (0-1, its characters' mean probability) on Tesseract's 0-100
    confidence scale: the confidence at which Tesseract's words are about as often wrong.

    Piecewise linear through points measured on the development set
    (``bench/calibration.py``)."""
    return float(np.interp(score, CALIBRATION_SCORE, CALIBRATION_CONFIDENCE))


#: PP-OCR raw word scores and the Tesseract confidences they map to: at each, Tesseract's
#: words of that confidence were right as often as PP-OCR's of that score (13,850 and
#: 13,705 words of the development and eval pages, ``bench/calibration.py``, 2026-12-04).
CALIBRATION_SCORE = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0)
CALIBRATION_CONFIDENCE = (0.0, 54.0, 57.0, 65.0, 66.0, 79.0, 90.0, 96.0)


# --- sessions ---------------------------------------------------------------------------------


def _check_model(path: Path, expected: str) -> None:
    if not path.is_file():
        raise MissingDependency(f"PP-OCR model {path} is missing ({INSTALL_HINT})")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected:
        raise MissingDependency(
            f"PP-OCR model {path} is not the one hotocr was measured with (SHA-256 {digest}, "
            f"expected {expected}): install rapidocr 3.10.0"
        )


# Process-local: each worker opens the sessions once per place they run (one CPU pair, and one
# per CUDA device and memory cap), and makes one PpOcr per placement over them (a Dask
# worker's task threads share them: ONNX Runtime's sessions may run in several at once).
_SESSIONS: dict[onnx.Placement, tuple[Any, Any, str]] = {}
_LOADED: dict[onnx.Placement, PpOcr] = {}
_LOADING = threading.Lock()


#: Where PP-OCR runs unless told otherwise.
ON_CPU = onnx.Placement("cpu")


def load(placement: onnx.Placement = ON_CPU) -> PpOcr:
    """This process's PP-OCR for ``placement``, loading its models the first time. Sessions
    asked for on CUDA that came up on the CPU say why (``PpOcr.placed``)."""
    with _LOADING:
        if placement not in _LOADED:
            _LOADED[placement] = _placed(placement, *_sessions(placement))
        return _LOADED[placement]


def _placed(placement: onnx.Placement, det: Any, rec: Any, ran: str) -> PpOcr:
    """The PP-OCR of ``placement`` over sessions that run on ``ran``, saying where."""
    if placement.provider != "cuda":
        placed = f"{onnx.INSTEAD_OF_GPU}{placement.why}" if placement.why else "CPU"
        return PpOcr(det, rec, "cpu", placed)
    if ran != "cuda":
        placed = (
            f"{onnx.INSTEAD_OF_GPU}the CUDA provider did not load on device {placement.device} "
            f"(the worker's log, {onnx.GPU_INSTALL_HINT})"
        )
        return PpOcr(det, rec, "cpu", placed)
    device = f"CUDA device {placement.device}"
    return PpOcr(det, rec, "cuda", device, fallback=lambda: load(ON_CPU))


def _sessions(placement: onnx.Placement) -> tuple[Any, Any, str]:
    """The detection and recognition sessions for ``placement``, and where they run."""
    key = placement if placement.provider == "cuda" else ON_CPU
    if key in _SESSIONS:
        return _SESSIONS[key]
    if importlib.util.find_spec("onnxruntime") is None:
        raise MissingDependency(f"PP-OCR needs ONNX Runtime ({INSTALL_HINT})")
    folder = models_dir()
    sessions, ran = {}, set()
    for model in MODELS:
        path = folder / model.name
        _check_model(path, model.sha256)
        sessions[model.role], provider = onnx.open_session(path, key)
        ran.add(provider)
    if len(ran) == 1:
        _SESSIONS[key] = (sessions["det"], sessions["rec"], ran.pop())
    else:  # half on CUDA is the worst of both (every page crosses twice): all on the CPU
        _SESSIONS[key] = _sessions(ON_CPU)
    return _SESSIONS[key]


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """A line the detector found: its corners (tl, tr, br, bl) on the page, and the line cut
    out straight."""

    quad: np.ndarray
    crop: np.ndarray
    #: The crop was turned by 90 degrees to be read (a line running down the page).
    upright: bool


class PpOcr:
    """The two loaded sessions and what reads with them."""

    name: ClassVar[str] = "ppocr"

    def __init__(
        self,
        det: Any,
        rec: Any,
        provider: str,
        placed: str,
        *,
        fallback: Callable[[], PpOcr] | None = None,
    ) -> None:
        from rapidocr.ch_ppocr_det.utils import DBPostProcess  # noqa: PLC0415

        self._det, self._rec = det, rec
        #: ``cpu`` or ``cuda``: where the sessions run; ``placed``: that, for the JSON.
        self.provider, self.placed = provider, placed
        #: The CPU's PP-OCR, for a page the GPU fails on.
        self._fallback = fallback
        self._boxes = DBPostProcess(
            thresh=DET_THRESH,
            box_thresh=BOX_THRESH,
            unclip_ratio=UNCLIP,
            use_dilation=True,
            score_mode="fast",
        )
        meta = rec.get_modelmeta().custom_metadata_map
        self._characters = ["", *meta["character"].splitlines(), " "]

    def read(self, image: HostImage, request: ReadRequest) -> Recognition:
        """Read a page, greyscale or colour (BGR); where the GPU fails on it (out of memory,
        a CUDA error), read it on the CPU: a page is never lost to the GPU."""
        try:
            return self._read(image, request)
        except Exception as exc:
            if self._fallback is None or not onnx.device_failure(exc):
                raise
            why = " ".join(str(exc).split())[:160]
            rec = self._fallback().read(image, request)
            placed = f"{onnx.INSTEAD_OF_GPU}CUDA failed on this page ({why})"
            return dataclasses.replace(rec, placed=placed)

    def _read(self, image: HostImage, request: ReadRequest) -> Recognition:
        """Find the page's lines, read them, put them in reading order.

        Lines are read as they stand: rapidocr's model that turns single lines upside down
        turned right ones too (a receipt's "Subtotal" read backwards), and without it the
        development set read better (0.1672 -> 0.1653); a page upside down reads poorly,
        and the worker turns it by OSD, as for Tesseract."""
        deadline = time.monotonic() + request.timeout
        page = np.asarray(image, dtype=np.uint8)
        found = self._detect(page)
        level = _levelling(found)
        lines = []
        on_page: dict[int, Word] = {}  # the words as laid out level -> as on the page
        for line, (text, columns, scores, width) in zip(
            found, self._recognize([f.crop for f in found], deadline), strict=True
        ):
            if not text.strip() or float(np.mean(scores)) < MIN_LINE_SCORE:
                continue
            # Put in order as if the page were level: a skewed page's rows stay rows.
            levelled = []
            for word, corners in _words(text, columns, scores, width, line):
                flat = dataclasses.replace(word, box=_box(corners @ level.T))
                on_page[id(flat)] = word
                levelled.append(flat)
            if levelled:
                lines.append(TextLine(levelled, line_box(levelled)))
        del found
        _give_back_memory()
        return dataclasses.replace(_recognition(lines, on_page), placed=self.placed)

    # - detection -

    def _detect(self, page: np.ndarray) -> list[_Found]:
        height, width = page.shape[:2]
        gray: HostImage = np.asarray(
            page if page.ndim == 2 else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), dtype=np.uint8
        )
        scale = det_scale(height, width, glyph_height(gray))
        det_h = max(32, round(height * scale / 32) * 32)
        det_w = max(32, round(width * scale / 32) * 32)
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        small = cv2.resize(page, (det_w, det_h), interpolation=interpolation)
        tensor = _channels(small)[np.newaxis]
        pred = self._det.run(None, {self._det.get_inputs()[0].name: tensor})[0]
        quads, _ = self._boxes(pred, (height, width))
        found = []
        for quad in quads:
            crop, upright = _crop(page, quad.astype(np.float32))
            if crop.size:
                found.append(_Found(quad.astype(np.float32), crop, upright))
        return found

    # - recognition -

    def _recognize(
        self, crops: Sequence[np.ndarray], deadline: float
    ) -> list[tuple[str, list[int], list[float], float]]:
        """Per crop: its text, each character's column and score, and the width in crop
        pixels of one column."""
        name = self._rec.get_inputs()[0].name
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / crops[i].shape[0])
        out: list[tuple[str, list[int], list[float], float]] = [("", [], [], 1.0)] * len(crops)
        for start in range(0, len(order), REC_BATCH):
            _check(deadline)
            batch = order[start : start + REC_BATCH]
            ratios = [crops[i].shape[1] / crops[i].shape[0] for i in batch]
            width = max(REC_MIN_WIDTH, math.ceil(REC_HEIGHT * max(ratios)))
            padded = math.ceil(width / REC_WIDTH_STEP) * REC_WIDTH_STEP
            tensor = np.stack([_normalised(crops[i], REC_HEIGHT, width, padded) for i in batch])
            preds = self._rec.run(None, {name: tensor})[0]
            for i, pred in zip(batch, preds, strict=True):
                shown = min(width, math.ceil(REC_HEIGHT * crops[i].shape[1] / crops[i].shape[0]))
                column = padded / pred.shape[0] * crops[i].shape[1] / shown
                out[i] = (*self._decode(pred), column)
        return out

    def warm(self) -> None:
        """Run both models once on a small page: ONNX Runtime sets up its kernels and
        buffers on the first call, which would otherwise fall on the first real page."""
        page = np.full((240, 640), 255, np.uint8)
        cv2.putText(page, "hotocr warm up 0123", (20, 130), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 0, 3)
        self.read(page, ReadRequest("eng", 3, None, 60.0, Path("/nonexistent")))

    def _decode(self, pred: np.ndarray) -> tuple[str, list[int], list[float]]:
        """CTC: the best class per column, repeats and blanks dropped."""
        best = pred.argmax(axis=1)
        score = pred.max(axis=1)
        keep = best != 0
        keep[1:] &= best[1:] != best[:-1]
        columns = np.flatnonzero(keep)
        text = "".join(self._characters[int(best[c])] for c in columns)
        return text, [int(c) for c in columns], [float(score[c]) for c in columns]


def det_scale(height: int, width: int, text_height: float | None) -> float:
    """The factor of the detector's copy of a page (see ``DET_DEFAULT_SIDE``)."""
    longest = max(height, width)
    scale = min(1.0, DET_DEFAULT_SIDE / longest)
    if min(height, width) * scale < DET_MIN_SIDE:
        scale = min(DET_MIN_SIDE / min(height, width), DET_DEFAULT_SIDE / longest)
    if text_height is not None and 0 < text_height * scale < DET_TEXT_HEIGHT:
        enlarged = min(DET_TEXT_HEIGHT / text_height, DET_MAX_ENLARGE, DET_MAX_SIDE / longest)
        scale = max(scale, enlarged)
    return scale


#: Lines at least this many times as long as high tell the page's skew.
SKEW_LINE_RATIO = 3.0


def _levelling(found: Sequence[_Found]) -> np.ndarray:
    """The rotation (2x2) that makes the page's text lines level: the median slope of its
    long lines turned away."""
    angles = []
    for line in found:
        tl, tr, _, bl = line.quad
        length = float(np.linalg.norm(tr - tl))
        if not line.upright and length >= SKEW_LINE_RATIO * float(np.linalg.norm(bl - tl)):
            angles.append(math.atan2(float(tr[1] - tl[1]), float(tr[0] - tl[0])))
    angle = float(np.median(angles)) if angles else 0.0
    cos, sin = math.cos(angle), math.sin(angle)
    return np.array([[cos, sin], [-sin, cos]])


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    """The points' bounding box as left, top, width, height."""
    left, top = math.floor(float(points[:, 0].min())), math.floor(float(points[:, 1].min()))
    right, bottom = math.ceil(float(points[:, 0].max())), math.ceil(float(points[:, 1].max()))
    return left, top, max(1, right - left), max(1, bottom - top)


def _give_back_memory() -> None:
    """Return the freed inference buffers to the system. ONNX Runtime (its arena off) frees
    the detector's activations, tens of MB for a letter page, but glibc keeps freed memory
    for the process: a worker grew from 211 to 577 MB PSS over two pages, and is back at 196
    after this (a few milliseconds)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None)
    except OSError:  # pragma: no cover - not Linux
        return None


def _check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise PageTimeout("PP-OCR did not finish the page within the page timeout")


def _crop(page: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, bool]:
    """The line cut out of the page and straightened; a line taller than wide runs down the
    page and is turned to be read (as PaddleOCR does)."""
    width = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    height = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    if width < 1 or height < 1:
        return np.zeros((0, 0), np.uint8), False
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad, target)
    crop = cv2.warpPerspective(
        page, matrix, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    if height >= 1.5 * width:
        return np.ascontiguousarray(np.rot90(crop)), True
    return crop, False


def _normalised(crop: np.ndarray, height: int, max_width: int, padded: int) -> np.ndarray:
    """A crop as the models take it: ``height`` high, its width kept in proportion up to
    ``max_width``, three equal channels in -1..1, zero-padded to ``padded`` wide."""
    width = max(1, min(max_width, math.ceil(height * crop.shape[1] / crop.shape[0])))
    shrink = crop.shape[0] > height
    resized = cv2.resize(
        crop, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )
    out = np.zeros((3, height, padded), dtype=np.float32)
    out[:, :, :width] = _channels(resized)
    return out


def _channels(image: np.ndarray) -> np.ndarray:
    """An image as the models take it: three channels first (BGR, or grey three times), in
    -1..1."""
    scaled = image.astype(np.float32) / 127.5 - 1.0
    if scaled.ndim == 2:
        return np.ascontiguousarray(np.broadcast_to(scaled, (3, *scaled.shape)))
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))


def _words(
    text: str, columns: list[int], scores: list[float], column: float, line: _Found
) -> list[tuple[Word, np.ndarray]]:
    """The line's words with their boxes on the page: characters are split into words at
    spaces, at wide gaps between columns, and around each CJK character (a word of its own,
    as Tesseract reads Chinese)."""
    groups: list[list[int]] = []  # indices into text
    previous_cjk = False
    for i, char in enumerate(text):
        if char.isspace():
            groups.append([])
            continue
        cjk = is_cjk(char)
        gap = i > 0 and columns[i] - columns[i - 1] > WORD_GAP_COLUMNS
        if not groups or gap or cjk or previous_cjk:
            groups.append([])
        groups[-1].append(i)
        previous_cjk = cjk
    words = []
    for group in groups:
        if not group:
            continue
        # A character's column lies a column past its left edge and one and a half before
        # its right one (rendered words: the boxes then within 5 px of the ink at 20-40 px).
        left = max(0.0, (columns[group[0]] - 1.0) * column)
        right = (columns[group[-1]] + 1.5) * column
        score = float(np.mean([scores[i] for i in group]))
        corners = _on_page(line, left, right)
        word = Word(
            text="".join(text[i] for i in group),
            confidence=round(calibrate(score), 2),
            box=_box(corners),
            line=0,  # numbered in reading order by _recognition
        )
        words.append((word, corners))
    return words


def _on_page(line: _Found, start: float, end: float) -> np.ndarray:
    """A stretch of a crop, from ``start`` to ``end`` along its text: its corners on the
    page (4 x 2)."""
    tl, tr, br, bl = line.quad
    if line.upright:  # the text ran down the page: along the crop is down the quad
        length = max(1.0, float(np.linalg.norm(bl - tl)))
        a, b = start / length, end / length
        points = [tl + (bl - tl) * a, tr + (br - tr) * a, tl + (bl - tl) * b, tr + (br - tr) * b]
    else:
        length = max(1.0, float(np.linalg.norm(tr - tl)))
        a, b = start / length, min(1.0, end / length)
        points = [tl + (tr - tl) * a, bl + (br - bl) * a, tl + (tr - tl) * b, bl + (br - bl) * b]
    return np.array(points, dtype=np.float64)


def _recognition(lines: list[TextLine], on_page: dict[int, Word]) -> Recognition:
    """Lines in reading order, numbered; the page text in blocks of rows. ``lines`` hold
    the words as laid out level; ``on_page`` gives each as it lies on the page."""
    words: list[Word] = []
    paragraphs: list[str] = []
    number = 0
    for block_number, block in enumerate(blocks_in_order(lines)):
        rows = []
        for row in block:
            for line in row:
                words.extend(
                    dataclasses.replace(
                        on_page[id(w)], line=number, block=block_number, paragraph=block_number
                    )
                    for w in line.words
                )
                number += 1
            rows.append(" ".join(join_words([w.text for w in line.words]) for line in row))
        paragraphs.append("\n".join(rows))
    return Recognition(
        text="\n\n".join(paragraphs),
        confidence=mean_confidence(words),
        words=tuple(words),
        engine="ppocr",
    )


__all__ = [
    "LANGUAGES",
    "MODELS",
    "EngineInfo",
    "PpOcr",
    "available",
    "calibrate",
    "describe",
    "load",
    "models_dir",
    "reads",
    "version",
]
