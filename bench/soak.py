"""A long unattended run: a steady mixed feed, random kills, a full disk, and what it costs.

sudo .venv/bin/python bench/soak.py [--minutes 65] [--files 5000] [--workers 1]

The daemon (``hotocr run``, a subprocess in its own process group, as systemd runs it) watches
an inbox on the ordinary disk; its outbox and failed folder live on a small tmpfs (mounted
here, hence root). Three threads play the world around it:

- a feeder drops ``--files`` files at a steady rate: small scans (PNG, JPEG, 2-page TIFF,
  1-page PDF) and hostile files (garbage after a PDF header, a PDF without pages, a PNG cut
  short for good, text named .jpg, a PNG header claiming 10^10 pixels). Some are written in
  one go, some under a temporary name and renamed, some slowly in two halves;
- a consumer takes finished documents out of the tmpfs (as a DMS would), following
  ``index.csv``;
- a chaos thread kills the daemon's process group with SIGKILL (now and then SIGTERM) every
  2-5 minutes and starts it again, and once fills the tmpfs to the last byte for 3 minutes.

The last ``--quiet-minutes`` have no kills: one long life of the daemon, to see whether its
memory, descriptors or threads creep. A sampler records RSS (daemon and workers), open
descriptors, threads, the journal's size and the state folder's size every 10 s.

At the end every dropped file must have exactly one outcome: the original in the outbox with
its JSON, or in failed/ with its .error.json; good files done, hostile files failed. Results
go to ``bench/out/soak/`` (summary.json, samples.csv) and ``docs/soak.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf
import psutil
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import OUT, ROOT, machine

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = [
    *("invoice total amount paid order number customer account delivery date due balance",),
    *("contract party agreement section page signed witness payment terms shipping address",),
]
WORDS = " ".join(WORDS).split(" ")
TMPFS_MIB = 48
SAMPLE_SECONDS = 10.0


# ---------------------------------------------------------------- the files


def _scan(rng: random.Random) -> Image.Image:
    image = Image.new("L", (1000, 190), 255)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(FONT, 30)
    for row in range(2):
        draw.text((40, 30 + row * 70), " ".join(rng.choices(WORDS, k=6)), font=face, fill=20)
    return image


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _two_page_tiff(rng: random.Random) -> bytes:
    first, second = _scan(rng), _scan(rng)
    return _encoded(first, "TIFF", save_all=True, append_images=[second], compression="tiff_lzw")


def _empty_pdf(_: random.Random) -> bytes:
    buffer = io.BytesIO()
    pikepdf.new().save(buffer)
    return buffer.getvalue()


def _bomb_png(_: random.Random) -> bytes:
    png = _encoded(Image.new("L", (8, 8), 255), "PNG")
    # Width and height in the IHDR chunk say 100000 x 100000; the CRC is not fixed up.
    return png[:16] + (100000).to_bytes(4, "big") * 2 + png[24:]


#: kind -> (extension, expected outcome, weight, maker)
KINDS: dict[str, tuple[str, str, int, Callable[[random.Random], bytes]]] = {
    "png": (".png", "done", 50, lambda r: _encoded(_scan(r), "PNG")),
    "jpeg": (".jpg", "done", 12, lambda r: _encoded(_scan(r), "JPEG", quality=85)),
    "tiff2": (".tif", "done", 8, _two_page_tiff),
    "pdf": (".pdf", "done", 15, lambda r: _encoded(_scan(r), "PDF", resolution=200)),
    "garbage_pdf": (".pdf", "failed", 3, lambda r: b"%PDF-1.4\n" + r.randbytes(4000) + b"%%EOF"),
    "empty_pdf": (".pdf", "failed", 3, _empty_pdf),
    "cut_png": (".png", "failed", 3, lambda r: _encoded(_scan(r), "PNG")[:1500]),
    "text_jpg": (".jpg", "failed", 3, lambda _: b"this is not a picture\n" * 40),
    "bomb_png": (".png", "failed", 3, _bomb_png),
}


@dataclass
class Dropped:
    name: str
    kind: str
    expected: str


@dataclass
class World:
    root: Path
    files: int
    seconds: float
    quiet_seconds: float
    workers: int
    rng: random.Random = field(default_factory=lambda: random.Random(20261203))
    dropped: list[Dropped] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    feeding_done: threading.Event = field(default_factory=threading.Event)
    daemon: subprocess.Popen[bytes] | None = None
    lives: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    start: float = field(default_factory=time.monotonic)
    #: The benchmark's own failures: a fault not injected, a thread of the world that died.
    failures: list[str] = field(default_factory=list)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def disk(self) -> Path:
        return self.root / "tmpfs"

    @property
    def collected(self) -> Path:
        return self.root / "collected"

    def note(self, event: str, **fields: object) -> None:
        with self.lock:
            self.events.append({"t": round(self.elapsed(), 1), "event": event, **fields})
        print(f"{self.elapsed():7.0f}s {event} {fields}", flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def attempt(self, what: str, action: Callable[..., object], *args: object) -> bool:
        """Run one fault injection; a failure is noted and kept as a problem of the run."""
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - report it, and go on injecting the others
            self.note("chaos.error", what=what, error=f"{type(exc).__name__}: {exc}")
            with self.lock:
                self.failures.append(f"chaos: {what} failed: {type(exc).__name__}: {exc}")
            return False
        return True


# ---------------------------------------------------------------- the daemon


def write_config(world: World) -> Path:
    config = world.root / "config.toml"
    config.write_text(
        f"""
