"""The two recognizers with their real models: Tesseract and PP-OCR (rapidocr's bundled ONNX
models on ONNX Runtime, CPU), and ``auto``'s choice between them page by page."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from PIL import Image

from hotocr import pages
from hotocr.datatypes import PageResult, PageSettings, PageTask, Recognition, Word
from hotocr.preprocess.survey import Survey
from hotocr.recognize import choice, ppocr
from hotocr.worker import init_worker, process_page

from .conftest import (
    CJK_FONT,
    CONTRACT_LINES,
    ENGLISH_LINES,
    LEFT_COLUMN,
    RECEIPT_LINES,
    RIGHT_COLUMN,
    Daemon,
    cer,
    degrade,
    eval_path,
    receipt_photo_of,
    render_page,
    two_columns,
)
from .test_outputs import SCHEMAS, _Words, assert_boxes_match, process, qpdf_check

RECEIPT = "\n".join(RECEIPT_LINES)


@pytest.fixture(scope="module", autouse=True)
def _single_threaded() -> None:
    init_worker()


def read(path: Path, recognizer: str, **changes: object) -> PageResult:
    settings = dataclasses.replace(
        PageSettings.defaults(("eng",)), recognizer=recognizer, correction=False, **changes
    )
    return process_page(PageTask(path, pages.inspect(path).kind, 1, settings))


@pytest.fixture(scope="module")
def receipt_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A till receipt in small type, photographed with a phone: JPEG, no resolution."""
    path = tmp_path_factory.mktemp("receipt") / "receipt.jpg"
    receipt_photo_of().save(path, quality=90)
    return path


@pytest.fixture(scope="module")
def columns_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("columns") / "columns.png"
    two_columns().save(path, dpi=(300, 300))
    return path


# --- each engine on a page made for it -----------------------------------------------------


def test_ppocr_reads_a_photographed_receipt_that_tesseract_misreads(receipt_photo: Path) -> None:
    pp = read(receipt_photo, "ppocr")
    tess = read(receipt_photo, "tesseract")
    assert pp.recipe is not None and pp.recipe.recognizer == "ppocr"
    assert cer(pp.text, RECEIPT) < 0.06, pp.text
    assert cer(tess.text, RECEIPT) > cer(pp.text, RECEIPT) + 0.05, tess.text
    assert "TOTAL 65.50" in pp.text and "CHANGE 34.50" in pp.text  # amounts read exactly
    assert all(0 <= w.confidence <= 100 for w in pp.words)
    width, height = Image.open(receipt_photo).size
    assert pp.size == (width, height)
    for word in pp.words:
        left, top, w, h = word.box
        assert left >= 0 and top >= 0 and left + w <= width + 1 and top + h <= height + 1


def test_tesseract_reads_a_clean_page_as_well_and_alone(tmp_path: Path) -> None:
    path = tmp_path / "clean.png"
    render_page(ENGLISH_LINES).save(path, dpi=(300, 300))
    tess = read(path, "tesseract")
    assert cer(tess.text, "\n".join(ENGLISH_LINES)) < 0.01
    assert tess.recipe is not None and tess.recipe.recognizer == "tesseract"


def test_a_two_column_page_read_by_ppocr_keeps_its_column_order(columns_page: Path) -> None:
    pp = read(columns_page, "ppocr")
    lines = [line for line in pp.text.splitlines() if line.strip()]
    assert lines == list(LEFT_COLUMN + RIGHT_COLUMN), pp.text
    left_blocks = {w.block for w in pp.words if w.box[0] < 1240}
    right_blocks = {w.block for w in pp.words if w.box[0] >= 1240}
    assert left_blocks.isdisjoint(right_blocks)
    assert max(left_blocks) < min(right_blocks)


def test_the_stained_chinese_contract_reads_exactly_with_ppocr(tmp_path: Path) -> None:
    scan = tmp_path / "contract.png"
    degrade(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500)).save(scan)
    settings = dataclasses.replace(PageSettings.defaults(("chi_sim",)), correction=False)
    result = process_page(PageTask(scan, pages.Kind.PNG, 1, settings))
    assert result.recipe is not None and result.recipe.recognizer == "ppocr"
    assert "Chinese" in result.recipe.reasons["recognizer"]
    assert cer(result.text, "\n".join(CONTRACT_LINES)) <= 0.01, result.text


# --- auto ------------------------------------------------------------------------------------


def test_auto_sends_the_photographed_receipt_to_ppocr_and_says_why(receipt_photo: Path) -> None:
    result = read(receipt_photo, "auto")
    assert result.recipe is not None and result.recipe.recognizer == "ppocr"
    why = result.recipe.reasons["recognizer"]
    assert why.startswith("a photograph"), why
    assert cer(result.text, RECEIPT) < 0.06


