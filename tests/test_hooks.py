"""Hooks and webhooks: a real HTTP server on loopback, real commands, `hotocr run` as a
subprocess, crashes on purpose. Delivery is at least once; duplicates share an event id."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hotocr import config
from hotocr.errors import ConfigError

from .conftest import ENGLISH_LINES, Daemon, render_page, start_daemon, write_config

TOKEN = "s3cret-token-never-logged"


class Receiver:
    """A webhook receiver on loopback: records every POST; answers from a script of status
    codes (then 200); can be taken down and brought back on the same port."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(
                        {
                            "status": status,
                            "event": json.loads(body),
                            "authorization": self.headers.get("Authorization"),
                            "event_id_header": self.headers.get("X-Hotocr-Event-Id"),
                        }
                    )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try later")

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def delivered(self) -> list[dict[str, object]]:
        """The events answered with 200."""
        with self.lock:
            return [r["event"] for r in self.received if r["status"] == 200]  # type: ignore[misc]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hotocr"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.down()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drop_scan(inbox: Path, name: str) -> None:
    page = render_page((f"Document {name} for the hooks.", *ENGLISH_LINES[:1]), height=500)
    staged = inbox.parent / f".{name}"
    page.save(staged, format="PNG")
    staged.rename(inbox / name)


def url_hook(receiver: Receiver, **extra: object) -> str:
    lines = [
        "[[watch.hook]]",
        'name = "dms"',
        f'url = "{receiver.url}"',
        'headers = { Authorization = "env:HOOK_TOKEN" }',
        *(f"{k} = {json.dumps(v)}" for k, v in extra.items()),
    ]
    return "\n".join(lines) + "\n"


