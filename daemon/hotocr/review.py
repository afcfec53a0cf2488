"""The review page: a static, offline HTML report of the pages hotocr was unsure about.

For each flagged page: the page as Tesseract saw it (recomputed from the original with the
steps the sidecar records, so the word boxes line up), its low-confidence words boxed, the
text beside it with the same words highlighted and every correction shown, and links to the
original and its sidecars. Worst pages first. Images are JPEG files beside ``index.html``,
named by content hash and page, so a rebuild only renders pages it has not rendered before.
"""

from __future__ import annotations

import html
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from hotocr import geometry, pages
from hotocr.preprocess import Plan, preprocess, to_gray
from hotocr.preprocess.cpu import CpuBackend
from hotocr.sidecars import now_iso, original_of, page_source, read_json, write_atomic

#: Width of the page pictures in the report, in pixels.
IMAGE_WIDTH = 1000


@dataclass(frozen=True)
class FlaggedPage:
    sidecar: Path
    document: dict[str, Any]
    page: dict[str, Any]

    @property
    def original(self) -> Path:
        return original_of(self.sidecar, self.document)

    @property
    def threshold(self) -> float:
        return float(self.document.get("low_confidence_threshold", 70.0))


def find_sidecars(paths: Iterable[Path]) -> Iterator[Path]:
    """JSON sidecars among ``paths`` (files, or folders searched recursively)."""
    for path in paths:
        candidates = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.name.endswith(".error.json") or candidate.name.startswith("."):
                continue
            yield candidate


def load_flagged(sidecar_paths: Iterable[Path]) -> tuple[list[FlaggedPage], int]:
    """Flagged pages, worst first, and how many documents were read."""
    flagged: list[FlaggedPage] = []
    documents = 0
    for path in sidecar_paths:
        try:
            data = read_json(path)
        except (OSError, ValueError):  # unreadable, or no document sidecar
            continue
        documents += 1
        flagged.extend(
            FlaggedPage(path, data, page) for page in data["pages"] if page["low_confidence"]
        )
    flagged.sort(key=lambda f: (f.page["confidence"], str(f.sidecar), f.page["number"]))
    return flagged, documents


def build(paths: Iterable[Path], output: Path) -> Path:
    """Write ``output/index.html`` (and its page pictures); return the HTML's path."""
    output.mkdir(parents=True, exist_ok=True)
    (output / "pages").mkdir(exist_ok=True)
    flagged, documents = load_flagged(find_sidecars(paths))
    sections = [_section(f, output) for f in flagged]
    confidences = [f.page["confidence"] for f in flagged]
    flagged_docs = len({f.sidecar for f in flagged})
    summary = (
        f"{len(flagged)} flagged page{'s' if len(flagged) != 1 else ''} in {flagged_docs} of "
        f"{documents} document{'s' if documents != 1 else ''}"
    )
    if confidences:
        summary += f"; lowest page confidence {min(confidences):.1f}"
    body = "\n".join(sections) or '<p class="empty">No page is flagged for review.</p>'
    page = _TEMPLATE.format(
        summary=html.escape(summary), generated=html.escape(now_iso()), body=body
    )
    index = output / "index.html"
    write_atomic(index, page.encode("utf-8"))
    return index