[daemon]
state_dir = "state"
workers = {world.workers}
log_format = "json"
rescan_seconds = 30
journal_keep_days = {10 / 1440}

[[watch]]
inbox = "inbox"
outbox = "tmpfs/outbox"
failed = "tmpfs/failed"
stable_seconds = 1.0
incomplete_seconds = 20.0
""",
        encoding="utf-8",
    )
    return config


def start_daemon(world: World, config: Path) -> None:
    log = (world.root / "daemon.log").open("ab")
    world.daemon = subprocess.Popen(
        [sys.executable, "-m", "hotocr", "run", "--config", str(config)],
        cwd=world.root,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as systemd's control group
    )
    world.lives += 1
    world.note("daemon.started", pid=world.daemon.pid, life=world.lives)


def kill_daemon(world: World, sig: signal.Signals) -> None:
    assert world.daemon is not None
    group = world.daemon.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)
    try:
        world.daemon.wait(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(group, signal.SIGKILL)
        world.daemon.wait()
    # After a SIGTERM nothing of the group should be left 5 s on; systemd kills what is.
    deadline = time.monotonic() + 5
    while (left := _living(group)) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)
    world.note("daemon.stopped", signal=sig.name, rc=world.daemon.returncode, left=left)


def _living(group: int) -> list[str]:
    """The group's processes that still run (not zombies waiting to be reaped)."""
    found = []
    for proc in psutil.process_iter(["status", "cmdline"]):
        with contextlib.suppress(ProcessLookupError, psutil.Error):
            if os.getpgid(proc.pid) == group and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(" ".join(proc.info["cmdline"] or [])[-80:])
    return found


# ---------------------------------------------------------------- the world's threads


def feeder(world: World) -> None:
    names, weights = zip(*((k, v[2]) for k, v in KINDS.items()), strict=True)
    interval = (world.seconds - 120) / world.files  # the last two minutes only drain
    slow = ThreadPoolExecutor(8, thread_name_prefix="slow-writer")
    for i in range(world.files):
        if world.stop.is_set():
            break
        due = world.start + i * interval
        time.sleep(max(0.0, due - time.monotonic()))
        kind = world.rng.choices(names, weights)[0]
        extension, expected, _, make = KINDS[kind]
        data = make(world.rng)
        name = f"{i:05d}-{kind}{extension}"
        how = world.rng.random()
        with world.lock:
            world.dropped.append(Dropped(name, kind, expected))
        if how < 0.70:
            (world.inbox / name).write_bytes(data)
        elif how < 0.85:  # a temporary name, then renamed (FTP servers, scan apps)
            part = world.inbox / f"{name}.part"
            part.write_bytes(data)
            part.rename(world.inbox / name)
        else:  # a slow writer: half, a pause longer than stable_seconds, the rest
            slow.submit(_write_slowly, world.inbox / name, data)
    slow.shutdown(wait=True)
    world.note("feeder.done", files=len(world.dropped))
    world.feeding_done.set()


