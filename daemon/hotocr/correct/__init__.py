"""Post-OCR correction.

For now a pass-through: the corrector itself (confusion model, word frequencies, protected
tokens) is its own piece of work. The sidecar already keeps ``raw_text`` beside ``text`` and a
list of corrections, so adding it changes no format.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Correction:
    raw: str
    fixed: str
    #: Character offset of ``raw`` in the page's raw text.
    offset: int


@dataclass(frozen=True)
class Corrected:
    text: str
    corrections: tuple[Correction, ...]


def correct_text(raw_text: str, *, languages: tuple[str, ...], enabled: bool) -> Corrected:
    """The corrected page text; unchanged until the corrector lands (see module docstring)."""
    del languages, enabled
    return Corrected(text=raw_text, corrections=())
