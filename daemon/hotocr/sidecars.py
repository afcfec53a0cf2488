"""Publishing: a document's outputs (``hotocr.outputs``: ``.txt``, ``.json``, ``.ocr.pdf``,
``.hocr``, ``.alto.xml``) beside the original, and ``.error.json`` for a failure.

Every output is rendered to bytes first, so one that cannot be made leaves nothing behind;
then each file is written to a temporary name in its destination folder, fsynced and renamed,
so a reader never sees a partial file, and the JSON last: it marks the set complete. After a
crash, recovery removes the outputs of a set without its JSON. Names are reserved so that two
inputs never overwrite each other's results: a second ``scan.pdf`` becomes ``scan-2.pdf`` with
``scan-2.txt``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import os
import shutil
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotocr import __version__, outputs
from hotocr.datatypes import (
    Batch,
    BatchFile,
    Correction,
    DocumentResult,
    Edit,
    PageOrigin,
    PageResult,
    Part,
    Recipe,
    Separator,
    Word,
)
from hotocr.errors import HotocrError, OnlySeparators
from hotocr.pages import Kind, SourceInfo
from hotocr.splitting import part_stem, split
from hotocr.testhooks import crash_point, fail_point

SCHEMA = "hotocr/1"
ERROR_SCHEMA = "hotocr-error/1"
PAGE_SEPARATOR = "\f"
#: Temporary files are ``.<final name>.<random><TEMP_SUFFIX>`` in the destination folder.
TEMP_SUFFIX = ".hotocr-tmp"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def document_json(result: DocumentResult, *, name: str, path: str | None = None) -> dict[str, Any]:
    """``path``: where the original is, relative to the sidecar's folder (default: beside it)."""
    source: dict[str, Any] = {
        "name": name,
        "path": path or name,
        "sha256": result.source.sha256,
        "bytes": result.source.bytes,
        "pages": result.source.pages,
        "format": "folder" if result.batch else result.source.kind.value,
        "repaired": result.source.repaired,
    }
    if result.batch is not None:
        source["duplex"] = result.batch.duplex
        source["files"] = [dataclasses.asdict(f) for f in result.batch.files]
    return {
        "schema": SCHEMA,
        "source": source,
        **_part_json(result),
        "languages": list(result.languages),
        "engine": {
            "hotocr": __version__,
            "tesseract": result.tesseract_version,
            "ppocr": result.ppocr_version,
            "recognizers": result.recognizers,
            "preprocess_backend": result.backend,
        },
        "preprocess": {"steps": list(result.steps), "render_dpi": result.render_dpi},
        "low_confidence_threshold": result.low_confidence,
        "confidence": result.confidence,
        "flagged_pages": result.flagged_pages,
        "seconds": round(result.seconds, 3),
        "pages": [_page_json(result, p) for p in result.pages],
        "created": now_iso(),
    }


def _part_json(result: DocumentResult) -> dict[str, Any]:
    """Which part of the scanned document this is, and every separator page found."""
    part = result.part
    if part is None:
        return {}
    return {
        "part": {"number": part.number, "of": part.of, "source_pages": list(part.pages)},
        "separators": [
            {"page": page, "kind": s.kind, "value": s.value, "format": s.format}
            for page, s in part.separators
        ],
    }


def _page_json(result: DocumentResult, page: PageResult) -> dict[str, Any]:
    whole = result.source_page(page)
    where: dict[str, Any] = {}
    if result.part is not None:
        where["source_page"] = whole
    if result.batch is not None:
        origin = result.batch.origins[whole - 1]
        where["origin"] = {"file": origin.file, "page": origin.page}
    return {
        "number": page.number,
        **where,
        "text": page.text,
        "raw_text": page.raw_text,
        "confidence": page.confidence,
        "low_confidence": page.low_confidence,
        "blank": page.blank,
        "source": page.source,
        "rotation": page.rotation,
        "skew_degrees": page.skew_degrees,
        "width": page.size[0],
        "height": page.size[1],
        "seconds": page.seconds,
        "error": page.error,
        "recipe": _recipe_json(page),
        "corrections": [
            {"page": page.number, "raw": c.raw, "fixed": c.fixed, "offset": c.offset}
            for c in page.corrections
        ],
        "edits": [dataclasses.asdict(e) for e in page.edits],
        "words": [
            {
                "text": w.text,
                "confidence": w.confidence,
                "box": list(w.box),
                "line": w.line,
                "paragraph": w.paragraph,
                "block": w.block,
                **({"in_pdf": True} if w.in_pdf else {}),
            }
            for w in page.words
        ],
    }


