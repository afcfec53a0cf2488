"""``index.csv`` in each outbox: one row per document, for spreadsheets and scripts.

``file`` is always the original as it was dropped, relative to its inbox (a batch folder
ends in "/"); ``sidecar`` is the document's JSON report (``.json``, or ``.error.json`` in
the failed folder) relative to the outbox; ``part`` is "2/3" for a part of a split document.

Rows are appended with a single ``write`` on an ``O_APPEND`` descriptor and fsynced. A crash
in the middle of a write could still leave a partial last line, so every append first cuts
the file back to its last newline: a broken row never survives the next append.
``rebuild`` writes the whole file anew (atomically) from the sidecars.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from hotocr.sidecars import ERROR_SCHEMA, SCHEMA, write_atomic

NAME = "index.csv"
COLUMNS = (
    "time",
    "file",
    "pages",
    "confidence",
    "flagged_pages",
    "outcome",
    "seconds",
    "reason",
    "sha256",
    "part",
    "sidecar",
)


def _line(row: Mapping[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([_cell(row.get(c, "")) for c in COLUMNS])
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return str(value)


def _failed_rows(index: Path) -> list[dict[str, Any]]:
    """The rows of failures in an existing index (none when there is no index yet)."""
    try:
        text = index.read_text(encoding="utf-8")
    except OSError:
        return []
    return [dict(r) for r in csv.DictReader(io.StringIO(text)) if r.get("outcome") == "failed"]


def _header() -> str:
    return ",".join(COLUMNS) + "\n"


def dropped_name(rel_path: Path, *, folder: bool) -> str:
    """The ``file`` cell: the original's path below its inbox, a folder's with a "/"."""
    name = os.fsencode(rel_path).decode("utf-8", "replace")
    return f"{name}/" if folder else name


def append(outbox: Path, row: Mapping[str, Any]) -> None:
    path = outbox / NAME
    outbox.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        _cut_partial_line(fd)
        if _upgrade_header(path, fd):  # a new file took the name: append to that one
            os.close(fd)
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        data = _line(row)
        if os.fstat(fd).st_size == 0:
            data = _header() + data
        os.write(fd, data.encode("utf-8", "replace"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _cut_partial_line(fd: int) -> None:
    size = os.fstat(fd).st_size
    if size == 0:
        return
    tail_start = max(0, size - 65536)
    tail = os.pread(fd, size - tail_start, tail_start)
    if tail.endswith(b"\n"):
        return
    cut = tail.rfind(b"\n")
    os.ftruncate(fd, tail_start + cut + 1 if cut >= 0 else 0)


def _upgrade_header(path: Path, fd: int) -> bool:
    """An index written by an older hotocr, with fewer columns, is written again under the
    current header (its rows keep their cells, the new columns empty), atomically; True
    when it was."""
    head = os.pread(fd, len(_header()) + 1, 0)
    if not head or head.startswith(_header().encode()):
        return False
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8", errors="replace"))))
    write_atomic(path, (_header() + "".join(_line(r) for r in rows)).encode("utf-8"))
    return True


#: How far back from its end ``has_row`` looks in the index (recovery's rows are recent).
RECENT_BYTES = 1 << 20


def has_row(outbox: Path, sidecar: str, sha256: str) -> bool:
    """Whether one of the index's recent rows is for the document of ``sidecar`` with this
    content: recovery adds the row of a document a crash cut short only where it is
    missing."""
    try:
        with (outbox / NAME).open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - RECENT_BYTES))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return False
    for row in csv.reader(io.StringIO(tail)):
        if len(row) == len(COLUMNS) and row[-1] == sidecar and row[8] == sha256:
            return True
    return False


def row_from_sidecar(path: Path, data: Mapping[str, Any], outbox: Path) -> dict[str, Any]:
    """The row of the document whose JSON report is ``path`` (below ``outbox``, or in the
    failed folder), for recovery and ``rebuild``."""
    sidecar = os.path.relpath(path, outbox)
    if data.get("schema") == ERROR_SCHEMA:
        name = Path(str(data.get("original_path") or data["source"]["name"]))
        # A batch folder's report is its whole name's (``failure_report``), a file's its stem's.
        folder = path.name == f"{name.name}.error.json"
        return {
            "time": data.get("time", ""),
            "file": dropped_name(name, folder=folder),
            "outcome": "failed",
            "reason": data.get("reason", ""),
            "sha256": data["source"].get("sha256") or "",
            "sidecar": sidecar,
        }
    source = data["source"]
    below = Path(os.path.relpath(path.parent, outbox)) / str(source["name"])
    part = data.get("part")
    return {
        "time": data.get("created", ""),
        "file": dropped_name(Path(os.path.normpath(below)), folder=source["format"] == "folder"),
        "pages": source["pages"],
        "confidence": data["confidence"],
        "flagged_pages": data["flagged_pages"],
        "outcome": "done",
        "seconds": data.get("seconds", ""),
        "sha256": source["sha256"],
        "part": f"{part['number']}/{part['of']}" if part else "",
        "sidecar": sidecar,
    }


def rebuild(outbox: Path, extra_folders: Iterable[Path] = ()) -> int:
    """Write ``outbox/index.csv`` from every sidecar below ``outbox`` (and ``extra_folders``).

    Failures are reported in the failed folder, not the outbox: without ``extra_folders`` the
    failed rows the index already had are kept, so a rebuild never forgets them."""
    if not outbox.is_dir():
        raise FileNotFoundError(f"{outbox} is not a folder")
    extra_folders = tuple(extra_folders)
    kept = [] if extra_folders else _failed_rows(outbox / NAME)
    rows: list[dict[str, Any]] = []
    for folder in (outbox, *extra_folders):
        for path in sorted(folder.rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("schema") in (SCHEMA, ERROR_SCHEMA):
                rows.append(row_from_sidecar(path, data, outbox))
    listed = {str(r["sidecar"]) for r in rows}
    rows += [r for r in kept if r.get("sidecar") not in listed]
    rows.sort(key=lambda r: (str(r["time"]), str(r["file"])))
    write_atomic(outbox / NAME, (_header() + "".join(_line(r) for r in rows)).encode("utf-8"))
    return len(rows)
