"""Post-OCR correction: fix confusions, never damage correct text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hotocr import OcrEngine
from hotocr.correct import correct_text

from .conftest import eval_path, render_page


def fix(text: str, *langs: str, **kw: object) -> str:
    return correct_text(text, languages=langs or ("eng",), enabled=True, **kw).text  # type: ignore[arg-type]


def test_the_sample_sentence_comes_out_exactly_right() -> None:
    result = correct_text("Th1s 1s 4  s@mple w1th typ0s.", languages=("eng",), enabled=True)
    assert result.text == "This is a sample with typos."
    assert [(c.raw, c.fixed, c.offset) for c in result.corrections] == [
        ("Th1s", "This", 0),
        ("1s", "is", 5),
        ("4 ", "a", 8),
        ("s@mple", "sample", 11),
        ("w1th", "with", 18),
        ("typ0s", "typos", 23),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Invoice INV-2024-0117 of 12.03.2024: EUR 1.234,56, due 2024-04-30.",
        "Pay to DE89 3704 0044 0532 0130 00 or NL91 ABNA 0417 1643 00, ref 7731-A.",
        "Mail jan.de.vries@example.com or see https://example.com/a1b2 and www.example.org.",
        "VAT 21% on 3 items; ABN AMRO; 1st floor, Room B12, order 4x, size A4, 10kg.",
        "Dear Mr. Hoekstra and Ms. Wojciechowska, thank you for your letter.",
        "Buy 4 apples and 1 pear.",
    ],
)
def test_protected_tokens_and_names_are_never_changed(text: str) -> None:
    assert fix(text) == text


def test_whitespace_and_punctuation_are_preserved() -> None:
    text = "Line one,\n\n  indented\tline\ftwo w1th tabs.\n"
    assert fix(text) == "Line one,\n\n  indented\tline\ftwo with tabs.\n"


@pytest.mark.parametrize(
    ("raw", "fixed", "langs"),
    [
        ("the rnodern system", "the modern system", ("eng",)),
        ("HELL0 W0RLD", "HELLO WORLD", ("eng",)),
        ("wir danken fur Ihre Hilfe", "wir danken für Ihre Hilfe", ("deu",)),
        ("die Vereinignng der Arbeiter", "die Vereinigung der Arbeiter", ("deu",)),
        ("het 1s een m0oi huis", "het is een mooi huis", ("nld",)),
        ("c'est tr0p cher", "c'est trop cher", ("fra",)),
    ],
)
def test_typical_confusions_are_fixed_case_aware(
    raw: str, fixed: str, langs: tuple[str, ...]
) -> None:
    assert fix(raw, *langs) == fixed


def test_a_word_the_document_repeats_is_kept() -> None:
    text = "The xylotron is calibrated. Each xylotron reading is logged."
    assert fix(text) == text


def test_tesseract_confidence_gates_alphabetic_words() -> None:
    assert fix("the rnodern system") == "the modern system"
    assert fix("the rnodern system", confidences={"rnodern": 97.0}) == "the rnodern system"


def test_user_dictionary_and_rules(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("# product names\nrnodex\n")
    rules = tmp_path / "rules.txt"
    rules.write_text("Acme1nc -> AcmeInc\n")
    text = "the rnodex unit from Acme1nc"
    assert fix(text, dictionary=words, rules=rules) == "the rnodex unit from AcmeInc"


def test_cjk_text_passes_through_untouched() -> None:
    text = "房屋租赁合同\n甲方：北京市朝阳区 编号 HT-2024-001"
    assert fix(text, "chi_sim") == text


def test_disabled_correction_changes_nothing() -> None:
    raw = "Th1s 1s"
    assert correct_text(raw, languages=("eng",), enabled=False).text == raw


def test_ground_truth_texts_are_left_alone() -> None:
    """Do no harm on correct text: at most 0.1% of tokens changed (bench/correction.py)."""
    total = changed = 0
    for name, langs in (
        ("tess_unlv_2page_multipage", ("eng",)),
        ("gtst_bebel_frau_1879_0146", ("deu",)),
    ):
        text = eval_path("gt", f"{name}.gt.txt").read_text(encoding="utf-8")
        result = correct_text(text, languages=langs, enabled=True)
        total += len(text.split())
        changed += len(result.corrections)
    assert changed / total <= 0.001


def test_a_page_in_another_language_is_left_alone_but_for_the_folders_rules(
    tmp_path: Path,
) -> None:
    """A German Fraktur page dropped into an English folder: "rief" is no misread "rick"."""
    text = eval_path("gt", "gtst_clauren_mimil_1815_0023.gt.txt").read_text(encoding="utf-8")
    assert " rief" in text
    rules = tmp_path / "rules.txt"
    rules.write_text("Senner -> Sennhirt\n")
    result = correct_text(text, languages=("eng",), enabled=True, rules=rules)
    assert "language is in doubt" in result.left_out
    assert " rief" in result.text
    assert {(c.raw, c.fixed) for c in result.corrections} == {("Senner", "Sennhirt")}
    # The same page in a German folder is not in doubt, and an English page of misreadings
    # (a third of its words misread) in an English folder is corrected as ever.
    assert correct_text(text, languages=("deu",), enabled=True).left_out == ""
    noisy = (
        "Th1s is a short letter about the meet1ng of the board next week, and we will "
        "discuss the budget, the new office and the p1ans for the coming year with all "
        "of the members who can come to the meeting."
    )
    fixed = correct_text(noisy, languages=("eng",), enabled=True)
    assert fixed.left_out == ""
    assert "This is a short letter about the meeting" in fixed.text and "the plans" in fixed.text


def test_the_filter_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hotocr", "correct", "--lang", "eng"],
        input="Th1s 1s 4  s@mple w1th typ0s.\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "This is a sample with typos.\n"


def test_the_filter_command_says_when_it_has_no_word_list() -> None:
    def run(lang: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hotocr", "correct", "--lang", lang],
            input="Th1s 1s\n",
            capture_output=True,
            text=True,
            check=False,
        )

    unknown = run("xyz")
    assert unknown.returncode == 2 and "no word list for xyz" in unknown.stderr
    mixed = run("eng+xyz")  # the languages it knows still correct; the others are named
    assert mixed.returncode == 0 and mixed.stdout == "This is\n" and "xyz" in mixed.stderr


def test_python_api_recognize_then_postprocess(tmp_path: Path) -> None:
    page = tmp_path / "page.png"
    render_page(("Th1s 1s 4 s@mple w1th typ0s.",), height=400).save(page, dpi=(300, 300))
    engine = OcrEngine(languages=["eng"])
    engine.load_image(page)
    raw = engine.recognize()
    assert len(raw.pages) == 1 and raw.confidence > 0
    assert "s@mple" in raw.text or "sample" not in raw.text  # Tesseract reads what is printed
    fixed = engine.run_postprocessor(raw)
    assert fixed.text.strip() == "This is a sample with typos."
    assert fixed.pages[0].corrections


def test_fraktur_long_s_read_as_f_is_fixed_in_german_only() -> None:
    """Read with the Antiqua model, Fraktur's long s comes out as f: "ift", "fie", "fehr".
    The misreading repeats on every page, so repetition does not protect it; real German
    words with f ("fein", "feine") and any English stay as printed."""
    raw = "Da ift fie fehr froh, fo fah er fich um. Fein und feine Hände. fie kam."
    fixed = correct_text(raw, languages=("deu",), enabled=True).text
    assert fixed == "Da ist sie sehr froh, so sah er sich um. Fein und feine Hände. sie kam."
    english = "The fat cat sat on a fit of fine fire so find it."
    assert correct_text(english, languages=("eng",), enabled=True).text == english


def test_words_run_together_are_split_where_the_lexicon_is_sure() -> None:
    """PP-OCR drops the space between words more often than Tesseract does."""
    result = correct_text(
        "TAXINVOICE No 4512\nthank youfor shopping at WONGTRADING", languages=("eng",), enabled=True
    )
    assert result.text == "TAX INVOICE No 4512\nthank you for shopping at WONG TRADING"
    assert ("TAXINVOICE", "TAX INVOICE") in [(c.raw, c.fixed) for c in result.corrections]


@pytest.mark.parametrize(
    "text",
    [
        "BALAKONG SELANGOR KEMBANGAN",  # place names: the halves are not both words
        "GST REG 000656195584 VAT IBAN NOTICE",  # acronyms and codes are protected
        "Mr Thequick met Ms Johnstone",  # names mid-sentence
        "notwithstanding the therapist",  # known words are never split
    ],
)
def test_names_codes_and_known_words_are_not_split(text: str) -> None:
    assert fix(text) == text


def test_compounds_are_not_split_in_languages_that_write_them_as_one_word() -> None:
    assert fix("Die Haustür und die Hausnummer", "deu") == "Die Haustür und die Hausnummer"
    assert fix("TAXINVOICE", "deu") == "TAXINVOICE"