def test_auto_leaves_a_clean_two_column_page_to_tesseract(columns_page: Path) -> None:
    result = read(columns_page, "auto")
    assert result.recipe is not None and result.recipe.recognizer == "tesseract"
    assert result.recipe.reasons["recognizer"] == "a clean page"
    assert cer(result.text, "\n".join(LEFT_COLUMN + RIGHT_COLUMN)) < 0.01


def test_auto_keeps_the_better_reading_of_a_fraktur_page() -> None:
    """Fraktur stays with Tesseract's Fraktur model unless PP-OCR reads the page better."""
    path = eval_path("pages", "gtst_clauren_mimil_1815_0023.jpg")
    truth = eval_path("gt", "gtst_clauren_mimil_1815_0023.gt.txt").read_text(encoding="utf-8")
    truth = truth.replace("ſ", "s")
    settings = dataclasses.replace(PageSettings.defaults(("deu",)), correction=False)
    results = {
        name: process_page(
            PageTask(path, pages.Kind.JPEG, 1, dataclasses.replace(settings, recognizer=name))
        )
        for name in ("auto", "tesseract", "ppocr")
    }
    scores = {name: cer(r.text.replace("ſ", "s"), truth) for name, r in results.items()}
    auto = results["auto"].recipe
    assert auto is not None and auto.reasons["recognizer"]  # which, and why
    assert results["tesseract"].recipe is not None
    assert results["tesseract"].recipe.model == "frk"
    assert scores["auto"] <= min(scores["tesseract"], scores["ppocr"]) + 0.005, scores


def test_a_language_ppocr_does_not_read_stays_with_tesseract() -> None:
    decision = choice.decide("auto", ("ara",), None, photo=True, ppocr_ready=True)
    assert decision.first == "tesseract" and decision.second is None
    assert "ara" in decision.reason
    forced = choice.decide("ppocr", ("eng+rus",), None, photo=False, ppocr_ready=True)
    assert forced.first == "tesseract" and "rus" in forced.reason


def test_auto_plans_from_what_the_page_shows() -> None:
    clean = Survey(text_height=24.0, paper_level=250, paper_spread=5, ink_level=20)
    fax = dataclasses.replace(clean, text_height=8.0)
    # A bilevel scan's black border: as uneven as paper gets, and no reason for PP-OCR.
    border = dataclasses.replace(clean, paper_spread=255)

    def first(survey: Survey, languages: tuple[str, ...] = ("eng",), photo: bool = False) -> str:
        return choice.decide("auto", languages, survey, photo=photo, ppocr_ready=True).first

    assert first(clean) == first(border) == "tesseract"
    assert first(fax) == first(clean, photo=True) == first(clean, ("chi_sim",)) == "ppocr"
    assert choice.decide("auto", ("eng",), fax, photo=True, ppocr_ready=False).first == "tesseract"
    assert choice.is_photo(True, None) and choice.is_photo(True, 72)
    assert not choice.is_photo(True, 300) and not choice.is_photo(False, None)


def test_read_both_ways_the_more_confident_reading_is_kept() -> None:
    def reading(engine: str, confidence: float) -> Recognition:
        word = Word("x", confidence, (0, 0, 1, 1), 0)
        return Recognition("x", confidence, (word,), engine=engine)

    kept, why = choice.keep(reading("tesseract", 80.0), reading("ppocr", 78.0))
    assert kept.engine == "ppocr" and "PP-OCR kept" in why
    kept, why = choice.keep(reading("tesseract", 90.0), reading("ppocr", 70.0))
    assert kept.engine == "tesseract" and "Tesseract kept" in why


def test_ppocr_confidence_is_on_tesseracts_scale() -> None:
    scores = np.linspace(0, 1, 101)
    calibrated = [ppocr.calibrate(float(s)) for s in scores]
    assert calibrated == sorted(calibrated)
    assert calibrated[0] == 0.0 and 0 < calibrated[-1] <= 100


# --- outputs ---------------------------------------------------------------------------------