def _section(item: FlaggedPage, output: Path) -> str:
    page, doc = item.page, item.document
    number = int(page["number"])
    image_name, scale, error = _page_picture(item, output)
    low = [w for w in page["words"] if float(w["confidence"]) < item.threshold]
    shown = [(w, _shown_box(page, w["box"])) for w in low]
    boxes = "".join(
        f'<rect class="low" x="{b[0] * scale:.1f}" y="{b[1] * scale:.1f}" '
        f'width="{b[2] * scale:.1f}" height="{b[3] * scale:.1f}">'
        f"<title>{html.escape(w['text'])} ({w['confidence']:.0f})</title></rect>"
        for w, b in shown
    )
    if image_name:
        width, height = _image_size(output / "pages" / image_name)
        # The SVG shares the picture's coordinate system and scales with it.
        figure = (
            f'<div class="picture"><img src="pages/{image_name}" '
            f'width="{width}" height="{height}" alt="page {number}">'
            f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none">{boxes}</svg>'
            "</div>"
        )
    else:
        figure = f'<p class="missing">{html.escape(error)}</p>'
    corrections = "".join(
        f"<li><del>{html.escape(c['raw'])}</del> → <ins>{html.escape(c['fixed'])}</ins></li>"
        for c in page.get("corrections", [])
    )
    links = " · ".join(
        f'<a href="{html.escape(_relative(target, output))}">{label}</a>'
        for label, target in (
            ("original", item.original),
            ("text", item.sidecar.with_suffix(".txt")),
            ("JSON", item.sidecar),
        )
    )
    name = html.escape(str(doc["source"]["name"]))
    error_note = (
        f'<p class="error">{html.escape(str(page["error"]))}</p>' if page.get("error") else ""
    )
    return f"""<section class="page" data-document="{name}" data-page="{number}"
 data-confidence="{page["confidence"]}">
<h2>{name} <span class="pageno">page {number} of {doc["source"]["pages"]}</span></h2>
<p class="meta">page confidence <b class="conf">{page["confidence"]:.1f}</b> · document
 {doc["confidence"]:.1f} · threshold {item.threshold:g} · {len(low)} low-confidence words ·
 {links}</p>{error_note}
<div class="columns"><figure>{figure}</figure>
<div class="text"><pre>{_marked_text(page, item.threshold)}</pre>
<h3>Corrections</h3><ul class="corrections">{corrections or "<li>none</li>"}</ul></div></div>
</section>"""


def _marked_text(page: dict[str, Any], threshold: float) -> str:
    """The raw text with low-confidence words highlighted and corrections shown in place."""
    raw: str = page["raw_text"]
    marks: list[tuple[int, int, str]] = []
    pos = 0
    for word in page["words"]:
        found = raw.find(word["text"], pos)
        if found < 0:
            continue
        pos = found + len(word["text"])
        if float(word["confidence"]) < threshold:
            title = f"confidence {word['confidence']:.0f}"
            marks.append((found, pos, f'<mark class="low" title="{title}">'))
    fixes = {c["offset"]: c for c in page.get("corrections", [])}
    out: list[str] = []
    i = 0
    low_at = {start: (end, tag) for start, end, tag in marks}
    while i < len(raw):
        if i in fixes:
            c = fixes[i]
            fix_end = i + max(1, len(c["raw"]))
            fix = (
                f'<span class="fix"><del>{html.escape(c["raw"])}</del>'
                f"<ins>{html.escape(c['fixed'])}</ins></span>"
            )
            if i in low_at:
                # A corrected word Tesseract was unsure of: the first thing to check.
                end, tag = low_at[i]
                out.append(f"{tag}{fix}{html.escape(raw[fix_end:end])}</mark>")
                i = max(end, fix_end)
            else:
                out.append(fix)
                i = fix_end
        elif i in low_at:
            end, tag = low_at[i]
            out.append(f"{tag}{html.escape(raw[i:end])}</mark>")
            i = end
        else:
            out.append(html.escape(raw[i]))
            i += 1
    return "".join(out)


