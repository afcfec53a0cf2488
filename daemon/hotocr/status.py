"""``hotocr status``: what each watch folder is doing, read from the journal.

The journal is opened read-only (SQLite WAL lets a reader work beside the running daemon
without blocking it). Failures that happen before a file is claimed (refused links, files
that never completed) are counted from the failed folders' reports, which is where they live.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from hotocr.config import Config
from hotocr.journal import Journal
from hotocr.watching import scan


def collect(cfg: Config, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    path = cfg.daemon.state_dir / "journal.sqlite3"
    report: dict[str, Any] = {"journal": str(path), "daemon": {"running": False}, "watches": []}
    journal = Journal(path, readonly=True) if path.exists() else None
    try:
        meta = journal.meta() if journal else {}
        report["daemon"] = _daemon_state(meta)
        for watch in cfg.watches:
            waiting = sum(1 for _ in scan(watch.inbox, watch.ignore)) if watch.inbox.is_dir() else 0
            stats = journal.folder_stats(watch.inbox, now) if journal else {}
            failures = journal.latest_failures(watch.inbox) if journal else []
            pages_hour = int(stats.get("pages_hour", 0))
            report["watches"].append(
                {
                    "inbox": str(watch.inbox),
                    "waiting": waiting,
                    "in_flight": stats.get("in_flight", 0),
                    "done_last_hour": stats.get("done_hour", 0),
                    "done_last_day": stats.get("done_day", 0),
                    "failed_last_hour": stats.get("failed_hour", 0),
                    "failed_last_day": stats.get("failed_day", 0),
                    "pages_per_minute": round(pages_hour / 60.0, 2),
                    "latest_failures": failures,
                }
            )
    finally:
        if journal:
            journal.close()
    return report


def _daemon_state(meta: dict[str, str]) -> dict[str, Any]:
    pid = meta.get("pid", "")
    running = bool(pid.isdigit() and _is_hotocr(int(pid)) and "stopped" not in _newer(meta))
    return {
        "running": running,
        "pid": int(pid) if pid.isdigit() else None,
        "since": meta.get("started") if running else None,
        "last_stopped": meta.get("stopped"),
    }


def _newer(meta: dict[str, str]) -> set[str]:
    """'stopped' when the last stop came after the last start."""
    started, stopped = meta.get("started", ""), meta.get("stopped", "")
    return {"stopped"} if stopped and stopped >= started else set()


def _is_hotocr(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"hotocr" in cmdline and os.path.exists(f"/proc/{pid}")


def render(report: dict[str, Any]) -> str:
    daemon = report["daemon"]
    lines = [
        f"daemon: {'running' if daemon['running'] else 'not running'}"
        + (f" (pid {daemon['pid']}, since {daemon['since']})" if daemon["running"] else "")
    ]
    for w in report["watches"]:
        lines += [
            "",
            f"{w['inbox']}",
            f"  waiting {w['waiting']}, in flight {w['in_flight']}",
            f"  done: {w['done_last_hour']} last hour, {w['done_last_day']} last day;"
            f" failed: {w['failed_last_hour']} last hour, {w['failed_last_day']} last day",
            f"  pages per minute (last hour): {w['pages_per_minute']}",
        ]
        for f in w["latest_failures"]:
            when = dt.datetime.fromtimestamp(f["time"] or 0).isoformat(timespec="seconds")
            lines.append(f"  failed {when}: {f['file']} ({f['reason']}): {f['error']}")
    return "\n".join(lines) + "\n"


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1) + "\n"