def wait_until(predicate, timeout: float, what: str, daemon: Daemon | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tail = daemon.tail() if daemon else ""
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{tail}")


def cli(root: Path, *args: str) -> str:
    """``hotocr ARGS --config config.toml`` beside a test daemon; its standard output."""
    return subprocess.run(
        [sys.executable, "-m", "hotocr", *args, "--config", "config.toml"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


RECORDER = """
import json, os, sys
event = json.load(sys.stdin)
env = {k: v for k, v in os.environ.items() if k.startswith("HOTOCR_")}
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"event": event, "env": env}) + "\\n")
print("recorded", event["id"], file=sys.stderr)
"""


def test_every_outcome_is_told_once_to_a_url_and_a_command(
    daemon_factory, receiver: Receiver, tmp_path: Path
) -> None:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    record = tmp_path / "recorded.jsonl"
    hooks = url_hook(receiver) + (
        "[[watch.hook]]\n"
        f"command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}, "
        f"{json.dumps(str(record))}]\n"
    )
    daemon = daemon_factory(watch_extra=hooks, env={"HOOK_TOKEN": TOKEN})
    for n in range(4):
        drop_scan(daemon.inbox, f"good{n}.png")
    (daemon.inbox / "bad.pdf").write_bytes(b"%PDF-1.4\nthis is no pdf\n%%EOF\n")
    daemon.wait_done(5, timeout=180)

    def recorded() -> list[dict[str, object]]:
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text().splitlines()]

    wait_until(lambda: len(receiver.delivered()) >= 5 and len(recorded()) >= 5, 60, "events")
    time.sleep(1.5)  # nothing more may come
    posted = receiver.delivered()
    assert len(posted) == 5 and len(recorded()) == 5
    kinds = Counter(str(e["event"]) for e in posted)
    assert kinds == {"done": 4, "failed": 1}
    ids = {str(e["id"]) for e in posted}
    assert len(ids) == 5  # each event once
    assert {str(r["event"]["id"]) for r in recorded()} == ids  # both hooks, the same ids
    assert all(r["authorization"] == TOKEN for r in receiver.received)
    assert all(r["event_id_header"] == r["event"]["id"] for r in receiver.received)

    done = next(e for e in posted if e["event"] == "done")
    assert done["schema"] == "hotocr-event/1" and done["pages"] == 1
    assert Path(str(done["original"])).exists() and Path(str(done["json"])).exists()
    assert done["confidence"] > 60 and done["flagged_pages"] == []
    assert str(done["json"]) in done["outputs"]
    failed = next(e for e in posted if e["event"] == "failed")
    assert failed["reason"] == "corrupt" and failed["original_name"] == "bad.pdf"
    assert Path(str(failed["original"])).exists() and Path(str(failed["json"])).exists()
    assert failed["message"]

    by_command = {r["event"]["id"]: r for r in recorded()}
    one = by_command[done["id"]]
    assert one["env"]["HOTOCR_EVENT"] == "done"
    assert one["env"]["HOTOCR_EVENT_ID"] == done["id"]
    assert one["env"]["HOTOCR_JSON"] == done["json"]
    assert one["env"]["HOTOCR_ORIGINAL"] == done["original"]

    log = daemon.log_path.read_text()
    assert TOKEN not in log  # the secret is never logged
    delivered = [e for e in daemon.events() if e.get("event") == "hook.delivered"]
    assert len(delivered) == 10
    assert any("recorded" in str(e.get("said")) for e in delivered)  # stderr's last lines

    listing = cli(daemon.root, "hooks", "--json")
    rows = json.loads(listing)
    assert len(rows) == 10 and all(r["state"] == "delivered" for r in rows)
    status = cli(daemon.root, "status", "--json")
    hooks_status = json.loads(status)["watches"][0]["hooks"]
    assert [(h["name"], h["delivered"], h["pending"]) for h in hooks_status] == [
        ("dms", 5, 0),
        ("hook2", 5, 0),
    ]


def test_a_failing_receiver_gets_retries_with_backoff_and_ocr_goes_on(
    daemon_factory, receiver: Receiver
) -> None:
    receiver.statuses = [500, 500]
    daemon = daemon_factory(
        watch_extra=url_hook(receiver, backoff_seconds=1.0), env={"HOOK_TOKEN": TOKEN}
    )
    drop_scan(daemon.inbox, "first.png")
    wait_until(lambda: len(receiver.delivered()) == 1, 60, "delivery on the third try", daemon)
    assert [r["status"] for r in receiver.received] == [500, 500, 200]
    tries = [e for e in daemon.events() if e.get("event") == "hook.failed_attempt"]
    assert [e["retry_in_seconds"] for e in tries] == [1.0, 2.0]  # backoff doubles
    assert "HTTP 500" in str(tries[0]["error"])

    # The receiver is away for 30 s: documents are read and published meanwhile.
    receiver.down()
    down_since = time.monotonic()
    for n in range(3):
        drop_scan(daemon.inbox, f"while-down{n}.png")
    daemon.wait_done(4, timeout=120)
    assert time.monotonic() - down_since < 30, "OCR waited for the receiver"
    assert len(receiver.delivered()) == 1
    time.sleep(max(0.0, 30 - (time.monotonic() - down_since)))
    receiver.up()
    wait_until(lambda: len(receiver.delivered()) == 4, 700, "delivery after the outage", daemon)
    names = Counter(str(e["original_name"]) for e in receiver.delivered())
    assert names == {
        "first.png": 1,
        "while-down0.png": 1,
        "while-down1.png": 1,
        "while-down2.png": 1,
    }


def test_an_event_committed_before_a_crash_is_delivered_after_the_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    (tmp_path / "inbox").mkdir()
    cfg = write_config(tmp_path, watch_extra=url_hook(receiver))
    drop_scan(tmp_path / "inbox", "crash.png")
    env = dict(os.environ, HOTOCR_TEST_CRASH_AT="after_commit", HOOK_TOKEN=TOKEN)
    proc = subprocess.run(
        [sys.executable, "-m", "hotocr", "run", "--config", str(cfg)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -9  # killed itself right after the outcome was committed
    assert (tmp_path / "outbox" / "crash.json").exists()
    assert receiver.delivered() == []
    daemon = start_daemon(tmp_path, cfg, env={"HOOK_TOKEN": TOKEN})
    try:
        wait_until(lambda: len(receiver.delivered()) == 1, 60, "delivery after restart", daemon)
    finally:
        daemon.stop()
    assert receiver.delivered()[0]["original_name"] == "crash.png"


def test_random_kills_lose_no_event_and_duplicates_share_their_id(
    tmp_path: Path, receiver: Receiver
) -> None:
    (tmp_path / "inbox").mkdir()
    cfg = write_config(tmp_path, watch_extra=url_hook(receiver))
    for n in range(10):
        drop_scan(tmp_path / "inbox", f"doc{n}.png")
    rng = random.Random(17)
    env = {"HOOK_TOKEN": TOKEN}
    for _ in range(4):
        daemon = start_daemon(tmp_path, cfg, env=env)
        time.sleep(rng.uniform(0.5, 4.0))
        daemon.proc.kill()
        daemon.proc.wait()
    daemon = start_daemon(tmp_path, cfg, env=env)
    try:
        outbox = tmp_path / "outbox"
        wait_until(lambda: len(list(outbox.glob("doc*.json"))) == 10, 300, "10 done", daemon)
        wait_until(
            lambda: (
                {str(e["original_name"]) for e in receiver.delivered()}
                == {f"doc{n}.png" for n in range(10)}
            ),
            120,
            "an event for each document",
            daemon,
        )
    finally:
        daemon.stop()
    ids: dict[str, set[str]] = {}
    for event in receiver.delivered():
        ids.setdefault(str(event["original_name"]), set()).add(str(event["id"]))
    assert all(len(v) == 1 for v in ids.values()), ids  # a repeat is the same event
    assert sorted(p.name for p in outbox.glob("doc*.json")) == [f"doc{n}.json" for n in range(10)]


def test_a_hanging_command_is_killed_at_its_timeout_and_the_outcome_stands(
    daemon_factory,
) -> None:
    hooks = (
        "[[watch.hook]]\n"
        'name = "slow"\n'
        'command = ["sh", "-c", "sleep 600 & sleep 600"]\n'
        "timeout_seconds = 2\n"
        "backoff_seconds = 1\n"
        "give_up_hours = 0.001\n"  # 3.6 s: the second failure is the last
    )
    port = free_port()
    daemon = daemon_factory(watch_extra=hooks, daemon_extra=f'metrics = "127.0.0.1:{port}"')
    drop_scan(daemon.inbox, "kept.png")
    done = daemon.wait_done(1, timeout=120)
    assert done[0]["outcome"] == "done"
    daemon.wait_for(
        lambda: any(e.get("event") == "hook.undeliverable" for e in daemon.events()),
        60,
        "the hook given up on",
    )
    tries = [e for e in daemon.events() if e.get("event") == "hook.failed_attempt"]
    assert len(tries) == 1 and "did not finish within 2 s; killed" in str(tries[0]["error"])
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert 'hotocr_hook_deliveries_total{hook="slow",outcome="failed"} 1.0' in metrics
    assert 'hotocr_hook_deliveries_total{hook="slow",outcome="undeliverable"} 1.0' in metrics
    assert (daemon.outbox / "kept.json").exists() and (daemon.outbox / "kept.png").exists()
    left = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, check=False)
    assert left.returncode == 1, left.stdout  # the command's children were killed too
    status = cli(daemon.root, "status")
    assert "hook slow: 0 pending, 0 delivered, 1 undeliverable" in status
    # status points to `hooks --pending` for it, so that lists it, given up, with its id.
    (given_up,) = json.loads(cli(daemon.root, "hooks", "--json"))
    listing = cli(daemon.root, "hooks", "--pending")
    assert given_up["id"] in listing and "undeliverable after 2 attempts" in listing, listing
    assert given_up["state"] == "undeliverable" and given_up["attempts"] == 2
    assert "killed" in given_up["last_error"]
    said = cli(daemon.root, "hooks", "--retry", given_up["id"])
    assert "pending again for 1 hook(s)" in said
    assert given_up["id"] in cli(daemon.root, "hooks", "--pending")


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ('command = ["true"]\nurl = "http://127.0.0.1:9/x"', "either command or url"),
        ('name = "x"', "either command or url"),
        ('url = "ftp://example.org/"', "http:// or https://"),
        ('url = "https://example.org/"\nevents = ["started"]', "unknown 'started'"),
    ],
)
def test_hook_config_errors_name_the_key(tmp_path: Path, hook: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[[watch]]\ninbox = "in"\n[[watch.hook]]\n{hook}\n')
    with pytest.raises(ConfigError, match=message) as caught:
        config.load(path)
    assert "watch[0].hook[0]" in str(caught.value)


def test_a_header_secret_that_cannot_be_read_stops_the_daemon_at_start(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[watch]]\ninbox = "in"\n[[watch.hook]]\nurl = "https://example.org/"\n'
        'headers = { Authorization = "env:HOTOCR_NO_SUCH_VAR" }\n'
    )
    cfg = config.load(path)  # `hotocr status` and `hooks` read it without the secret
    with pytest.raises(ConfigError, match=r"hook\[0\]\] headers.Authorization: .*HOTOCR_NO"):
        config.check_hook_secrets(cfg)
    run = subprocess.run(
        [sys.executable, "-m", "hotocr", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2 and "HOTOCR_NO_SUCH_VAR is not set" in run.stderr


def test_hook_names_are_given_in_order_and_must_be_unique(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    two = '[[watch.hook]]\ncommand = ["true"]\n[[watch.hook]]\nname = "dms"\ncommand = ["true"]\n'
    path.write_text(f'[[watch]]\ninbox = "in"\n{two}')
    assert [h.name for h in config.load(path).watches[0].hook] == ["hook1", "dms"]
    path.write_text(f'[[watch]]\ninbox = "a"\n{two}[[watch]]\ninbox = "b"\n{two}')
    with pytest.raises(ConfigError, match="'dms' is taken"):
        config.load(path)
