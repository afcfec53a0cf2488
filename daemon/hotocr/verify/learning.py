"""Teaching a folder a fix: a person turns a recurring misreading into a rule of the folder's
rules file (``printed -> meant``) or a word of its dictionary, and the next documents of
that folder get it (the corrector reads both files for every page)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from hotocr.config import WatchConfig
from hotocr.verify.changes import check_word


class CannotLearn(ValueError):
    """The folder has no file for it, or the fix is no fix."""


def teach(watch: WatchConfig, kind: str, printed: str, meant: str) -> str:
    """Append the fix to the folder's file; what was learned, in words."""
    meant = check_word(meant)
    if kind == "word":
        if watch.correction.dictionary is None:
            raise CannotLearn("this folder has no dictionary ([correction] dictionary)")
        if " " in meant:
            raise CannotLearn("a dictionary holds single words")
        _append(watch.correction.dictionary, meant)
        return f"{meant!r} is in the dictionary of {watch.inbox}"
    printed = check_word(printed)
    if watch.correction.rules is None:
        raise CannotLearn("this folder has no rules file ([correction] rules)")
    if "->" in printed or "->" in meant or printed == meant:
        raise CannotLearn("a rule turns one printed word into another")
    _append(watch.correction.rules, f"{printed} -> {meant}")
    return f"{printed!r} is read as {meant!r} in {watch.inbox}"


def _append(path: Path, line: str) -> None:
    """One line at the end of the file, under a lock, synced (two people may teach at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        text = fh.read()
        if line in text.splitlines():
            return
        if text and not text.endswith("\n"):
            fh.write("\n")
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
