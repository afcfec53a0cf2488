"""Draw bench/out/throughput.json as docs/throughput.png (Pillow only; no plotting library).

.venv/bin/python bench/plot_throughput.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def bars(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    *,
    title: str,
    items: list[tuple[str, float, str]],
    unit: str,
    font: ImageFont.FreeTypeFont,
) -> None:
    left, top, right, bottom = box
    draw.text((left, top), title, fill="black", font=font)
    top += 40
    peak = max(v for _, v, _ in items) * 1.15
    width = (right - left) // len(items)
    for i, (label, value, colour) in enumerate(items):
        x0 = left + i * width + 20
        x1 = x0 + width - 40
        y1 = bottom - 40
        y0 = y1 - int((y1 - top) * value / peak)
        draw.rectangle((x0, y0, x1, y1), fill=colour)
        draw.text((x0, y0 - 28), f"{value:g} {unit}", fill="black", font=font)
        draw.text((x0, y1 + 8), label, fill="black", font=font)


def main() -> None:
    report = json.loads((ROOT / "bench" / "out" / "throughput.json").read_text())
    font = ImageFont.truetype(FONT, 20)
    image = Image.new("RGB", (1400, 560), "white")
    draw = ImageDraw.Draw(image)
    ppm = report["pages_per_minute"]
    bars(
        draw,
        (20, 20, 700, 540),
        title=f"Pages per minute, {report['pages']} eval pages, {report['cores']} cores",
        items=[
            ("ocrmypdf -j", ppm["ocrmypdf"], "#999999"),
            ("hotocr", ppm["hotocr"], "#2b7bb9"),
            *(
                [("tess. x cores", ppm["tesseract_all_cores"], "#bbbbbb")]
                if "tesseract_all_cores" in ppm
                else []
            ),
            ("limit", ppm["limit"], "#dddddd"),
        ],
        unit="",
        font=font,
    )
    memory = report.get("memory", [])
    if memory:
        bars(
            draw,
            (720, 20, 1380, 540),
            title="Peak memory of all processes (PSS, MB)",
            items=[(f"{m['pages']} pages", m["peak_pss_mb"], "#2b7bb9") for m in memory],
            unit="MB",
            font=font,
        )
    out = ROOT / "docs" / "throughput.png"
    image.save(out)
    print(out, file=sys.stderr)


if __name__ == "__main__":
    main()
