"""A person's fixes to a page's words, applied to the document's result.

Each fix names a word by its index on the page and gives the text it should read. The
recognizer's reading stays in the word; the fix is recorded as an ``Edit`` (before, after,
who, when), the page's text gets the new word in the old one's place, and every output
rendered from the result shows it. Fixing a word again adds another edit: the history stays.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping

from hotocr.datatypes import DocumentResult, Edit, PageResult
from hotocr.outputs import output_words

#: The longest text a word may be given.
MAX_WORD_CHARS = 200


class BadFix(ValueError):
    """A fix that cannot be applied: an unknown page or word, or text no word can hold."""


def apply_fixes(
    result: DocumentResult, page_number: int, fixes: Mapping[int, str], *, who: str, when: str
) -> DocumentResult:
    """``result`` with the words of page ``page_number`` fixed (word index -> new text);
    fixes that change nothing are left out of the record."""
    pages = list(result.pages)
    index = next((i for i, p in enumerate(pages) if p.number == page_number), None)
    if index is None:
        raise BadFix(f"the document has no page {page_number}")
    pages[index] = fix_page(pages[index], fixes, who=who, when=when)
    return dataclasses.replace(result, pages=tuple(pages))


def fix_page(page: PageResult, fixes: Mapping[int, str], *, who: str, when: str) -> PageResult:
    shown = [w.text for w in output_words(page)]
    checked = {word: check_word(text) for word, text in fixes.items()}
    for word in checked:
        if not 0 <= word < len(shown):
            raise BadFix(f"page {page.number} has no word {word}")
    spans = _spans(page.text, shown)
    text = page.text
    # From the end of the text backwards, so the spans before each fix stay where they are.
    for word in sorted(checked, key=lambda i: spans[i][0], reverse=True):
        start, end = spans[word]
        if start >= 0 and checked[word] != shown[word]:
            text = text[:start] + checked[word] + text[end:]
    new = tuple(
        Edit(word, shown[word], after, who, when)
        for word, after in sorted(checked.items())
        if after != shown[word]
    )
    return dataclasses.replace(page, text=text, edits=(*page.edits, *new))


def check_word(text: str) -> str:
    """The text a word is given, trimmed; a ``BadFix`` for none, control characters or too
    much (a word is a word: the fix of a run-together "TAXINVOICE" may hold a space)."""
    text = unicodedata.normalize("NFC", text.strip())
    if not text:
        raise BadFix("a word cannot be empty")
    if len(text) > MAX_WORD_CHARS:
        raise BadFix(f"a word is at most {MAX_WORD_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text):
        raise BadFix("a word cannot hold control characters or line breaks")
    return text


def _spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Where each word lies in the page's text: in order where the text follows the words;
    where it does not (a form's rows put lines in another order), the k-th occurrence of the
    word for its k-th appearance; (-1, -1) where it cannot be found."""
    spans: list[tuple[int, int]] = []
    pos = 0
    seen: dict[str, int] = {}
    for word in words:
        k = seen.get(word, 0)
        seen[word] = k + 1
        found = text.find(word, pos)
        if found < 0:
            found = _nth(text, word, k)
        if found < 0:
            spans.append((-1, -1))
            continue
        spans.append((found, found + len(word)))
        pos = found + len(word)
    return spans


def _nth(text: str, word: str, k: int) -> int:
    found = -1
    for _ in range(k + 1):
        found = text.find(word, found + 1)
        if found < 0:
            return -1
    return found
