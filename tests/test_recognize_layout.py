"""Rebuilding page text from Tesseract's TSV columns (no Tesseract needed here)."""

from __future__ import annotations

from hotocr.recognize import from_tsv, join_words


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
