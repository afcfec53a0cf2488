"""The Dask executor against a real cluster on loopback: a ``dask scheduler`` and two
``dask worker`` processes, and ``hotocr run`` as a subprocess, as in production.

The workers have no access to the daemon's folders beyond what the daemon sends them (a
page as the bytes of a one-page file), which is how they would run on other machines.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed")  # the [dask] extra, which `make test` installs

from tests.conftest import (
    ENGLISH_LINES,
    Daemon,
    cer,
    render_page,
    start_daemon,
    write_config,
)
from tests.dask_cluster import Cluster, free_port

BIN = Path(sys.executable).parent
#: Any page with this number kills the worker process that reads it (test hook); no other
#: test document has that many pages.
POISON_PAGE = 9


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    found = Cluster(
        tmp_path_factory.mktemp("cluster"),
        worker_env={"HOTOCR_TEST_KILL_WORKER_ON_PAGE": str(POISON_PAGE)},
        # Give up on a page after it killed two workers, not four: a shorter test.
        scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"},
    )
    try:
        found.ensure()
        yield found
    finally:
        found.close()


def page_lines(n: int) -> tuple[str, ...]:
    return (f"This is page {n} of the document.", *ENGLISH_LINES[:3])


def make_pdf(path: Path, count: int) -> Path:
    images = [render_page(page_lines(n), height=800).convert("L") for n in range(1, count + 1)]
    images[0].save(path, format="PDF", save_all=True, append_images=images[1:], resolution=300)
    return path


def make_tiff(path: Path, count: int) -> Path:
    frames = [
        render_page(page_lines(n), height=800).point(lambda v: 255 if v > 128 else 0).convert("1")
        for n in range(1, count + 1)
    ]
    frames[0].save(
        path,
        format="TIFF",
        save_all=True,
        append_images=frames[1:],
        compression="group4",
        dpi=(300, 300),
    )
    return path


def run_daemon(root: Path, executor: str, env: dict[str, str] | None = None) -> Daemon:
    (root / "inbox").mkdir(parents=True, exist_ok=True)
    config = write_config(root, daemon_extra=f'executor = "{executor}"')
    return start_daemon(root, config, env)


def comparable(path: Path) -> dict[str, object]:
    """A JSON sidecar without what differs from run to run (timings, creation time)."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("seconds", "created")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    data = strip(json.loads(path.read_text(encoding="utf-8")))
    assert isinstance(data, dict)
    return data


def drop_pdf(daemon: Daemon, name: str, count: int) -> None:
    """A PDF of ``count`` pages, written under a temporary name and renamed into the inbox."""
    make_pdf(daemon.root / f"{name}.part", count).rename(daemon.inbox / name)


def wait_event(daemon: Daemon, event: str, what: str, timeout: float = 60) -> None:
    daemon.wait_for(lambda: any(e.get("event") == event for e in daemon.events()), timeout, what)


def assert_every_page_read(sidecar: Path, count: int) -> None:
    """Each page once, in order, with its own text."""
    pages = json.loads(sidecar.read_text(encoding="utf-8"))["pages"]
    assert [p["number"] for p in pages] == list(range(1, count + 1))
    for n, page in enumerate(pages, start=1):
        assert page["error"] is None
        assert cer(page["text"], "\n".join(page_lines(n))) < 0.05


def make_inputs(folder: Path) -> list[Path]:
    folder.mkdir()
    note = folder / "note.png"
    render_page(ENGLISH_LINES, height=900).save(note, dpi=(300, 300))
    return [make_pdf(folder / "letters.pdf", 3), make_tiff(folder / "fax.tif", 2), note]


def test_sidecars_from_the_cluster_match_the_local_pool(cluster: Cluster, tmp_path: Path) -> None:
    cluster.ensure()
    inputs = make_inputs(tmp_path / "inputs")
    results: dict[str, dict[str, dict[str, object]]] = {}
    for executor in ("local", cluster.address):
        root = tmp_path / ("local" if executor == "local" else "cluster")
        daemon = run_daemon(root, executor)
        try:
            for path in inputs:
                shutil.copy(path, daemon.inbox / f"{path.name}.part")
                (daemon.inbox / f"{path.name}.part").rename(daemon.inbox / path.name)
            daemon.wait_done(3, timeout=240)
        finally:
            assert daemon.stop() == 0
        results[executor] = {p.name: comparable(p) for p in daemon.outbox.glob("*.json")}
        assert not list(daemon.failed.iterdir())
    local, remote = results["local"], results[cluster.address]
    assert sorted(local) == ["fax.json", "letters.json", "note.json"]
    assert remote == local
    assert_every_page_read(tmp_path / "local" / "outbox" / "letters.json", 3)


def test_a_worker_killed_mid_document_loses_and_duplicates_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.ensure()
    daemon = run_daemon(tmp_path, cluster.address)
    try:
        drop_pdf(daemon, "big.pdf", 8)
        # Both workers are busy once the first pages have been handed out.
        wait_event(daemon, "document.started", "the document started")
        time.sleep(2.0)
        cluster.kill(cluster.workers["w1"])
        done = daemon.wait_done(1, timeout=240)
    finally:
        assert daemon.stop() == 0
    assert len(done) == 1
    assert sorted(p.name for p in daemon.outbox.glob("big*")) == ["big.json", "big.pdf", "big.txt"]
    assert not list(daemon.failed.iterdir())
    assert_every_page_read(daemon.outbox / "big.json", 8)


