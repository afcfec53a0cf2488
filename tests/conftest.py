"""Shared test helpers: rendered pages, the eval data, character error rate, a live daemon."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
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


def write_config(
    root: Path, extra: str = "", watch_extra: str = "", daemon_extra: str = ""
) -> Path:
    config = root / "config.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "state"
workers = 2
log_format = "json"
rescan_seconds = 5
{daemon_extra}

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


def start_daemon(root: Path, config: Path, env: dict[str, str] | None = None) -> Daemon:
    log_path = root / "daemon.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
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

    def make(
        extra: str = "",
        watch_extra: str = "",
        before: Callable[[Path], None] | None = None,
        daemon_extra: str = "",
        env: dict[str, str] | None = None,
    ) -> Daemon:
        (tmp_path / "inbox").mkdir(exist_ok=True)
        config = write_config(tmp_path, extra, watch_extra, daemon_extra)
        if before:
            before(tmp_path)
        daemon = start_daemon(tmp_path, config, env)
        started.append(daemon)
        return daemon

    yield make
    for daemon in started:
        daemon.stop()


def to_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.uint8)


CONTRACT_LINES = (
    "房屋租赁合同",
    "甲方：北京市朝阳区建国路八十八号",
    "乙方：上海市浦东新区世纪大道一百号",
    "第一条 租赁期限自二〇二四年一月一日起至十二月三十一日止",
    "第二条 每月租金为人民币伍仟元整，于每月五日前支付",
    "第三条 乙方应当爱护房屋及其附属设施，不得擅自改变结构",
    "第四条 合同期满后如需续租，乙方应提前三十日书面通知甲方",
    "第五条 本合同一式两份，甲乙双方各执一份，具有同等法律效力",
)


def degrade(image: Image.Image, *, seed: int = 7) -> Image.Image:
    """A bad scan of ``image``: uneven light, a book-fold shadow, yellowed paper, stains.

    Returns RGB, as a colour scanner would deliver it.
    """
    rng = np.random.default_rng(seed)
    ink = 1.0 - np.asarray(image.convert("L"), dtype=np.float32) / 255.0  # 1 where ink
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # Light falls off from the top-left corner to about 40% in the far corner.
    light = 1.0 - 0.6 * ((xx / w) * 0.7 + (yy / h) * 0.3)
    # The book fold: a dark band with soft edges, a third of the way in.
    fold = 1.0 - 0.75 * np.exp(-(((xx - w * 0.33) / (w * 0.05)) ** 2))
    # Coffee: three rings and blotches, brown and partly transparent.
    stain = np.ones((h, w), np.float32)
    for _ in range(3):
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        r = rng.uniform(0.08, 0.15) * w
        d = np.hypot(xx - cx, yy - cy)
        ring = np.exp(-(((d - r) / (r * 0.06)) ** 2))
        stain *= 1.0 - 0.18 * ring - 0.15 * (d < r)
    level = light * fold * stain
    yellow = np.array([0.96, 0.88, 0.62], np.float32)  # old paper
    brown = np.array([1.0, 0.85, 0.7], np.float32)
    tint = yellow[None, None, :] * np.where(stain[..., None] < 0.99, brown, 1.0)
    paper = 255.0 * level[..., None] * tint
    # Faint, grey print rather than black.
    out = paper * (1.0 - 0.55 * ink[..., None])
    out += rng.normal(0, 3, out.shape)
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8), mode="RGB")


RECEIPT_LINES = (
    "CORNER HARDWARE SDN BHD",
    "12 Jalan Besar, Kuala Lumpur",
    "TAX INVOICE  No 004512",
    "Date 14/03/2024  Time 17:42",
    "Hammer claw 16oz      1 x 24.90",
    "Nails steel 2in box   2 x 6.50",
    "Masking tape 24mm     3 x 3.20",
    "Paint brush set       1 x 18.00",
    "Subtotal                 65.50",
    "Rounding                  0.00",
    "TOTAL                    65.50",
    "CASH                    100.00",
    "CHANGE                   34.50",
    "Thank you, please come again",
)
MONO_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"


def photographed(image: Image.Image, *, seed: int = 3) -> Image.Image:
    """``image`` as a phone photographs it: slightly turned and in perspective, lit from one
    side, out of focus, with sensor noise, colour and JPEG's losses (re-read from JPEG)."""
    rng = np.random.default_rng(seed)
    page = np.asarray(image.convert("L"), dtype=np.uint8)
    h, w = page.shape
    margin = int(0.08 * max(h, w))
    canvas = np.full((h + 2 * margin, w + 2 * margin), 90, np.uint8)  # a dark table
    canvas[margin : margin + h, margin : margin + w] = page
    ch, cw = canvas.shape
    src = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]])
    jitter = rng.uniform(-0.025, 0.025, (4, 2)) * np.float32([cw, ch])
    matrix = cv2.getPerspectiveTransform(src, (src + jitter).astype(np.float32))
    warped = cv2.warpPerspective(canvas, matrix, (cw, ch), borderValue=90).astype(np.float32)
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    light = 0.55 + 0.45 * (1 - xx / cw) * (0.7 + 0.3 * yy / ch)
    blurred = cv2.GaussianBlur(warped * light, (0, 0), 1.1)
    tint = np.float32([0.92, 0.9, 0.84])
    colour = blurred[..., None] * tint[None, None, :] + rng.normal(0, 4, (ch, cw, 3))
    out = Image.fromarray(np.clip(colour, 0, 255).astype(np.uint8), mode="RGB")
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=55)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def receipt_photo_of(*, seed: int = 3) -> Image.Image:
    """A till receipt in small type, photographed with a phone (``photographed``)."""
    page = render_page(RECEIPT_LINES, font=MONO_FONT, size=15, width=560, height=560, margin=30)
    return photographed(page, seed=seed)


