"""A read document cut into documents at its separator pages (``separators``).

The separator pages themselves are dropped; empty parts (two separators in a row, one at
the start or the end) give no document. A document without separator pages is not split
and keeps its name; one with any is written as ``<stem>-1``, ``<stem>-2``, ...
"""

from __future__ import annotations

import dataclasses

from hotocr.datatypes import DocumentResult, Part, Separator


def separator_pages(result: DocumentResult) -> tuple[tuple[int, Separator], ...]:
    return tuple((p.number, p.separator) for p in result.pages if p.separator is not None)


def split(result: DocumentResult) -> list[DocumentResult]:
    """The document's parts, each a document whose pages are numbered from 1 (``part``
    says which pages of the whole they were); ``[result]`` when it has no separator."""
    found = separator_pages(result)
    if not found:
        return [result]
    runs: list[list[int]] = [[]]
    for index, page in enumerate(result.pages):
        if page.separator is not None:
            runs.append([])
        else:
            runs[-1].append(index)
    runs = [run for run in runs if run]
    parts = []
    for number, run in enumerate(runs, start=1):
        own = tuple(
            dataclasses.replace(result.pages[i], number=k) for k, i in enumerate(run, start=1)
        )
        whole = tuple(result.pages[i].number for i in run)
        part = Part(number, len(runs), whole, found)
        parts.append(dataclasses.replace(result, pages=own, part=part))
    return parts


def part_stem(stem: str, part: Part | None) -> str:
    return stem if part is None else f"{stem}-{part.number}"


__all__ = ["Part", "part_stem", "separator_pages", "split"]
