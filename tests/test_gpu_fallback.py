"""Where the GPU does not pay or fails: ``auto`` times both backends, and a page the GPU
backend fails on is preprocessed on the CPU with the reason in its JSON. The "GPU" here is
the GPU backend's own code on NumPy (no GPU on this machine), named so; its failure is
staged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage

from hotocr import pages, worker
from hotocr.datatypes import PageSettings, PageTask
from hotocr.metrics import gpu_fallbacks
from hotocr.preprocess import BackendChoice, faster
from hotocr.preprocess.backend import Array
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.ndimage import NdimageBackend

from .conftest import ENGLISH_LINES, render_page


class OutOfMemory(MemoryError):
    """What CuPy raises (``cupy.cuda.memory.OutOfMemoryError`` is a MemoryError)."""


class FailingGpu(NdimageBackend):
    def __init__(self) -> None:
        super().__init__(np, scipy.ndimage, "gpu")

    def rotate(self, image: Array, degrees: float, fill: int) -> Array:
        raise OutOfMemory("Out of memory allocating 34,652,160 bytes")


def test_auto_takes_the_faster_backend_and_says_by_how_much() -> None:
    slow_gpu = NdimageBackend(np, scipy.ndimage, "gpu")  # NumPy and SciPy: slower than OpenCV
    choice = faster(CpuBackend(), slow_gpu)
    assert choice.backend.name == "cpu"
    assert "on the GPU" in choice.reason and "the GPU does not pay here" in choice.reason
    fast_gpu = CpuBackend()
    fast_gpu.name = "gpu"
    choice = faster(NdimageBackend(np, scipy.ndimage, "cpu"), fast_gpu)
    assert choice.backend is fast_gpu and "does not pay" not in choice.reason


def test_only_the_gpu_backends_own_failures_are_retried_on_the_cpu() -> None:
    gpu = FailingGpu()
    assert worker.gpu_failure(gpu, OutOfMemory("out of memory"))
    assert not worker.gpu_failure(gpu, ValueError("a page's own problem"))
    assert not worker.gpu_failure(CpuBackend(), MemoryError())


def test_a_page_the_gpu_fails_on_is_preprocessed_on_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = render_page(ENGLISH_LINES * 2, height=2000, size=34).rotate(3, fillcolor=255)
    path = tmp_path / "skewed.png"
    page.save(path, dpi=(300, 300))
    settings = dataclasses.replace(
        PageSettings.defaults(("eng",)), backend="gpu", recognizer="tesseract", correction=False
    )
    monkeypatch.setitem(
        worker._BACKENDS, ("gpu", settings.device), BackendChoice(FailingGpu(), "staged")
    )
    result = worker.process_page(PageTask(path, pages.inspect(path).kind, 1, settings))
    assert result.error is None and "quick brown fox" in result.text.lower()
    assert result.backend == "cpu" and result.recipe is not None
    why = result.recipe.reasons["backend"]
    assert why.startswith("cpu: the GPU failed on this page (OutOfMemory: Out of memory")
    assert gpu_fallbacks(result.recipe.reasons) == ["preprocess"]  # hotocr_gpu_fallback_pages


class GpuOutOfMemoryWhenResizing(NdimageBackend):
    def __init__(self, device: int = 0, *, memory_limit_mb: int = 0) -> None:
        super().__init__(np, scipy.ndimage, "gpu")

    def resize(self, image: Array, height: int, width: int, *, smooth: bool) -> Array:
        raise OutOfMemory("Out of memory allocating 42,075,000 bytes")


def test_a_gpu_that_fails_while_auto_times_it_leaves_the_worker_on_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The GPU passed its smoke test, then ran out of memory on the timed page (another
    process holds the card): the worker starts on the CPU instead of failing."""
    from hotocr.preprocess import gpu, select_backend  # noqa: PLC0415

    monkeypatch.setattr(gpu, "GpuBackend", GpuOutOfMemoryWhenResizing)
    choice = select_backend("auto")
    assert choice.backend.name == "cpu"
    assert choice.reason.startswith("the GPU failed a timed page (OutOfMemory(")
