"""A claimed document's outcome made public: its outputs, or its original in failed/ with a
report; then the journal, the outbox's index, the metrics and the log line.

Runs on the daemon's one loop thread, which reserves output names in the journal before
anything is written under them, so two documents never race for one name. A disk that is
full or a share that is gone is not the document's fault: such a publish returns the delay
after which the loop tries again, and the original stays claimed meanwhile.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotocr import hooks, results_index, sidecars
from hotocr.assemble import assembled_path
from hotocr.config import WatchConfig
from hotocr.datatypes import DocumentResult
from hotocr.errors import HotocrError, Quarantined
from hotocr.journal import HookEvent, Job, Journal
from hotocr.metrics import Metrics, gpu_fallbacks
from hotocr.outputs import PdfOptions
from hotocr.splitting import Part, split
from hotocr.testhooks import crash_point

#: Retries after a transient error (disk full, ...) wait 5 s, 10 s, 20 s ... at most this.
FIRST_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 300.0


class Publisher:
    def __init__(
        self,
        journal: Journal,
        metrics: Metrics,
        log: Any,
        *,
        review: Callable[[Path], None],
        hooks_notified: Callable[[Sequence[HookEvent]], None] = lambda events: None,
    ) -> None:
        self._journal = journal
        self._metrics = metrics
        #: Events were committed: their hooks' delivery looks now.
        self._hooks_notified = hooks_notified
        self._log = log
        #: Asks for the outbox's review page to be rebuilt (in the background).
        self._review = review

    def done(
        self,
        watch: WatchConfig,
        work_root: Path,
        job: Job,
        result: DocumentResult,
        seconds: float,
    ) -> float | None:
        """Write the folder's outputs, move the original beside them, record it; the delay
        before another try when the disk refused (else None)."""
        dest_dir = watch.outbox / job.rel_path.parent
        try:
            formats = watch.ocr.outputs
            stem = self.reserve_stem(job, dest_dir, sidecars.published_suffixes(result, formats))
            published = sidecars.publish_result(
                result,
                original=job.work_path,
                folder=dest_dir,
                stem=stem,
                move_original=True,
                formats=formats,
                pdf_options=PdfOptions.of(watch.ocr),
            )
            assert published.original is not None
            documents = list(zip(split(result), published.jsons, strict=True))
            # Before the commit: a crash after it would lose the row; one before it is
            # recovered, and recovery adds the row only where it is missing.
            for document, json_sidecar in documents:
                row = done_row(watch, job, document, json_sidecar, seconds)
                results_index.append(watch.outbox, row)
        except OSError as exc:  # disk full, permissions, a share gone: worth retrying
            return self.transient(job, exc)
        except Exception as exc:  # noqa: BLE001 - a bug or no page left: fail the file
            sha256 = result.source.sha256
            return self.fail(watch, work_root, job, exc, stage="publish", sha256=sha256)
        crash_point("before_commit")
        events = [
            event
            for document, json_sidecar in documents
            for event in done_event(
                watch,
                job,
                original=published.original,
                json_sidecar=json_sidecar,
                outputs=published.outputs_of(json_sidecar),
                pages=len(document.pages),
                confidence=document.confidence,
                flagged_pages=list(document.flagged_pages),
                sha256=result.source.sha256,
                part=part_number(document.part),
            )
        ]
        self._journal.set_state(job.id, "done", events=events)
        crash_point("after_commit")
        self._hooks_notified(events)
        remove_scratch(job)
        remove_empty_parents(job.work_path.parent, work_root)
        self._count_done(watch, result)
        self._log.info(
            "document.done",
            outcome="done",
            path=shown(job.original),
            output=shown(published.json),
            sha256=result.source.sha256,
            pages=result.source.pages,
            confidence=result.confidence,
            flagged_pages=result.flagged_pages,
            seconds=round(seconds, 3),
        )
        return None

    def fail(
        self,
        watch: WatchConfig,
        work_root: Path,
        job: Job,
        exc: BaseException,
        *,
        stage: str,
        sha256: str | None = None,
        pages: int | None = None,
        seconds: float = 0.0,
    ) -> float | None:
        """A claimed file goes to failed/ with its report; the journal records the outcome.
        The delay before another try when the move itself failed (else None)."""
        dest_dir = watch.failed / job.rel_path.parent
        message = as_dropped(exc, job)
        try:
            stem = self.reserve_stem(job, dest_dir, (".error.json",))
            dest = sidecars.publish_failure(
                exc,
                original=job.work_path,
                folder=dest_dir,
                stage=stage,
                sha256=sha256 or job.sha256,
                stem=stem,
                extra={
                    "original_path": shown(job.rel_path),
                    "attempts": job.attempts,
                    "message": message,
                },
            )
            reason = exc.reason if isinstance(exc, HotocrError) else "internal"
            batch = job.kind == "batch"
            report = sidecars.failure_report(dest, folder=batch)
            row = failed_row(
                watch, job.rel_path, report, reason, sha256 or job.sha256, folder=batch
            )
            results_index.append(watch.outbox, row)
        except OSError as move_error:
            return self.transient(job, move_error)
        final = "quarantined" if isinstance(exc, Quarantined) else "failed"
        events = failed_event(
            watch, dest, reason=reason, message=message, sha256=sha256 or job.sha256, job=job
        )
        self._journal.set_state(job.id, final, reason=reason, last_error=message, events=events)
        self._hooks_notified(events)
        remove_scratch(job)
        remove_empty_parents(job.work_path.parent, work_root)
        self._count_failure(watch, reason)
        self._log_failure(
            job.original,
            dest=dest,
            exc=exc,
            stage=stage,
            sha256=sha256 or job.sha256,
            pages=pages,
            seconds=seconds,
            message=message,
        )
        return None

    def refuse(self, watch: WatchConfig, path: Path, exc: BaseException) -> None:
        """A file refused before it was claimed (not ready for too long, unsupported, a link,
        a FIFO) goes to failed/ with its report."""
        rel = path.relative_to(watch.inbox)
        reason = exc.reason if isinstance(exc, HotocrError) else "internal"
        try:
            dest = sidecars.publish_failure(
                exc,
                original=path,
                folder=watch.failed / rel.parent,
                stage="inspect",
                extra={"original_path": shown(rel)},
            )
            report = sidecars.failure_report(dest, folder=False)
            results_index.append(watch.outbox, failed_row(watch, rel, report, reason, None))
        except OSError as move_error:
            self._log.error(
                "document.failed_unmoved",
                path=shown(path),
                error=str(exc),
                move_error=str(move_error),
            )
            return
        self._log_failure(
            path, dest=dest, exc=exc, stage="inspect", sha256=None, pages=None, seconds=0.0
        )
        events = failed_event(
            watch, dest, reason=reason, message=str(exc), sha256=None, job=None, original_name=rel
        )
        self._journal.record_refused(watch.inbox, rel, reason, str(exc), events)
        self._hooks_notified(events)
        self._count_failure(watch, reason)

    def transient(self, job: Job, exc: BaseException) -> float:
        """The original stays claimed in its work folder; the delay before the next try,
        backing off."""
        failures = self._journal.add_transient_failure(job.id, f"{type(exc).__name__}: {exc}")
        delay = float(min(MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (failures - 1)))
        self._log.error(
            "document.retry_later",
            path=shown(job.original),
            error=str(exc),
            failures=failures,
            retry_in_seconds=delay,
        )
        return delay

    def reserve_stem(self, job: Job, folder: Path, suffixes: tuple[str, ...]) -> str:
        """The output name for ``job`` in ``folder``: the one it reserved before a crash, or a
        free one, reserved in the journal before anything is written under it."""
        if job.out_dir == folder and job.out_stem:
            return job.out_stem
        stem = sidecars.free_stem(
            folder, job.rel_path.name, suffixes, self._reserved, folder_name=job.kind == "batch"
        )
        self._journal.set_state(job.id, "publishing", out_dir=folder, out_stem=stem)
        return stem

    def _reserved(self, folder: Path, stem: str) -> bool:
        """Whether an unfinished job already chose ``stem`` in ``folder``."""
        return any(j.out_dir == folder and j.out_stem == stem for j in self._journal.unfinished())

    def _count_done(self, watch: WatchConfig, result: DocumentResult) -> None:
        """Metrics and, when enabled, the outbox's review page."""
        label = watch_label(watch)
        self._metrics.documents.labels(label, "done").inc()
        self._metrics.pages.labels(label).inc(len(result.pages))
        self._metrics.low_confidence.labels(label).inc(len(result.flagged_pages))
        for page in result.pages:
            self._metrics.page_seconds.labels(label).observe(page.seconds)
            for part in gpu_fallbacks(page.recipe.reasons if page.recipe else {}):
                self._metrics.gpu_fallbacks.labels(label, part).inc()
            if page.gpu_memory_bytes:
                self._metrics.gpu_memory.set(page.gpu_memory_bytes)
        if watch.review_page and result.flagged_pages:
            self._review(watch.outbox)

    def _count_failure(self, watch: WatchConfig, reason: str) -> None:
        label = watch_label(watch)
        self._metrics.documents.labels(label, "failed").inc()
        self._metrics.failures.labels(label, reason).inc()

    def _log_failure(
        self,
        path: Path,
        *,
        dest: Path,
        exc: BaseException,
        stage: str,
        sha256: str | None,
        pages: int | None,
        seconds: float,
        message: str | None = None,
    ) -> None:
        if not isinstance(exc, HotocrError):
            self._log.error("document.internal_error", path=shown(path), exc_info=exc)
        self._log.warning(
            "document.done",
            outcome="failed",
            path=shown(path),
            failed_as=shown(dest),
            sha256=sha256,
            pages=pages,
            seconds=round(seconds, 3),
            reason=exc.reason if isinstance(exc, HotocrError) else "internal",
            stage=stage,
            error=message or str(exc),
        )


