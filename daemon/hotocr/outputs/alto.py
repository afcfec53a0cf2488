"""ALTO v4 XML: ``Page`` > ``PrintSpace`` > ``TextBlock`` > ``TextLine`` > ``String`` with
``HPOS/VPOS/WIDTH/HEIGHT/WC/CONTENT`` in pixels (``MeasurementUnit`` pixel).

``CONTENT`` is the corrected word; where the corrector changed it, Tesseract's own reading
is kept as the String's ``ALTERNATIVE``. Each text block of the page (a column's stretch,
a caption, a label: ``outputs.structure``) is a ``TextBlock``, with ``ROTATION`` on a page
read turned; each line has its ``BASELINE``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape as escape_text
from xml.sax.saxutils import quoteattr

from hotocr import __version__
from hotocr.datatypes import DocumentResult
from hotocr.outputs.structure import blocks_of

NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"


def render(result: DocumentResult, *, name: str) -> bytes:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<alto xmlns="{NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{NAMESPACE} {SCHEMA}">\n',
        " <Description>\n",
        "  <MeasurementUnit>pixel</MeasurementUnit>\n",
        "  <sourceImageInformation>\n",
        f"   <fileName>{escape_text(name)}</fileName>\n",
        "  </sourceImageInformation>\n",
        '  <OCRProcessing ID="ocr_1">\n',
        "   <ocrProcessingStep>\n",
        "    <processingSoftware>\n",
        "     <softwareName>hotocr</softwareName>\n",
        f"     <softwareVersion>{escape_text(__version__)} (tesseract "
        f"{escape_text(result.tesseract_version)})</softwareVersion>\n",
        "    </processingSoftware>\n",
        "   </ocrProcessingStep>\n",
        "  </OCRProcessing>\n",
        " </Description>\n",
        " <Layout>\n",
    ]
    for page in result.pages:
        n = page.number
        width, height = page.size
        out.append(
            f'  <Page ID="page_{n}" PHYSICAL_IMG_NR="{n}" WIDTH="{width}" HEIGHT="{height}"'
            f' PC="{page.confidence / 100:.4f}">\n'
        )
        out.append(f'   <PrintSpace HPOS="0" VPOS="0" WIDTH="{width}" HEIGHT="{height}">\n')
        turned = page.rotation % 360
        rotation = f' ROTATION="{turned}"' if turned else ""
        i = 0
        for b, block in enumerate(blocks_of(page), start=1):
            out.append(f'    <TextBlock ID="block_{n}_{b}" {_position(block.box)}{rotation}>\n')
            for line in block.lines:
                i += 1
                (x0, y0), (x1, y1) = line.baseline.points
                out.append(
                    f'     <TextLine ID="line_{n}_{i}" {_position(line.box)}'
                    f' BASELINE="{x0},{y0} {x1},{y1}">\n'
                )
                for j, word in enumerate(line.words, start=1):
                    if j > 1:
                        out.append("      <SP/>\n")
                    attrs = (
                        f'ID="word_{n}_{i}_{j}" {_position(word.box)} '
                        f'WC="{word.confidence / 100:.4f}" CONTENT={quoteattr(word.text)}'
                    )
                    if word.raw == word.text:
                        out.append(f"      <String {attrs}/>\n")
                    else:
                        out.append(
                            f"      <String {attrs}><ALTERNATIVE>{escape_text(word.raw)}"
                            "</ALTERNATIVE></String>\n"
                        )
                out.append("     </TextLine>\n")
            out.append("    </TextBlock>\n")
        out.append("   </PrintSpace>\n  </Page>\n")
    out.append(" </Layout>\n</alto>\n")
    return "".join(out).encode("utf-8")


def _position(box: tuple[int, int, int, int]) -> str:
    left, top, width, height = box
    return f'HPOS="{left}" VPOS="{top}" WIDTH="{width}" HEIGHT="{height}"'
