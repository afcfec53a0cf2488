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

from hotocr.batches import batch_folder, waiting_in
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
        events = journal.event_counts() if journal else {}
        for watch in cfg.watches:
            found = list(scan(watch.inbox, watch.ignore)) if watch.inbox.is_dir() else []
            batches = []
            if watch.assemble == "folder" and watch.inbox.is_dir():
                batches = waiting_in(watch.inbox, watch.quiet_seconds, now, watch.ignore)
                found = [p for p in found if batch_folder(watch.inbox, p) is None]
            empty = sorted(str(p.relative_to(watch.inbox)) for p in found if _is_empty(p))
            stats = journal.folder_stats(watch.inbox, now) if journal else {}
            failures = journal.latest_failures(watch.inbox) if journal else []
            pages_hour = int(stats.get("pages_hour", 0))
            report["watches"].append(
                {
                    "inbox": str(watch.inbox),
                    "waiting": len(found),
                    #: Empty files (a scanner's placeholder): waited for until they fill.
                    "empty_waiting": empty[:MAX_LISTED],
                    "empty_count": len(empty),
                    "in_flight": stats.get("in_flight", 0),
                    #: Batch folders not claimed yet: files, and seconds until quiet.
                    "batches_waiting": [
                        {
                            "folder": b.folder.name,
                            "files": b.files,
                            "quiet_in_seconds": round(b.quiet_in, 1),
                        }
                        for b in batches
                    ],
                    "done_last_hour": stats.get("done_hour", 0),
                    "done_last_day": stats.get("done_day", 0),
                    "failed_last_hour": stats.get("failed_hour", 0),
                    "failed_last_day": stats.get("failed_day", 0),
                    "pages_per_minute": round(pages_hour / 60.0, 2),
                    # While working, over the documents of the last 10 minutes (None: none).
                    "pages_per_minute_recent": _recent(stats),
                    "latest_failures": failures,
                    "hooks": [
                        {
                            "name": hook.name,
                            "pending": events.get(hook.name, {}).get("pending", 0),
                            "delivered": events.get(hook.name, {}).get("delivered", 0),
                            "undeliverable": events.get(hook.name, {}).get("undeliverable", 0),
                        }
                        for hook in watch.hook
                    ],
                }
            )
    finally:
        if journal:
            journal.close()
    return report


#: Empty files listed by name in a report (the count is always given).
MAX_LISTED = 20


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _recent(stats: dict[str, Any]) -> float | None:
    pages, seconds = int(stats.get("pages_recent", 0)), float(stats.get("recent_seconds", 0))
    return round(pages / seconds * 60.0, 1) if pages and seconds >= 1.0 else None


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
            *(
                [
                    f"  empty, waiting to be filled: {w['empty_count']} ("
                    + ", ".join(w["empty_waiting"])
                    + (", ..." if w["empty_count"] > len(w["empty_waiting"]) else "")
                    + ")"
                ]
                if w["empty_count"]
                else []
            ),
            f"  done: {w['done_last_hour']} last hour, {w['done_last_day']} last day;"
            f" failed: {w['failed_last_hour']} last hour, {w['failed_last_day']} last day",
            f"  pages per minute: {w['pages_per_minute_recent'] or 0} while working lately, "
            f"{w['pages_per_minute']} over the last hour",
        ]
        for b in w["batches_waiting"]:
            files = f"{b['files']} file{'s' if b['files'] != 1 else ''}"
            state = (
                f"waiting for quiet ({b['quiet_in_seconds']:.0f} s to go)"
                if b["quiet_in_seconds"]
                else "quiet, claimed when there is room"
            )
            lines.append(f"  batch {b['folder']}: {files}, {state}")
        for h in w["hooks"]:
            lines.append(
                f"  hook {h['name']}: {h['pending']} pending, {h['delivered']} delivered, "
                f"{h['undeliverable']} undeliverable"
                + (" (hotocr hooks --pending; --retry ID)" if h["undeliverable"] else "")
            )
        for f in w["latest_failures"]:
            when = dt.datetime.fromtimestamp(f["time"] or 0).isoformat(timespec="seconds")
            lines.append(f"  failed {when}: {f['file']} ({f['reason']}): {f['error']}")
    return "\n".join(lines) + "\n"


def as_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1) + "\n"