def _page_picture(item: FlaggedPage, output: Path) -> tuple[str | None, float, str]:
    """The page as Tesseract saw it, as a JPEG; (file name, box scale, error)."""
    sha = str(item.document["source"]["sha256"])[:16]
    number = int(item.page["number"])
    name = f"{sha}-{number}.jpg"
    target = output / "pages" / name
    scale_file = target.with_suffix(".scale")
    if target.exists() and scale_file.exists():
        return name, float(scale_file.read_text()), ""
    try:
        image = _as_tesseract_saw_it(item)
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable original
        return None, 1.0, f"picture unavailable: {exc}"
    scale = min(1.0, IMAGE_WIDTH / image.shape[1])
    if scale < 1.0:
        size = (IMAGE_WIDTH, round(image.shape[0] * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        return None, 1.0, "picture unavailable: JPEG encoding failed"
    write_atomic(target, data.tobytes())
    write_atomic(scale_file, repr(scale).encode())
    return name, scale, ""


def _shown_box(page: dict[str, Any], box: list[int]) -> tuple[int, int, int, int]:
    """A word's box on the picture: the page turned upright as it was read (boxes are in
    the pixels of the page as it came, ``width`` x ``height``; sidecars written before they
    were have boxes on the preprocessed page, as the picture is then drawn)."""
    left, top, width, height = (int(v) for v in box)
    if "width" not in page:
        return left, top, width, height
    page_w, page_h = int(page["width"]), int(page["height"])
    rotation = int(page.get("rotation", 0))
    turned_w, turned_h = (page_h, page_w) if rotation in (90, 270) else (page_w, page_h)
    turn = geometry.invert(geometry.unturn(rotation, page_w, page_h))
    return geometry.map_box(turn, (left, top, width, height), width=turned_w, height=turned_h)


def _as_tesseract_saw_it(item: FlaggedPage) -> np.ndarray:
    """The page as it was read: turned upright; for sidecars from before the boxes were in
    the page's own pixels, preprocessed as the sidecar records."""
    doc, page = item.document, item.page
    settings = doc.get("preprocess", {})
    path, number = page_source(item.sidecar, doc, page)
    loaded = pages.load_page(
        path,
        pages.sniff(path),
        number,
        dpi=int(settings.get("render_dpi", 300)),
        timeout=120,
    )
    gray = to_gray(loaded.image)
    rotation = int(page.get("rotation", 0))
    if rotation:
        gray = np.ascontiguousarray(np.rot90(gray, k=-rotation // 90))
    if "width" in page:
        return gray
    # What this page got (its recipe: steps and fit_text's factor), else the folder's steps.
    recipe = page.get("recipe") or {}
    steps = tuple(recipe.get("steps", settings.get("steps", ())))
    plan = Plan(steps=steps, scale=float(recipe.get("scale", 1.0)))
    return preprocess(CpuBackend(), gray, dpi=loaded.dpi, steps=steps, plan=plan).image


def _image_size(path: Path) -> tuple[int, int]:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return (int(image.shape[1]), int(image.shape[0])) if image is not None else (0, 0)


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.absolute(), start.absolute())).as_posix()


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>hotocr: pages to review</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #f6f6f4; }}
h1 {{ margin: 0 0 .2em; }}
.summary {{ font-size: 1.1em; }}
.page {{ background: #fff; border: 1px solid #ddd; border-radius: 6px; margin: 1.2em 0;
         padding: .8em 1em; }}
.page h2 {{ margin: 0; font-size: 1.15em; }}
.pageno {{ color: #666; font-weight: normal; }}
.conf {{ color: #b00; }}
.columns {{ display: flex; gap: 1.2em; align-items: flex-start; }}
figure {{ margin: 0; flex: 0 0 55%; }}
.picture {{ position: relative; }}
.picture img {{ display: block; width: 100%; height: auto; border: 1px solid #ccc; }}
.picture svg {{ position: absolute; left: 0; top: 0; width: 100%; height: 100%; }}
rect.low {{ fill: rgba(255, 200, 0, .25); stroke: #e00; stroke-width: 2; }}
.text {{ flex: 1 1 auto; min-width: 20em; }}
pre {{ white-space: pre-wrap; font: 13px/1.45 ui-monospace, monospace; background: #fafafa;
       border: 1px solid #eee; padding: .6em; }}
mark.low {{ background: #ffd84d; outline: 1px solid #e00; }}
.fix del, .corrections del {{ color: #b00; }}
.fix ins, .corrections ins {{ color: #070; text-decoration: none; font-weight: bold; }}
.missing, .error {{ color: #b00; }}
</style></head>
<body>
<header><h1>Pages to review</h1>
<p class="summary">{summary}</p>
<p class="generated">Generated {generated} by hotocr. Worst pages first. Boxes and highlights
mark words below the folder's confidence threshold; corrections show what was printed and
what hotocr made of it.</p></header>
{body}
</body></html>
"""


class ReviewUpdater:
    """Keeps review pages current from a background thread, never from the daemon's loop.

    Rendering the pictures of many flagged pages can take minutes (the first time, for an
    outbox with history); done on the main loop it would starve systemd's watchdog. Requests
    for the same outbox coalesce: one rebuild covers every document published meanwhile.
    """

    def __init__(self, on_error: Callable[[Path, BaseException], None]) -> None:
        self._pending: set[Path] = set()
        self._wake = threading.Condition()
        self._stopping = False
        self._on_error = on_error
        self._thread = threading.Thread(target=self._run, name="review", daemon=True)
        self._thread.start()

    def request(self, outbox: Path) -> None:
        with self._wake:
            self._pending.add(outbox)
            self._wake.notify()

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                outbox = self._pending.pop()
            try:
                build([outbox], outbox / "review")
            except Exception as exc:  # noqa: BLE001 - a report problem must not stop anything
                self._on_error(outbox, exc)
