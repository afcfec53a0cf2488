"""Rebuilding page text from Tesseract's TSV columns, and one form read by Tesseract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hotocr.recognize import ReadRequest
from hotocr.recognize.layout import join_words
from hotocr.recognize.tesseract import from_tsv, read

from .conftest import LATIN_FONT


def tsv(rows: list[tuple[int, int, int, str, float]]) -> dict[str, list[str]]:
    cols: dict[str, list[str]] = {
        k: [] for k in ("block_num", "par_num", "line_num", "text", "conf", "left", "top")
    }
    cols["width"], cols["height"] = [], []
    for block, par, line, text, conf in rows:
        for key, value in (
            ("block_num", block),
            ("par_num", par),
            ("line_num", line),
            ("text", text),
            ("conf", conf),
            ("left", 1),
            ("top", 2),
            ("width", 3),
            ("height", 4),
        ):
            cols[key].append(str(value))
    return cols


def test_lines_and_paragraphs_are_kept_and_confidence_is_the_word_mean() -> None:
    rec = from_tsv(
        tsv(
            [
                (1, 1, 1, "", -1),  # structural row without a word
                (1, 1, 1, "Hello", 90),
                (1, 1, 1, "world", 80),
                (1, 1, 2, "again", 70),
                (1, 2, 1, "New", 60),
                (2, 1, 1, "Block", 100),
                (2, 1, 1, "  ", 95),  # blank word: ignored
            ]
        )
    )
    assert rec.text == "Hello world\nagain\n\nNew\n\nBlock"
    assert rec.confidence == 80.0
    assert [w.text for w in rec.words] == ["Hello", "world", "again", "New", "Block"]
    assert rec.words[0].box == (1, 2, 3, 4)
    assert [w.line for w in rec.words] == [0, 0, 1, 2, 3]


def test_an_empty_page_has_zero_confidence() -> None:
    rec = from_tsv(tsv([(1, 1, 1, "", -1)]))
    assert rec.text == "" and rec.confidence == 0.0 and rec.words == ()


def test_cjk_characters_are_not_spaced_apart_but_latin_words_are() -> None:
    assert join_words(["本", "合同", "自", "2024", "年"]) == "本合同自 2024 年"
    assert join_words(["甲方：", "北京"]) == "甲方：北京"
    assert join_words(["total", "EUR", "12.50"]) == "total EUR 12.50"


def placed(rows: list[tuple[int, int, str, int, int]]) -> dict[str, list[str]]:
    """TSV columns of one-word lines: (block, line, text, left, top), 30 px high."""
    cols: dict[str, list[str]] = {
        k: []
        for k in (
            "block_num",
            "par_num",
            "line_num",
            "text",
            "conf",
            "left",
            "top",
            "width",
            "height",
        )
    }
    for block, line, text, left, top in rows:
        values = (block, 1, line, text, 90, left, top, 20 * len(text), 30)
        for key, value in zip(cols, values, strict=True):
            cols[key].append(str(value))
    return cols


def test_a_form_read_block_by_block_comes_out_row_by_row() -> None:
    """Tesseract reads a form's labels, then its values (a block each); the text puts each
    value beside its label again."""
    labels = ["Name:", "Date:", "Total:", "Account:"]
    values = ["Harper", "9/3/92", "42.00", "DE44500105175407324931"]
    rows = [(n + 1, 1, label, 100, 100 + 80 * n) for n, label in enumerate(labels)]
    rows += [(n + 10, 1, value, 600, 102 + 80 * n) for n, value in enumerate(values)]
    text = from_tsv(placed(rows)).text
    assert text.splitlines() == [f"{a} {b}" for a, b in zip(labels, values, strict=True)]


def test_columns_of_prose_keep_their_order() -> None:
    """Two columns of four lines each and a one-line heading: not a form, so the left
    column is read before the right one, as Tesseract ordered them."""
    rows = [(1, 1, "Heading", 100, 20)]
    rows += [(2, n + 1, f"left{n}", 100, 100 + 40 * n) for n in range(4)]
    rows += [(3, n + 1, f"right{n}", 700, 100 + 40 * n) for n in range(4)]
    text = from_tsv(placed(rows)).text.split()
    assert text == ["Heading", *(f"left{n}" for n in range(4)), *(f"right{n}" for n in range(4))]


def test_a_real_form_page_reads_label_and_value_on_one_line(tmp_path: Path) -> None:
    """Rendered with Pillow and read by Tesseract: labels at the left, values far to the
    right, as on a 1990s form."""
    image = Image.new("L", (2000, 1100), 255)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(LATIN_FONT, 34)
    pairs = [
        ("Supplier:", "Ecusta Paper Mills"),
        ("Order date:", "11 May 1995"),
        ("Grade mark:", "RPCFS"),
        ("Moisture content:", "12.5 percent"),
        ("Approved by:", "J. S. Wigand"),
    ]
    for n, (label, value) in enumerate(pairs):
        draw.text((120, 120 + 170 * n), label, font=face, fill=20)
        draw.text((1150, 120 + 170 * n), value, font=face, fill=20)
    reading = read(
        np.asarray(image), engine="auto", request=ReadRequest("eng", 3, 300, 60, tmp_path / "p.pgm")
    )
    lines = [line for line in reading.text.splitlines() if line.strip()]
    for label, value in pairs:
        assert any(line.startswith(label) and line.endswith(value) for line in lines), lines
