"""The documents of the outboxes, as the verification station sees them.

A document is named by its folder's number and its JSON sidecar's path below the folder's
outbox (``0/scans/invoice-7``); a name that leads anywhere else (``..``, an absolute path,
a link out of the outbox, anything but a hotocr sidecar) is refused. Its version is the
SHA-256 of its JSON: a save names the version it started from, and a save from an older
one is refused (``Conflict``), never written over another person's fixes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hotocr import outputs, results_index, sidecars
from hotocr.assemble import assemble
from hotocr.config import Config, WatchConfig
from hotocr.datatypes import DocumentResult
from hotocr.hooks import for_hooks
from hotocr.journal import Journal
from hotocr.verify import rewrite
from hotocr.verify.changes import apply_fixes

#: The longest document name accepted.
MAX_NAME_CHARS = 1000


class NotFound(LookupError):
    """No such document (or a name that leads outside the outboxes)."""


class Conflict(RuntimeError):
    """The document changed since the version a save started from."""


@dataclass(frozen=True)
class Document:
    name: str
    watch_index: int
    watch: WatchConfig
    sidecar: Path
    data: dict[str, Any]
    version: str

    @property
    def result(self) -> DocumentResult:
        return sidecars.document_from_json(self.data, self.sidecar)

    @property
    def verification(self) -> dict[str, Any]:
        return dict(self.data.get("verification") or {"state": "pending"})


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


class Catalogue:
    """Finds, reads and saves documents of the configured outboxes. Saves of one document
    are serialised; the version check sits inside that lock."""

    def __init__(self, config: Config) -> None:
        self._config = config
        #: The daemon's journal; a connection of its own per save (the web server saves
        #: from threads, and SQLite connections stay in the thread that made them).
        self._journal_path = config.daemon.state_dir / "journal.sqlite3"
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def outboxes(self) -> list[Path]:
        return [w.outbox for w in self._config.watches]

    def names(self) -> list[str]:
        """Every document of every outbox, by name."""
        found = []
        for index, watch in enumerate(self._config.watches):
            root = watch.outbox.resolve()
            if not root.is_dir():
                continue
            for path in sorted(root.rglob("*.json")):
                rel = path.relative_to(root)
                if path.name.endswith(".error.json") or any(
                    part.startswith(".") or part == "review" for part in rel.parts[:-1]
                ):
                    continue
                if path.name.startswith("."):
                    continue
                found.append(f"{index}/{rel.as_posix().removesuffix('.json')}")
        return found

    def get(self, name: str) -> Document:
        index, sidecar = self._locate(name)
        try:
            raw = sidecar.read_bytes()
            data = sidecars.read_json(sidecar)
        except (OSError, ValueError) as exc:
            raise NotFound(f"no document {name!r}") from exc
        version = hashlib.sha256(raw).hexdigest()
        return Document(name, index, self._config.watches[index], sidecar, data, version)

    def _locate(self, name: str) -> tuple[int, Path]:
        """The sidecar a name stands for; ``NotFound`` for any name that is not a document
        inside a configured outbox (checked on the resolved path: links count)."""
        if not name or len(name) > MAX_NAME_CHARS or "\x00" in name or "\\" in name:
            raise NotFound("no such document")
        head, _, rest = name.partition("/")
        if not head.isdigit() or int(head) >= len(self._config.watches) or not rest:
            raise NotFound("no such document")
        rel = PurePosixPath(rest)
        if rel.is_absolute() or any(p in ("", ".", "..") or p.startswith(".") for p in rel.parts):
            raise NotFound("no such document")
        index = int(head)
        root = self._config.watches[index].outbox.resolve()
        sidecar = (root / f"{rest}.json").resolve()
        if not sidecar.is_relative_to(root) or not sidecar.is_file():
            raise NotFound("no such document")
        return index, sidecar

    def _lock(self, sidecar: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sidecar, threading.Lock())

    def save(
        self,
        name: str,
        version: str,
        *,
        who: str,
        page: int | None = None,
        fixes: dict[int, str] | None = None,
        accepted: bool = False,
        verified: bool = False,
    ) -> Document:
        """Apply ``fixes`` to ``page`` and/or mark the document verified, as one new set of
        outputs; ``Conflict`` if the document is no longer at ``version``."""
        _, sidecar = self._locate(name)
        with self._lock(sidecar):
            document = self.get(name)
            if document.version != version:
                raise Conflict(
                    "the document was changed since you opened it (by someone else, or in "
                    "another window); reload it to see those changes"
                )
            when = now_iso()
            result = document.result
            if page is not None and fixes:
                result = apply_fixes(result, page, fixes, who=who, when=when)
            state = document.verification
            accepted_pages = set(state.get("accepted_pages", []))
            if accepted and page is not None:
                accepted_pages.add(page)
            if verified:
                state = {"state": "verified", "by": who, "at": when}
            elif state.get("state") != "verified" and page is not None:
                state = {"state": "in_progress", "by": who, "at": when}
            if accepted_pages:
                state["accepted_pages"] = sorted(accepted_pages)
            extra = {
                "created": document.data.get("created"),
                "modified": when,
                "verification": state,
            }
            watch = document.watch
            events = (
                for_hooks(
                    watch,
                    "verified",
                    document=name,
                    json=sidecar,
                    verified_by=who,
                    edits=sum(len(p.edits) for p in result.pages),
                    sha256=document.data["source"]["sha256"],
                )
                if verified
                else []
            )
            formats = [
                f for f in outputs.FORMATS if (sidecar.parent / _output(sidecar, f)).exists()
            ]
            journal = Journal(self._journal_path)
            drawn = tempfile.TemporaryDirectory(prefix="hotocr-verify-")
            try:
                rewrite.rewrite(
                    journal,
                    result,
                    sidecar,
                    original=self._drawn_from(document, result, Path(drawn.name)),
                    formats=formats or ["json"],
                    pdf_options=outputs.PdfOptions.of(watch.ocr),
                    json_extra=extra,
                    events=events,
                )
            finally:
                journal.close()
                drawn.cleanup()
            if verified:
                row = {
                    "time": when,
                    "file": document.data["source"]["name"],
                    "outcome": "verified",
                    "sha256": document.data["source"]["sha256"],
                    "sidecar": sidecar.relative_to(watch.outbox.resolve()).as_posix(),
                }
                results_index.append(watch.outbox, row)
            return self.get(name)

    def queue(self, folder: int | None = None) -> list[dict[str, Any]]:
        """The documents waiting for a person: of folders with ``verify`` on, not yet
        verified; flagged ones first, then the worst page first, then the oldest."""
        rows = []
        now = dt.datetime.now(dt.UTC)
        for name in self.names():
            index = int(name.split("/", 1)[0])
            mode = self._config.watches[index].verify
            if mode == "off" or (folder is not None and index != folder):
                continue
            try:
                document = self.get(name)
            except NotFound:
                continue
            data, state = document.data, document.verification
            flagged = list(data.get("flagged_pages", []))
            if state.get("state") == "verified" or (mode == "flagged" and not flagged):
                continue
            worst = min((float(p["confidence"]) for p in data["pages"]), default=100.0)
            created = str(data.get("created") or "")
            try:
                age = (now - dt.datetime.fromisoformat(created)).total_seconds()
            except ValueError:
                age = 0.0
            rows.append(
                {
                    "name": name,
                    "folder": index,
                    "file": data["source"]["name"],
                    "pages": len(data["pages"]),
                    "flagged_pages": flagged,
                    "confidence": data.get("confidence"),
                    "worst_page": worst,
                    "age_seconds": round(age),
                    "state": state.get("state", "pending"),
                }
            )
        rows.sort(key=lambda r: (not r["flagged_pages"], r["worst_page"], -r["age_seconds"]))
        return rows

    def _drawn_from(self, document: Document, result: DocumentResult, scratch: Path) -> Path:
        """What the searchable PDF is drawn from: the original beside the sidecar; for a
        batch, its folder's files assembled again (into ``scratch``), as when it was read."""
        original = result.source.path  # the original beside the sidecar (or its folder)
        if result.batch is None:
            return original
        watch = document.watch
        dest = scratch / "batch.pdf"
        assemble(
            original,
            ignore=watch.ignore,
            duplex=result.batch.duplex,
            max_pages=0,
            dpi=watch.ocr.dpi,
            dest=dest,
        )
        return dest


def _output(sidecar: Path, fmt: str) -> Path:
    """The document's output of format ``fmt``, beside its JSON."""
    return sidecar.with_name(sidecar.name.removesuffix(".json") + outputs.SUFFIXES[fmt])
