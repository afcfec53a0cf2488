"""Delivering hook events: at least once, off the main loop, surviving crashes.

Each hook has a thread of its own with its own journal connection, so a slow or dead
receiver holds up neither OCR nor the other hooks. The thread takes the hook's due events
from the journal, oldest first, and sends each: a command gets the event as JSON on standard
input (exit status 0 is success), a URL gets it POSTed (any 2xx is success; redirects are
not followed). A failure is tried again after ``backoff_seconds``, doubling up to
``MAX_BACKOFF_SECONDS``, until ``give_up_hours`` after the event: then it is undeliverable
(logged, counted, shown by ``hotocr status``; ``hotocr hooks --retry ID`` sends it again).
A crash before an attempt is recorded means the event is sent again after the restart;
receivers tell duplicates by the event's ``id``.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hotocr import __version__
from hotocr._exec import ProgramTimeout, run
from hotocr.config import HookConfig, resolve_secret
from hotocr.errors import HotocrError
from hotocr.journal import HookEvent, Journal
from hotocr.metrics import Metrics

MAX_BACKOFF_SECONDS = 600.0
#: With nothing due, the journal is looked at this often: events another process committed
#: (``hotocr verify``'s "verified") are sent within it.
IDLE_POLL_SECONDS = 5.0
#: The pending and undeliverable gauges are brought up to date this often.
GAUGE_SECONDS = 10.0
#: How much of a failing command's standard error is logged.
STDERR_LINES = 5


class DeliveryFailed(Exception):
    """An attempt that did not deliver; the message says why (never a header's value)."""


def backoff(hook: HookConfig, attempts: int) -> float:
    """The wait after the ``attempts``-th failed attempt."""
    return float(min(MAX_BACKOFF_SECONDS, hook.backoff_seconds * 2 ** (attempts - 1)))


def describe(hook: HookConfig) -> tuple[str, str | None]:
    """What ``hotocr check`` says of a hook, and the problem that keeps it from delivering
    (a program that is not there), or None. Nothing
    is sent: a receiver that is down now may be up when an event comes."""
    on = "on " + ", ".join(hook.events)
    if hook.command:
        program = hook.command[0]
        found = shutil.which(program)
        if found is None:
            return f"runs {program}: NOT FOUND, {on}", f"hook {hook.name}: {program} not found"
        return f"runs {found}, {on}, timeout {hook.timeout_seconds:g} s", None
    problems = []
    for name, value in hook.headers.items():
        try:
            resolve_secret(value)
        except ValueError as exc:
            problems.append(f"header {name}: {exc}")
    headers = f", headers {', '.join(hook.headers)}" if hook.headers else ""
    text = f"POSTs to {hook.url}{headers}, {on}, timeout {hook.timeout_seconds:g} s"
    # An unreadable secret is the config's problem (``config.check_hook_secrets``).
    return (f"{text}: {'; '.join(problems)}" if problems else text), None


def send(hook: HookConfig, event: HookEvent) -> str:
    """One attempt; a short note of what the receiver said, or ``DeliveryFailed``."""
    if hook.command:
        return _run_command(hook, event)
    return _post(hook, event)


def _run_command(hook: HookConfig, event: HookEvent) -> str:
    payload: dict[str, Any] = json.loads(event.payload)
    env = dict(
        os.environ,
        HOTOCR_EVENT=event.kind,
        HOTOCR_EVENT_ID=event.id,
        HOTOCR_DOCUMENT_ID=str(payload.get("document_id", "")),
        HOTOCR_ORIGINAL=str(payload.get("original", "")),
        HOTOCR_JSON=str(payload.get("json", "")),
    )
    try:
        done = run(
            hook.command,
            timeout=hook.timeout_seconds,
            env=env,
            check=False,
            stdin_data=event.payload.encode("utf-8"),
            own_group=True,
        )
    except ProgramTimeout as exc:
        raise DeliveryFailed(f"{exc}; killed") from exc
    except HotocrError as exc:  # not installed
        raise DeliveryFailed(str(exc)) from exc
    tail = "\n".join(done.stderr_text.splitlines()[-STDERR_LINES:])
    if done.returncode != 0:
        raise DeliveryFailed(f"exit status {done.returncode}; stderr: {tail or '(none)'}")
    return f"exit status 0{'; stderr: ' + tail if tail else ''}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET without the event: a failure, not success."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post(hook: HookConfig, event: HookEvent) -> str:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"hotocr/{__version__}",
        "X-Hotocr-Event": event.kind,
        "X-Hotocr-Event-Id": event.id,
    }
    for name, value in hook.headers.items():
        try:
            headers[name] = resolve_secret(value)
        except ValueError as exc:
            raise DeliveryFailed(f"header {name}: {exc}") from None
    request = urllib.request.Request(
        hook.url, data=event.payload.encode("utf-8"), headers=headers, method="POST"
    )
    opener = urllib.request.build_opener(
        _NoRedirects(), urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )
    try:
        with opener.open(request, timeout=hook.timeout_seconds) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        body = exc.read(200).decode("utf-8", "replace").strip()
        raise DeliveryFailed(f"HTTP {exc.code}{': ' + body if body else ''}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"{type(exc).__name__}: {reason}") from None


class HookDelivery:
    """The delivery threads of every hook in the config."""

    def __init__(
        self,
        journal_path: Path,
        hooks: list[HookConfig],
        metrics: Metrics,
        log: Any,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = journal_path
        self._hooks = hooks
        self._metrics = metrics
        self._log = log
        self._clock = clock
        self._stop = threading.Event()
        self._wake = {hook.name: threading.Event() for hook in hooks}
        self._threads: list[threading.Thread] = []
        #: When each hook's gauges were last set (monotonic seconds).
        self._gauged: dict[str, float] = {}

    def start(self) -> None:
        for hook in self._hooks:
            thread = threading.Thread(
                target=self._deliver_forever, args=(hook,), name=f"hook-{hook.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self, events: Sequence[HookEvent]) -> None:
        """``events`` were committed: their hooks look now, not at the next poll."""
        for event in events:
            if event.hook in self._wake:
                self._wake[event.hook].set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking events; an attempt under way may finish (its hook's timeout), else
        it is repeated after the restart."""
        self._stop.set()
        for event in self._wake.values():
            event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _deliver_forever(self, hook: HookConfig) -> None:
        journal = Journal(self._path)
        wake = self._wake[hook.name]
        try:
            while not self._stop.is_set():
                try:
                    self._deliver_due(journal, hook)
                    nap = self._nap(journal, hook)
                except Exception:  # noqa: BLE001 - a journal hiccup must not end delivery
                    self._log.exception("hook.delivery_error", hook=hook.name)
                    nap = 5.0
                wake.wait(nap)
                wake.clear()
        finally:
            journal.close()

    def _nap(self, journal: Journal, hook: HookConfig) -> float:
        if time.monotonic() - self._gauged.get(hook.name, -GAUGE_SECONDS) >= GAUGE_SECONDS:
            # Counting scans the events table: at most every GAUGE_SECONDS, not per event.
            self._gauged[hook.name] = time.monotonic()
            counts = journal.event_counts().get(hook.name, {})
            self._metrics.hook_pending.labels(hook.name).set(counts.get("pending", 0))
            self._metrics.hook_undeliverable.labels(hook.name).set(counts.get("undeliverable", 0))
        due = journal.next_event_time(hook.name)
        return IDLE_POLL_SECONDS if due is None else min(60.0, max(0.05, due - self._clock()))

    def _deliver_due(self, journal: Journal, hook: HookConfig) -> None:
        for event in journal.due_events(hook.name, self._clock()):
            if self._stop.is_set():
                return
            self._attempt(journal, hook, event)

    def _attempt(self, journal: Journal, hook: HookConfig, event: HookEvent) -> None:
        log = self._log.bind(hook=hook.name, event=event.kind, event_id=event.id)
        started = time.monotonic()
        try:
            said = send(hook, event)
        except DeliveryFailed as exc:
            now = self._clock()
            attempts = event.attempts + 1
            retry_at = now + backoff(hook, attempts)
            if retry_at > event.give_up:
                journal.event_tried(event, state="undeliverable", error=str(exc), next_try=now)
                self._metrics.hook_deliveries.labels(hook.name, "undeliverable").inc()
                log.error("hook.undeliverable", attempts=attempts, error=str(exc))
                return
            journal.event_tried(event, state="pending", error=str(exc), next_try=retry_at)
            self._metrics.hook_deliveries.labels(hook.name, "failed").inc()
            log.warning(
                "hook.failed_attempt",
                attempts=attempts,
                error=str(exc),
                retry_in_seconds=round(retry_at - now, 1),
            )
            return
        journal.event_tried(event, state="delivered", error=None, next_try=self._clock())
        self._metrics.hook_deliveries.labels(hook.name, "delivered").inc()
        log.info(
            "hook.delivered",
            attempts=event.attempts + 1,
            said=said,
            seconds=round(time.monotonic() - started, 3),
        )
