"""Where PP-OCR's models run (``recognize.onnx``): the CPU here, CUDA where the GPU build
is installed; a GPU that is absent or fails never loses a page. Real models and sessions;
only the CUDA failure in the last tests is staged (this machine has no GPU)."""

from __future__ import annotations

import dataclasses
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

from hotocr import pages
from hotocr.datatypes import PageSettings, PageTask
from hotocr.metrics import gpu_fallbacks
from hotocr.recognize import ReadRequest, onnx, ppocr
from hotocr.worker import init_worker, process_page

from .conftest import receipt_photo_of

REQUEST = ReadRequest("eng", 3, None, 120, Path("/nonexistent"))
HAS_CUDA = "CUDAExecutionProvider" in onnx.runtime().get_available_providers()


@pytest.fixture(scope="module", autouse=True)
def _single_threaded() -> None:
    init_worker()


@pytest.fixture(scope="module")
def receipt() -> np.ndarray:
    return np.asarray(receipt_photo_of().convert("L"))


def test_cuda_options_search_heuristically_and_cap_memory() -> None:
    options = onnx.cuda_options(onnx.Placement("cuda", 0, 2048))
    assert options["cudnn_conv_algo_search"] == "HEURISTIC"
    assert options["gpu_mem_limit"] == str(2048 * 2**20)
    # device_id only where it is not 0: ONNX Runtime >= 1.26 warns on every session else.
    assert "device_id" not in options
    assert onnx.cuda_options(onnx.Placement("cuda", 1))["device_id"] == "1"
    assert "gpu_mem_limit" not in onnx.cuda_options(onnx.Placement("cuda", 1))


@pytest.mark.skipif(HAS_CUDA, reason="ONNX Runtime here offers CUDA")
def test_without_the_gpu_build_every_setting_reads_on_the_cpu_and_says_why() -> None:
    assert onnx.choose("cpu") == ("cpu", 'ocr.provider = "cpu"')
    provider, why = onnx.choose("auto")
    assert provider == "cpu" and "offers no CUDA" in why and "make gpu" in why
    assert onnx.conflict() == ""  # the CPU build alone is installed here
    assert importlib.metadata.version("onnxruntime")


@pytest.mark.skipif(HAS_CUDA, reason="ONNX Runtime here offers CUDA")
def test_sessions_asked_for_on_cuda_that_come_up_on_the_cpu_read_and_say_so(
    receipt: np.ndarray,
) -> None:
    """The CPU build given the CUDA provider opens its sessions on the CPU (as a GPU build
    without cuDNN does): the page is read there, and the recognition says why."""
    pp = ppocr.load(onnx.Placement("cuda", 0))
    assert pp.provider == "cpu" and pp.placed.startswith("CPU: the CUDA provider did not load")
    rec = pp.read(receipt, REQUEST)
    assert "TOTAL" in rec.text and rec.placed == pp.placed
    assert ppocr.load().placed == "CPU" and ppocr.load() is not pp


def test_a_ppocr_page_says_where_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "receipt.jpg"
    receipt_photo_of().save(path, quality=90)
    settings = dataclasses.replace(
        PageSettings.defaults(("eng",)), recognizer="ppocr", correction=False, provider="cpu"
    )
    result = process_page(PageTask(path, pages.inspect(path).kind, 1, settings))
    assert result.recipe is not None
    assert result.recipe.reasons["ppocr_provider"] == "CPU"
    assert gpu_fallbacks(result.recipe.reasons) == []  # the CPU was asked for
    if not HAS_CUDA:  # CUDA asked for, and none here: read on the CPU, counted as a fallback
        cuda = dataclasses.replace(settings, provider="cuda")
        result = process_page(PageTask(path, pages.inspect(path).kind, 1, cuda))
        assert result.recipe is not None and result.error is None
        placed = result.recipe.reasons["ppocr_provider"]
        assert placed.startswith("CPU: onnxruntime ") and "offers no CUDA" in placed
        assert gpu_fallbacks(result.recipe.reasons) == ["ppocr"]


class _FailingSession:
    """A session whose GPU runs out of memory, as ONNX Runtime reports it."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def get_inputs(self) -> Any:
        return self._real.get_inputs()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(
            "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : CUDA failure 2: out of memory"
        )


def test_a_page_the_gpu_fails_on_is_read_on_the_cpu(receipt: np.ndarray) -> None:
    cpu = ppocr.load()
    failing = _copy(cpu, _det=_FailingSession(cpu._det), provider="cuda", placed="CUDA device 0")
    failing._fallback = ppocr.load
    rec = failing.read(receipt, REQUEST)
    assert "TOTAL" in rec.text
    assert (
        rec.placed.startswith("CPU: CUDA failed on this page (") and "out of memory" in rec.placed
    )


def test_other_errors_are_not_hidden_by_the_fallback(receipt: np.ndarray) -> None:
    cpu = ppocr.load()
    broken = _copy(cpu, _det=_FailingSession(cpu._det))
    broken._fallback = None  # a CPU session's failure has nowhere else to go
    with pytest.raises(RuntimeError, match="out of memory"):
        broken.read(receipt, REQUEST)


def _copy(pp: ppocr.PpOcr, **changes: Any) -> ppocr.PpOcr:
    clone = object.__new__(ppocr.PpOcr)
    clone.__dict__.update(pp.__dict__)
    clone.__dict__.update(changes)
    return clone


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="ONNX Runtime here offers no CUDA (make gpu)")
def test_on_cuda_ppocr_reads_what_it_reads_on_the_cpu(receipt: np.ndarray) -> None:
    """The sessions really run on CUDA (not a silent fall back to the CPU), and read the
    page as the CPU's do: the same models, the same batches."""
    gpu = ppocr.load(onnx.Placement("cuda", 0))
    assert gpu.provider == "cuda", gpu.placed
    on_gpu, on_cpu = gpu.read(receipt, REQUEST), ppocr.load().read(receipt, REQUEST)
    assert on_gpu.placed == "CUDA device 0"
    assert Levenshtein.normalized_distance(on_gpu.text, on_cpu.text) <= 0.01
    assert abs(on_gpu.confidence - on_cpu.confidence) < 1.0


def test_a_cuda_session_that_fails_to_open_opens_on_the_cpu(
    receipt: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ONNX Runtime may raise instead of falling back (a GPU held by another process in
    exclusive mode, a cuDNN that does not load): the worker still reads, on the CPU."""
    ort = onnx.runtime()
    real = ort.InferenceSession

    def refusing(path: str, sess_options: Any = None, providers: Any = None) -> Any:
        if any(onnx.CUDA in str(p) for p in providers or ()):
            raise RuntimeError("CUDA error: all CUDA-capable devices are busy or unavailable")
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "InferenceSession", refusing)
    pp = ppocr.load(onnx.Placement("cuda", 0, memory_limit_mb=512))
    assert pp.provider == "cpu" and pp.placed.startswith("CPU: the CUDA provider did not load")
    assert "TOTAL" in pp.read(receipt, REQUEST).text


def test_every_cpu_placement_shares_one_pair_of_sessions() -> None:
    """A worker serving folders with different settings (a memory cap, CUDA asked for and
    missing) holds the CPU's models once, not once per folder."""
    plain = ppocr.load()
    capped = ppocr.load(onnx.Placement("cpu", 1, 512))
    refused = ppocr.load(onnx.Placement("cpu", why="onnxruntime offers no CUDA"))
    assert capped._det is plain._det and refused._rec is plain._rec
    assert refused.placed == "CPU: onnxruntime offers no CUDA" and capped.placed == "CPU"
