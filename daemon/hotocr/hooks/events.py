"""What a hook is told: one JSON event per document outcome (schema ``hotocr-event/1``).

The event is made on the daemon's loop, at the moment the outcome is recorded, and goes into
the journal in the same transaction (``Journal.set_state(..., events=...)``): a crash can
never leave a document done without its notices, or notices without the document.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from hotocr.config import WatchConfig
from hotocr.journal import HookEvent

SCHEMA = "hotocr-event/1"


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def for_hooks(watch: WatchConfig, kind: str, **details: Any) -> list[HookEvent]:
    """The event ``kind`` (done | failed) for each of the folder's hooks that wants it, all
    with one id; none when no hook does."""
    hooks = [hook for hook in watch.hook if kind in hook.events]
    if not hooks:
        return []
    now = time.time()
    event_id = str(uuid.uuid4())
    payload = json.dumps(
        {
            "schema": SCHEMA,
            "id": event_id,
            "event": kind,
            "time": _iso(now),
            "inbox": str(watch.inbox),
            **{k: _plain(v) for k, v in details.items() if v is not None},
        },
        ensure_ascii=False,
    )
    return [
        HookEvent(
            id=event_id,
            hook=hook.name,
            kind=kind,
            payload=payload,
            next_try=now,
            give_up=now + hook.give_up_hours * 3600,
            created=now,
        )
        for hook in hooks
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
