"""Page preprocessing: backend selection and the step runner.

GPU code is reached only through ``select_backend``; nothing here imports CuPy at module
level, so the daemon's parent process never initialises CUDA before its workers start.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hotocr import geometry
from hotocr.errors import ConfigError, MissingDependency
from hotocr.preprocess.backend import Backend, HostImage
from hotocr.preprocess.cpu import CpuBackend
from hotocr.preprocess.plan import Plan, fixed_plan, plan_page, text_scale
from hotocr.preprocess.steps import STEPS, PageState
from hotocr.preprocess.survey import Survey, survey


@dataclass(frozen=True)
class BackendChoice:
    backend: Backend
    #: Why this backend was chosen (for the one log line ``auto`` owes the operator).
    reason: str


def select_backend(kind: str, device: int = 0, memory_limit_mb: int = 0) -> BackendChoice:
    """``cpu``, ``gpu`` (an error when unusable) or ``auto``: the GPU where it works and,
    timed on a page here, preprocesses faster than this worker's CPU core."""
    if kind == "cpu":
        return BackendChoice(CpuBackend(), "configured")
    if kind not in ("gpu", "auto"):
        raise ConfigError(f"unknown preprocess backend {kind!r}; allowed: auto, cpu, gpu")
    try:
        from hotocr.preprocess.gpu import GpuBackend  # noqa: PLC0415 - CuPy only on demand

        gpu = GpuBackend(device, memory_limit_mb=memory_limit_mb)
    except Exception as exc:
        if kind == "gpu":
            raise MissingDependency(f"preprocess backend 'gpu' is not usable: {exc}") from exc
        return BackendChoice(CpuBackend(), f"no usable GPU ({type(exc).__name__}: {exc})")
    if kind == "gpu":
        return BackendChoice(gpu, f"CUDA device {device} passed a smoke test")
    try:
        return faster(CpuBackend(), gpu)
    except Exception as exc:  # noqa: BLE001 - out of GPU memory while timing: the CPU
        return BackendChoice(CpuBackend(), f"the GPU failed a timed page ({exc!r:.160})")


#: ``auto`` times the survey and these steps on a letter page at 300 DPI, enlarged by
#: ``TIMED_SCALE`` (the work of a noisy page), and takes the GPU only when it is faster by
#: ``GPU_MARGIN``.
TIMED_STEPS = ("fit_text", "deskew", "remove_background", "contrast")
TIMED_SCALE = 1.25
GPU_MARGIN = 0.9


def faster(cpu: Backend, gpu: Backend) -> BackendChoice:
    """The backend that preprocesses a page faster here, each timed after a first run (the
    GPU's kernels compile on first use): the GPU pays only where its work and its copies to
    and from the device cost less than the CPU's work (an H200 against one EPYC core did,
    except for resizing with ``cupyx.scipy.ndimage.zoom``; a small GPU may not)."""
    rng = np.random.default_rng(0)
    page = np.where(rng.random((3300, 2550)) < 0.04, 0, 230).astype(np.uint8)
    plan = Plan(TIMED_STEPS, TIMED_SCALE)
    times = {}
    for backend in (cpu, gpu):
        for _ in range(2):  # the second run is timed
            t0 = time.perf_counter()
            survey(backend.to_device(page), 300, backend)
            preprocess(backend, page, dpi=300, steps=TIMED_STEPS, plan=plan)
            times[backend.name] = (time.perf_counter() - t0) * 1000
    measured = f"a page took {times[gpu.name]:.0f} ms on the GPU, {times[cpu.name]:.0f} on the CPU"
    if times[gpu.name] <= times[cpu.name] * GPU_MARGIN:
        return BackendChoice(gpu, measured)
    return BackendChoice(cpu, f"{measured}: the GPU does not pay here")


@dataclass(frozen=True)
class Preprocessed:
    image: HostImage
    dpi: int | None
    applied: tuple[str, ...]
    skew_degrees: float | None
    skew_applied: bool
    #: How clearly horizontal text lines stood out (None when deskew did not run); a page
    #: turned by 90 or 270 degrees has none.
    skew_confidence: float | None
    backend: str
    milliseconds: dict[str, float]
    #: What the page got and why (with ``adaptive``: chosen from its survey).
    plan: Plan
    #: From ``image``'s pixels back to the page given to ``preprocess``.
    to_input: geometry.Affine = geometry.IDENTITY


def to_gray(image: Image.Image) -> HostImage:
    return np.asarray(image if image.mode == "L" else image.convert("L"), dtype=np.uint8)


def preprocess(
    backend: Backend,
    image: HostImage,
    *,
    dpi: int | None,
    steps: tuple[str, ...],
    adaptive: bool = False,
    plan: Plan | None = None,
    surveyed: Survey | None = None,
) -> Preprocessed:
    """Run ``steps`` in order on a greyscale page; report what each did and cost.

    ``adaptive``: only the steps the page needs (``plan.plan_page``); ``plan``: exactly
    these (a plan's alternative, made for the same page); ``surveyed``: the page's survey,
    where the caller already made it.
    """
    timings: dict[str, float] = {}
    start = time.perf_counter()
    page = backend.to_device(image)  # once: the survey and the steps work on this copy
    if plan is None:
        if adaptive:
            plan = plan_page(surveyed or survey(page, dpi, backend), steps, dpi=dpi)
        elif "fit_text" in steps:  # every step, fit_text with the page's own factor
            scale, why = text_scale(surveyed or survey(page, dpi, backend), steps, dpi=dpi)
            plan = Plan(steps, scale, reasons={"fit_text": why})
        else:
            plan = fixed_plan(steps)
        if adaptive or "fit_text" in steps:
            timings["survey"] = round((time.perf_counter() - start) * 1000, 1)
    state = PageState(dpi=dpi, fit_scale=plan.scale, faint_ink=plan.faint_ink)
    for name in plan.steps:
        t0 = time.perf_counter()
        page = STEPS[name](backend, page, state)
        timings[name] = round((time.perf_counter() - t0) * 1000, 1)
    host = backend.to_host(page)
    timings["total"] = round((time.perf_counter() - start) * 1000, 1)
    return Preprocessed(
        image=host,
        dpi=state.dpi,
        applied=plan.steps,
        skew_degrees=state.skew_degrees,
        skew_applied=state.skew_applied,
        skew_confidence=state.skew_confidence,
        backend=backend.name,
        milliseconds=timings,
        plan=plan,
        to_input=state.to_input,
    )


__all__ = ["BackendChoice", "Plan", "Preprocessed", "preprocess", "select_backend", "to_gray"]
