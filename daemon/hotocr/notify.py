"""systemd's notify protocol (sd_notify), without libsystemd: datagrams to $NOTIFY_SOCKET.

``Type=notify`` units learn READY=1 after the start-up scan and recovery, WATCHDOG=1 from the
main loop (so a stuck loop is restarted by systemd after ``WatchdogSec``), and STOPPING=1.
Outside systemd every call is a no-op.
"""

from __future__ import annotations

import os
import socket
import time


class SystemdNotifier:
    def __init__(self, address: str | None, watchdog_seconds: float | None) -> None:
        self._address = address
        self._interval = watchdog_seconds / 2 if watchdog_seconds else None
        self._last_ping = 0.0

    @classmethod
    def from_environment(cls) -> SystemdNotifier:
        address = os.environ.get("NOTIFY_SOCKET") or None
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        watchdog = None
        if usec and usec.isdigit() and (not pid or pid == str(os.getpid())):
            watchdog = int(usec) / 1_000_000
        return cls(address, watchdog)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def send(self, message: str) -> None:
        if self._address is None:
            return
        target = self._address
        if target.startswith("@"):  # abstract namespace
            target = "\0" + target[1:]
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            try:
                sock.connect(target)
                sock.sendall(message.encode("utf-8"))
            except OSError:
                pass  # systemd gone (shutting down): nothing useful to do

    def ready(self, status: str = "watching") -> None:
        self.send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")

    def alive(self) -> None:
        """Ping the watchdog, at most every half interval; call only from the main loop."""
        if self._interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self._interval:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def stopping(self) -> None:
        self.send("STOPPING=1\nSTATUS=stopping")
