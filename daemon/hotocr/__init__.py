"""hotocr: a hot-folder OCR daemon."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hotocr.engine import OcrEngine, OcrResult


def __getattr__(name: str) -> Any:
    # Lazy, so that `import hotocr` (and the daemon's own process) stays light.
    if name in ("OcrEngine", "OcrResult"):
        from hotocr import engine  # noqa: PLC0415

        return getattr(engine, name)
    raise AttributeError(name)


__all__ = ["OcrEngine", "OcrResult", "__version__"]
