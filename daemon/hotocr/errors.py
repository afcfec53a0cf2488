"""Exception hierarchy. Each class maps to an outcome, so callers decide by type, not by message.

- ``ConfigError``: the daemon refuses to start (exit code 2).
- ``MissingDependency``: an external program or language is absent (exit code 3).
- ``InputError`` and subclasses: the file itself is bad; it goes to ``failed/`` at once.
- ``NotReady``: the file is not complete yet (still being written); try again later.
  ``Truncated``: it never completed (unchanged for the whole wait, and unreadable as it is).
- ``PageTimeout``: one page took too long; the page is flagged, the document goes on.
"""

from __future__ import annotations


class HotocrError(Exception):
    """Base of every error hotocr raises on purpose."""

    exit_code = 1
    #: Short machine-readable reason, written into ``.error.json`` and logs.
    reason = "error"


class ConfigError(HotocrError):
    exit_code = 2
    reason = "config"


class MissingDependency(HotocrError):
    exit_code = 3
    reason = "missing_dependency"


class ExternalProgramError(HotocrError):
    """An external program failed in a way that says nothing about the input."""

    reason = "external_program"


class InputError(HotocrError):
    """The input file cannot be processed; retrying will not help."""

    reason = "bad_input"


class UnsupportedFormat(InputError):
    reason = "unsupported_format"


class CorruptInput(InputError):
    reason = "corrupt"


class EncryptedInput(InputError):
    reason = "encrypted"


class TooLarge(InputError):
    reason = "too_large"


class NotReady(HotocrError):
    """The file is still being written (or looks truncated); look again later."""

    reason = "not_ready"


class Truncated(InputError):
    """The file looked incomplete for the whole wait, unchanged, and cannot be read as it
    is: cut short (a copy that broke off, a scanner that lost its connection)."""

    reason = "truncated"


class PageTimeout(HotocrError):
    reason = "timeout"


class DuplicateInput(InputError):
    """The same content was processed before and the folder says ``duplicates = "skip"``."""

    reason = "duplicate"


class BadBatch(InputError):
    """A batch folder that cannot be one document: no usable file, or a duplex pair that is
    not two files of the same page count."""

    reason = "bad_batch"


class OnlySeparators(InputError):
    """Every page of the document is a separator page (blank, or a separator sheet)."""

    reason = "only_separators"


class NotRegularFile(InputError):
    """A symbolic link, FIFO, socket or device: never opened (a FIFO would block a reader)."""

    reason = "not_regular_file"


class Quarantined(HotocrError):
    """Processing this file killed the daemon (or its workers) too many times."""

    reason = "quarantined"


class TransientError(HotocrError):
    """Disk full, a locked file: worth retrying later, with backoff."""

    reason = "transient"


class WorkerCrashed(HotocrError):
    """A page killed the process that ran it, every time it was tried."""

    reason = "worker_crashed"


class WorkerLost(Exception):
    """Not an outcome but a signal between executor and scheduler: the page's result will
    never come (a pool process died, the cluster went away) and the page must run again.
    ``crash`` says whether the page itself may be the cause."""

    def __init__(self, message: str, *, crash: bool) -> None:
        super().__init__(message)
        self.crash = crash