def test_hocr_alto_and_pdf_of_a_ppocr_page_validate_and_sit_on_the_words(
    receipt_photo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    process(receipt_photo, out=out, extra=("--recognizer", "ppocr"))
    data = json.loads((out / "receipt.json").read_text())
    page = data["pages"][0]
    assert page["recipe"]["recognizer"] == "ppocr" and data["engine"]["recognizers"] == ["ppocr"]
    assert data["engine"]["ppocr"].startswith("rapidocr ")
    words = [w["text"] for w in page["words"]]

    parser = _Words()
    parser.feed((out / "receipt.hocr").read_text(encoding="utf-8"))
    assert len(parser.words) == len(words)
    etree.fromstring((out / "receipt.hocr").read_bytes())

    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "alto-4-2.xsd")))
    alto = etree.parse(str(out / "receipt.alto.xml"))
    schema.assertValid(alto)
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    assert len(alto.findall(".//a:String", ns)) == len(words)

    pdf = out / "receipt.ocr.pdf"
    qpdf_check(pdf)
    assert_boxes_match(pdf, data, page_index=0)
    layer = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert sorted(layer) == sorted(w for line in page["text"].splitlines() for w in line.split())

    # Each word's box lies on ink of the page as the photo shows it.
    gray = np.asarray(Image.open(receipt_photo).convert("L"), dtype=np.float32)
    for word in page["words"]:
        left, top, width, height = word["box"]
        inside = gray[top : top + height, left : left + width]
        around = gray[
            max(0, top - height) : top + 2 * height, max(0, left - 20) : left + width + 20
        ]
        assert inside.min() < np.median(around) - 40, word  # dark print inside the box


# --- models and run time ---------------------------------------------------------------------


def test_the_models_load_and_read_with_no_network_and_no_writable_home(tmp_path: Path) -> None:
    """Loading must never reach the network: every attempt to resolve a name or open a
    socket fails the run. With a home that cannot exist the page is read all the same, and
    a writable one is left empty (ONNX Runtime would write a device id there)."""
    page = tmp_path / "page.png"
    render_page(ENGLISH_LINES[:2], height=300).save(page)
    script = textwrap.dedent(
        f"""
        import sys
        def guard(event, args):
            if event.startswith(("socket.", "urllib.")) or event == "http.client.connect":
                raise RuntimeError("network use: " + event)
        sys.addaudithook(guard)
        import numpy as np
        from pathlib import Path
        from PIL import Image
        from hotocr.recognize import ReadRequest, ppocr
        image = np.asarray(Image.open({str(page)!r}).convert("L"))
        rec = ppocr.load().read(image, ReadRequest("eng", 3, 300, 60, Path("/nonexistent")))
        print(rec.text)
        """
    )
    writable = tmp_path / "home"
    writable.mkdir()
    for home in (Path("/dev/null/home"), writable):  # below a file: it cannot be made
        env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
        env.pop("ORT_DISABLE_TELEMETRY", None)
        run = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
        )
        assert run.returncode == 0, run.stderr
        assert "quick brown fox" in run.stdout
    assert not any(writable.iterdir())


def test_a_ppocr_page_that_takes_too_long_is_flagged_not_fatal(receipt_photo: Path) -> None:
    result = read(receipt_photo, "ppocr", timeout=0.01)
    assert result.error is not None and "page timeout" in result.error
    assert result.low_confidence and result.text == ""


def test_a_changed_model_file_is_refused(tmp_path: Path) -> None:
    changed = tmp_path / "model.onnx"
    changed.write_bytes(b"not the measured model")
    with pytest.raises(Exception, match="not the one hotocr was measured with"):
        ppocr._check_model(changed, ppocr.MODELS[0].sha256)


# --- the daemon ------------------------------------------------------------------------------


def test_the_daemon_reads_a_photographed_receipt_with_ppocr_and_a_scan_with_tesseract(
    daemon_factory: Callable[..., Daemon], receipt_photo: Path
) -> None:
    """``hotocr run`` with the defaults: each dropped file gets the recognizer its page
    needs, the same outputs either way, and the JSON says which and why."""
    daemon = daemon_factory(watch_extra='[watch.ocr]\noutputs = ["txt", "json", "pdf", "alto"]')
    shutil.copy(receipt_photo, daemon.inbox / "receipt.jpg")
    render_page(ENGLISH_LINES).save(daemon.inbox / "letter.png", dpi=(300, 300))
    daemon.wait_done(2, timeout=180)
    chosen = {}
    for name in ("receipt", "letter"):
        data = json.loads((daemon.outbox / f"{name}.json").read_text())
        recipe = data["pages"][0]["recipe"]
        chosen[name] = (recipe["recognizer"], data["engine"]["recognizers"])
        assert recipe["reasons"]["recognizer"]
        for suffix in (".txt", ".ocr.pdf", ".alto.xml"):
            assert (daemon.outbox / f"{name}{suffix}").stat().st_size > 0
    assert chosen == {"receipt": ("ppocr", ["ppocr"]), "letter": ("tesseract", ["tesseract"])}
    receipt = (daemon.outbox / "receipt.txt").read_text(encoding="utf-8")
    assert cer(receipt, RECEIPT) < 0.06, receipt
