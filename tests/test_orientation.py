"""The ink-balance check that sends upside-down pages to OSD before their first reading."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hotocr.orientation import ascender_ratio, looks_upside_down
from hotocr.preprocess import to_gray

from .conftest import CJK_FONT, CONTRACT_LINES, ENGLISH_LINES, eval_path, render_page


@pytest.mark.parametrize(
    "name", ["tess_phototest.tif", "ocrmypdf_linn.png", "gtst_bebel_frau_1879_0146.tif"]
)
def test_upright_pages_are_not_suspected_and_turned_ones_are(name: str) -> None:
    page = to_gray(Image.open(eval_path("pages", name)))
    assert not looks_upside_down(page, ("eng",))
    assert looks_upside_down(np.ascontiguousarray(page[::-1, ::-1]), ("eng",))


def test_the_eval_pages_scanned_upside_down() -> None:
    page = to_gray(Image.open(eval_path("pages", "tess_phototest_rot180.png")))
    assert looks_upside_down(page, ("eng",))


def test_scripts_without_ascenders_give_no_signal() -> None:
    page = to_gray(render_page(CONTRACT_LINES, font=CJK_FONT, size=44, height=1500))
    turned = np.ascontiguousarray(page[::-1, ::-1])
    assert not looks_upside_down(page, ("chi_sim",))
    assert not looks_upside_down(turned, ("chi_sim",))


def test_blank_page_has_no_ratio() -> None:
    assert ascender_ratio(np.full((800, 600), 255, np.uint8)) is None
    assert ascender_ratio(to_gray(render_page(ENGLISH_LINES))) > 1  # type: ignore[operator]