def test_the_scheduler_going_away_and_coming_back_loses_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.ensure()
    daemon = run_daemon(tmp_path, cluster.address)
    try:
        drop_pdf(daemon, "first.pdf", 6)
        wait_event(daemon, "document.started", "the document started")
        time.sleep(1.0)
        cluster.stop_scheduler()
        wait_event(daemon, "executor.disconnected", "the daemon to notice")
        # Files keep arriving while the cluster is away; the daemon keeps its inbox.
        drop_pdf(daemon, "second.pdf", 2)
        wait_event(daemon, "executor.unreachable", "a failed reconnection")
        assert not (daemon.outbox / "second.json").exists()
        cluster.ensure()
        done = daemon.wait_done(2, timeout=240)
    finally:
        assert daemon.stop() == 0
    names = sorted(p.name for p in daemon.outbox.glob("*") if p.name != "index.csv")
    assert names == [
        "first.json",
        "first.pdf",
        "first.txt",
        "second.json",
        "second.pdf",
        "second.txt",
    ]
    assert len(done) == 2
    assert_every_page_read(daemon.outbox / "first.json", 6)
    assert_every_page_read(daemon.outbox / "second.json", 2)
    events = [e["event"] for e in daemon.events()]
    assert events.count("executor.connected") >= 2


def test_a_page_that_kills_every_worker_fails_its_document_only(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.ensure()
    daemon = run_daemon(tmp_path, cluster.address)
    try:
        drop_pdf(daemon, "poison.pdf", POISON_PAGE)
        daemon.wait_for((daemon.failed / "poison.pdf").exists, 240, "poison.pdf in failed/")
        cluster.ensure()  # the nannies restart their workers; wait for both to be back
        render_page(ENGLISH_LINES, height=900).save(daemon.inbox / "after.png", dpi=(300, 300))
        daemon.wait_done(2, timeout=120)  # the failed document, then this one
    finally:
        assert daemon.stop() == 0
    error = json.loads((daemon.failed / "poison.error.json").read_text())
    assert error["reason"] == "worker_crashed"
    assert "killed every Dask worker" in error["message"]
    assert (daemon.outbox / "after.json").exists()


def test_pages_that_ask_for_the_gpu_wait_for_a_worker_that_has_one(
    cluster: Cluster, tmp_path: Path
) -> None:
    """A folder whose PP-OCR runs on CUDA sends its pages only to workers started with
    ``--resources GPU=1``: none at first (the page waits, "no-worker"), then one. That
    worker has no CUDA here: the page is read on its CPU, and the JSON says so."""
    cluster.ensure()
    root = tmp_path / "gpu"
    (root / "inbox").mkdir(parents=True)
    config = write_config(
        root,
        daemon_extra=f'executor = "{cluster.address}"',
        watch_extra='[watch.ocr]\nrecognizer = "ppocr"\nprovider = "cuda"',
    )
    daemon = start_daemon(root, config)
    try:
        note = root / "note.png"
        render_page(ENGLISH_LINES, height=900).save(note, dpi=(300, 300))
        note.rename(daemon.inbox / "note.png")
        from distributed import Client  # noqa: PLC0415 - after the importorskip above

        with Client(cluster.address, timeout=10, set_as_default=False) as client:

            def states() -> list[str]:
                found = client.run_on_scheduler(
                    lambda dask_scheduler: [t.state for t in dask_scheduler.tasks.values()]
                )
                return list(found)

            daemon.wait_for(lambda: "no-worker" in states(), 60, "a page waiting for a GPU")
            cluster.start_worker("gpu1", resources="GPU=1")
            daemon.wait_done(1, timeout=180)
        page = json.loads((daemon.outbox / "note.json").read_text(encoding="utf-8"))["pages"][0]
        assert page["recipe"]["recognizer"] == "ppocr" and "quick brown fox" in page["text"]
        placed = page["recipe"]["reasons"]["ppocr_provider"]
        assert placed.startswith("CPU: onnxruntime ") and "offers no CUDA" in placed
    finally:
        assert daemon.stop() == 0
        cluster.kill(cluster.workers.pop("gpu1", None))


def test_check_reports_the_cluster_and_its_workers(cluster: Cluster, tmp_path: Path) -> None:
    cluster.ensure()
    config = write_config(tmp_path, daemon_extra=f'executor = "{cluster.address}"')
    out = subprocess.run(
        [str(BIN / "hotocr"), "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{cluster.address}: 2 workers" in out.stdout
    assert out.stdout.count("tesseract 5") >= 2 and ", ok" in out.stdout

    unreachable = write_config(tmp_path, daemon_extra=f'executor = "tcp://127.0.0.1:{free_port()}"')
    out = subprocess.run(
        [str(BIN / "hotocr"), "check", "--config", str(unreachable)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 3
    assert "UNREACHABLE" in out.stdout and "cannot reach the Dask scheduler" in out.stderr


def test_an_unreachable_scheduler_never_blocks_the_daemons_loop(tmp_path: Path) -> None:
    """Connecting takes up to its timeout; it runs in a thread, so each call the main loop
    makes returns at once while the attempts fail and back off."""
    from hotocr.executors.cluster import CONNECT_TIMEOUT, DaskExecutor  # noqa: PLC0415

    executor = DaskExecutor(f"tcp://127.0.0.1:{free_port()}")
    try:
        assert executor.slots() == 0
        slowest = 0.0
        deadline = time.monotonic() + 2 * CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            start = time.monotonic()
            executor.maintain()
            slowest = max(slowest, time.monotonic() - start)
            time.sleep(0.05)
        assert executor.slots() == 0
        assert slowest < CONNECT_TIMEOUT / 5
    finally:
        executor.shutdown([], wait=False)