def read_json(path: Path) -> dict[str, Any]:
    """A document's JSON sidecar; ``ValueError`` for anything else."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"{path.name} is not a hotocr document sidecar")
    return data


def original_of(sidecar: Path, data: dict[str, Any]) -> Path:
    """Where a document's original is: ``source.path``, relative to its sidecar (a moved
    folder still works; ``hotocr process --output`` leaves originals elsewhere)."""
    source = data["source"]
    return sidecar.parent / str(source.get("path") or source["name"])


def page_source(sidecar: Path, data: dict[str, Any], page: dict[str, Any]) -> tuple[Path, int]:
    """The file a page of the document was read from, and its page number there: the
    original (a part's page by its number in the whole), or a batch page's own file."""
    original = original_of(sidecar, data)
    if "origin" in page:  # a batch's page: its own file in the batch folder
        return original / str(page["origin"]["file"]), int(page["origin"]["page"])
    return original, int(page.get("source_page", page["number"]))


def document_from_json(data: dict[str, Any], sidecar: Path) -> DocumentResult:
    """A document's result as its JSON sidecar (``sidecar``) holds it: what the outputs are
    rendered from again after a person's fixes (``verify``). ``source.path`` is the original
    (for a batch, its folder), relative to the sidecar."""
    source = data["source"]
    folder = source["format"] == "folder"
    kind = Kind.PDF if folder else Kind(source["format"])
    info = SourceInfo(
        path=original_of(sidecar, data),
        kind=kind,
        pages=int(source["pages"]),
        sha256=str(source["sha256"]),
        bytes=int(source["bytes"]),
        repaired=bool(source.get("repaired", False)),
    )
    pages = tuple(_page_from_json(page, data) for page in data["pages"])
    batch = None
    if folder:
        origins = tuple(
            PageOrigin(p["origin"]["file"], int(p["origin"]["page"])) for p in data["pages"]
        )
        files = tuple(BatchFile(**f) for f in source.get("files", ()))
        batch = Batch(files, origins, duplex=bool(source.get("duplex", False)))
    part = None
    if "part" in data:
        part = Part(
            number=int(data["part"]["number"]),
            of=int(data["part"]["of"]),
            pages=tuple(int(n) for n in data["part"]["source_pages"]),
            separators=tuple(
                (int(s["page"]), Separator(s["kind"], s.get("value", ""), s.get("format", "")))
                for s in data.get("separators", ())
            ),
        )
    engine = data.get("engine", {})
    settings = data.get("preprocess", {})
    return DocumentResult(
        source=info,
        languages=tuple(data["languages"]),
        pages=pages,
        tesseract_version=str(engine.get("tesseract", "")),
        seconds=float(data.get("seconds", 0.0)),
        steps=tuple(settings.get("steps", ())),
        render_dpi=int(settings.get("render_dpi", 300)),
        low_confidence=float(data.get("low_confidence_threshold", 70.0)),
        batch=batch,
        part=part,
        ppocr_version=str(engine.get("ppocr", "")),
    )


def _page_from_json(page: dict[str, Any], data: dict[str, Any]) -> PageResult:
    recipe = page.get("recipe")
    return PageResult(
        number=int(page["number"]),
        text=str(page["text"]),
        raw_text=str(page["raw_text"]),
        confidence=float(page["confidence"]),
        low_confidence=bool(page["low_confidence"]),
        words=tuple(
            Word(
                str(w["text"]),
                float(w["confidence"]),
                (int(w["box"][0]), int(w["box"][1]), int(w["box"][2]), int(w["box"][3])),
                line=int(w["line"]),
                block=int(w.get("block", 0)),
                paragraph=int(w.get("paragraph", w.get("block", 0))),
                in_pdf=bool(w.get("in_pdf", False)),
            )
            for w in page["words"]
        ),
        rotation=int(page.get("rotation", 0)),
        skew_degrees=page.get("skew_degrees"),
        seconds=float(page.get("seconds", 0.0)),
        backend=str(data.get("engine", {}).get("preprocess_backend", "cpu")),
        corrections=tuple(
            Correction(str(c["raw"]), str(c["fixed"]), int(c["offset"]))
            for c in page.get("corrections", ())
        ),
        error=page.get("error"),
        recipe=None
        if recipe is None
        else Recipe(
            model=str(recipe["model"]),
            steps=tuple(recipe["steps"]),
            scale=float(recipe["scale"]),
            reasons=dict(recipe["reasons"]),
            recognizer=str(recipe.get("recognizer", "tesseract")),
        ),
        size=(int(page.get("width", 0)), int(page.get("height", 0))),
        blank=bool(page.get("blank", False)),
        source=str(page.get("source", "ocr")),
        edits=tuple(Edit(**e) for e in page.get("edits", ())),
    )


def _recipe_json(page: PageResult) -> dict[str, Any] | None:
    """Which model and steps the page got, and why (see ``preprocess.plan``)."""
    recipe = page.recipe
    if recipe is None:
        return None
    return {
        "recognizer": recipe.recognizer,
        "model": recipe.model,
        "steps": list(recipe.steps),
        "scale": round(recipe.scale, 3),
        "reasons": dict(recipe.reasons),
    }


def document_text(result: DocumentResult) -> str:
    return PAGE_SEPARATOR.join(p.text for p in result.pages) + "\n"


def error_json(
    exc: BaseException, *, name: str, stage: str, sha256: str | None = None
) -> dict[str, Any]:
    reason = exc.reason if isinstance(exc, HotocrError) else "internal"
    data: dict[str, Any] = {
        "schema": ERROR_SCHEMA,
        "source": {"name": name, "sha256": sha256},
        "message": str(exc) or type(exc).__name__,
        "reason": reason,
        "stage": stage,
        "error_type": type(exc).__name__,
        "time": now_iso(),
        "hotocr": __version__,
    }
    if not isinstance(exc, HotocrError):
        # Our bug, not the file's: keep what a developer needs to fix it.
        data["traceback"] = traceback_lines(exc)
    return data


#: Lines of a traceback kept in an error report: the innermost frames, where it failed.
TRACEBACK_LINES = 40


def traceback_lines(exc: BaseException) -> list[str]:
    """Where ``exc`` was raised. An exception from a worker process reaches the daemon
    re-raised by ``future.result()``, with the worker's own traceback as text in its cause
    (``concurrent.futures.process._RemoteTraceback``): that one tells where it failed, the
    daemon's frames only where it was collected."""
    remote = getattr(exc.__cause__, "tb", None)
    if isinstance(remote, str):
        lines = [line for line in remote.splitlines() if line.strip() not in ("", '"""')]
        return [*lines[-TRACEBACK_LINES:], f"(in a worker process; re-raised as {exc!r})"]
    return "".join(traceback.format_exception(exc)).splitlines()[-TRACEBACK_LINES:]


# --- atomic files ---------------------------------------------------------------------------


def process_umask() -> int:
    """The umask, read without changing it (``os.umask`` can only set it, racily)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


@contextlib.contextmanager
def _replacing(dest: Path) -> Iterator[tuple[int, str]]:
    """A temporary file beside ``dest``: renamed over it on success, removed on failure."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=TEMP_SUFFIX, dir=dest.parent)
    try:
        yield fd, tmp
        crash_point("after_temp_sidecar")
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(dest.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, fsync, rename, fsync the folder."""
    with _replacing(path) as (fd, _tmp):
        # mkstemp creates 0600; sidecars get the permissions any new file would get.
        os.fchmod(fd, 0o666 & ~process_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())


def move_atomic(src: Path, dest: Path) -> None:
    """Move ``src`` to ``dest`` without ever exposing a partial ``dest``, across filesystems."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:  # another filesystem: copy, then remove the source
            raise
        if src.is_dir() and not src.is_symlink():
            _move_folder_across(src, dest)
            return
        with _replacing(dest) as (fd, tmp):
            os.close(fd)
            shutil.copy2(src, tmp)
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.unlink(src)
        return
    _fsync_dir(dest.parent)


def _move_folder_across(src: Path, dest: Path) -> None:
    """A batch's folder to another filesystem: copied under a temporary name, every file
    synced, renamed into place, and only then removed at the source."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}{TEMP_SUFFIX}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, symlinks=True)
    for root, _, files in os.walk(tmp):
        for name in files:
            path = Path(root) / name
            if not path.is_symlink():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(Path(root))
    os.rename(tmp, dest)
    _fsync_dir(dest.parent)
    shutil.rmtree(src)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def json_bytes(data: dict[str, Any]) -> bytes:
    # File names may hold bytes that are not UTF-8 (kept by Python as lone surrogates); they
    # become JSON escapes (\udcff) rather than an encoding error.
    return (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")


# --- names ----------------------------------------------------------------------------------


def remove_temporaries(folder: Path, stem: str) -> list[Path]:
    """Delete the temporary files an interrupted publish of ``stem`` left in ``folder``."""
    removed = []
    if folder.is_dir():
        stem = glob_escape(stem)
        for pattern in (f".{stem}.*{TEMP_SUFFIX}", f".{stem}-[0-9]*{TEMP_SUFFIX}"):
            for path in folder.glob(pattern):
                if path.is_dir() and not path.is_symlink():  # a batch's folder, half copied
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def free_stem(
    folder: Path,
    name: str,
    suffixes: Iterable[str],
    reserved: Callable[[Path, str], bool] = lambda folder, stem: False,
    *,
    folder_name: bool = False,
) -> str:
    """A stem for which ``name``'s own suffix and every sidecar suffix are still free.

    ``scan.pdf`` gives ``scan`` unless ``scan.pdf``, ``scan.txt`` or ``scan.json`` exists
    (or ``reserved`` says another unfinished job holds that stem); then ``scan-2``, ``scan-3``,
    ... ``folder_name``: ``name`` is a batch's folder, whose whole name is the stem. Only the
    single publishing thread calls this.
    """
    original = Path(name)
    stem, ext = (name, "") if folder_name else (original.stem, original.suffix)
    wanted = [ext, *suffixes]
    for n in range(1, 100_000):
        candidate = stem if n == 1 else f"{stem}-{n}"
        taken = any((folder / f"{candidate}{s}").exists() for s in wanted)
        if not taken and not reserved(folder, candidate):
            return candidate
    raise FileExistsError(f"no free name for {name} in {folder}")


@dataclass(frozen=True)
class Published:
    original: Path | None
    #: Every output written, the JSON last.
    files: tuple[Path, ...]
    #: Each document's JSON (one per part of a split document).
    jsons: tuple[Path, ...] = ()

    @property
    def json(self) -> Path:
        return self.files[-1]

    def outputs_of(self, json_sidecar: Path) -> list[Path]:
        """The files of the document whose JSON is ``json_sidecar``, the JSON last."""
        stem = json_sidecar.name.removesuffix(".json")
        own = [p for p in self.files if p.parent == json_sidecar.parent and _stem_of(p) == stem]
        return [p for p in own if p != json_sidecar] + [json_sidecar]


def _stem_of(path: Path) -> str:
    name = path.name
    for suffix in sorted(outputs.SUFFIXES.values(), key=len, reverse=True):
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def output_suffixes(formats: Iterable[str]) -> tuple[str, ...]:
    """The file endings ``formats`` write (for choosing a free name)."""
    return tuple(outputs.SUFFIXES[f] for f in formats)


def render_outputs(
    result: DocumentResult,
    formats: Iterable[str],
    *,
    original: Path,
    name: str,
    original_path: str | None = None,
    pdf_options: outputs.PdfOptions = outputs.DEFAULT_PDF_OPTIONS,
    json_extra: Mapping[str, Any] | None = None,
) -> list[tuple[str, bytes]]:
    """Each asked-for output as (suffix, bytes), the JSON last; ``original_path``: where the
    original will be, relative to the outputs' folder; ``json_extra``: keys the JSON gets
    besides (or instead of) its own."""
    wanted = [f for f in outputs.FORMATS if f in set(formats) and f != "json"] + ["json"]
    rendered = []
    archived = None
    for fmt in wanted:
        if fmt == "txt":
            data = document_text(result).encode("utf-8")
        elif fmt == "json":
            document = document_json(result, name=name, path=original_path)
            if archived is not None:
                document["pdf"] = {"pdfa": archived.pdfa, "why_not": archived.why_not or None}
            document.update(json_extra or {})
            data = json_bytes(document)
        elif fmt == "pdf":
            from hotocr.outputs import pdf  # noqa: PLC0415 - pikepdf and img2pdf on demand

            archived = pdf.render(result, original=original, name=name, options=pdf_options)
            data = archived.data
        elif fmt == "hocr":
            from hotocr.outputs import hocr  # noqa: PLC0415

            data = hocr.render(result, name=name)
        else:
            from hotocr.outputs import alto  # noqa: PLC0415

            data = alto.render(result, name=name)
        rendered.append((outputs.SUFFIXES[fmt], data))
    return rendered


def publish_result(
    result: DocumentResult,
    *,
    original: Path,
    folder: Path,
    stem: str,
    move_original: bool,
    formats: Iterable[str] = outputs.DEFAULT_FORMATS,
    pdf_options: outputs.PdfOptions = outputs.DEFAULT_PDF_OPTIONS,
) -> Published:
    """Write the outputs (the JSON last, as the 'complete' marker), then move the original.

    A document with separator pages is written as its parts, ``<stem>-1`` ..., each with
    its outputs, the last part's JSON last. The original (a file, or a batch's folder) is
    moved only after every output is durable: a crash in between leaves it claimed, to be
    processed again, never a moved original without its results.
    """
    documents = split(result)
    if not documents:
        raise OnlySeparators(f"all {len(result.pages)} pages are separator pages")
    dest = folder / f"{stem}{original_suffix(result, original)}"
    where = os.path.relpath(dest if move_original else original.absolute(), folder.absolute())
    rendered = [
        (
            part_stem(stem, document.part),
            render_outputs(
                document,
                formats,
                original=result.source.path if result.batch else original,
                name=dest.name,
                original_path=Path(where).as_posix(),
                pdf_options=pdf_options,
            ),
        )
        for document in documents
    ]
    fail_point("publish")
    written = []
    for name, outputs_of_part in rendered:
        for suffix, data in outputs_of_part:
            path = folder / f"{name}{suffix}"
            write_atomic(path, data)
            written.append(path)
            if len(written) == 1 and len(outputs_of_part) > 1:
                crash_point("between_outputs")
    crash_point("after_publish")
    jsons = tuple(folder / f"{name}.json" for name, _ in rendered)
    if move_original:
        move_atomic(original, dest)
        return Published(dest, tuple(written), jsons)
    return Published(None, tuple(written), jsons)


def original_suffix(result: DocumentResult, original: Path) -> str:
    """The ending the original keeps: a batch's folder has none."""
    return "" if result.batch is not None else original.suffix


def published_suffixes(result: DocumentResult, formats: Iterable[str]) -> tuple[str, ...]:
    """The endings after the stem that publishing ``result`` writes (``-2.txt`` for a part),
    for choosing a free stem."""
    own = output_suffixes(formats)
    parts = [d.part for d in split(result)]
    return tuple(f"{part_stem('', part)}{suffix}" for part in parts for suffix in own)


def remove_partial_outputs(folder: Path, stem: str) -> list[Path]:
    """The outputs a publish of ``stem`` wrote before a crash, when its JSON (written last)
    is missing: the set is incomplete, and the document is read again."""
    if (folder / f"{stem}.json").exists():
        return []
    removed = []
    for suffix in outputs.SUFFIXES.values():
        path = folder / f"{stem}{suffix}"
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def failure_report(original: Path, *, folder: bool) -> Path:
    """The ``.error.json`` beside an original in ``failed/``: its stem's, where a batch's
    folder is all stem ("scan 2026.12.03" has no ending to replace)."""
    if folder:
        return original.with_name(f"{original.name}.error.json")
    return original.with_suffix(".error.json")


def publish_failure(
    exc: BaseException,
    *,
    original: Path,
    folder: Path,
    stage: str,
    sha256: str | None = None,
    stem: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Move the original into ``failed/`` beside a ``.error.json`` that says why."""
    batch = original.is_dir() and not original.is_symlink()
    stem = stem or free_stem(folder, original.name, (".error.json",), folder_name=batch)
    dest = folder / f"{stem}{'' if batch else original.suffix}"
    report = error_json(exc, name=dest.name, stage=stage, sha256=sha256) | (extra or {})
    write_atomic(failure_report(dest, folder=batch), json_bytes(report))
    if original.exists() or original.is_symlink():
        move_atomic(original, dest)
    return dest
