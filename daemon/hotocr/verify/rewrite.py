"""Writing a document's outputs again after a person's fixes: all of them, or none.

The new ``.txt``, ``.json``, ``.hocr``, ``.alto.xml`` and ``.ocr.pdf`` are rendered from the
fixed result, as publishing renders them, and staged beside the old ones under hidden names
(``.<stem><suffix>.hotocr-new``, each written atomically and synced). Then the journal
records the rewrite (with its ``verified`` notice, if any): that commit is the point after
which the new set is the document's. Then each staged file is renamed over its old one,
the JSON last, and the rewrite is marked done.

A crash before the commit leaves the old set and some staged files: ``recover`` removes
them. A crash after it leaves some files renamed: ``recover`` renames the rest. Either way,
after a restart the outputs are one set, the old or the new, never a mix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hotocr import outputs, sidecars
from hotocr.datatypes import DocumentResult
from hotocr.journal import HookEvent, Journal
from hotocr.testhooks import crash_point

#: Staged files end so, and start with a dot (hidden from a document system's scan).
STAGED = ".hotocr-new"


def staged_path(folder: Path, stem: str, suffix: str) -> Path:
    return folder / f".{stem}{suffix}{STAGED}"


def rewrite(
    journal: Journal,
    result: DocumentResult,
    sidecar: Path,
    *,
    original: Path,
    formats: Sequence[str],
    pdf_options: outputs.PdfOptions,
    json_extra: Mapping[str, Any],
    events: Sequence[HookEvent] = (),
) -> list[Path]:
    """Replace the outputs beside ``sidecar`` (``<stem>.json``) with those of ``result``, as
    one set. ``original``: what the PDF is drawn from (the original, or a batch's assembled
    PDF). ``json_extra``: keys the JSON keeps or gains (its ``created``, the verification).
    Returns the outputs written, the JSON last."""
    folder, stem = sidecar.parent, sidecar.name.removesuffix(".json")
    data = sidecars.read_json(sidecar)
    rendered = sidecars.render_outputs(
        result,
        formats,
        original=original,
        name=str(data["source"]["name"]),
        original_path=str(data["source"].get("path") or data["source"]["name"]),
        pdf_options=pdf_options,
        json_extra=json_extra,
    )
    for suffix, content in rendered:
        sidecars.write_atomic(staged_path(folder, stem, suffix), content)
    crash_point("verify_staged")
    suffixes = [suffix for suffix, _ in rendered]
    rewrite_id = journal.begin_rewrite(folder, stem, suffixes, events)
    crash_point("verify_committed")
    written = _rename_staged(folder, stem, suffixes)
    journal.end_rewrite(rewrite_id)
    return written


def _rename_staged(folder: Path, stem: str, suffixes: Sequence[str]) -> list[Path]:
    written = []
    for i, suffix in enumerate(suffixes):
        staged = staged_path(folder, stem, suffix)
        final = folder / f"{stem}{suffix}"
        if staged.exists():  # a recovery may find some renamed already
            os.replace(staged, final)
            if i == 0:
                crash_point("verify_between_renames")
        written.append(final)
    _sync_folder(folder)
    return written


def recover(journal: Journal, outboxes: Iterable[Path]) -> list[Path]:
    """Finish what a crash cut short: rewrites past their commit get their new set; staged
    files of rewrites that never committed are removed. Returns the JSON files finished."""
    finished = []
    for rewrite_id, folder, stem, suffixes in journal.unfinished_rewrites():
        _rename_staged(folder, stem, suffixes)
        journal.end_rewrite(rewrite_id)
        finished.append(folder / f"{stem}.json")
    for outbox in outboxes:
        if outbox.is_dir():
            for staged in outbox.rglob(f".*{STAGED}"):
                staged.unlink(missing_ok=True)
    return finished


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