def done_row(
    watch: WatchConfig, job: Job, result: DocumentResult, json_sidecar: Path, seconds: float
) -> dict[str, Any]:
    """The outbox's index.csv row of a published document (of one part of a split one)."""
    return {
        "time": sidecars.now_iso(),
        "file": results_index.dropped_name(job.rel_path, folder=job.kind == "batch"),
        "pages": len(result.pages),
        "confidence": result.confidence,
        "flagged_pages": result.flagged_pages,
        "outcome": "done",
        "seconds": round(seconds, 3),
        "sha256": result.source.sha256,
        "part": "" if result.part is None else f"{result.part.number}/{result.part.of}",
        "sidecar": os.path.relpath(shown(json_sidecar), watch.outbox),
    }


def failed_row(
    watch: WatchConfig,
    rel_path: Path,
    report: Path,
    reason: str,
    sha256: str | None,
    *,
    folder: bool = False,
) -> dict[str, Any]:
    """The outbox's index.csv row of a file sent to failed/ (``report``: its .error.json)."""
    return {
        "time": sidecars.now_iso(),
        "file": results_index.dropped_name(rel_path, folder=folder),
        "outcome": "failed",
        "reason": reason,
        "sha256": sha256 or "",
        "sidecar": os.path.relpath(shown(report), watch.outbox),
    }