def _write_slowly(path: Path, data: bytes) -> None:
    with path.open("wb") as fh:
        fh.write(data[: len(data) // 2])
        fh.flush()
        time.sleep(2.5)
        fh.write(data[len(data) // 2 :])


def consumer(world: World) -> None:
    """Take finished documents out of the tmpfs, as a DMS would, following index.csv."""
    outbox = world.disk / "outbox"
    index, offset = outbox / "index.csv", 0
    while not world.stop.is_set():
        time.sleep(5)
        try:
            with index.open("rb") as fh:
                fh.seek(offset)
                chunk = fh.read()
        except FileNotFoundError:
            continue
        complete = chunk[: chunk.rfind(b"\n") + 1]
        if offset == 0:  # the header
            complete = complete[complete.find(b"\n") + 1 :]
            offset = len(chunk[: chunk.find(b"\n") + 1])
        offset += len(complete)
        for row in csv.reader(io.StringIO(complete.decode("utf-8"))):
            original = (outbox / row[1]).resolve()
            collect(world, original)


def collect(world: World, original: Path) -> None:
    where = "failed" if original.parent.name == "failed" else "outbox"
    stem = original.name.rsplit(".", 1)[0]
    target = world.collected / where
    for path in (original, *original.parent.glob(f"{stem}.*")):
        if path.exists():
            shutil.move(path, target / path.name)


def chaos(world: World, config: Path, kill_every: tuple[float, float], full_for: float) -> None:
    """Kills and one full disk. A fault that cannot be injected is reported (``chaos.error``,
    and a problem of the run) and the rest go on: a dead chaos thread would leave a run
    that looks calm and proves nothing."""
    kills_until = world.seconds - world.quiet_seconds
    full_at = world.seconds * 0.35
    full_done = False
    next_kill = world.rng.uniform(*kill_every)
    while not world.stop.is_set() and world.elapsed() < kills_until:
        time.sleep(1)
        if not full_done and world.elapsed() >= full_at:
            full_done = True
            world.attempt("fill_disk", fill_disk, world, full_for)
        if world.elapsed() >= next_kill:
            sig = signal.SIGTERM if world.rng.random() < 0.2 else signal.SIGKILL
            world.attempt("kill", kill_daemon, world, sig)
            time.sleep(world.rng.uniform(1, 3))
            if not world.attempt("start", start_daemon, world, config):
                time.sleep(5)
                world.attempt("start again", start_daemon, world, config)
            next_kill = world.elapsed() + world.rng.uniform(*kill_every)
    world.note("chaos.done")


#: The ballast is written in pieces this large, unbuffered.
BALLAST_PIECE = 64 << 10


def fill_disk(world: World, seconds: float) -> None:
    """Fill the outbox's disk and keep it full for ``seconds`` (the consumer frees space as
    it goes), then free it, whatever happened meanwhile.

    The file is written unbuffered: a buffered one keeps a piece that the full disk refused
    and writes it again when it is closed, raising ENOSPC there (a 25-minute run lost its
    chaos thread so, and kept its disk full for good)."""
    ballast = world.disk / "ballast"
    until = time.monotonic() + seconds
    try:
        with ballast.open("wb", buffering=0) as fh:
            world.note("disk.full")
            piece = b"\0" * BALLAST_PIECE
            while time.monotonic() < until:
                with contextlib.suppress(OSError):  # full: top it up again shortly
                    while fh.write(piece):
                        pass
                time.sleep(0.2)
    finally:
        ballast.unlink(missing_ok=True)
        world.note("disk.freed", free=shutil.disk_usage(world.disk).free)


def _file_kb(path: Path) -> int:
    try:
        return path.stat().st_size // 1024
    except FileNotFoundError:
        return 0


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def sampler(world: World, out: Path) -> None:
    with (out / "samples.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["t", "life", "rss_mb", "workers_rss_mb", "fds", "threads", "journal_kb", "wal_kb",
             "state_kb", "inbox_files", "dropped"]
        )  # fmt: skip
        while not world.stop.is_set():
            time.sleep(SAMPLE_SECONDS)
            try:
                assert world.daemon is not None
                main = psutil.Process(world.daemon.pid)
                children = main.children(recursive=True)
                row = [
                    round(world.elapsed()),
                    world.lives,
                    round(main.memory_info().rss / 2**20, 1),
                    round(sum(c.memory_info().rss for c in children) / 2**20, 1),
                    main.num_fds(),
                    main.num_threads(),
                    _file_kb(world.root / "state" / "journal.sqlite3"),
                    _file_kb(world.root / "state" / "journal.sqlite3-wal"),
                    _size(world.root / "state") // 1024,
                    sum(1 for _ in world.inbox.iterdir()),
                    len(world.dropped),
                ]
            except (psutil.Error, OSError, AssertionError):
                continue  # between a kill and a restart
            writer.writerow(row)
            fh.flush()


# ---------------------------------------------------------------- the end


def account(world: World) -> dict[str, object]:
    """Every dropped file's outcome, from what lies in the collected folders."""
    outcomes: Counter[str] = Counter()
    problems: list[str] = []
    done_dir, failed_dir = world.collected / "outbox", world.collected / "failed"
    known = {d.name for d in world.dropped}
    for d in world.dropped:
        stem = d.name.rsplit(".", 1)[0]
        done = (done_dir / d.name).exists() and (done_dir / f"{stem}.json").exists()
        failed = (failed_dir / d.name).exists() and (failed_dir / f"{stem}.error.json").exists()
        if done and failed:
            problems.append(f"{d.name}: both done and failed")
        elif not done and not failed:
            problems.append(f"{d.name}: no outcome")
        outcome = "done" if done else "failed" if failed else "none"
        outcomes[f"{d.kind}:{outcome}"] += 1
        if outcome != d.expected:
            reason = ""
            if failed:
                reason = json.loads((failed_dir / f"{stem}.error.json").read_text())["reason"]
            problems.append(f"{d.name}: {outcome} ({reason}), expected {d.expected}")
    extra = [
        p.name
        for folder in (done_dir, failed_dir)
        for p in folder.iterdir()
        if not p.name.endswith((".json", ".txt")) and p.name not in known
    ]
    problems += [f"unexpected file {n} (a duplicate?)" for n in extra]
    left = [p.name for p in world.inbox.iterdir()]
    problems += [f"left in the inbox: {n}" for n in left]
    work = world.root / "state" / "work"
    stray = [str(p.relative_to(work)) for p in work.rglob("*")] if work.exists() else []
    problems += [f"left in the work folder: {n}" for n in stray]
    return {"outcomes": dict(sorted(outcomes.items())), "problems": problems}


def flatness(out: Path, quiet_from: float, warmup: float) -> dict[str, dict[str, float]]:
    """Each figure's mean in the first and last third of the run after warm-up, and of the
    last (kill-free) life after its own warm-up; flat means within 10%."""
    with (out / "samples.csv").open(encoding="utf-8") as fh:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    keys = ("rss_mb", "workers_rss_mb", "fds", "threads", "journal_kb", "wal_kb", "state_kb")
    end = rows[-1]["t"]
    spans = {
        "whole_run": (warmup, end),
        "last_life": (quiet_from + warmup / 2, end),
    }
    report: dict[str, dict[str, float]] = {}
    for span, (lo, hi) in spans.items():
        third = (hi - lo) / 3
        first = [r for r in rows if lo <= r["t"] < lo + third]
        last = [r for r in rows if hi - third <= r["t"] <= hi]
        if not first or not last:
            continue  # a run too short for this span
        for key in keys:
            a = sum(r[key] for r in first) / max(1, len(first))
            b = sum(r[key] for r in last) / max(1, len(last))
            report[f"{span}:{key}"] = {
                "first_third": round(a, 1),
                "last_third": round(b, 1),
                "change": round((b - a) / a, 3) if a else 0.0,
                "max": max(r[key] for r in rows if lo <= r["t"] <= hi),
            }
    return report


def plot(out: Path, png: Path, events: list[dict[str, object]]) -> None:
    """Four panels over time, with kills and the full disk marked (Pillow only)."""
    with (out / "samples.csv").open(encoding="utf-8") as fh:
        rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]
    panels = [
        ("memory, MB (daemon / workers)", ("rss_mb", "workers_rss_mb")),
        ("open descriptors / threads (daemon)", ("fds", "threads")),
        ("journal / its write-ahead log, kB", ("journal_kb", "wal_kb")),
        ("state folder (journal, work folders), kB", ("state_kb",)),
        ("files waiting in the inbox", ("inbox_files",)),
    ]
    width, panel_h, left = 1400, 260, 90
    image = Image.new("RGB", (width, panel_h * len(panels) + 40), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 16)
    t_max = max(r["t"] for r in rows) or 1
    colours = ("#1f77b4", "#d62728")

    def x(t: float) -> int:
        return left + int((width - left - 20) * t / t_max)

    for i, (title, keys) in enumerate(panels):
        top, bottom = 40 + i * panel_h, 40 + (i + 1) * panel_h - 40
        peak = max(max(r[k] for r in rows) for k in keys) * 1.1 or 1
        draw.rectangle((left, top, width - 20, bottom), outline="#999")
        draw.text((left + 8, top + 4), title, fill="black", font=font)
        draw.text((8, top), f"{peak:.0f}", fill="black", font=font)
        draw.text((8, bottom - 16), "0", fill="black", font=font)
        for e in events:
            t = float(e["t"])  # type: ignore[arg-type]
            if e["event"] == "daemon.stopped":
                draw.line((x(t), top, x(t), bottom), fill="#ccc")
            elif e["event"] in ("disk.full", "disk.freed"):
                draw.line((x(t), top, x(t), bottom), fill="#f90", width=2)
        for colour, key in zip(colours, keys, strict=False):
            points = [(x(r["t"]), bottom - int((bottom - top) * r[key] / peak)) for r in rows]
            draw.line(points, fill=colour, width=2)
            draw.text((width - 260, top + 4 + 18 * keys.index(key)), key, fill=colour, font=font)
    draw.text(
        (left, 10),
        f"hotocr soak: {t_max / 60:.0f} min; grey: daemon killed/restarted; orange: disk full",
        fill="black",
        font=font,
    )
    image.save(png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=65)
    parser.add_argument("--quiet-minutes", type=float, default=20)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--kill-seconds", type=float, nargs=2, default=(120, 300))
    parser.add_argument("--full-seconds", type=float, default=180)
    parser.add_argument("--warmup-seconds", type=float, default=600)
    parser.add_argument("--root", type=Path, default=Path("/tmp/hotocr-soak"))
    parser.add_argument("--out", type=Path, default=OUT / "soak")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "soak.png")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak.py mounts a small tmpfs for the outbox: run it as root")
    if args.root.exists():
        subprocess.run(["umount", str(args.root / "tmpfs")], check=False, capture_output=True)
        shutil.rmtree(args.root)
    world = World(args.root, args.files, args.minutes * 60, args.quiet_minutes * 60, args.workers)
    for folder in (world.inbox, world.disk, world.collected / "outbox", world.collected / "failed"):
        folder.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MIB}m", "tmpfs", str(world.disk)], check=True
    )
    args.out.mkdir(parents=True, exist_ok=True)
    config = write_config(world)
    start_daemon(world, config)

    def died(hook: threading.ExceptHookArgs) -> None:
        name = hook.thread.name if hook.thread else "?"
        world.note("thread.died", thread=name, error=repr(hook.exc_value))
        with world.lock:
            world.failures.append(f"the {name} thread died: {hook.exc_value!r}")

    threading.excepthook = died
    threads = [
        threading.Thread(target=feeder, args=(world,), name="feeder"),
        threading.Thread(target=consumer, args=(world,), name="consumer", daemon=True),
        threading.Thread(
            target=chaos, args=(world, config, args.kill_seconds, args.full_seconds), name="chaos"
        ),
        threading.Thread(target=sampler, args=(world, args.out), name="sampler", daemon=True),
    ]
    for thread in threads:
        thread.start()
    threads[0].join()
    threads[2].join()
    # Drain: wait until the inbox is empty and nothing is left claimed (at most 20 minutes).
    deadline = time.monotonic() + 1200
    work = world.root / "state" / "work"
    while time.monotonic() < deadline:
        busy = any(world.inbox.iterdir()) or (work.exists() and any(work.rglob("*.*")))
        if not busy:
            break
        time.sleep(5)
    time.sleep(10)
    world.stop.set()
    kill_daemon(world, signal.SIGTERM)
    for kind in ("outbox", "failed"):
        for path in (world.disk / kind).glob("*"):
            if path.name != "index.csv":
                shutil.move(path, world.collected / kind / path.name)
    subprocess.run(["umount", str(world.disk)], check=False)
    result = account(world)
    problems_found = result["problems"]
    assert isinstance(problems_found, list)
    problems_found += world.failures  # the benchmark's own: then its run proves less
    summary = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "minutes": round(world.elapsed() / 60, 1),
        "files": len(world.dropped),
        "lives": world.lives,
        "kills": sum(1 for e in world.events if e["event"] == "daemon.stopped") - 1,
        "flatness": flatness(args.out, world.seconds - world.quiet_seconds, args.warmup_seconds),
        **result,
        "benchmark_failures": world.failures,
        "events": world.events,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    plot(args.out, args.plot, world.events)
    problems = result["problems"]
    assert isinstance(problems, list)
    print(json.dumps({k: v for k, v in summary.items() if k != "events"}, indent=1)[:6000])
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
