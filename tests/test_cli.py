"""The command line, run as a user runs it: ``python -m hotocr ...`` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from hotocr import config
from hotocr import progress as progress_module
from hotocr.preprocess import to_gray
from hotocr.preprocess.cpu import CpuBackend

from .conftest import ENGLISH_LINES, cer, render_page


def hotocr(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotocr", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_init_config_writes_the_commented_default(tmp_path: Path) -> None:
    out = hotocr("init-config", "hotocr.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "hotocr.toml").read_text()
    assert text == config.render_default()
    assert "# A page whose mean word confidence" in text
    again = hotocr("init-config", "hotocr.toml", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_check_reports_tools_and_languages(tmp_path: Path) -> None:
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "tesseract" in out.stdout and "poppler" in out.stdout
    assert "eng" in out.stdout and "backend" in out.stdout
    assert "tesseract library" in out.stdout


def test_check_says_how_fraktur_pages_are_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[[watch]]\ninbox = "de"\nlanguages = ["deu"]\n[[watch]]\ninbox = "en"\n'
    )
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "watch[0] fraktur       auto: model frk installed" in out.stdout
    assert "watch[1] fraktur       auto: not used" in out.stdout
    assert "frk" in out.stdout.split("languages installed")[1].splitlines()[0]


def test_check_lists_the_recognizers_and_what_only_tesseract_reads(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[[watch]]\ninbox = "en"\n'
        '[[watch]]\ninbox = "ar"\nlanguages = ["eng", "osd"]\n'
        '[[watch]]\ninbox = "pp"\nlanguages = ["deu"]\n[watch.ocr]\nrecognizer = "ppocr"\n'
    )
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "\nppocr                  rapidocr 3.10.0, onnxruntime " in out.stdout
    assert "PP-OCRv6" in out.stdout and "rapidocr/models" in out.stdout
    assert "CPUExecutionProvider" in out.stdout.split("ppocr providers")[1].splitlines()[0]
    # Where each folder's PP-OCR runs, and why (this machine has ONNX Runtime's CPU build).
    assert "watch[0] ppocr on      cpu (ocr.provider auto: onnxruntime " in out.stdout
    assert "offers no CUDA" in out.stdout and "watch[1] ppocr on" in out.stdout
    assert "watch[0] recognizer    auto: PP-OCR for noisy pages" in out.stdout
    assert "watch[1] recognizer    auto: Tesseract only (PP-OCR does not read osd)" in out.stdout
    assert "watch[2] recognizer    ppocr (deu -> de)" in out.stdout


def test_check_fails_where_cuda_is_asked_for_and_onnx_runtime_has_none(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[[watch]]\n[watch.ocr]\nprovider = "cuda"\n')
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 3
    assert 'watch[0]: ocr.provider = "cuda", but onnxruntime ' in out.stderr
    assert "make gpu" in out.stderr


def test_check_fails_where_ppocr_is_asked_for_a_language_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[[watch]]\nlanguages = ["osd"]\n[watch.ocr]\nrecognizer = "ppocr"\n'
    )
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 3
    assert 'ocr.recognizer = "ppocr", but PP-OCR does not read osd' in out.stderr


def test_check_describes_each_hook_and_fails_on_a_program_that_is_not_there(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.toml").write_text(
        '[[watch]]\ninbox = "a"\n'
        '[[watch.hook]]\nname = "log"\ncommand = ["logger", "-t", "hotocr"]\n'
        '[[watch.hook]]\ncommand = ["/nonexistent/notify-dms"]\nevents = ["failed"]\n'
        '[[watch.hook]]\nurl = "https://dms.example.org/ocr"\n'
        'headers = { Authorization = "env:HOTOCR_TEST_NO_SUCH_TOKEN" }\n'
        '[[watch]]\ninbox = "b"\n'
    )
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 3
    assert (
        "watch[0] hook log" in out.stdout and "runs /usr/bin/logger, on done, failed" in out.stdout
    )
    assert "/nonexistent/notify-dms: NOT FOUND, on failed" in out.stdout
    assert "POSTs to https://dms.example.org/ocr, headers Authorization" in out.stdout
    assert "watch[1] hooks         none" in out.stdout
    assert "hook hook2: /nonexistent/notify-dms not found" in out.stderr
    assert "HOTOCR_TEST_NO_SUCH_TOKEN is not set" in out.stderr


def test_output_cut_short_by_its_reader_ends_quietly(tmp_path: Path) -> None:
    """``hotocr check | head -3``: the reader leaves early; no BrokenPipeError traceback.
    Here the reader reads nothing (``true``), so the pipe is closed whenever hotocr
    writes, and ``hooks --json`` the same."""
    shell = f"{sys.executable} -m hotocr check | true"
    out = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr, out.stderr
    assert out.returncode == 141  # 128 + SIGPIPE, as a shell tool says it


def test_check_fails_on_a_missing_language_and_names_the_package(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[[watch]]\nlanguages = ["eng", "kor"]\n')
    out = hotocr("check", cwd=tmp_path)
    assert out.returncode == 3
    assert "kor" in out.stderr


def test_bad_config_is_exit_2_with_the_key_named(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[daemon]\nworkers = "many"\n')
    for command in ("run", "check"):
        out = hotocr(command, cwd=tmp_path)
        assert out.returncode == 2
        assert "workers" in out.stdout + out.stderr


def test_process_writes_the_same_sidecars_and_exits_by_outcome(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    render_page(ENGLISH_LINES, height=900).save(folder / "one.png", dpi=(300, 300))
    render_page(ENGLISH_LINES[:2], height=900).save(folder / "two.tif", dpi=(300, 300))
    out = hotocr("process", str(folder), "--lang", "eng", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 page, confidence" in out.stdout + out.stderr  # not "1 pages"
    data = json.loads((folder / "one.json").read_text())
    assert data["schema"] == "hotocr/1" and data["languages"] == ["eng"]
    recipe = data["pages"][0]["recipe"]  # what the page got, and why
    assert recipe["model"] == "eng" and recipe["scale"] == 1.0
    assert recipe["steps"] == ["downscale", "fit_text", "deskew"]
    assert recipe["reasons"]["model"] == "as configured"
    assert "paper even and white" in recipe["reasons"]["remove_background"]
    assert cer((folder / "one.txt").read_text(), "\n".join(ENGLISH_LINES)) < 0.03
    assert (folder / "one.png").exists()  # one-shot mode leaves the originals alone

    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 nothing\n%%EOF\n")
    outdir = tmp_path / "results"
    out = hotocr(
        "process",
        str(folder / "broken.pdf"),
        str(folder / "one.png"),
        "--output",
        str(outdir),
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert "broken.pdf: failed" in out.stderr
    assert (outdir / "one.json").exists()


def test_review_finds_the_originals_that_process_left_where_they_were(tmp_path: Path) -> None:
    """``process --output DIR`` leaves the originals where they are: the JSON says where,
    relative to itself, and the review page shows their pictures."""
    scans = tmp_path / "scans"
    scans.mkdir()
    render_page(ENGLISH_LINES, height=900).save(scans / "one.png", dpi=(300, 300))
    (tmp_path / "config.toml").write_text("[ocr]\nlow_confidence = 99.9\n")  # flag every page
    out = hotocr("process", str(scans), "--output", str(tmp_path / "results"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "results" / "one.json").read_text())
    assert data["source"]["path"] == "../scans/one.png"
    report = hotocr(
        "review", str(tmp_path / "results"), "--output", str(tmp_path / "r"), cwd=tmp_path
    )
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "r" / "index.html").read_text()
    assert "one.png" in page and "picture unavailable" not in page
    assert list((tmp_path / "r" / "pages").glob("*.jpg"))


def test_preprocess_shows_what_the_steps_did(tmp_path: Path) -> None:
    page = to_gray(render_page(ENGLISH_LINES * 3, height=2000))
    tilted = CpuBackend().rotate(page, 3.0, fill=255)  # counter-clockwise: skew -3
    Image.fromarray(tilted).save(tmp_path / "tilted.png", dpi=(300, 300))
    out = hotocr(
        "preprocess",
        str(tmp_path / "tilted.png"),
        "--output",
        str(tmp_path / "pre"),
        "--backend",
        "cpu",
        "--steps",
        "deskew,remove_background",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    line = json.loads(out.stdout.strip())
    assert line["page"] == 1 and line["backend"] == "cpu"
    assert line["steps"] == ["deskew", "remove_background"]
    assert line["skew_applied"] and abs(line["skew_degrees"] + 3.0) <= 0.1
    assert set(line["milliseconds"]) == {"deskew", "remove_background", "total"}
    assert Path(line["output"]).exists()
    upright = tmp_path / "upright.png"
    Image.fromarray(page).save(upright, dpi=(300, 300))
    straight = hotocr("preprocess", str(upright), "--output", str(tmp_path / "pre"), cwd=tmp_path)
    assert '"skew_degrees": -0.0' not in straight.stdout  # a skew of 0 is not shown as -0.0
    bad = hotocr(
        "preprocess",
        str(tmp_path / "tilted.png"),
        "--output",
        str(tmp_path / "x"),
        "--steps",
        "sharpen",
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and "sharpen" in bad.stderr


def _four_page_pdf(path: Path) -> None:
    pages = [render_page(ENGLISH_LINES[i : i + 2], height=700) for i in range(4)]
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=300)


def test_process_tells_its_progress_in_plain_lines_when_not_on_a_terminal(tmp_path: Path) -> None:
    _four_page_pdf(tmp_path / "long.pdf")
    out = hotocr("process", "long.pdf", "--lang", "eng", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "long.pdf: 4 pages, confidence" in out.stdout  # results stay on standard output
    last = [line for line in out.stderr.splitlines() if line.startswith("hotocr: ")][-1]
    assert re.fullmatch(r"hotocr: 4/4 pages, [\d.]+ pages/min, \d+ s so far", last), last
    assert "\r" not in out.stderr and "\x1b[" not in out.stderr  # no redraws in a log


def test_process_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    _four_page_pdf(tmp_path / "long.pdf")
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotocr", "process", "long.pdf", "--lang", "eng"],
        cwd=tmp_path,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=dict(os.environ, COLUMNS="140", TERM="xterm"),
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    assert proc.wait(timeout=300) == 0
    os.close(controller)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))
    assert "4/4 pages" in text and "pages/min" in text and "━" in text
    assert "long.pdf: 4 pages, confidence" in text  # the result line, above the bar
    assert re.search(r"\b[0-3]/4 pages", text)  # drawn while it ran, not only at the end


def test_plain_progress_lines_give_rate_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)
    stream = io.StringIO()
    with progress_module.PageProgress(terminal=False, stream=stream) as progress:
        progress.add_pages(10)
        time.sleep(0.05)
        progress.update(2)
        progress.update(2)  # no news, no line
        progress.update(10)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert re.fullmatch(
        r"hotocr: 2/10 pages, [\d.]+ pages/min, 0 s so far, about \d+ s left", lines[0]
    )
    assert lines[1].startswith("hotocr: 10/10 pages") and "left" not in lines[1]
