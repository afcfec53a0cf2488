"""A claimed batch folder made into one document: its files' pages, in order, as one PDF.

The pages keep their pixels: a PDF's pages are copied as they are (pikepdf), images become
pages the way the searchable PDF output makes them (img2pdf: JPEG and G4 as they are, PNG
losslessly), and the worker takes a page that is one scanned image out as stored. From there
on a batch is a document like any other (scheduling, recovery, outputs); ``Batch`` keeps
which file and page each page came from, for the sidecars.

``duplex``: a simplex scanner scans a two-sided stack as two files, all fronts, then all
backs in reverse order; fronts ``1 2 3`` and backs ``6 4 2``... interleave as the pages 1-6.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pikepdf

from hotocr import pages
from hotocr.batches import batch_files
from hotocr.datatypes import Batch, BatchFile, PageLocation, PageOrigin
from hotocr.errors import BadBatch, InputError
from hotocr.outputs.pdf import open_as_pdf

#: The assembled document, beside the claimed folder in the job's work folder.
ASSEMBLED_NAME = ".hotocr-batch.pdf"


def assembled_path(work_path: Path) -> Path:
    return work_path.with_name(ASSEMBLED_NAME)


def page_locations(batch: Batch, folder: Path) -> tuple[PageLocation, ...]:
    """Where each page of the batch in ``folder`` is read from: an image file's page from
    the file itself, so that it is read in its own pixels exactly as the same file alone
    would be (its boxes then match ``origin.file``); a PDF's from the assembled PDF."""
    kinds = {f.name: pages.Kind(f.format) for f in batch.files}
    assembled = assembled_path(folder)
    return tuple(
        PageLocation(folder / origin.file, kinds[origin.file], origin.page)
        if kinds[origin.file] is not pages.Kind.PDF
        else PageLocation(assembled, pages.Kind.PDF, number)
        for number, origin in enumerate(batch.origins, start=1)
    )


def assemble(
    folder: Path,
    *,
    ignore: tuple[str, ...],
    duplex: bool,
    max_pages: int,
    dpi: int,
    dest: Path | None = None,
) -> tuple[Batch, pages.SourceInfo]:
    """Write the batch in ``folder`` as one PDF (``dest``, by default ``assembled_path``)
    and describe it.

    Raises ``InputError``: an unusable file fails the whole batch (its files stay together),
    with a reason that names the file."""
    files = batch_files(folder, ignore)
    if not files:
        raise BadBatch("the batch folder holds no file to read (only ignored or hidden names)")
    dest = dest or assembled_path(folder)
    described: list[BatchFile] = []
    origins: list[PageOrigin] = []
    with tempfile.TemporaryDirectory(prefix=".hotocr-assemble-", dir=folder.parent) as tmp:
        parts: list[tuple[pikepdf.Pdf, str]] = []
        try:
            for i, path in enumerate(files):
                name = path.relative_to(folder).as_posix()
                try:
                    info = pages.inspect(path, dpi=dpi, repair_to=Path(tmp) / f"{i}.pdf")
                    parts.append((open_as_pdf(info.path, info.kind), name))
                except InputError as exc:
                    raise type(exc)(f"{name} in the batch: {exc}") from exc
                except (pikepdf.PdfError, OSError, ValueError) as exc:
                    raise BadBatch(f"{name} in the batch cannot be read: {exc}") from exc
                described.append(
                    BatchFile(name, info.kind.value, info.pages, info.sha256, info.bytes)
                )
            order = _page_order(described, duplex)
            if max_pages and len(order) > max_pages:
                raise BadBatch(
                    f"the batch has {len(order)} pages; this folder accepts at most "
                    f"{max_pages} (ocr.max_pages)"
                )
            with pikepdf.new() as out:
                for file_index, page in order:
                    pdf, name = parts[file_index]
                    out.pages.append(pdf.pages[page - 1])
                    origins.append(PageOrigin(name, page))
                out.save(dest)
        finally:
            for pdf, _ in parts:
                pdf.close()
    source = pages.inspect(dest, dpi=dpi)
    batch = Batch(tuple(described), tuple(origins), duplex)
    total = sum(f.bytes for f in described)
    return batch, pages.SourceInfo(dest, source.kind, source.pages, batch.sha256, total)


def _page_order(files: list[BatchFile], duplex: bool) -> list[tuple[int, int]]:
    """(file index, page in file) for each page of the document."""
    if not duplex:
        return [(i, p) for i, f in enumerate(files) for p in range(1, f.pages + 1)]
    counts = [f.pages for f in files]
    if len(files) != 2 or counts[0] != counts[1]:
        shape = ", ".join(f"{f.name} ({f.pages} page{'s' if f.pages != 1 else ''})" for f in files)
        raise BadBatch(
            "duplex expects exactly two files with the same number of pages (all fronts, "
            f"then all backs in reverse order); the folder holds {len(files)}: {shape}"
        )
    n = counts[0]
    order = []
    for k in range(1, n + 1):
        order += [(0, k), (1, n + 1 - k)]
    return order


__all__ = ["Batch", "BatchFile", "PageOrigin", "assemble", "assembled_path"]
