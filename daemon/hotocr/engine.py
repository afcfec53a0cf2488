"""A small in-process Python API over the same pipeline the daemon runs.

from hotocr import OcrEngine
engine = OcrEngine(languages=["eng"])
engine.load_image("scan.png")
raw = engine.recognize()              # .text, .confidence, .pages
fixed = engine.run_postprocessor(raw) # same shape, corrected
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hotocr import pages
from hotocr.correct import correct_text
from hotocr.datatypes import Correction, PageResult, PageSettings, PageTask, mean_confidence
from hotocr.worker import process_page


@dataclass(frozen=True)
class OcrPage:
    number: int
    text: str
    confidence: float
    low_confidence: bool
    corrections: tuple[Correction, ...]
    #: The worker's full result: words with boxes and confidences, rotation, skew.
    detail: PageResult


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float
    pages: tuple[OcrPage, ...]


class OcrEngine:
    def __init__(
        self,
        languages: Sequence[str] = ("eng",),
        *,
        steps: Sequence[str] | None = None,
        backend: str = "cpu",
    ) -> None:
        settings = PageSettings.defaults(tuple(languages))
        self._settings = dataclasses.replace(
            settings,
            steps=tuple(steps) if steps is not None else settings.steps,
            backend=backend,
            correction=False,  # recognize() is raw; run_postprocessor() corrects
        )
        self._source: pages.SourceInfo | None = None
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")

    def load_image(self, path: str | os.PathLike[str]) -> None:
        """Any PDF, TIFF, PNG or JPEG; raises ``InputError`` subclasses for unusable files."""
        self._source = pages.inspect(Path(path).absolute())

    def recognize(self) -> OcrResult:
        if self._source is None:
            raise RuntimeError("call load_image() first")
        results = [
            process_page(PageTask(self._source.path, self._source.kind, n, self._settings))
            for n in range(1, self._source.pages + 1)
        ]
        return _result(
            [OcrPage(r.number, r.raw_text, r.confidence, r.low_confidence, (), r) for r in results]
        )

    def run_postprocessor(self, raw: OcrResult) -> OcrResult:
        fixed = []
        for page in raw.pages:
            corrected = correct_text(
                page.text,
                languages=self._settings.languages,
                enabled=True,
                confidences=page.detail.word_confidences(),
            )
            fixed.append(
                dataclasses.replace(page, text=corrected.text, corrections=corrected.corrections)
            )
        return _result(fixed)


def _result(pages_: list[OcrPage]) -> OcrResult:
    confidence = mean_confidence(w for p in pages_ for w in p.detail.words)
    return OcrResult("\f".join(p.text for p in pages_), confidence, tuple(pages_))
