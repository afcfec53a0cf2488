"""Tesseract as a library: its C API (``libtesseract.so.5``) through ctypes.

The ``tesseract`` program loads its language model for every page and reads the page from a
file; a worker that reads page after page keeps one initialised ``TessBaseAPI`` per
language set and hands it the pixels in memory. Same library, same settings, so the same
TSV as the program (a test compares them), in about 0.1 s less per page.

A deadline (Tesseract's own ``ETEXT_DESC`` monitor) bounds recognition. It cannot stop
layout analysis, so a page still running ``HANG_GRACE`` seconds after its deadline ends
the worker process: a runaway C call cannot be interrupted any other way, and the
scheduler treats it as a worker crash (the page is retried, a page that does it again
fails its document).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from collections import OrderedDict
from functools import cache

import numpy as np
import numpy.typing as npt

from hotocr.errors import ExternalProgramError, MissingDependency, PageTimeout

LIBRARY = "libtesseract.so.5"
INSTALL_HINT = "Debian: apt-get install libtesseract5 (installed with tesseract-ocr)"
#: Seconds past a page's deadline before a hung Tesseract call ends the worker process.
HANG_GRACE = 60.0
#: Initialised APIs kept per thread (one per language set; each holds its models): a German
#: folder uses three (deu, frk for its Fraktur pages, osd to tell them apart).
MAX_APIS = 3
#: Exit status of a worker ended by the hang watchdog.
HANG_EXIT = 70
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_SIGNATURES: dict[str, tuple[list[type], type | None]] = {
    "TessVersion": ([], _S),
    "TessBaseAPICreate": ([], _P),
    "TessBaseAPIDelete": ([_P], None),
    "TessBaseAPIEnd": ([_P], None),
    "TessBaseAPIInit3": ([_P, _S, _S], _I),
    "TessBaseAPISetVariable": ([_P, _S, _S], _I),
    "TessBaseAPISetPageSegMode": ([_P, _I], None),
    "TessBaseAPISetImage": ([_P, _P, _I, _I, _I, _I], None),
    "TessBaseAPISetSourceResolution": ([_P, _I], None),
    "TessBaseAPIRecognize": ([_P, _P], _I),
    "TessBaseAPIGetTsvText": ([_P, _I], _P),
    "TessBaseAPIClear": ([_P], None),
    "TessDeleteText": ([_P], None),
    "TessMonitorCreate": ([], _P),
    "TessMonitorDelete": ([_P], None),
    "TessMonitorSetDeadlineMSecs": ([_P, _I], None),
    "TessBaseAPIDetectOrientationScript": (
        [
            _P,
            ctypes.POINTER(_I),
            ctypes.POINTER(ctypes.c_float),
            ctypes.POINTER(_S),
            ctypes.POINTER(ctypes.c_float),
        ],
        _I,
    ),
}


@cache
def library() -> ctypes.CDLL:
    """The loaded C API; ``MissingDependency`` when it cannot be loaded.

    The caller's process must already have ``OMP_THREAD_LIMIT=1`` in its environment:
    OpenMP reads it once, when the library is loaded.
    """
    try:
        lib = ctypes.CDLL(LIBRARY)
        for name, (args, result) in _SIGNATURES.items():
            func = getattr(lib, name)
            func.argtypes, func.restype = args, result
    except (OSError, AttributeError) as exc:
        raise MissingDependency(f"cannot load Tesseract's library: {exc} ({INSTALL_HINT})") from exc
    return lib


@cache
def available() -> bool:
    """Whether the library loads (asked per page: the answer is kept, a failure included)."""
    try:
        library()
    except MissingDependency:
        return False
    return True


def version() -> str:
    raw: bytes = library().TessVersion()
    return raw.decode("ascii", "replace")


class TesseractApis:
    """One thread's initialised ``TessBaseAPI`` handles (an API is not thread-safe), one per
    language set, the most recently used kept."""

    def __init__(self) -> None:
        self._apis: OrderedDict[str, int] = OrderedDict()

    def api(self, languages: str) -> int:
        if languages in self._apis:
            self._apis.move_to_end(languages)
            return self._apis[languages]
        lib = library()
        handle: int | None = lib.TessBaseAPICreate()
        if not handle:
            raise ExternalProgramError("Tesseract's library could not create an API")
        if lib.TessBaseAPIInit3(handle, None, languages.encode()) != 0:
            lib.TessBaseAPIDelete(handle)
            raise MissingDependency(f"Tesseract cannot load the languages {languages!r}")
        # Warnings ("Estimating resolution as ...") would go to the worker's stderr.
        lib.TessBaseAPISetVariable(handle, b"debug_file", os.devnull.encode())
        self._apis[languages] = handle
        while len(self._apis) > MAX_APIS:
            _, old = self._apis.popitem(last=False)
            lib.TessBaseAPIEnd(old)
            lib.TessBaseAPIDelete(old)
        return handle


_local = threading.local()


def _thread_apis() -> TesseractApis:
    apis: TesseractApis | None = getattr(_local, "apis", None)
    if apis is None:
        apis = _local.apis = TesseractApis()
    return apis


def warm(languages: str) -> None:
    """Load the models now, so the first page does not pay for it."""
    _thread_apis().api(languages)


def image_to_tsv(
    image: npt.NDArray[np.uint8], *, languages: str, psm: int, dpi: int | None, timeout: float
) -> str:
    """Tesseract's TSV rows (no header) for a 2-D uint8 page, as ``tesseract IMG - tsv`` gives.

    Raises ``PageTimeout`` when recognition passes ``timeout`` seconds.
    """
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("the page must be a 2-D uint8 array")
    pixels = np.ascontiguousarray(image)
    lib = library()
    handle = _thread_apis().api(languages)
    lib.TessBaseAPISetPageSegMode(handle, psm)
    # The program's --dpi sets this variable; 0 lets Tesseract estimate the resolution.
    lib.TessBaseAPISetVariable(handle, b"user_defined_dpi", str(dpi or 0).encode())
    height, width = pixels.shape
    lib.TessBaseAPISetImage(handle, pixels.ctypes.data, width, height, 1, width)
    if dpi:
        lib.TessBaseAPISetSourceResolution(handle, dpi)
    monitor = lib.TessMonitorCreate()
    lib.TessMonitorSetDeadlineMSecs(monitor, max(1, round(timeout * 1000)))
    start = time.monotonic()
    watchdog = threading.Timer(timeout + HANG_GRACE, _hung, args=(timeout,))
    watchdog.daemon = True
    watchdog.start()
    try:
        status = lib.TessBaseAPIRecognize(handle, monitor)
        elapsed = time.monotonic() - start
        if status != 0:
            if elapsed >= timeout:
                raise PageTimeout(f"tesseract did not finish the page within {timeout:g} s")
            raise ExternalProgramError("tesseract could not recognize the page")
        text = lib.TessBaseAPIGetTsvText(handle, 0)
        try:
            return ctypes.string_at(text).decode("utf-8", "replace") if text else ""
        finally:
            lib.TessDeleteText(text)
    finally:
        watchdog.cancel()
        lib.TessMonitorDelete(monitor)
        lib.TessBaseAPIClear(handle)


def detect_script(image: npt.NDArray[np.uint8], *, dpi: int | None) -> tuple[str, float] | None:
    """The script Tesseract's OSD sees on a 2-D uint8 page ("Latin", "Fraktur", ...) and its
    confidence; None when there is too little text. The same answer as ``tesseract --psm 0``
    without starting the program and loading the OSD model for every page (0.3-0.5 s less)."""
    pixels = np.ascontiguousarray(image)
    lib = library()
    handle = _thread_apis().api("osd")
    height, width = pixels.shape
    lib.TessBaseAPISetImage(handle, pixels.ctypes.data, width, height, 1, width)
    lib.TessBaseAPISetSourceResolution(handle, dpi or 300)
    degrees, name = _I(), _S()
    orient_conf, script_conf = ctypes.c_float(), ctypes.c_float()
    try:
        found = lib.TessBaseAPIDetectOrientationScript(
            handle,
            ctypes.byref(degrees),
            ctypes.byref(orient_conf),
            ctypes.byref(name),
            ctypes.byref(script_conf),
        )
    finally:
        lib.TessBaseAPIClear(handle)
    if not found or not name.value:
        return None
    return name.value.decode("ascii", "replace"), float(script_conf.value)


def _hung(timeout: float) -> None:  # pragma: no cover - ends the process
    sys.stderr.write(
        f"hotocr: tesseract still running {HANG_GRACE:g} s past the page's {timeout:g} s "
        "deadline; ending this worker\n"
    )
    sys.stderr.flush()
    os._exit(HANG_EXIT)


__all__ = ["available", "detect_script", "image_to_tsv", "library", "version", "warm"]
