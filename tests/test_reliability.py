"""Never lose a scan: crashes at every step, restarts, systemd's notify protocol."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from hotocr.notify import SystemdNotifier
from hotocr.testhooks import POINTS

from .conftest import (
    ENGLISH_LINES,
    LATIN_FONT,
    Daemon,
    render_page,
    start_daemon,
    write_config,
)

FONT = ImageFont.truetype(LATIN_FONT, 28)


def drop(inbox: Path, name: str, line: str) -> None:
    render_page((line, *ENGLISH_LINES[:1]), height=700).save(inbox / name, format="PNG")


ALL_OUTPUTS = ("txt", "json", "pdf", "hocr", "alto")
SUFFIXES = {"txt": ".txt", "json": ".json", "pdf": ".ocr.pdf", "hocr": ".hocr", "alto": ".alto.xml"}


@pytest.mark.parametrize("outputs", [("txt", "json"), ALL_OUTPUTS], ids=["txt+json", "all"])
@pytest.mark.parametrize("point", POINTS)
def test_a_crash_at_any_step_loses_and_duplicates_nothing(
    tmp_path: Path, point: str, outputs: tuple[str, ...]
) -> None:
    (tmp_path / "inbox" / "sub").mkdir(parents=True)
    config = write_config(tmp_path, extra=f"[ocr]\noutputs = {json.dumps(list(outputs))}")
    drop(tmp_path / "inbox", "first.png", "The first document.")
    drop(tmp_path / "inbox" / "sub", "second.png", "The second document.")
    # 1. A daemon that SIGKILLs itself at `point` while handling the first file.
    assert run_until_killed(tmp_path, config, point) == -9
    # 2. A normal restart finishes everything: every output of each document, once.
    daemon = start_daemon(tmp_path, config)
    try:
        wait_until_inbox_and_work_are_empty(daemon)
    finally:
        assert daemon.stop() == 0
    out = daemon.outbox
    rows = (out / "index.csv").read_text().splitlines()[1:]
    assert sorted(r.split(",")[1] for r in rows) == ["first.png", "sub/second.png"]
    expected = ["index.csv"] + [
        f"{stem}{suffix}"
        for stem in ("first", "sub/second")
        for suffix in [".png", *(SUFFIXES[o] for o in outputs)]
    ]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        expected
    )
    for stem, line in (("first", "first document"), ("sub/second", "second document")):
        data = json.loads((out / f"{stem}.json").read_text())
        assert data["source"]["name"] == Path(stem).name + ".png"
        if "txt" in outputs:
            assert line in (out / f"{stem}.txt").read_text()
        if "pdf" in outputs:
            assert (out / f"{stem}.ocr.pdf").read_bytes().startswith(b"%PDF-")
    assert not list(daemon.failed.rglob("*"))
    assert not [p for p in tmp_path.rglob("*.hotocr-tmp")]


def run_until_killed(root: Path, config: Path, point: str) -> int:
    """Run the daemon with a crash point set; its output goes to a file, not a pipe."""
    env = dict(os.environ, HOTOCR_TEST_CRASH_AT=point, PYTHONUNBUFFERED="1")
    with (root / f"crash-{point}.log").open("w") as log:
        proc = subprocess.run(
            [sys.executable, "-m", "hotocr", "run", "--config", str(config)],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
    return proc.returncode


def wait_until_inbox_and_work_are_empty(daemon: Daemon) -> None:
    work = daemon.root / "state" / "work"

    def settled() -> bool:
        files = [p for p in daemon.inbox.rglob("*") if p.is_file()]
        claimed = [p for p in work.rglob("*") if p.is_file()] if work.exists() else []
        outputs = [p for p in daemon.outbox.rglob("*.json")]
        return not files and not claimed and len(outputs) >= 2

    daemon.wait_for(settled, 120, "both documents published after the restart")


def test_a_file_that_keeps_killing_the_daemon_is_quarantined(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir()
    config = write_config(tmp_path, extra="", watch_extra="")
    config.write_text(
        config.read_text().replace("rescan_seconds = 5", "rescan_seconds = 5\nmax_attempts = 2")
    )
    drop(tmp_path / "inbox", "poison.png", "This file kills the daemon.")
    env = dict(os.environ, HOTOCR_TEST_CRASH_AT="after_ocr")
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "hotocr", "run", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == -9
    daemon = start_daemon(tmp_path, config)
    try:
        done = daemon.wait_done(1, timeout=60)
        drop(daemon.inbox, "healthy.png", "A healthy file afterwards.")
        daemon.wait_done(2, timeout=60)
    finally:
        daemon.stop()
    assert done[0]["outcome"] == "failed" and done[0]["reason"] == "quarantined"
    report = json.loads((daemon.failed / "poison.error.json").read_text())
    assert report["reason"] == "quarantined" and report["attempts"] == 2
    assert (daemon.failed / "poison.png").exists()
    assert (daemon.outbox / "healthy.json").exists()


def test_a_page_that_kills_its_worker_fails_the_document_and_the_pool_recovers(
    daemon_factory, tmp_path: Path
) -> None:
    """Page 2 kills whichever pool process reads it (test hook), every time: after two deaths
    the document goes to failed/, and a fresh pool processes the next file."""
    daemon = daemon_factory(env={"HOTOCR_TEST_KILL_WORKER_ON_PAGE": "2"})
    pages = [Image.new("L", (1200, 600), 255) for _ in range(3)]
    for n, page in enumerate(pages, start=1):
        ImageDraw.Draw(page).text(
            (100, 100), f"Page {n}", fill=0, font=ImageFont.truetype(LATIN_FONT, 60)
        )
    pages[0].save(tmp_path / "crash.tif", save_all=True, append_images=pages[1:], dpi=(300, 300))
    (tmp_path / "crash.tif").rename(daemon.inbox / "crash.tif")
    daemon.wait_for((daemon.failed / "crash.tif").exists, 120, "crash.tif in failed/")
    drop(daemon.inbox, "after.png", "A single page afterwards.")
    daemon.wait_done(2, timeout=120)
    report = json.loads((daemon.failed / "crash.error.json").read_text())
    assert report["reason"] == "worker_crashed"
    assert "2 times while this document's pages were running" in report["message"]
    assert (daemon.outbox / "after.json").exists()


def test_duplicates_skip_and_process(daemon_factory) -> None:
    daemon = daemon_factory(watch_extra='duplicates = "skip"')
    drop(daemon.inbox, "a.png", "Same content twice.")
    daemon.wait_done(1, timeout=60)
    (daemon.inbox / "b.png").write_bytes((daemon.outbox / "a.png").read_bytes())
    done = daemon.wait_done(2, timeout=60)
    assert done[1]["outcome"] == "failed" and done[1]["reason"] == "duplicate"
    report = json.loads((daemon.failed / "b.error.json").read_text())
    assert "a.png" in report["message"]


def test_sd_notify_over_a_real_datagram_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    try:
        notifier = SystemdNotifier(str(path), watchdog_seconds=0.2)
        notifier.ready()
        assert server.recv(4096).decode().startswith("READY=1\n")
        notifier.alive()
        assert server.recv(4096) == b"WATCHDOG=1"
        notifier.alive()  # within half the interval: no second ping
        time.sleep(0.12)
        notifier.alive()
        assert server.recv(4096) == b"WATCHDOG=1"
        notifier.stopping()
        assert server.recv(4096).startswith(b"STOPPING=1")
    finally:
        server.close()


def test_the_daemon_notifies_ready_and_pings_the_watchdog(tmp_path: Path) -> None:
    sock_path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(sock_path))
    server.settimeout(60)
    (tmp_path / "inbox").mkdir()
    config = write_config(tmp_path)
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="400000")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hotocr", "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        messages = [server.recv(4096).decode() for _ in range(3)]
        assert messages[0].startswith("READY=1")
        assert messages[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
        proc.terminate()
        rest = []
        while True:
            msg = server.recv(4096).decode()
            rest.append(msg)
            if msg.startswith("STOPPING=1"):
                break
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        server.close()


def test_a_burst_of_2000_small_files_is_processed_completely_once(daemon_factory) -> None:
    """A scanner dumping a batch: nothing missed (inotify bursts, rescans), nothing twice."""
    daemon = daemon_factory(
        watch_extra="[watch.preprocess]\nsteps = []\n[watch.ocr]\nauto_rotate = false\n"
        "[watch.correction]\nenabled = false"
    )
    staging = daemon.root / "staging"
    staging.mkdir()
    count = 2000
    for i in range(count):
        image = Image.new("L", (360, 70), 255)
        ImageDraw.Draw(image).text((10, 10), f"page {i}", fill=0, font=FONT)
        image.save(staging / f"p{i:04d}.png", format="PNG")
    for path in sorted(staging.iterdir()):  # moved in as fast as the filesystem allows
        path.rename(daemon.inbox / path.name)
    daemon.wait_for(
        lambda: len(list(daemon.outbox.glob("*.json"))) >= count, 900, f"{count} sidecars"
    )
    done = [e for e in daemon.events() if e.get("event") == "document.done"]
    names = [Path(str(e["path"])).name for e in done]
    assert len(names) == count and len(set(names)) == count  # each exactly once
    assert all(e["outcome"] == "done" for e in done)
    assert not list(daemon.inbox.iterdir())
    assert sorted(p.name for p in daemon.outbox.glob("*.png")) == sorted(
        f"p{i:04d}.png" for i in range(count)
    )


def test_a_full_disk_while_publishing_is_retried_with_backoff(daemon_factory) -> None:
    daemon = daemon_factory(env={"HOTOCR_TEST_FAIL_PUBLISH": "2"})
    drop(daemon.inbox, "later.png", "Published once the disk has room again.")
    done = daemon.wait_done(1, timeout=120)
    assert done[0]["outcome"] == "done"
    retries = [e for e in daemon.events() if e.get("event") == "document.retry_later"]
    assert [e["retry_in_seconds"] for e in retries] == [5.0, 10.0]  # backoff doubles
    assert all("No space left" in str(e["error"]) for e in retries)
    assert (daemon.outbox / "later.json").exists() and (daemon.outbox / "later.png").exists()
    started = [e for e in daemon.events() if e.get("event") == "document.started"]
    assert len(started) == 1  # the retries published the same reading; OCR ran once
    assert not list(daemon.failed.rglob("*"))
    assert not [p for p in daemon.outbox.iterdir() if p.name.endswith(".hotocr-tmp")]


def test_a_document_waiting_out_a_full_disk_is_not_quarantined_by_restarts(
    tmp_path: Path,
) -> None:
    """Killed while the document waits for disk space, again and again: each run of it ended
    (in a disk error), none was cut short by it, so it is published once there is room."""
    (tmp_path / "inbox").mkdir()
    config = write_config(tmp_path, daemon_extra="max_attempts = 2")
    drop(tmp_path / "inbox", "patient.png", "Published after three restarts.")
    for _ in range(3):
        daemon = start_daemon(tmp_path, config, env={"HOTOCR_TEST_FAIL_PUBLISH": "1000"})
        daemon.wait_for(
            lambda d=daemon: any(e.get("event") == "document.retry_later" for e in d.events()),
            120,
            "a disk error",
        )
        daemon.proc.kill()
        daemon.proc.wait()
    daemon = start_daemon(tmp_path, config)
    try:
        done = daemon.wait_done(1, timeout=120)
    finally:
        daemon.stop()
    assert done[0]["outcome"] == "done", done
    assert (tmp_path / "outbox" / "patient.json").exists()
