"""Reading order of recognized lines (``recognize.layout``): columns, blocks and rows, from
lines placed by hand (no recognizer involved)."""

from __future__ import annotations

from hotocr.datatypes import Word
from hotocr.recognize.layout import TextLine, blocks_in_order, in_rows, line_box

#: Line height of the hand-made pages (px); a character is half as wide.
HEIGHT = 40


def line(text: str, x: int, y: int, *, gap: int = 12) -> TextLine:
    """A line of words from (x, y), each word 20 px a character, ``gap`` px between words."""
    words = []
    for part in text.split():
        words.append(Word(part, 90.0, (x, y, 20 * len(part), HEIGHT), line=0))
        x += 20 * len(part) + gap
    return TextLine(words, line_box(words))


def reading(lines: list[TextLine]) -> list[str]:
    """The lines' texts in reading order, a block's rows joined."""
    return [
        " ".join(w.text for part in row for w in part.words)
        for block in blocks_in_order(lines)
        for row in block
    ]


LEFT = [f"left column line number {n} of the prose" for n in range(1, 7)]
RIGHT = [f"right column line number {n} of the prose" for n in range(1, 7)]


def two_columns(top: int = 100, gutter: int = 60) -> list[TextLine]:
    width = 20 * len(LEFT[0]) + 12 * 7
    return [line(t, 50, top + 60 * i) for i, t in enumerate(LEFT)] + [
        line(t, 50 + width + gutter, top + 60 * i) for i, t in enumerate(RIGHT)
    ]


def test_two_columns_of_level_lines_read_column_by_column() -> None:
    assert reading(two_columns()) == LEFT + RIGHT


def test_a_line_run_on_across_a_narrow_gutter_is_cut_there() -> None:
    lines = two_columns(gutter=24)  # 0.6 line heights: narrower than most gutters
    first_left, first_right = lines[0], lines[len(LEFT)]
    joined = first_left.words + first_right.words  # the detector read them as one line
    lines = [TextLine(joined, line_box(joined)), *lines[1 : len(LEFT)], *lines[len(LEFT) + 1 :]]
    assert reading(lines) == LEFT + RIGHT


def test_a_title_above_and_a_note_below_the_columns_keep_their_places() -> None:
    title = line("A title that runs across both of the columns of this page", 50, 20)
    note = line("A closing note that also runs the whole width of the page below", 50, 480)
    assert reading([note, *two_columns(top=80), title]) == [
        "A title that runs across both of the columns of this page",
        *LEFT,
        *RIGHT,
        "A closing note that also runs the whole width of the page below",
    ]


def test_labels_and_values_of_a_form_stay_in_rows() -> None:
    pairs = [("Name:", "John Smith"), ("Date:", "12.3.1994"), ("Total:", "42.00 EUR")]
    pairs += [("Order:", "INV-2024-7"), ("Paid:", "yes")]
    lines = []
    for i, (label, value) in enumerate(pairs):
        lines += [line(label, 50, 100 + 60 * i), line(value, 900, 102 + 60 * i)]
    assert reading(lines) == [f"{label} {value}" for label, value in pairs]


def test_a_receipts_items_and_prices_stay_in_rows() -> None:
    items = [f"Item number {n} with a long description" for n in range(1, 7)]
    lines = []
    for i, item in enumerate(items):
        lines += [line(item, 50, 100 + 60 * i), line(f"{i + 1}.50", 1200, 100 + 60 * i)]
    assert reading(lines) == [f"{item} {i + 1}.50" for i, item in enumerate(items)]


def test_rows_go_top_to_bottom_and_left_to_right() -> None:
    a, b, c = line("first", 500, 100), line("second", 50, 104), line("third", 50, 200)
    assert [[x.words[0].text for x in row] for row in in_rows([c, a, b])] == [
        ["second", "first"],
        ["third"],
    ]


def test_paragraph_gaps_level_in_two_columns_do_not_cut_the_columns() -> None:
    lines = two_columns()
    for moved in lines:
        if moved.box[1] >= 100 + 60 * 3:  # both columns' last three lines, a paragraph lower
            for i, w in enumerate(moved.words):
                moved.words[i] = Word(
                    w.text, w.confidence, (w.box[0], w.box[1] + 80, *w.box[2:]), 0
                )
            moved.box = line_box(moved.words)
    assert reading(lines) == LEFT + RIGHT
