"""The operator's view: review page (in a real browser), metrics and health, status, index."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hotocr import results_index, review
from hotocr.journal import Journal

from .conftest import ENGLISH_LINES, Daemon, degrade, render_page, write_config

STAINED_LINES = (
    "Th1s 1s 4 s@mple w1th typ0s.",
    "Dear customer, your invoice is attached below.",
    "Payment is due within thirty days of receipt.",
    "Please quote the reference on every transfer.",
    "The warehouse closes early on public holidays.",
)
# Stained reads at about 84, clean at about 94 (Tesseract 5.3): one flagged, one not. The
# folder reads with Tesseract: PP-OCR (auto's choice on a page this unsure) reads it well.
THRESHOLD = 'review_page = true\n[watch.ocr]\nlow_confidence = 90\nrecognizer = "tesseract"'
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def drop_pair(daemon: Daemon) -> None:
    render_page(ENGLISH_LINES, height=1100).save(daemon.inbox / "clean.png", dpi=(300, 300))
    stained = degrade(render_page(STAINED_LINES, height=1100, size=34), seed=3)
    stained.save(daemon.inbox / "stained.png", dpi=(300, 300))


class Dom(HTMLParser):
    """Just enough of the DOM: elements with their attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, []))
        if tag not in ("img", "br", "meta", "link", "input"):
            self._open.append(len(self.elements) - 1)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            index = self._open.pop()
            if self.elements[index][0] == tag:
                break

    def handle_data(self, data: str) -> None:
        for index in self._open:
            self.elements[index][2].append(data)

    def find(self, tag: str, cls: str | None = None) -> list[tuple[dict[str, str], str]]:
        return [
            (attrs, "".join(text))
            for t, attrs, text in self.elements
            if t == tag and (cls is None or cls in attrs.get("class", "").split())
        ]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("chromium not installed")
    return path


def test_the_review_page_is_there_before_any_page_is_flagged(daemon_factory) -> None:
    """A person opening the review page of a quiet folder reads "nothing to review", not a
    missing file."""
    daemon = daemon_factory(watch_extra=THRESHOLD)
    kept = daemon.outbox / "review" / "index.html"
    daemon.wait_for(kept.exists, 60, "the empty review page")
    text = kept.read_text()
    assert "No page is flagged for review." in text and "0 flagged pages in 0 of 0" in text


