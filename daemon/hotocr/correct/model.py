"""The noisy-channel model: which strings an OCR confusion could have come from.

Each rule maps what Tesseract *printed* to what the page probably *said*. Candidates are
generated case-insensitively (lower case) and scored against word frequencies; the caller
restores the case pattern of the printed token.
"""

from __future__ import annotations

import itertools
import unicodedata

#: One printed character -> the letters it is often a misreading of.
SINGLE: dict[str, tuple[str, ...]] = {
    "0": ("o",),
    "1": ("l", "i"),
    "5": ("s",),
    "4": ("a",),
    "@": ("a",),
    "$": ("s",),
    "|": ("l", "i"),
    "l": ("i",),
    "i": ("l",),
    "c": ("e",),
    "e": ("c",),
    "b": ("h",),
    "n": ("u",),
    "u": ("n",),
    "f": ("s", "k"),  # Fraktur: the long s and k are read as f
}
#: Characters that are never letters: a token holding one is certainly misread (or a code).
NON_LETTERS = frozenset("0145@$|")
#: Printed letter groups -> what they are often a misreading of (at most one per candidate).
MULTI: tuple[tuple[str, str], ...] = (
    ("rn", "m"),
    ("m", "rn"),
    ("vv", "w"),
    ("cl", "d"),
    ("d", "cl"),
    ("li", "h"),
    ("h", "li"),
    ("ii", "u"),
    ("nn", "m"),
)
#: Cost of one edit, in Zipf units (log10 of frequency per billion words).
EDIT_COST = 0.8
#: Most candidates generated for one token; longer garbles are left alone.
MAX_CANDIDATES = 512


def strip_diacritics(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def candidates(token: str) -> dict[str, int]:
    """Lower-case readings of ``token`` with the number of edits each needs (token itself: 0)."""
    low = token.lower()
    out: dict[str, int] = {}
    variants = [(low, 0)]
    for printed, meant in MULTI:
        start = low.find(printed)
        while start != -1:
            variants.append((low[:start] + meant + low[start + len(printed) :], 1))
            start = low.find(printed, start + 1)
    for base, cost in variants:
        options = [(c, *SINGLE.get(c, ())) for c in base]
        count = 1
        for opt in options:
            count *= len(opt)
        if count > MAX_CANDIDATES:
            # Only the certain misreadings (digits and symbols) vary; letters stay.
            options = [(c, *SINGLE[c]) if c in NON_LETTERS else (c,) for c in base]
        for combo in itertools.islice(itertools.product(*options), MAX_CANDIDATES):
            word = "".join(combo)
            edits = cost + sum(1 for a, b in zip(base, combo, strict=True) if a != b)
            if word not in out or edits < out[word]:
                out[word] = edits
    return out
