"""The two ways Tesseract runs (its C API in the worker, the program per page) read alike."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hotocr import pages
from hotocr._exec import libtesseract, tesseract
from hotocr.datatypes import PageSettings, PageTask
from hotocr.errors import MissingDependency, PageTimeout
from hotocr.recognize import tesseract as recognize
from hotocr.worker import prepare_process, read_page
from tests.conftest import (
    CJK_FONT,
    CONTRACT_LINES,
    ENGLISH_LINES,
    ROOT,
    eval_path,
    render_page,
    to_array,
)


@pytest.fixture(autouse=True)
def _single_thread() -> None:
    prepare_process()


def program_rows(image: np.ndarray, tmp_path: Path, *, languages: str, dpi: int | None) -> str:
    path = tmp_path / "page.pgm"
    recognize.write_page_image(path, image)
    tsv = tesseract.image_to_data(path, languages=languages, psm=3, dpi=dpi, timeout=120)
    return "\n".join(tsv.splitlines()[1:])  # without the header


def library_rows(image: np.ndarray, *, languages: str, dpi: int | None) -> str:
    rows = libtesseract.image_to_tsv(image, languages=languages, psm=3, dpi=dpi, timeout=120)
    return "\n".join(rows.splitlines())


@pytest.mark.parametrize(
    ("lines", "font", "languages", "dpi"),
    [
        (ENGLISH_LINES, None, "eng", 300),
        (ENGLISH_LINES, None, "eng", None),  # Tesseract estimates the resolution
        (CONTRACT_LINES, CJK_FONT, "chi_sim", 300),
    ],
)
def test_library_gives_the_programs_tsv(
    tmp_path: Path, lines: tuple[str, ...], font: str | None, languages: str, dpi: int | None
) -> None:
    page = render_page(lines, height=700, **({"font": font} if font else {}))
    image = to_array(page)
    library = library_rows(image, languages=languages, dpi=dpi)
    assert library == program_rows(image, tmp_path, languages=languages, dpi=dpi)
    assert len(recognize.from_tsv(recognize.tsv_columns(library)).words) > 10


def test_a_turned_eval_page_reads_the_same_on_both_engines() -> None:
    """The whole page task, orientation included (page 3 of the cardinal PDF is upside down)."""
    source = eval_path("pages", "ocrmypdf_cardinal.pdf")
    results = {}
    for engine in ("library", "command"):
        settings = dataclasses.replace(PageSettings.defaults(("eng",)), engine=engine)
        results[engine] = read_page(PageTask(source, pages.Kind.PDF, 3, settings))
    library, command = results["library"], results["command"]
    assert library.rotation == command.rotation == 180
    assert library.text == command.text and library.words == command.words
    assert library.confidence == command.confidence > 80


def test_threads_have_their_own_tesseract() -> None:
    """A ``TessBaseAPI`` is not thread-safe: two threads reading at once must not share one."""
    images = [
        to_array(render_page(ENGLISH_LINES[:3], height=500)),
        to_array(render_page(ENGLISH_LINES[2:], height=500)),
    ]
    alone = [library_rows(image, languages="eng", dpi=300) for image in images]
    together: list[str] = ["", ""]

    def read(i: int) -> None:
        for _ in range(3):
            together[i] = library_rows(images[i], languages="eng", dpi=300)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone and alone[0] != alone[1]


def test_the_deadline_is_a_page_timeout() -> None:
    image = to_array(render_page(ENGLISH_LINES * 8, height=3300, width=2550))
    with pytest.raises(PageTimeout, match=r"within 0\.05 s"):
        libtesseract.image_to_tsv(image, languages="eng", psm=3, dpi=300, timeout=0.05)
    # The API is still usable afterwards.
    small = to_array(render_page(ENGLISH_LINES[:1], height=300))
    assert "quick" in library_rows(small, languages="eng", dpi=300)


def test_a_hung_call_ends_the_worker_with_a_message() -> None:
    """Past its deadline plus the grace, a call that does not return ends the process (here
    the grace is made negative, so the watchdog fires while the page is still read)."""
    script = (
        "from hotocr._exec import libtesseract\n"
        "from hotocr.worker import prepare_process\n"
        "from tests.conftest import ENGLISH_LINES, render_page, to_array\n"
        "prepare_process()\n"
        "libtesseract.HANG_GRACE = -9.8\n"
        "image = to_array(render_page(ENGLISH_LINES * 8, height=3300, width=2550))\n"
        "libtesseract.image_to_tsv(image, languages='eng', psm=3, dpi=300, timeout=10)\n"
        "print('returned')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == libtesseract.HANG_EXIT, out.stderr
    assert "ending this worker" in out.stderr and "returned" not in out.stdout


@pytest.fixture
def no_library(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(libtesseract, "LIBRARY", "libtesseract-not-here.so.0")
    libtesseract.library.cache_clear()
    libtesseract.available.cache_clear()
    yield
    monkeypatch.undo()
    libtesseract.library.cache_clear()
    libtesseract.available.cache_clear()


@pytest.mark.usefixtures("no_library")
def test_without_the_library_auto_uses_the_program_and_library_is_refused() -> None:
    assert recognize.resolve_engine("auto") == "command"
    assert recognize.resolve_engine("command") == "command"
    with pytest.raises(MissingDependency, match=r'ocr\.engine = "library"'):
        recognize.resolve_engine("library")


def test_with_the_library_auto_uses_it() -> None:
    assert recognize.resolve_engine("auto") == "library"
    assert libtesseract.version() == tesseract.version()
