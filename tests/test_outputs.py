"""Searchable PDF, hOCR and ALTO, checked with real clients: poppler's pdftotext and pdfimages,
qpdf --check, an XSD validator, an HTML parser."""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import cv2
import img2pdf
import numpy as np
import pikepdf
import pytest
from lxml import etree
from PIL import Image
from rapidfuzz.distance import Levenshtein

from hotocr import geometry

from .conftest import (
    ENGLISH_LINES,
    LEFT_COLUMN,
    RIGHT_COLUMN,
    eval_path,
    preflight,
    render_page,
    two_columns,
)

SCHEMAS = Path(__file__).parent / "schemas"
ALL = "txt,json,pdf,hocr,alto"


def process(*files: Path, out: Path, outputs: str = ALL, extra: tuple[str, ...] = ()) -> None:
    run = subprocess.run(
        [
            *(sys.executable, "-m", "hotocr", "process", *map(str, files)),
            *("--output", str(out), "--outputs", outputs, "--lang", "eng", *extra),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# --- geometry ---------------------------------------------------------------------------------


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_unturn_maps_a_turned_pixel_back_to_where_it_was(turn: int) -> None:
    page = np.zeros((30, 50), np.uint8)
    page[7, 11] = 255  # row 7, column 11: the pixel whose edges are x 11-12, y 7-8
    turned = np.rot90(page, k=-turn // 90)
    ys, xs = np.nonzero(turned)
    box = geometry.map_box(
        geometry.unturn(turn, 50, 30), (int(xs[0]), int(ys[0]), 1, 1), width=50, height=30
    )
    assert box == (11, 7, 1, 1)


def test_rotation_matches_opencv() -> None:
    matrix, new_w, new_h = geometry.rotation(300, 500, 7.5)
    theirs = cv2.getRotationMatrix2D((250.0, 150.0), 7.5, 1.0)
    theirs[0, 2] += (new_w - 500) / 2.0
    theirs[1, 2] += (new_h - 300) / 2.0
    assert np.allclose(np.array(matrix), theirs)
    back = geometry.compose(geometry.invert(matrix), matrix)
    assert np.allclose(np.array(back), np.array(geometry.IDENTITY))


# --- the files ---------------------------------------------------------------------------------


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Each page's size in points as a viewer shows it (its /Rotate applied)."""
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "9999", str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    sizes = re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", out)
    turns = re.findall(r"Page +\d+ rot: +(\d+)", out)
    return [
        (float(h), float(w)) if rot in ("90", "270") else (float(w), float(h))
        for (w, h), rot in zip(sizes, turns, strict=True)
    ]


def assert_boxes_match(pdf: Path, data: dict, *, page_index: int) -> None:
    """Every JSON word of the page lies, in the PDF, within 2% of the page size of its box.

    JSON boxes are in the page as the original shows it; the .ocr.pdf shows a page read
    turned upright (``upright_pages``), turned by the page's ``rotation`` clockwise."""
    page = data["pages"][page_index]
    turn = page["rotation"] % 360
    width0, height0 = (
        (page["height"], page["width"]) if turn in (90, 270) else (page["width"], page["height"])
    )
    shown_w, shown_h = page_sizes(pdf)[page_index]
    sx, sy = shown_w / width0, shown_h / height0
    placed = [w for w in words_of_page(pdf, page_index + 1)]
    assert placed, "no text layer on the page"
    unmatched = list(placed)
    checked = 0
    for word in page["words"]:
        left, top, width, height = word["box"]
        x, y = upright_point(left + width / 2, top + height / 2, page)
        cx, cy = x * sx, y * sy
        same = [p for p in unmatched if p[0] == word["text"]]
        if not same:
            continue  # a word the corrector changed appears under its corrected text
        nearest = min(
            same, key=lambda p: math.hypot((p[1] + p[3]) / 2 - cx, (p[2] + p[4]) / 2 - cy)
        )
        _, x0, y0, x1, y1 = nearest
        assert abs((x0 + x1) / 2 - cx) <= 0.02 * shown_w, (word["text"], x0, x1, cx)
        assert abs((y0 + y1) / 2 - cy) <= 0.02 * shown_h, (word["text"], y0, y1, cy)
        unmatched.remove(nearest)
        checked += 1
    assert checked >= 0.9 * len(page["words"])


def upright_point(x: float, y: float, page: dict) -> tuple[float, float]:
    """A point of the page as the original shows it, on the page turned upright."""
    w, h, turn = page["width"], page["height"], page["rotation"] % 360
    if turn == 90:
        return h - y, x
    if turn == 180:
        return w - x, h - y
    if turn == 270:
        return y, w - x
    return x, y


def words_of_page(pdf: Path, number: int) -> list[tuple[str, float, float, float, float]]:
    """pdftotext -bbox of one page: each word and its box in points, from the shown page's top
    left."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", str(number), "-l", str(number), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html,
    )
    return [(t, float(a), float(b), float(c), float(d)) for a, b, c, d, t in found]


def qpdf_check(pdf: Path) -> None:
    run = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No syntax or stream encoding errors" in run.stdout


def test_an_image_becomes_a_searchable_pdf_with_its_pixels_untouched(tmp_path: Path) -> None:
    source = tmp_path / "letter.png"
    render_page(ENGLISH_LINES, height=1100).save(source, dpi=(300, 300))
    out = tmp_path / "out"
    process(source, out=out)
    pdf, data = out / "letter.ocr.pdf", json.loads((out / "letter.json").read_text())
    qpdf_check(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert text.split() == (out / "letter.txt").read_text().split()
    assert_boxes_match(pdf, data, page_index=0)
    assert page_sizes(pdf)[0] == pytest.approx((2480 * 72 / 300, 1100 * 72 / 300), abs=0.5)
    # The page's picture is the PNG's pixels, losslessly.
    listed = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert len(listed) == 1 and listed[0].split()[3:5] == ["2480", "1100"]
    subprocess.run(["pdfimages", "-png", str(pdf), str(tmp_path / "img")], check=True)
    taken = np.asarray(Image.open(tmp_path / "img-000.png").convert("L"))
    assert np.array_equal(taken, np.asarray(Image.open(source).convert("L")))


def test_a_jpeg_is_passed_through_as_it_is(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    render_page(ENGLISH_LINES[:3], height=700).convert("RGB").save(source, quality=85)
    out = tmp_path / "out"
    process(source, out=out, outputs="json,pdf")
    with pikepdf.open(out / "photo.ocr.pdf") as pdf:
        images = [img for page in pdf.pages for img in page.get_images().values()]
        assert len(images) == 1 and images[0].Filter == pikepdf.Name.DCTDecode
        assert images[0].read_raw_bytes() == source.read_bytes()
    assert not (out / "photo.txt").exists()  # only what was asked for


def test_pdf_pages_keep_their_images_and_the_text_sits_on_the_words(tmp_path: Path) -> None:
    """The 4 pages drawn at 0/90/180/270 degrees, a page with /Rotate, and a skewed page."""
    originals = [
        eval_path("pages", "ocrmypdf_cardinal.pdf"),
        eval_path("pages", "ocrmypdf_rotated_skew.pdf"),
        eval_path("pages", "ocrmypdf_skew.pdf"),
    ]
    rotated = tmp_path / "rotate90.pdf"
    with pikepdf.open(originals[2]) as pdf:
        pdf.pages[0].obj.Rotate = 90
        pdf.save(rotated)
    folder = tmp_path / "in"
    folder.mkdir()
    for path in [*originals, rotated]:
        shutil.copy(path, folder / path.name)
    out = tmp_path / "out"
    process(*sorted(folder.iterdir()), out=out)
    for path in sorted(folder.iterdir()):
        stem = path.stem
        pdf, data = out / f"{stem}.ocr.pdf", json.loads((out / f"{stem}.json").read_text())
        qpdf_check(pdf)
        for index in range(len(data["pages"])):
            assert_boxes_match(pdf, data, page_index=index)
        assert image_streams(pdf) == image_streams(path), stem
        assert pdfimages_list(pdf) == pdfimages_list(path), stem
    # The turned pages really were turned to be read.
    cardinal = json.loads((out / "ocrmypdf_cardinal.json").read_text())
    assert [p["rotation"] for p in cardinal["pages"]] == [0, 270, 180, 90]
    # A turned page's text is found word for word. (This page has two columns, which
    # pdftotext orders by its own rules; pdftotext joins words hyphenated at a line's end.)
    text = subprocess.run(
        ["pdftotext", str(out / "ocrmypdf_cardinal.ocr.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pages = (out / "ocrmypdf_cardinal.txt").read_text().split("\f")
    for shown, read in zip(text.split("\f")[:4], pages, strict=True):
        found, wanted = Counter(shown.split()), Counter(read.split())
        assert sum((found & wanted).values()) >= 0.97 * sum(wanted.values())
    # Shown upright (/Rotate), every page reads like page 1, in the same order.
    with pikepdf.open(out / "ocrmypdf_cardinal.ocr.pdf") as doc:
        assert [int(p.obj.get("/Rotate", 0)) for p in doc.pages] == [0, 270, 180, 90]
    shown_pages = [p.split() for p in text.split("\f")[:4]]
    for words in shown_pages[1:]:
        moved = Levenshtein.normalized_distance(words, shown_pages[0])
        assert moved <= 0.05, moved


def image_streams(pdf: Path) -> list[str]:
    with pikepdf.open(pdf) as doc:
        return sorted(
            hashlib.sha256(img.read_raw_bytes()).hexdigest()
            for page in doc.pages
            for img in page.get_images().values()
        )


def pdfimages_list(pdf: Path) -> list[list[str]]:
    rows = subprocess.run(
        ["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    # page, num, type, width, height, color, comp, bpc, enc, interp, object, id, x-ppi, y-ppi
    return [[r.split()[i] for i in (0, 2, 3, 4, 5, 6, 7, 8)] for r in rows]


class _Words(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.pages: list[str] = []
        self._in_word = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        cls = dict(attrs).get("class")
        if cls == "ocr_page":
            self.pages.append(dict(attrs).get("title") or "")
        self._in_word = cls == "ocrx_word"
        if self._in_word:
            self.words.append("")

    def handle_data(self, data: str) -> None:
        if self._in_word:
            self.words[-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._in_word = False


def test_hocr_and_alto_hold_every_word_with_its_box(tmp_path: Path) -> None:
    source = tmp_path / "two.tif"
    frames = [render_page(ENGLISH_LINES, height=900), render_page(ENGLISH_LINES[:2], height=900)]
    frames[0].save(source, save_all=True, append_images=frames[1:], dpi=(300, 300))
    out = tmp_path / "out"
    process(source, out=out)
    data = json.loads((out / "two.json").read_text())
    words = [w["text"] for p in data["pages"] for w in p["words"]]

    parser = _Words()
    parser.feed((out / "two.hocr").read_text(encoding="utf-8"))
    assert len(parser.words) == len(words)
    assert len(parser.pages) == 2 and "bbox 0 0 2480 900" in parser.pages[0]
    etree.fromstring((out / "two.hocr").read_bytes())  # well-formed XHTML

    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "alto-4-2.xsd")))
    alto = etree.parse(str(out / "two.alto.xml"))
    schema.assertValid(alto)
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    strings = alto.findall(".//a:String", ns)
    assert [s.get("CONTENT") for s in strings] == [
        w["text"] for p in data["pages"] for w in p["words"]
    ]
    first = strings[0]
    box = data["pages"][0]["words"][0]["box"]
    assert [int(first.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT")] == box
    assert 0 <= float(first.get("WC")) <= 1


def test_hocr_and_alto_keep_the_columns_blocks_baselines_and_turned_text(
    tmp_path: Path,
) -> None:
    """A two-column page, and the same page scanned sideways: hOCR nests carea > par >
    line > word with baselines (hocr-tools' ``hocr-check`` passes), ALTO has a TextBlock per
    block (never across the gutter) and validates, and the turned page says how its text
    runs (``textangle``, ``ROTATION``)."""
    page = two_columns()
    page.save(tmp_path / "columns.png", dpi=(300, 300))
    page.rotate(90, expand=True).save(tmp_path / "sideways.png", dpi=(300, 300))
    out = tmp_path / "out"
    process(tmp_path / "columns.png", tmp_path / "sideways.png", out=out, outputs="json,hocr,alto")
    schema = etree.XMLSchema(etree.parse(str(SCHEMAS / "alto-4-2.xsd")))
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    xhtml = {"h": "http://www.w3.org/1999/xhtml"}
    for stem, angle in (("columns", 0), ("sideways", 90)):
        data = json.loads((out / f"{stem}.json").read_text())
        turn = data["pages"][0]["rotation"]
        assert turn == angle  # turned a quarter counter-clockwise: read a quarter clockwise
        check = subprocess.run(
            [str(Path(sys.executable).parent / "hocr-check"), str(out / f"{stem}.hocr")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0 and "not ok" not in check.stdout, check.stdout
        hocr = etree.parse(str(out / f"{stem}.hocr"))
        areas = hocr.findall(".//h:div[@class='ocr_carea']", xhtml)
        # Each block (carea in hOCR, TextBlock in ALTO) holds the words of one column only.
        columns = [set(_words_in(area, xhtml, "h:span[@class='ocrx_word']")) for area in areas]
        _assert_one_column_each(columns)
        for line in hocr.findall(".//h:p[@class='ocr_par']/h:span[@class='ocr_line']", xhtml):
            title = line.get("title")
            assert re.search(r"; baseline -?[\d.]+(e-?\d+)? -?[\d.]+; x_size [\d.]+", title)
            assert ("textangle" in title) == (turn != 0), title
            if turn:
                assert f"textangle {turn}" in title
        alto = etree.parse(str(out / f"{stem}.alto.xml"))
        schema.assertValid(alto)
        blocks = alto.findall(".//a:TextBlock", ns)
        text_blocks = [
            {s.get("CONTENT") for s in block.findall(".//a:String", ns)} for block in blocks
        ]
        _assert_one_column_each(text_blocks)
        assert len(blocks) == len(areas) >= 2
        for block in blocks:
            assert block.get("ROTATION") == (str(turn) if turn else None)
        assert all(line.get("BASELINE") for line in alto.findall(".//a:TextLine", ns))


def _words_in(element: etree._Element, ns: dict[str, str], path: str) -> list[str]:
    return ["".join(w.itertext()) for w in element.findall(f".//{path}", ns)]


def _assert_one_column_each(blocks: list[set[str]]) -> None:
    left = {w for line in LEFT_COLUMN for w in line.split()}
    right = {w for line in RIGHT_COLUMN for w in line.split()}
    only_left, only_right = left - right, right - left
    assert blocks
    for words in blocks:
        assert not (words & only_left and words & only_right), words


#: What Preflight (a PDF/A-1b checker) says of a PDF/A-2b file that is otherwise clean.
ONLY_PART_2 = ["7.11.2 : Error on MetaData, part must be 1"]


def test_the_searchable_pdf_is_pdfa_2b_and_an_independent_checker_agrees(tmp_path: Path) -> None:
    """The eval PDFs (JBIG2, CCITT, turned, skewed) and a colour photo: PDF/A-2b, with XMP
    that agrees with the document information; Apache PDFBox's Preflight finds nothing
    but the part number (it checks PDF/A-1b, which is stricter)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("ocrmypdf_cardinal.pdf", "ocrmypdf_ccitt.pdf", "ocrmypdf_rotated_skew.pdf"):
        shutil.copy(eval_path("pages", name), folder / name)
    render_page(ENGLISH_LINES[:3], height=700).convert("RGB").save(folder / "photo.jpg")
    out = tmp_path / "out"
    process(*sorted(folder.iterdir()), out=out, outputs="json,pdf")
    for path in sorted(folder.iterdir()):
        pdf = out / f"{path.stem}.ocr.pdf"
        data = json.loads((out / f"{path.stem}.json").read_text())
        assert data["pdf"] == {"pdfa": "2b", "why_not": None}, data["pdf"]
        assert preflight(pdf) == ONLY_PART_2, (path.name, preflight(pdf))
        with pikepdf.open(pdf) as doc:
            meta = doc.open_metadata()
            assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
            assert str(doc.docinfo["/Producer"]) == meta["pdf:Producer"]
            assert meta["pdf:Producer"].startswith("hotocr")
            assert meta["xmp:ModifyDate"].startswith(time.strftime("%Y-"))  # not 2016
            assert len(doc.Root.OutputIntents) == 1
        qpdf_check(pdf)


def test_a_pdf_that_cannot_be_pdfa_is_written_plain_and_the_json_says_why(
    tmp_path: Path,
) -> None:
    """A footer in Helvetica that is not embedded: PDF/A cannot have it, so the .ocr.pdf is
    a plain PDF that claims nothing, and the JSON names the font; the text is there."""
    buffer = io.BytesIO()
    render_page(ENGLISH_LINES[:2], height=900).save(buffer, format="PNG", dpi=(300, 300))
    pdf = pikepdf.open(io.BytesIO(img2pdf.convert(buffer.getvalue())))
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
    )
    page = pdf.pages[0]
    name = page.add_resource(pdf.make_indirect(font), pikepdf.Name.Font, prefix="F")
    page.contents_add(pdf.make_stream(f"BT {name} 9 Tf 40 20 Td (Filed.) Tj ET".encode()))
    source = tmp_path / "footer.pdf"
    pdf.save(source)
    out = tmp_path / "out"
    process(source, out=out, outputs="json,pdf")
    data = json.loads((out / "footer.json").read_text())
    assert data["pdf"]["pdfa"] is None and "not embedded" in data["pdf"]["why_not"]
    with pikepdf.open(out / "footer.ocr.pdf") as doc:
        assert "pdfaid:part" not in doc.open_metadata()
        assert "/OutputIntents" not in doc.Root
    assert (
        ENGLISH_LINES[0].split()[0]
        in subprocess.run(
            ["pdftotext", str(out / "footer.ocr.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


def test_a_corrected_word_keeps_tesseracts_reading_in_alto(tmp_path: Path) -> None:
    source = tmp_path / "typos.png"
    render_page(("Th1s 1s 4 s@mple w1th typ0s.",), height=400).save(source, dpi=(300, 300))
    out = tmp_path / "out"
    process(source, out=out, outputs="json,alto,pdf")
    alto = etree.parse(str(out / "typos.alto.xml"))
    ns = {"a": "http://www.loc.gov/standards/alto/ns-v4#"}
    contents = {
        s.get("CONTENT"): s.findtext("a:ALTERNATIVE", namespaces=ns)
        for s in alto.findall(".//a:String", ns)
    }
    assert contents.get("sample") == "s@mple" and contents.get("is") == "1s"
    pdftext = subprocess.run(
        ["pdftotext", str(out / "typos.ocr.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "This is a sample" in " ".join(pdftext.split())


def test_a_page_without_text_gets_no_text_layer(tmp_path: Path) -> None:
    """A blank page is left exactly as it was; the page with words gets its layer."""
    blank, text = tmp_path / "blank.png", tmp_path / "text.png"
    Image.new("L", (1240, 1754), 255).save(blank, dpi=(150, 150))
    render_page(ENGLISH_LINES, width=1240, height=1754).save(text, dpi=(150, 150))
    source = tmp_path / "mixed.pdf"
    source.write_bytes(img2pdf.convert([str(blank), str(text)]))
    out = tmp_path / "out"
    process(source, out=out, outputs="json,pdf")
    result = out / "mixed.ocr.pdf"
    assert words_of_page(result, 1) == [] and words_of_page(result, 2)
    with pikepdf.open(source) as before, pikepdf.open(result) as after:
        assert before.pages[0].obj.Contents.read_bytes() == after.pages[0].obj.Contents.read_bytes()
        assert len(after.pages[1].obj.Contents) == 3  # q; the original; Q and the text
