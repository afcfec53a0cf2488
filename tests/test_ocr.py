"""Recognition with the real Tesseract, one page at a time through the worker's task."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hotocr import pages
from hotocr.datatypes import PageSettings, PageTask
from hotocr.worker import init_worker, process_page

from .conftest import CJK_FONT, CONTRACT_LINES, cer, degrade, eval_path, render_page


@pytest.fixture(scope="module", autouse=True)
def _single_threaded() -> None:
    init_worker()


def settings(**changes: object) -> PageSettings:
    return dataclasses.replace(PageSettings.defaults(), **changes)


def run_page(path: Path, number: int = 1, **changes: object):
    info = pages.inspect(path)
    return process_page(PageTask(path, info.kind, number, settings(**changes)))


def test_tesseract_reads_the_stained_chinese_contract_only_after_background_removal(
    tmp_path: Path,
) -> None:
    """The signature case: uneven light, a book-fold shadow, yellowed paper, coffee stains."""
    scan = tmp_path / "contract.png"
    degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)).save(scan)
    truth = "\n".join(CONTRACT_LINES)
    tesseract = {"languages": ("chi_sim",), "recognizer": "tesseract"}
    plain = run_page(scan, steps=(), auto_rotate=False, **tesseract)
    cleaned = run_page(scan, **tesseract)
    assert cer(plain.text, truth) > 0.5, plain.text
    assert cer(cleaned.text, truth) < 0.15, cleaned.text
    assert "上海市浦东新区世纪大道一百号" in cleaned.text
    assert "第一条" in cleaned.text  # CJK characters are not spaced apart


@pytest.mark.parametrize(("name", "rotation"), [("rotL", 90), ("rot180", 180)])
def test_pages_scanned_sideways_or_upside_down_are_turned(name: str, rotation: int) -> None:
    result = run_page(eval_path("pages", f"tess_phototest_{name}.png"))
    truth = eval_path("gt", f"tess_phototest_{name}.gt.txt").read_text(encoding="utf-8")
    assert result.rotation == rotation
    assert cer(result.text, truth) < 0.05
    assert not result.low_confidence


def test_an_upright_page_is_read_without_orientation_detection() -> None:
    result = run_page(eval_path("pages", "tess_phototest.tif"))
    truth = eval_path("gt", "tess_phototest.gt.txt").read_text(encoding="utf-8")
    assert result.rotation == 0 and cer(result.text, truth) < 0.02
    assert result.confidence > 90
    words = {w.text for w in result.words}
    assert {"quick", "brown"} <= words
    assert all(0 <= w.confidence <= 100 for w in result.words)


def test_a_page_that_takes_too_long_is_flagged_not_fatal() -> None:
    result = run_page(eval_path("pages", "tess_phototest.tif"), timeout=0.05)
    assert result.error is not None and "did not finish" in result.error
    assert result.low_confidence and result.text == ""


def test_a_skewed_scan_is_straightened_and_read() -> None:
    path = eval_path("pages", "ocrmypdf_skew.pdf")
    truth = eval_path("gt", "ocrmypdf_skew.gt.txt").read_text(encoding="utf-8")
    cleaned = run_page(path)
    assert cleaned.skew_degrees is not None and abs(cleaned.skew_degrees) > 1
    assert cer(cleaned.text, truth) < 0.1
