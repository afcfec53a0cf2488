"""Where PP-OCR's models run: ONNX Runtime sessions on the CPU or on a CUDA device.

``[ocr] provider``: ``cpu``; ``auto`` (CUDA where ``onnxruntime-gpu`` offers it and its
sessions open, else the CPU); ``cuda`` (the same, but ``hotocr check`` fails without CUDA).
Either way a worker whose CUDA sessions do not open reads on the CPU, and says so.

What can make PP-OCR crawl or fall back on a GPU (on the H200, 2026-12-04, rapidocr's own
session set-up read 3-10x slower than 16 CPU cores), and what is done about each:

- cuDNN's exhaustive search for the fastest convolution, which ONNX Runtime runs for every
  new input shape: every page and every batch of lines has its own. ``HEURISTIC`` picks
  without timing (``cuda_options``). Fewer shapes (batch widths rounded up) would help the
  GPU more, but changed the readings (``ppocr.REC_WIDTH_STEP``): not done.
- "No registered plugin EP device found for 'CUDAExecutionProvider' with device_id=0" is
  ONNX Runtime >= 1.26 looking for a plugin CUDA library before using its built-in one;
  the warning comes whenever ``device_id`` is passed, and changes nothing. It is passed only
  for a device other than 0.
- Both ``onnxruntime`` and ``onnxruntime-gpu`` installed share one ``onnxruntime`` folder:
  whichever came last owns it, and CUDA may be missing or half there. ``conflict`` says so,
  ``hotocr check`` reports it, ``make gpu`` installs the GPU build alone.
- A CUDA provider that fails to load (no cuDNN 9 for CUDA 13, an old driver) leaves ONNX
  Runtime on the CPU with one line in its log: ``open_session`` reports the provider the
  session really has, and the page's JSON says where it was read.

On a GPU machine, ``pytest -m gpu`` and ``bench/gpu.py`` check all this.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
#: How a placement on the CPU where CUDA was meant begins ("CPU: " and why).
INSTEAD_OF_GPU = "CPU: "
#: What ``pip`` installs for CUDA (the GPU build, with NVIDIA's CUDA and cuDNN wheels).
GPU_INSTALL_HINT = "make gpu, or pip install 'hotocr[gpu]' then the GPU build alone"


@dataclass(frozen=True)
class Placement:
    """Where a worker's sessions should run: ``cpu`` or ``cuda`` (device, memory cap)."""

    provider: str
    device: int = 0
    #: MiB of GPU memory the sessions' arena may hold (0: ONNX Runtime's default, no cap).
    memory_limit_mb: int = 0
    #: Why the CPU, where CUDA was asked for and is not offered ("" otherwise).
    why: str = ""


def runtime() -> Any:
    """ONNX Runtime, imported with its telemetry off: it would otherwise write a device id
    into the user's cache folder (``~/.cache/Microsoft/DeveloperTools``) on import."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime  # noqa: PLC0415 - imported in the processes that use PP-OCR

    return onnxruntime


def conflict() -> str:
    """Why the installed ONNX Runtime may not be the GPU build wanted ("" when all is well):
    both distributions installed at once."""
    installed = []
    for name in ("onnxruntime", "onnxruntime-gpu"):
        try:
            installed.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    if len(installed) < 2:
        return ""
    return (
        f"{' and '.join(installed)} are both installed and share one folder: "
        "remove onnxruntime and reinstall onnxruntime-gpu (make gpu)"
    )


@cache
def choose(setting: str, device: int = 0) -> tuple[str, str]:
    """Which provider a worker should ask for (``cpu`` or ``cuda``) and why, from
    ``[ocr] provider`` and what ONNX Runtime offers; loads no model, touches no GPU. Once
    per process: what is installed does not change under it, and it is asked per page."""
    if setting == "cpu":
        return "cpu", 'ocr.provider = "cpu"'
    if importlib.util.find_spec("onnxruntime") is None:
        return "cpu", "ONNX Runtime is not installed"
    ort = runtime()
    offered = ort.get_available_providers()
    if CUDA not in offered:
        why = f"onnxruntime {ort.__version__} offers no CUDA ({GPU_INSTALL_HINT})"
        clash = conflict()
        return "cpu", f"{why}; {clash}" if clash else why
    return "cuda", f"CUDA device {device} (onnxruntime {ort.__version__})"


def cuda_options(placement: Placement) -> dict[str, str]:
    """The CUDA provider's options (see the module's notes)."""
    options = {
        "cudnn_conv_algo_search": "HEURISTIC",
        # Grow the arena by what is asked, not by doubling: sixteen workers share one card.
        "arena_extend_strategy": "kSameAsRequested",
        "do_copy_in_default_stream": "1",
    }
    if placement.device:
        options["device_id"] = str(placement.device)
    if placement.memory_limit_mb:
        options["gpu_mem_limit"] = str(placement.memory_limit_mb * 2**20)
    return options


def open_session(path: Path, placement: Placement) -> tuple[Any, str]:
    """A session for the model at ``path``, and the provider it really runs on (``cuda``, or
    ``cpu`` where CUDA was not wanted or did not load)."""
    ort = runtime()
    options = ort.SessionOptions()
    # One thread: the workers already fill the cores (on CUDA the CPU only feeds the GPU).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    options.enable_cpu_mem_arena = False
    if placement.provider == "cuda":
        _preload_cuda(ort)
        providers = [(CUDA, cuda_options(placement)), CPU]
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except Exception:  # noqa: BLE001 - a GPU busy, or CUDA half installed: the CPU reads
            session = ort.InferenceSession(str(path), sess_options=options, providers=[CPU])
        return session, "cuda" if session.get_providers()[0] == CUDA else "cpu"
    return ort.InferenceSession(str(path), sess_options=options, providers=[CPU]), "cpu"


def _preload_cuda(ort: Any) -> None:
    """Load CUDA and cuDNN from NVIDIA's wheels (``onnxruntime-gpu[cuda,cudnn]``) where they
    are installed, so no system CUDA is needed; without them the system's are used."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        # A failure here is no verdict: the session's own loading says what is missing.
        with contextlib.suppress(Exception):
            preload()


def device_failure(exc: BaseException) -> bool:
    """Whether an error from a session run is the GPU's (out of memory, a CUDA or cuDNN
    failure), so the page can be read on the CPU instead."""
    text = str(exc).lower()
    return any(
        mark in text for mark in ("cuda", "cudnn", "cublas", "out of memory", "device", "gpu")
    )


__all__ = [
    "CPU",
    "CUDA",
    "INSTEAD_OF_GPU",
    "Placement",
    "choose",
    "conflict",
    "cuda_options",
    "device_failure",
    "open_session",
    "runtime",
]