def done_event(
    watch: WatchConfig,
    job: Job,
    *,
    original: Path,
    json_sidecar: Path,
    outputs: Sequence[Path],
    pages: int | None,
    confidence: float | None,
    flagged_pages: list[int] | None,
    sha256: str | None,
    part: dict[str, int] | None = None,
) -> list[HookEvent]:
    """The ``done`` notice for the folder's hooks; ``outputs`` with the JSON last. A split
    document gets one notice per part (``part``: its number and of how many)."""
    return hooks.for_hooks(
        watch,
        "done",
        document_id=job.id,
        original_name=shown(job.rel_path),
        original=original,
        json=json_sidecar,
        outputs=[shown(path) for path in outputs],
        pages=pages,
        confidence=confidence,
        flagged_pages=flagged_pages,
        sha256=sha256,
        part=part,
    )


def part_number(part: Part | None) -> dict[str, int] | None:
    """A part's place in its split document, as notices tell it."""
    return None if part is None else {"number": part.number, "of": part.of}


def failed_event(
    watch: WatchConfig,
    dest: Path,
    *,
    reason: str,
    message: str,
    sha256: str | None,
    job: Job | None,
    original_name: Path | None = None,
) -> list[HookEvent]:
    """The ``failed`` notice for the folder's hooks: where the original and its report lie."""
    name = job.rel_path if job is not None else original_name
    return hooks.for_hooks(
        watch,
        "failed",
        document_id=job.id if job is not None else None,
        original_name=shown(name) if name is not None else None,
        original=shown(dest),
        json=shown(sidecars.failure_report(dest, folder=job is not None and job.kind == "batch")),
        reason=reason,
        message=message,
        sha256=sha256,
    )