def test_review_page_in_a_real_browser(daemon_factory, tmp_path: Path) -> None:
    daemon = daemon_factory(watch_extra=THRESHOLD)
    drop_pair(daemon)
    done = daemon.wait_done(2, timeout=120)
    flagged = {Path(str(e["path"])).name: e["flagged_pages"] for e in done}
    assert flagged == {"clean.png": [], "stained.png": [1]}
    kept = daemon.outbox / "review" / "index.html"
    # review_page = true: the daemon keeps it up to date, from a background thread (the
    # page is there from the start, so wait for the flagged document to reach it).
    daemon.wait_for(
        lambda: kept.exists() and "stained.png" in kept.read_text(),
        60,
        "the flagged page on the daemon's review page",
    )
    report = tmp_path / "report"
    out = subprocess.run(
        [sys.executable, "-m", "hotocr", "review", str(daemon.outbox), "--output", str(report)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    index = report / "index.html"
    browser = chromium()
    profile = tmp_path / "profile"
    shot = tmp_path / "review.png"
    subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            "--window-size=1400,1100",
            index.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    dumped = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", index.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    dom = Dom()
    dom.feed(dumped)
    sections = dom.find("section", "page")
    assert [a["data-document"] for a, _ in sections] == ["stained.png"]  # only the flagged page
    summary = dom.find("p", "summary")[0][1]
    assert "1 flagged page in 1 of 2 documents" in summary
    marks = dom.find("mark", "low")
    boxes = dom.find("rect", "low")
    assert marks and len(boxes) >= len(marks)  # highlighted words, boxed on the picture
    corrections = " ".join(text for _, text in dom.find("ul", "corrections"))
    assert "s@mple" in corrections and "sample" in corrections
    images = dom.find("img")
    assert images and (report / images[0][0]["src"]).exists()
    links = {text: a["href"] for a, text in dom.find("a")}
    assert (report / links["original"]).resolve() == (daemon.outbox / "stained.png").resolve()
    assert (report / links["JSON"]).resolve() == (daemon.outbox / "stained.json").resolve()
    # No external assets: nothing is fetched from a network.
    assert "http://" not in index.read_text() and "https://" not in index.read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_what_happened_and_healthz_follows_the_loop(
    daemon_factory, tmp_path: Path
) -> None:
    port = free_port()
    stall = tmp_path / "stall"
    daemon = daemon_factory(
        daemon_extra=f'metrics = "127.0.0.1:{port}"\nhealth_stall_seconds = 2',
        env={"HOTOCR_TEST_STALL_FILE": str(stall)},
    )
    base = f"http://127.0.0.1:{port}"
    status, before = fetch(base + "/metrics")
    assert status == 200
    assert metric(before, "hotocr_documents_total", outcome="done") == 0
    assert metric(before, "hotocr_preprocess_backend", backend="cpu") == 1
    drop_pair(daemon)
    (daemon.inbox / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage\n%%EOF\n")
    daemon.wait_done(3, timeout=120)
    _, after = fetch(base + "/metrics")
    assert metric(after, "hotocr_documents_total", outcome="done") == 2
    assert metric(after, "hotocr_documents_total", outcome="failed") == 1
    assert metric(after, "hotocr_failures_total", reason="corrupt") == 1
    assert metric(after, "hotocr_pages_total") == 2
    assert metric(after, "hotocr_page_seconds_count") == 2
    assert metric(after, "hotocr_queue_depth", stage="in_flight") == 0
    assert fetch(base + "/healthz")[0] == 200
    stall.touch()  # the test hook: the main loop hangs while this file exists
    time.sleep(3.5)
    code, body = fetch(base + "/healthz")
    assert code == 503 and body.startswith("stalled")
    stall.unlink()
    time.sleep(1.0)
    assert fetch(base + "/healthz")[0] == 200


def status_json(config: Path) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [sys.executable, "-m", "hotocr", "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_status_from_a_journal_with_known_contents(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "waiting.pdf").write_bytes(b"%PDF")
    config = write_config(tmp_path)
    journal = Journal(tmp_path / "state" / "journal.sqlite3")
    inbox = tmp_path / "inbox"
    now = time.time()
    states = [("done", 10, 600), ("done", 5, 7200), ("failed", 0, 60), ("claimed", 3, 0)]
    for i, (state, pages, age) in enumerate(states):
        job = journal.begin_claim(inbox, Path(f"f{i}.pdf"), tmp_path / "state" / "work")
        journal.set_state(
            job.id,
            state,
            pages=pages,
            reason="corrupt" if state == "failed" else None,
            last_error="pdfinfo cannot read it" if state == "failed" else None,
        )
        journal._db.execute("UPDATE jobs SET finished = ? WHERE id = ?", (now - age, job.id))
    vanished = journal.begin_claim(inbox, Path("gone.pdf"), tmp_path / "state" / "work")
    journal.set_state(vanished.id, "failed", reason="claim", last_error="No such file")
    journal.close()
    report = status_json(config)
    watch = report["watches"][0]
    assert report["daemon"]["running"] is False
    assert watch["waiting"] == 1 and watch["in_flight"] == 1
    assert (watch["done_last_hour"], watch["done_last_day"]) == (1, 2)
    assert (watch["failed_last_hour"], watch["failed_last_day"]) == (1, 1)
    assert watch["pages_per_minute"] == round(10 / 60, 2)
    assert watch["latest_failures"][0]["file"] == "f2.pdf"
    assert watch["latest_failures"][0]["reason"] == "corrupt"


def index_rows(index: Path) -> list[tuple[str, str, str]]:
    rows = csv.DictReader(io.StringIO(index.read_text()))
    return sorted((r["file"], r["outcome"], r["sidecar"]) for r in rows)


def test_an_index_of_an_older_hotocr_gets_the_new_columns_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    index = tmp_path / results_index.NAME
    old = "time,file,pages,confidence,flagged_pages,outcome,seconds,reason,sha256\n"
    index.write_text(old + "2026-11-01T10:00:00,a.pdf,2,91.5,,done,3.1,,abc\n")
    results_index.append(tmp_path, {"file": "b.pdf", "outcome": "done", "sidecar": "b.json"})
    rows = list(csv.DictReader(io.StringIO(index.read_text())))
    assert list(rows[0]) == list(results_index.COLUMNS)
    assert [(r["file"], r["pages"], r["sha256"], r["sidecar"]) for r in rows] == [
        ("a.pdf", "2", "abc", ""),
        ("b.pdf", "", "", "b.json"),
    ]


def test_status_beside_a_running_daemon_and_the_results_index(daemon_factory) -> None:
    daemon = daemon_factory()
    drop_pair(daemon)
    (daemon.inbox / "broken.pdf").write_bytes(b"%PDF-1.4\ngarbage\n%%EOF\n")
    (daemon.inbox / "placeholder.pdf").touch()  # a scanner's empty file, never filled
    daemon.wait_done(3, timeout=120)
    daemon.wait_for(
        lambda: any(e.get("event") == "file.empty_waiting" for e in daemon.events()),
        30,
        "the log line about the empty file",
    )
    report = status_json(daemon.root / "config.toml")
    assert report["watches"][0]["empty_waiting"] == ["placeholder.pdf"]
    assert report["watches"][0]["pages_per_minute_recent"] > 1  # not averaged over the hour
    assert report["daemon"]["running"] is True and report["daemon"]["pid"] == daemon.proc.pid
    watch = report["watches"][0]
    assert watch["done_last_hour"] == 2 and watch["failed_last_hour"] == 1
    assert watch["latest_failures"][0]["reason"] == "corrupt"
    text = subprocess.run(
        [sys.executable, "-m", "hotocr", "status", "--config", str(daemon.root / "config.toml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "daemon: running" in text and "broken.pdf (corrupt)" in text
    assert "empty, waiting to be filled: 1 (placeholder.pdf)" in text
    empties = [e for e in daemon.events() if e.get("event") == "file.empty_waiting"]
    assert len(empties) == 1  # said once
    # index.csv: one row per document, outcome included.
    index = daemon.outbox / results_index.NAME
    rows = index.read_text().splitlines()
    assert rows[0].startswith("time,file,pages,confidence") and len(rows) == 4
    assert sum(",done," in r for r in rows) == 2 and sum(",failed," in r for r in rows) == 1
    # Every row names the file as dropped in the inbox, and its JSON report.
    appended = index_rows(index)
    assert [(f, o) for f, o, _ in appended] == [
        ("broken.pdf", "failed"),
        ("clean.png", "done"),
        ("stained.png", "done"),
    ], appended
    assert [s for _, _, s in appended] == [
        os.path.relpath(daemon.failed / "broken.error.json", daemon.outbox),
        "clean.json",
        "stained.json",
    ]
    # A crash in the middle of an append: the partial row is cut before the next one.
    with index.open("a") as fh:
        fh.write("2026-01-01T00:00:00,half-writ")
    results_index.append(daemon.outbox, {"file": "next.pdf", "outcome": "done"})
    lines = index.read_text().splitlines()
    assert "half-writ" not in index.read_text() and lines[-1].split(",")[1] == "next.pdf"
    # Rebuilt from the sidecars.
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotocr",
            "index",
            str(daemon.outbox),
            "--failed",
            str(daemon.failed),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "3 rows" in out.stdout
    assert index_rows(index) == appended  # the same rows as the daemon wrote
    # Rebuilt without naming the failed folder: the failed row it had is kept.
    alone = subprocess.run(
        [sys.executable, "-m", "hotocr", "index", str(daemon.outbox)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "3 rows" in alone.stdout
    assert sum(",failed," in r for r in index.read_text().splitlines()) == 1
    # A folder that is not there is an error, and is not made.
    missing = daemon.root / "no" / "such"
    gone = subprocess.run(
        [sys.executable, "-m", "hotocr", "index", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert gone.returncode == 2 and "not a folder" in gone.stderr and not missing.exists()


def test_a_corrected_word_tesseract_was_unsure_of_is_marked_with_its_correction() -> None:
    page = {
        "raw_text": "Th1s is fine w1th typOs.",
        "words": [
            {"text": "Th1s", "confidence": 95.0},
            {"text": "is", "confidence": 96.0},
            {"text": "fine", "confidence": 60.0},
            {"text": "w1th", "confidence": 75.2},
            {"text": "typOs.", "confidence": 42.6},
        ],
        "corrections": [
            {"offset": 0, "raw": "Th1s", "fixed": "This"},
            {"offset": 13, "raw": "w1th", "fixed": "with"},
            {"offset": 18, "raw": "typOs", "fixed": "typos"},
        ],
    }
    dom = Dom()
    dom.feed(review._marked_text(page, threshold=90.0))
    marked = [text for _, text in dom.find("mark", "low")]
    assert marked == ["fine", "w1thwith", "typOstypos."]  # the mark holds the correction
    fixes = [text for _, text in dom.find("span", "fix")]
    assert fixes == ["Th1sThis", "w1thwith", "typOstypos"]  # a sure word: corrected, not marked


def test_the_journal_forgets_finished_jobs_but_never_unfinished_ones(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    now = time.time()
    ages = {"old-done": ("done", 40), "old-failed": ("failed", 40), "new-done": ("done", 1)}
    for name, (state, days) in ages.items():
        job = journal.begin_claim(inbox, Path(f"{name}.pdf"), work)
        journal.set_state(job.id, state)
        journal._db.execute(
            "UPDATE jobs SET finished = ? WHERE id = ?", (now - days * 86400, job.id)
        )
    stuck = journal.begin_claim(inbox, Path("stuck.pdf"), work)  # a crash left it claiming
    journal._db.execute("UPDATE jobs SET updated = ? WHERE id = ?", (now - 90 * 86400, stuck.id))
    assert journal.prune(now - 30 * 86400) == 2
    assert [j.rel_path.name for j in journal.unfinished()] == ["stuck.pdf"]
    assert journal.counts() == {"done": 1, "claiming": 1}
    journal.close()


def test_the_daemon_prunes_its_journal_at_start_and_keeps_recent_jobs(daemon_factory) -> None:
    def old_rows(root: Path) -> None:
        journal = Journal(root / "state" / "journal.sqlite3")
        for i in range(3):
            job = journal.begin_claim(root / "inbox", Path(f"gone{i}.png"), root / "state" / "work")
            journal.set_state(job.id, "done")
            journal._db.execute(
                "UPDATE jobs SET finished = ? WHERE id = ?", (time.time() - 86400, job.id)
            )
        journal.close()

    # 0.0005 days = 43 s kept, so the running daemon prunes every 4.3 s.
    daemon = daemon_factory(before=old_rows, daemon_extra="journal_keep_days = 0.0005")
    pruned = [e for e in daemon.events() if e.get("event") == "journal.pruned"]
    assert pruned and pruned[0]["jobs"] == 3
    render_page(ENGLISH_LINES[:2], height=500).save(daemon.inbox / "fresh.png")
    daemon.wait_done(1, timeout=120)
    journal = Journal(daemon.root / "state" / "journal.sqlite3", readonly=True)
    assert journal.counts() == {"done": 1}
    journal.close()
