"""Tesseract: version, installed languages, orientation detection, recognition.

Recognition goes through pytesseract (``image_to_data``: text, boxes and word confidences in one
call). Every call is given a timeout, since pytesseract's default is none.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytesseract

from hotocr._exec import ProgramTimeout, run
from hotocr.errors import ExternalProgramError, MissingDependency, PageTimeout

PROGRAM = "tesseract"
INSTALL_HINT = "Debian: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd"
MIN_VERSION = (4, 1)


def single_thread_env() -> dict[str, str]:
    """Tesseract's OpenMP threads fight each other when one process runs per core (5x slower)."""
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


@cache
def version() -> str:
    out = run([PROGRAM, "--version"], timeout=30, install_hint=INSTALL_HINT)
    text = (out.stdout or out.stderr).decode("utf-8", "replace")
    match = re.search(r"tesseract\s+v?(\d+\.\d+(?:\.\d+)?)", text)
    if not match:
        raise ExternalProgramError(f"cannot read tesseract's version from: {text[:200]!r}")
    found = match.group(1)
    if tuple(int(p) for p in found.split(".")[:2]) < MIN_VERSION:
        raise MissingDependency(f"tesseract {found} is too old; hotocr needs 4.1 or newer")
    return found


@cache
def languages() -> frozenset[str]:
    out = run([PROGRAM, "--list-langs"], timeout=30, install_hint=INSTALL_HINT)
    lines = out.stdout.decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


def missing_languages(wanted: tuple[str, ...]) -> list[str]:
    have = languages()
    return [lang for lang in wanted if lang not in have]


@dataclass(frozen=True)
class Orientation:
    #: Clockwise degrees the page must be turned to be upright (0, 90, 180, 270).
    rotate: int
    confidence: float
    #: The script OSD sees ("Latin", "Fraktur", "Han", ...), and how sure it is.
    script: str = ""
    script_confidence: float = 0.0


_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_ORIENT_CONF = re.compile(r"Orientation confidence:\s*([\d.]+)")
_SCRIPT = re.compile(r"Script:\s*(\S+)")
_SCRIPT_CONF = re.compile(r"Script confidence:\s*([\d.]+)")


def detect_orientation(image: Path, *, timeout: float) -> Orientation | None:
    """Tesseract's OSD (``--psm 0``); None when it finds too little text to decide."""
    out = run(
        [PROGRAM, str(image), "-", "--psm", "0"],
        timeout=timeout,
        env=single_thread_env(),
        check=False,
        install_hint=INSTALL_HINT,
    )
    text = out.stdout.decode("utf-8", "replace")
    rotate, conf = _ROTATE.search(text), _ORIENT_CONF.search(text)
    if out.returncode != 0 or not rotate or not conf:
        return None
    script, script_conf = _SCRIPT.search(text), _SCRIPT_CONF.search(text)
    return Orientation(
        rotate=int(rotate.group(1)) % 360,
        confidence=float(conf.group(1)),
        script=script.group(1) if script else "",
        script_confidence=float(script_conf.group(1)) if script_conf else 0.0,
    )


def image_to_data(image: Path, *, languages: str, psm: int, dpi: int | None, timeout: float) -> str:
    """Tesseract's TSV for an image file (header first). Raises ``PageTimeout`` when the page
    takes too long.

    The TSV as text rather than pytesseract's columns, whose confidences are cut to whole
    numbers: read by the same parser, both engines give the same result.
    The caller's process must have ``OMP_THREAD_LIMIT=1`` set (see ``single_thread_env``):
    pytesseract starts Tesseract with the caller's environment.
    """
    config = f"--psm {psm}" + (f" --dpi {dpi}" if dpi else "")
    try:
        data: str = pytesseract.image_to_data(
            str(image),
            lang=languages,
            config=config,
            output_type=pytesseract.Output.STRING,
            timeout=timeout,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise MissingDependency(f"tesseract is not installed ({INSTALL_HINT})") from exc
    except RuntimeError as exc:
        # pytesseract signals its timeout with a bare RuntimeError.
        if "timeout" in str(exc).lower():
            raise PageTimeout(f"tesseract did not finish the page within {timeout:g} s") from exc
        raise ExternalProgramError(f"tesseract failed: {exc}") from exc
    except pytesseract.TesseractError as exc:
        raise ExternalProgramError(f"tesseract failed: {exc.message}") from exc
    return data


__all__ = [
    "Orientation",
    "ProgramTimeout",
    "detect_orientation",
    "image_to_data",
    "languages",
    "missing_languages",
    "single_thread_env",
    "version",
]