@dataclass(frozen=True)
class Recovered:
    """A job published before a crash cut its journal entry short, as its files tell it."""

    state: str
    #: The files that mark the set complete, with their content: the JSON sidecar (one per
    #: part of a split document), or the failure's report.
    markers: list[tuple[Path, dict[str, Any]]]
    events: list[HookEvent]


def published_markers(out_dir: Path, stem: str) -> list[Path]:
    """The marker files of a publish of ``stem``: its report, its JSON, or its parts' JSONs
    (``<stem>-1.json`` ...); none when it did not get that far."""
    for single in (f"{stem}.error.json", f"{stem}.json"):
        if (out_dir / single).exists():
            return [out_dir / single]
    found: list[Path] = []
    while (out_dir / f"{stem}-{len(found) + 1}.json").exists():
        found.append(out_dir / f"{stem}-{len(found) + 1}.json")
    return found


def moved_original(job: Job) -> Path:
    """Where publishing moves the job's original: beside its outputs, under its stem."""
    assert job.out_dir is not None and job.out_stem is not None
    return job.out_dir / f"{job.out_stem}{job.original_suffix}"


def was_published(job: Job) -> bool:
    """Whether the job's original was moved beside its complete outputs (or its report)."""
    if job.out_dir is None or job.out_stem is None:
        return False
    return moved_original(job).exists() and bool(published_markers(job.out_dir, job.out_stem))


def recovered_outcome(watch: WatchConfig, job: Job) -> Recovered | None:
    """The outcome of a job whose files were published before a crash, from its marker
    files, and the notices for the folder's hooks; None when a marker cannot be read."""
    assert job.out_dir is not None and job.out_stem is not None
    original = moved_original(job)
    markers = []
    for marker in published_markers(job.out_dir, job.out_stem):
        try:
            markers.append((marker, json.loads(marker.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            return None
    if not markers:
        return None
    marker, data = markers[0]
    if marker.name.endswith(".error.json"):
        reason = str(data.get("reason", "internal"))
        message = str(data.get("message") or data.get("error") or "")
        events = failed_event(
            watch, original, reason=reason, message=message, sha256=job.sha256, job=job
        )
        return Recovered("failed", markers, events)
    events = []
    for sidecar, data in markers:
        stem = sidecar.name.removesuffix(".json")
        written = [job.out_dir / f"{stem}{s}" for s in sidecars.output_suffixes(watch.ocr.outputs)]
        part = data.get("part")
        events += done_event(
            watch,
            job,
            original=original,
            json_sidecar=sidecar,
            outputs=[p for p in written if p.exists() and p != sidecar] + [sidecar],
            pages=len(data.get("pages", [])),
            confidence=data.get("confidence"),
            flagged_pages=data.get("flagged_pages"),
            sha256=data.get("source", {}).get("sha256"),
            part=part and {"number": part["number"], "of": part["of"]},
        )
    return Recovered("done", markers, events)


def as_dropped(exc: BaseException, job: Job) -> str:
    """The error's message with the claimed file's work path told as the path it was dropped
    at (``state/work/256/scan.pdf`` means nothing to the person reading the report)."""
    text = str(exc) or type(exc).__name__
    return text.replace(os.fsdecode(job.work_path), shown(job.original))


def watch_label(watch: WatchConfig) -> str:
    """A watch folder's name in the metrics."""
    return str(watch.inbox)


def repaired_copy(job: Job) -> Path:
    """Where a damaged PDF's repaired copy is read from: beside the claimed original in its
    own work folder, removed when the document is published or failed."""
    return job.work_path.with_name(".hotocr-repaired.pdf")


def remove_scratch(job: Job) -> None:
    """The files made beside a claimed original while it was read: a damaged PDF's repaired
    copy, a batch's assembled PDF."""
    repaired_copy(job).unlink(missing_ok=True)
    assembled_path(job.work_path).unlink(missing_ok=True)


def remove_empty_parents(folder: Path, root: Path) -> None:
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def shown(path: Path) -> str:
    """A path for logs and reports: undecodable bytes shown as U+FFFD, not an error."""
    return os.fsencode(path).decode("utf-8", "replace")


def retry_at(delay: float) -> float:
    """The loop's clock reading at which a retry after ``delay`` seconds is due."""
    return time.monotonic() + delay


__all__ = [
    "Publisher",
    "remove_empty_parents",
    "remove_scratch",
    "repaired_copy",
    "retry_at",
    "shown",
    "watch_label",
]