LEFT_COLUMN = (
    "Rivers carry the rain from the hills",
    "down to the valley towns, where mills",
    "once turned their wheels in the spring",
    "floods and ground the wheat of farms.",
    "Today the old mill houses are homes,",
    "and the water runs quietly past them.",
)
RIGHT_COLUMN = (
    "Railways came to the valley in 1868,",
    "bringing coal, visitors and letters",
    "twice a day from the capital city.",
    "The station closed a century later,",
    "but its clock still keeps the time",
    "above the door of the public library.",
)


def two_columns(*, size: int = 38, width: int = 2480, height: int = 1100) -> Image.Image:
    """A clean 300-DPI page of two columns of prose whose lines stand level with each other."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(LATIN_FONT, size)
    for x, lines in ((150, LEFT_COLUMN), (width // 2 + 80, RIGHT_COLUMN)):
        for i, line in enumerate(lines):
            draw.text((x, 150 + int(i * size * 1.8)), line, font=face, fill=20)
    return image


#: Apache PDFBox's Preflight (Debian's libpdfbox2-java) and the jars it needs on Java 17.
PREFLIGHT_JARS = (
    "preflight.jar",
    "pdfbox2.jar",
    "fontbox2.jar",
    "xmpbox.jar",
    "commons-logging.jar",
    "javax.activation.jar",
    "jaxb-api.jar",
)


def preflight(pdf: Path) -> list[str]:
    """The errors Apache PDFBox's Preflight finds: an independent PDF/A checker (of PDF/A-1b,
    the stricter part: on a PDF/A-2b file it also says "part must be 1"). Each error as
    "code : message"; [] for a valid PDF/A-1b file."""
    jars = [Path("/usr/share/java") / name for name in PREFLIGHT_JARS]
    missing = [j.name for j in jars if not j.exists()]
    if missing:
        raise RuntimeError(f"Preflight is not installed (make test installs it): {missing}")
    out = subprocess.run(
        [
            "java",
            "-cp",
            ":".join(map(str, jars)),
            "org.apache.pdfbox.preflight.Validator_A1b",
            str(pdf),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if "is a valid PDF/A-1b file" in out.stdout:
        return []
    errors = [line.strip() for line in out.stdout.splitlines() if re.match(r"\s*\d[\d.]* : ", line)]
    if not errors:
        raise RuntimeError(f"Preflight said neither: {out.stdout[-500:]} {out.stderr[-500:]}")
    return errors
