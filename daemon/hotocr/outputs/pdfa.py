"""PDF/A-2b for the searchable PDF, where the original allows it.

pikepdf's PDF/A module adds what the archive format asks for without touching the content:
an sRGB output intent, the PDF/A identification in XMP, metadata that agrees with the
document information, annotation flags. It then reads back what it wrote and approves it
only if every construct it meets is known to conform (an allowlist). A file it does not
approve (a font that is not embedded, JavaScript, an attachment, ...) is written as a plain
PDF, and the reason goes into the JSON: never a file that claims PDF/A and is not.

Written with classic cross-reference tables, not object streams: PDF/A-2 allows either, and
then PDF/A-1 tools read it too (Apache PDFBox's Preflight, which the tests run, finds
nothing but the part number it expects to be 1).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf

#: The PDF/A flavour written.
FLAVOUR = "2b"
#: Reasons longer than this are cut in the JSON (a broken file can have thousands).
REASON_CHARS = 500


@dataclass(frozen=True)
class Archived:
    """The PDF's bytes and, if they are PDF/A, its flavour; else why not."""

    data: bytes
    pdfa: str | None
    why_not: str = ""


def archive(plain: bytes, producer: str) -> Archived:
    """``plain`` made PDF/A-2b, or ``plain`` itself and why it cannot be. Worked on a copy
    opened from the bytes, so a refused attempt leaves nothing of itself behind.
    ``producer``: the document's Producer, in its XMP and its document information alike
    (pikepdf's preparation names pikepdf)."""
    import pikepdf.pdfa  # noqa: PLC0415 - fontTools and jsonschema, only for PDF output

    out = io.BytesIO()
    try:
        with pikepdf.open(io.BytesIO(plain)) as pdf:
            pikepdf.pdfa.prepare(pdf, FLAVOUR)
            with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
                meta["pdf:Producer"] = producer
            pikepdf.pdfa.save(
                pdf,
                out,
                FLAVOUR,
                repair=False,  # prepared above; saving checks what it writes all the same
                object_stream_mode=pikepdf.ObjectStreamMode.disable,
            )
    except pikepdf.pdfa.PdfaError as exc:
        return Archived(plain, None, _reason(exc.report))
    except (pikepdf.PdfError, ValueError) as exc:
        return Archived(plain, None, f"cannot be made PDF/A: {exc}"[:REASON_CHARS])
    return Archived(out.getvalue(), FLAVOUR)


def _reason(report: pikepdf.pdfa.Report) -> str:
    """The findings in a sentence: what is in the way, each kind once."""
    seen: dict[str, None] = {}
    for finding in [*report.violations, *report.unsupported]:
        seen.setdefault(finding.message, None)
    text = "; ".join(seen) or report.summary().replace("\n", " ")
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."
