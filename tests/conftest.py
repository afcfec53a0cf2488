"""Shared test helpers: rendered pages, the eval data, character error rate, a live daemon."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"

ENGLISH_LINES = (
    "The quick brown fox jumps over the lazy dog.",
    "Invoice 2024-0117 was paid on 12 March 2024.",
    "Please return the signed contract by Friday.",
    "All amounts are in euro and include tax.",
    "Questions go to the office at the address below.",
)


def eval_path(*parts: str) -> Path:
    path = EVAL.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared/eval is needed for this test)")
    return path


def cer(found: str, truth: str) -> float:
    """Levenshtein distance over ground-truth length, whitespace removed (CJK has none)."""
    a, b = "".join(found.split()), "".join(truth.split())
    return Levenshtein.distance(a, b) / max(1, len(b))


def render_page(
    lines: tuple[str, ...],
    *,
    font: str = LATIN_FONT,
    size: int = 40,
    width: int = 2480,
    height: int = 1400,
    ink: int = 20,
    paper: int = 255,
    margin: int = 150,
) -> Image.Image:
    """A greyscale page of text at roughly 300 DPI (40 px glyphs ~ 10 pt)."""
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(font, size)
    y = margin
    for line in lines:
        draw.text((margin, y), line, font=face, fill=ink)
        y += int(size * 1.8)
    return image


@dataclass
class Daemon:
    """A ``hotocr run`` subprocess on its own folders, with its JSON log lines."""

    root: Path
    proc: subprocess.Popen[str]
    log_path: Path

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def failed(self) -> Path:
        return self.root / "failed"

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}) waiting for {what}")
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; log:\n" + self.tail())

    def wait_done(self, count: int, timeout: float = 120) -> list[dict[str, object]]:
        def done() -> list[dict[str, object]]:
            return [e for e in self.events() if e.get("event") == "document.done"]

        self.wait_for(lambda: len(done()) >= count, timeout, f"{count} documents done")
        return done()

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def write_config(root: Path, extra: str = "", watch_extra: str = "") -> Path:
    config = root / "config.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "state"
workers = 2
log_format = "json"
rescan_seconds = 5

[[watch]]
inbox = "inbox"
outbox = "outbox"
failed = "failed"
stable_seconds = 1.0
{watch_extra}
{extra}
""",
        encoding="utf-8",
    )
    return config


def start_daemon(root: Path, config: Path) -> Daemon:
    log_path = root / "daemon.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    log = log_path.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotocr", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
        env=env,
        text=True,
    )
    daemon = Daemon(root, proc, log_path)
    daemon.wait_for(
        lambda: any(e.get("event") == "daemon.started" for e in daemon.events()),
        60,
        "daemon start",
    )
    return daemon


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def make(extra: str = "", watch_extra: str = "", before: Callable[[Path], None] | None = None):
        (tmp_path / "inbox").mkdir(exist_ok=True)
        config = write_config(tmp_path, extra, watch_extra)
        if before:
            before(tmp_path)
        daemon = start_daemon(tmp_path, config)
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop()


def to_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.uint8)
