"""The durable journal: every file's state, so a crash at any moment loses nothing.

SQLite in WAL mode in ``state_dir``. A job moves through::

    claiming -> claimed -> publishing -> done
                        \\-> failed | quarantined

``claiming`` is written *before* the file is renamed out of the inbox into its work folder,
``publishing`` (with the output name chosen) before the first sidecar is written, and ``done``
only after the original has reached the outbox. At start-up, ``unfinished`` lists every job a
crash interrupted; ``recover`` in the service decides, from what is on disk, whether each is
to be processed again, is in fact done, or has killed the daemon too often (quarantine).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY,
    inbox BLOB NOT NULL,          -- the watch folder's inbox (file-system bytes)
    rel_path BLOB NOT NULL,       -- the original's path below the inbox
    work_path BLOB NOT NULL,      -- where the claimed original lies while it is processed
    state TEXT NOT NULL,
    sha256 TEXT,
    bytes INTEGER,
    pages INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,  -- runs started and not ended (cut short by a crash)
    transient_failures INTEGER NOT NULL DEFAULT 0,
    out_dir BLOB,                 -- chosen before publishing, so a retry reuses the names
    out_stem BLOB,
    reason TEXT,
    last_error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    finished REAL,
    kind TEXT NOT NULL DEFAULT 'file'  -- file | batch (a sub-folder of files, one document)
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE INDEX IF NOT EXISTS jobs_sha ON jobs (sha256, state);
-- Notices for [[watch.hook]]s (the outbox pattern): written in the transaction that records
-- a document's outcome, delivered by hooks.delivery, one row per event and hook.
CREATE TABLE IF NOT EXISTS events (
    id TEXT NOT NULL,             -- the event's id: the receiver's key against duplicates
    hook TEXT NOT NULL,           -- the hook's name
    job_id INTEGER,
    kind TEXT NOT NULL,           -- done | failed
    payload TEXT NOT NULL,        -- the JSON sent
    state TEXT NOT NULL,          -- pending | delivered | undeliverable
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    give_up REAL NOT NULL,        -- undeliverable when still failing after this
    last_error TEXT,
    created REAL NOT NULL,
    finished REAL,
    PRIMARY KEY (id, hook)
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, hook, next_try);
-- A document's outputs written again after a person's fixes (``verify.rewrite``): the new
-- files are staged beside the old ones, this row committed, then each staged file renamed
-- over its old one. A crash before the commit leaves the old set (the staged files go at
-- recovery); after it, recovery finishes the renames: the new set.
CREATE TABLE IF NOT EXISTS rewrites (
    id INTEGER PRIMARY KEY,
    folder BLOB NOT NULL,         -- the outputs' folder
    stem BLOB NOT NULL,           -- their stem: <stem>.json, <stem>.txt, ...
    suffixes TEXT NOT NULL,       -- the staged files' endings, space-separated, JSON last
    state TEXT NOT NULL,          -- committing | done
    created REAL NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS daemon (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

UNFINISHED = ("claiming", "claimed", "publishing")
#: The write-ahead log is cut back to this after each checkpoint.
WAL_LIMIT_BYTES = 4 << 20
#: Reasons recorded for claims that did not happen (the file vanished, or a crash came first).
NOT_FAILURES = "('claim', 'claim_interrupted')"


def _b(path: Path) -> bytes:
    return os.fsencode(path)


def _column(key: str, value: object) -> object:
    """Paths and names as file-system bytes; other text with undecodable bytes replaced."""
    if isinstance(value, Path) or (key == "out_stem" and isinstance(value, str)):
        return os.fsencode(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _p(raw: bytes | None) -> Path | None:
    return None if raw is None else Path(os.fsdecode(raw))


@dataclass(frozen=True)
class HookEvent:
    """One event for one hook, as the journal keeps it until it is delivered."""

    id: str
    hook: str
    kind: str
    payload: str
    state: str = "pending"
    attempts: int = 0
    next_try: float = 0.0
    give_up: float = 0.0
    last_error: str | None = None
    created: float = 0.0


@dataclass(frozen=True)
class Job:
    id: int
    inbox: Path
    rel_path: Path
    work_path: Path
    state: str
    sha256: str | None
    attempts: int
    transient_failures: int
    out_dir: Path | None
    out_stem: str | None
    created: float
    #: file | batch: a batch's original is a folder of files.
    kind: str = "file"

    @property
    def original(self) -> Path:
        return self.inbox / self.rel_path

    @property
    def original_suffix(self) -> str:
        """The original's ending, kept when it is moved (a folder has none: "2026.12.03" is
        a name, not a stem and a suffix)."""
        return "" if self.kind == "batch" else self.rel_path.suffix


class Journal:
    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        if readonly:
            # For `hotocr status` beside a running daemon: WAL lets it read without blocking.
            self._db = sqlite3.connect(
                f"file:{path.absolute()}?mode=ro", uri=True, isolation_level=None, timeout=30
            )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every statement is its own transaction unless ``transaction`` is used.
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed state survives a power cut
        # A checkpoint truncates the write-ahead log to this, so a burst leaves no big file.
        self._db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        self._db.executescript(SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(jobs)")}
        if "kind" not in columns:  # a journal from before batches
            self._db.execute("ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'file'")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def begin_claim(
        self, inbox: Path, rel_path: Path, work_root: Path, *, kind: str = "file"
    ) -> Job:
        """Record the intent to claim; the caller then renames the file (or the batch's
        folder) to ``job.work_path``."""
        now = time.time()
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO jobs (inbox, rel_path, work_path, state, created, updated, kind)"
                " VALUES (?, ?, x'', 'claiming', ?, ?, ?)",
                (_b(inbox), _b(rel_path), now, now, kind),
            )
            job_id = int(cur.lastrowid or 0)
            work = work_root / str(job_id) / rel_path.name
            self._db.execute("UPDATE jobs SET work_path = ? WHERE id = ?", (_b(work), job_id))
        job = self.get(job_id)
        assert job is not None
        return job

    def record_refused(
        self,
        inbox: Path,
        rel_path: Path,
        reason: str,
        error: str,
        events: Sequence[HookEvent] = (),
    ) -> None:
        """A file failed before it was claimed (a link, a file that never completed)."""
        now = time.time()
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO jobs (inbox, rel_path, work_path, state, reason, last_error,"
                " created, updated, finished) VALUES (?, ?, x'', 'failed', ?, ?, ?, ?, ?)",
                (_b(inbox), _b(rel_path), reason, _column("last_error", error), now, now, now),
            )
            self._add_events(events, cur.lastrowid)

    def set_state(
        self, job_id: int, state: str, *, events: Sequence[HookEvent] = (), **fields: object
    ) -> None:
        """``events``: notices of this outcome for the folder's hooks, committed with it, so
        neither is ever there without the other."""
        if events:
            with self.transaction():
                self._set_state(job_id, state, **fields)
                self._add_events(events, job_id)
        else:
            self._set_state(job_id, state, **fields)

    def _add_events(self, events: Sequence[HookEvent], job_id: int | None) -> None:
        self._db.executemany(
            "INSERT OR IGNORE INTO events (id, hook, job_id, kind, payload, state, next_try,"
            " give_up, created) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            [
                (e.id, e.hook, job_id, e.kind, e.payload, e.next_try, e.give_up, e.created)
                for e in events
            ],
        )

    def _set_state(self, job_id: int, state: str, **fields: object) -> None:
        allowed = {"sha256", "bytes", "pages", "reason", "last_error", "out_dir", "out_stem"}
        assert set(fields) <= allowed, fields
        values = {k: _column(k, v) for k, v in fields.items()}
        sets = ", ".join([f"{k} = ?" for k in values] + ["state = ?", "updated = ?"])
        params = [*values.values(), state, time.time()]
        if state in ("done", "failed", "quarantined"):
            sets += ", finished = ?"
            params.append(time.time())
        self._db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*params, job_id))

    def add_attempt(self, job_id: int) -> int:
        """Count a start of processing or publishing. A run that ends, even in a transient
        failure, gives its count back (``add_transient_failure``), so what recovery sees
        is the runs a crash cut short: a job that keeps killing the daemon is quarantined,
        one that waited out a full disk while the daemon was restarted is not."""
        self._db.execute(
            "UPDATE jobs SET attempts = attempts + 1, updated = ? WHERE id = ?",
            (time.time(), job_id),
        )
        job = self.get(job_id)
        return job.attempts if job else 0

    def add_transient_failure(self, job_id: int, error: str) -> int:
        self._db.execute(
            "UPDATE jobs SET transient_failures = transient_failures + 1, last_error = ?,"
            " attempts = MAX(attempts - 1, 0), updated = ? WHERE id = ?",
            (_column("last_error", error), time.time(), job_id),
        )
        job = self.get(job_id)
        return job.transient_failures if job else 0

    def get(self, job_id: int) -> Job | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def unfinished(self) -> list[Job]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state IN (?, ?, ?) ORDER BY id",
            UNFINISHED,
        ).fetchall()
        return [_job(r) for r in rows]

    def done_with_sha(self, sha256: str, inbox: Path) -> Job | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE sha256 = ? AND inbox = ? AND state = 'done'"
            " ORDER BY id LIMIT 1",
            (sha256, _b(inbox)),
        ).fetchone()
        return _job(row) if row else None

    def counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall()
        return {str(state): int(n) for state, n in rows}

    def meta(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM daemon")}

    def folder_stats(self, inbox: Path, now: float) -> dict[str, Any]:
        """Counts for ``hotocr status``: in flight, done and failed in the last hour and day."""
        key = _b(inbox)

        def one(sql: str, *args: object) -> int:
            row = self._db.execute(sql, (key, *args)).fetchone()
            return int(row[0] or 0)

        # Interrupted or vanished claims are bookkeeping, not failures of a document.
        finished = (
            "SELECT COUNT(*) FROM jobs WHERE inbox = ? AND state IN ({}) AND finished >= ?"
            f" AND COALESCE(reason, '') NOT IN {NOT_FAILURES}"
        )
        failed_states = "'failed', 'quarantined'"
        pages_sql = (
            "SELECT SUM(pages) FROM jobs WHERE inbox = ? AND state = 'done' AND finished >= ?"
        )
        return {
            "in_flight": one(
                "SELECT COUNT(*) FROM jobs WHERE inbox = ? AND state IN (?, ?, ?)", *UNFINISHED
            ),
            "done_hour": one(finished.format("'done'"), now - 3600),
            "done_day": one(finished.format("'done'"), now - 86400),
            "failed_hour": one(finished.format(failed_states), now - 3600),
            "failed_day": one(finished.format(failed_states), now - 86400),
            "pages_hour": one(pages_sql, now - 3600),
            **self._recent_rate(key, now),
        }

    def _recent_rate(self, key: bytes, now: float, window: float = 600.0) -> dict[str, Any]:
        """Pages of the documents finished in the last ``window`` seconds, and the time from
        the first of them being claimed to the last finishing: the pace while working."""
        row = self._db.execute(
            "SELECT SUM(pages), MIN(created), MAX(finished) FROM jobs"
            " WHERE inbox = ? AND state = 'done' AND finished >= ?",
            (key, now - window),
        ).fetchone()
        pages, first, last = int(row[0] or 0), row[1], row[2]
        span = (last - max(first, now - window)) if pages and first and last else 0.0
        return {"pages_recent": pages, "recent_seconds": round(span, 1)}

    def latest_failures(self, inbox: Path, limit: int = 5) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT rel_path, reason, last_error, finished FROM jobs WHERE inbox = ?"
            " AND state IN ('failed', 'quarantined')"
            f" AND COALESCE(reason, '') NOT IN {NOT_FAILURES} ORDER BY finished DESC LIMIT ?",
            (_b(inbox), limit),
        ).fetchall()
        return [
            {"file": os.fsdecode(r[0]), "reason": r[1], "error": r[2], "time": r[3]} for r in rows
        ]

    def prune(self, finished_before: float) -> int:
        """Forget finished jobs and delivered events; unfinished jobs and pending events are
        what recovery needs and always stay.

        Deleted rows' pages are reused by SQLite, so the file stops growing at the size of
        the rows kept; nothing is vacuumed (that would rewrite the whole file)."""
        placeholders = ", ".join("?" * len(UNFINISHED))
        with self.transaction():
            cur = self._db.execute(
                f"DELETE FROM jobs WHERE state NOT IN ({placeholders})"
                " AND COALESCE(finished, updated) < ?",
                (*UNFINISHED, finished_before),
            )
            # Events go when delivered or given up on; a pending one always stays.
            self._db.execute(
                "DELETE FROM events WHERE state != 'pending' AND finished < ?", (finished_before,)
            )
        return int(cur.rowcount)

    # --- hook events ---------------------------------------------------------------------

    def due_events(self, hook: str, now: float, limit: int = 20) -> list[HookEvent]:
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE state = 'pending' AND hook = ?"
            " AND next_try <= ? ORDER BY created LIMIT ?",
            (hook, now, limit),
        ).fetchall()
        return [HookEvent(*row) for row in rows]

    def next_event_time(self, hook: str) -> float | None:
        row = self._db.execute(
            "SELECT MIN(next_try) FROM events WHERE state = 'pending' AND hook = ?", (hook,)
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def event_tried(
        self, event: HookEvent, *, state: str, error: str | None, next_try: float
    ) -> None:
        """One delivery attempt's outcome: delivered, pending (tried again at ``next_try``)
        or undeliverable."""
        finished = time.time() if state != "pending" else None
        self._db.execute(
            "UPDATE events SET state = ?, attempts = attempts + 1, last_error = ?,"
            " next_try = ?, finished = ? WHERE id = ? AND hook = ?",
            (state, _column("last_error", error), next_try, finished, event.id, event.hook),
        )

    def events(
        self, *, undelivered_only: bool = False, event_id: str | None = None, limit: int = 100
    ) -> list[HookEvent]:
        """The latest events (each hook's row), newest first; only those not delivered
        (pending, or given up as undeliverable: both wait on someone), or only those of one
        event, if asked."""
        where = ["state != 'delivered'"] if undelivered_only else []
        args: list[object] = []
        if event_id is not None:
            where.append("id = ?")
            args.append(event_id)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = self._db.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events {clause} ORDER BY created DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [HookEvent(*row) for row in rows]

    def event_counts(self) -> dict[str, dict[str, int]]:
        """Per hook: how many events are pending, delivered and undeliverable."""
        counts: dict[str, dict[str, int]] = {}
        try:
            rows = self._db.execute(
                "SELECT hook, state, COUNT(*) FROM events GROUP BY hook, state"
            ).fetchall()
        except sqlite3.OperationalError:  # read-only, from a daemon older than hooks
            return counts
        for hook, state, n in rows:
            counts.setdefault(str(hook), {})[str(state)] = int(n)
        return counts

    def retry_event(self, event_id: str, give_up: float) -> int:
        """Send an event again (every hook it was for), from now on; how many rows."""
        cur = self._db.execute(
            "UPDATE events SET state = 'pending', next_try = ?, give_up = ?, finished = NULL"
            " WHERE id = ?",
            (time.time(), give_up, event_id),
        )
        return int(cur.rowcount)

    def begin_rewrite(
        self, folder: Path, stem: str, suffixes: Sequence[str], events: Sequence[HookEvent] = ()
    ) -> int:
        """The commit point of a rewrite: from now on its staged files are the document's
        outputs. ``events`` (a ``verified`` notice) are committed with it."""
        with self.transaction():
            cur = self._db.execute(
                "INSERT INTO rewrites (folder, stem, suffixes, state, created)"
                " VALUES (?, ?, ?, 'committing', ?)",
                (_b(folder), os.fsencode(stem), " ".join(suffixes), time.time()),
            )
            self._add_events(events, None)
        return int(cur.lastrowid or 0)

    def end_rewrite(self, rewrite_id: int) -> None:
        self._db.execute(
            "UPDATE rewrites SET state = 'done', finished = ? WHERE id = ?",
            (time.time(), rewrite_id),
        )

    def unfinished_rewrites(self) -> list[tuple[int, Path, str, tuple[str, ...]]]:
        """Rewrites a crash cut short after their commit point: (id, folder, stem, suffixes)."""
        rows = self._db.execute(
            "SELECT id, folder, stem, suffixes FROM rewrites WHERE state = 'committing'"
        ).fetchall()
        return [
            (int(i), Path(os.fsdecode(folder)), os.fsdecode(stem), tuple(str(suffixes).split()))
            for i, folder, stem, suffixes in rows
        ]

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO daemon (key, value) VALUES (?, ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )


_EVENT_COLUMNS = "id, hook, kind, payload, state, attempts, next_try, give_up, last_error, created"
_COLUMNS = (
    "id, inbox, rel_path, work_path, state, sha256, attempts, transient_failures,"
    " out_dir, out_stem, created, kind"
)


def _job(row: tuple[object, ...]) -> Job:
    stem = row[9]
    return Job(
        id=int(row[0]),  # type: ignore[call-overload]
        inbox=Path(os.fsdecode(row[1])),  # type: ignore[arg-type]
        rel_path=Path(os.fsdecode(row[2])),  # type: ignore[arg-type]
        work_path=Path(os.fsdecode(row[3])),  # type: ignore[arg-type]
        state=str(row[4]),
        sha256=None if row[5] is None else str(row[5]),
        attempts=int(row[6]),  # type: ignore[call-overload]
        transient_failures=int(row[7]),  # type: ignore[call-overload]
        out_dir=_p(row[8]),  # type: ignore[arg-type]
        out_stem=None if stem is None else os.fsdecode(stem),  # type: ignore[arg-type]
        kind=str(row[11]),
        created=float(row[10]),  # type: ignore[arg-type]
    )
