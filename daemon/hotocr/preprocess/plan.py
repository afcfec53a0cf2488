"""Which preprocessing a page gets, decided from its survey, and why.

On real scans a fixed pipeline helps some pages and hurts others: background removal and
contrast stretching made several clean receipts and forms worse, while text 8-10 px high (a
100-DPI fax) reads far better enlarged. So, with ``preprocess.adaptive`` on (the default):

- ``fit_text`` brings the text to a height Tesseract reads well (about 24 px): enlarged up
  to 2x when smaller than 20 px (16 px on a page scanned at 300 DPI or more), shrunk by a
  whole factor when taller than 50 px.
- ``remove_background`` runs where the paper is clearly uneven or dark; it is left out
  where the paper is even and white; in between both readings are made and the one
  Tesseract is more confident of is kept (``Plan.alternative``).
- ``contrast`` runs together with background removal (it stretches what the division
  leaves), or alone where the ink itself is faint (a fading thermal receipt).

Thresholds were set on the development set of real receipts, forms and Fraktur pages
(``docs/benchmarks.md``); the reasons go into the JSON sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotocr.preprocess.steps import DOWNSCALE_ABOVE_DPI, DOWNSCALE_TO_DPI
from hotocr.preprocess.survey import Survey

#: Text smaller than this (px) is enlarged (receipts of 17-19 px read better at 1.3-1.4x) ...
ENLARGE_BELOW = 20.0
#: ... or than this on a page that says it was scanned at 300 DPI or more: 19-20 px there is
#: ordinary 9-10 pt print, which Tesseract reads as well unenlarged, in less time.
ENLARGE_BELOW_AT_300_DPI = 16.0
#: ... towards this height ...
TARGET_HEIGHT = 24.0
#: ... by at most this factor (4x the pixels; ``steps.FIT_MAX_PIXELS`` bounds the page too).
MAX_ENLARGE = 2.0
#: Text taller than this (px) is shrunk by a whole factor (a receipt scanned at 600 DPI) ...
SHRINK_ABOVE = 50.0
#: ... the largest that leaves it at least this high.
SHRUNK_HEIGHT = 25.0
#: Paper this uneven (grey levels, 5th to 95th percentile) or this dark is cleaned for sure ...
SURE_SPREAD = 100
SURE_DARK = 150
#: ... paper this even and this white is left alone ...
EVEN_SPREAD = 12
WHITE_PAPER = 235
#: ... and anything between is read both ways.
#: Ink lighter than this grey level is faint: it is stretched to black.
FAINT_INK = 110
#: Steps that depend on the paper and the ink.
BACKGROUND_STEPS = frozenset({"remove_background", "contrast"})


@dataclass(frozen=True)
class Plan:
    steps: tuple[str, ...]
    #: ``fit_text``'s factor (1.0 leaves the page as it is).
    scale: float = 1.0
    #: The ink level ``contrast`` stretches to black on a page with faint ink (else None).
    faint_ink: int | None = None
    #: Step name (``fit_text``, ``remove_background``, ``contrast``) -> why it runs, what it
    #: does, or why it is left out.
    reasons: dict[str, str] = field(default_factory=dict)
    #: Another plan to read too; the more confident reading is kept.
    alternative: Plan | None = None


def fixed_plan(steps: tuple[str, ...]) -> Plan:
    """The configured steps, all of them (``adaptive = false``, or nothing surveyed)."""
    return Plan(steps=steps)


def plan_page(survey: Survey, steps: tuple[str, ...], *, dpi: int | None) -> Plan:
    """The steps of ``steps`` that this page needs, with ``fit_text``'s factor."""
    reasons: dict[str, str] = {}
    scale = 1.0
    if "fit_text" in steps:
        scale, reasons["fit_text"] = text_scale(survey, steps, dpi=dpi)
    faint = survey.ink_level is not None and survey.ink_level >= FAINT_INK
    faint_ink = survey.ink_level if faint else None
    if not BACKGROUND_STEPS & set(steps):
        return Plan(steps=steps, scale=scale, reasons=reasons)
    cleaned = tuple(s for s in steps if s not in BACKGROUND_STEPS or (s == "contrast" and faint))
    if faint and "contrast" in steps:
        reasons["contrast"] = f"faint ink (grey {survey.ink_level})"
    paper = _paper_verdict(survey)
    measured = f"level {survey.paper_level}, spread {survey.paper_spread}"
    if paper == "even":
        reasons["remove_background"] = f"left out: paper even and white ({measured})"
        return Plan(cleaned, scale, faint_ink, reasons)
    cleaning = f"paper {paper} ({measured})"
    if paper != "unclear":
        return Plan(steps, scale, reasons={**reasons, "remove_background": cleaning})
    both = "read both ways, this reading kept"
    without = Plan(cleaned, scale, faint_ink, {**reasons, "remove_background": f"left out: {both}"})
    return Plan(
        steps,
        scale,
        reasons={**reasons, "remove_background": f"{cleaning}: {both}"},
        alternative=without,
    )


def text_scale(survey: Survey, steps: tuple[str, ...], *, dpi: int | None) -> tuple[float, str]:
    """``fit_text``'s factor for the page as it reaches that step, and why."""
    if survey.text_height is None:
        return 1.0, "no text size measured: kept"
    height = survey.text_height
    if "downscale" in steps and dpi and dpi > DOWNSCALE_ABOVE_DPI:  # it runs first
        height *= DOWNSCALE_TO_DPI / dpi
    small = ENLARGE_BELOW_AT_300_DPI if dpi and dpi >= 300 else ENLARGE_BELOW
    if height < small:
        factor = min(MAX_ENLARGE, TARGET_HEIGHT / height)
        return round(factor, 3), f"text {height:.0f} px high: enlarged {factor:.2f}x"
    if height > SHRINK_ABOVE:
        whole = max(2, int(height // SHRUNK_HEIGHT))
        return 1.0 / whole, f"text {height:.0f} px high: shrunk 1/{whole}"
    return 1.0, f"text {height:.0f} px high: kept"


def _paper_verdict(survey: Survey) -> str:
    if survey.paper_spread >= SURE_SPREAD:
        return "uneven"
    if survey.paper_level < SURE_DARK:
        return "dark"
    if survey.paper_spread < EVEN_SPREAD and survey.paper_level >= WHITE_PAPER:
        return "even"
    return "unclear"


__all__ = ["Plan", "fixed_plan", "plan_page", "text_scale"]
