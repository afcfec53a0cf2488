"""qpdf: the last repair for a PDF whose page tree is not a page tree.

pikepdf (libqpdf) repairs cross-reference tables and page counts, but refuses to open a
file whose catalog's ``/Pages`` is an array, a number or missing ("unable to find page
tree"), and poppler refuses it too ("Top-level pages object is wrong type"). The pages are
still in the file. The ``qpdf`` program writes every object out as JSON without walking the
page tree; a new tree over the objects of ``/Type /Page`` (in object-number order, the order
writers use) is put in, and qpdf writes the PDF again from the JSON.
"""

from __future__ import annotations

import json
import re
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from hotocr._exec import run
from hotocr.errors import ExternalProgramError

INSTALL_HINT = "Debian: apt-get install qpdf"


@cache
def version() -> str:
    out = run(["qpdf", "--version"], timeout=30, install_hint=INSTALL_HINT)
    match = re.search(r"qpdf version (\d+\.\d+(?:\.\d+)?)", out.stdout.decode("utf-8", "replace"))
    if not match:
        raise ExternalProgramError("cannot read qpdf's version")
    return match.group(1)


def rebuild_page_tree(path: Path, dest: Path, *, timeout: float = 120) -> int:
    """Write ``path`` to ``dest`` with a new page tree; the number of pages (0: none found,
    nothing written)."""
    with tempfile.TemporaryDirectory(prefix=".hotocr-qpdf-", dir=dest.parent) as tmp:
        dump = Path(tmp) / "objects.json"
        # Stream data goes to files beside the JSON, so a big scan never sits in memory.
        run(
            [
                "qpdf",
                "--json-output",
                "--json-stream-data=file",
                f"--json-stream-prefix={Path(tmp) / 'stream'}",
                str(path.absolute()),
                str(dump),
            ],
            timeout=timeout,
            check=False,  # exit status 3: warnings, which a damaged file has
            install_hint=INSTALL_HINT,
        )
        if not dump.exists():
            return 0
        data = json.loads(dump.read_text(encoding="utf-8"))
        count = _new_page_tree(data)
        if not count:
            return 0
        dump.write_text(json.dumps(data), encoding="utf-8")
        out = run(
            ["qpdf", "--json-input", str(dump), str(dest.absolute())],
            timeout=timeout,
            check=False,
            install_hint=INSTALL_HINT,
        )
        if out.returncode not in (0, 3) or not dest.exists():
            dest.unlink(missing_ok=True)
            return 0
    return count


def _new_page_tree(data: dict[str, Any]) -> int:
    """Put a ``/Pages`` node over every page object into qpdf's JSON (version 2)."""
    try:
        head, objects = data["qpdf"]
        root = objects["trailer"]["value"]["/Root"]
        catalog = objects[f"obj:{root}"]["value"]
    except (KeyError, TypeError, ValueError):
        return 0
    pages = sorted(
        (
            key
            for key, obj in objects.items()
            if key.startswith("obj:")
            and isinstance(obj, dict)
            and isinstance(obj.get("value"), dict)
            and obj["value"].get("/Type") == "/Page"
        ),
        key=lambda key: int(key[4:].split()[0]),
    )
    if not pages or not isinstance(catalog, dict):
        return 0
    tree = f"{int(head['maxobjectid']) + 1} 0 R"
    objects[f"obj:{tree}"] = {
        "value": {"/Type": "/Pages", "/Kids": [key[4:] for key in pages], "/Count": len(pages)}
    }
    for key in pages:
        objects[key]["value"]["/Parent"] = tree
    catalog["/Pages"] = tree
    head["maxobjectid"] = int(head["maxobjectid"]) + 1
    return len(pages)
