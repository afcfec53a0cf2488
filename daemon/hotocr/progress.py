"""How far ``hotocr process`` has come: pages done of all, their rate, the time left.

On a terminal a bar (rich) that finished files' lines scroll above; elsewhere (a log, a
pipe, CI) a plain line every few seconds, because a log keeps every redraw.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

#: Seconds between two plain progress lines.
PLAIN_EVERY = 5.0


class _PagesPerMinute(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed * 60:.1f} pages/min" if speed else "-- pages/min")


class PageProgress:
    """Call ``add_pages`` as files are opened, ``update`` as pages finish and ``file_done``
    as files do; use as a context."""

    def __init__(self, *, terminal: bool, stream: TextIO | None = None) -> None:
        self._total = 0
        self._stream = stream or sys.stderr
        self._start = time.monotonic()
        self._last_line = self._start
        self._done = 0
        self._bar: Progress | None = None
        if terminal:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("pages"),
                _PagesPerMinute(),
                TimeElapsedColumn(),
                TextColumn("so far,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=Console(file=self._stream),
                redirect_stdout=False,  # standard output may be a file of results
                redirect_stderr=False,
            )
            self._task = self._bar.add_task("OCR", total=0)

    def __enter__(self) -> PageProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif kind is None and self._done:
            self._plain_line()

    def add_pages(self, pages: int) -> None:
        """A file's pages join the total once it has been looked at."""
        self._total += pages
        if self._bar is not None:
            self._bar.update(self._task, total=self._total)

    def update(self, pages_done: int) -> None:
        if pages_done == self._done:
            return
        self._done = pages_done
        if self._bar is not None:
            self._bar.update(self._task, completed=pages_done)
        elif time.monotonic() - self._last_line >= PLAIN_EVERY and pages_done < self._total:
            self._plain_line()

    def file_done(self, line: str, *, failed: bool = False) -> None:
        """A finished file's line: failures on standard error, the rest on standard output;
        above the bar where it shares the bar's terminal."""
        out = sys.stderr if failed else sys.stdout
        if self._bar is not None and (failed or out.isatty()):
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=out, flush=True)

    def _plain_line(self) -> None:
        self._last_line = now = time.monotonic()
        elapsed = now - self._start
        rate = self._done / elapsed if elapsed > 0 else 0.0
        left = (self._total - self._done) / rate if rate else 0.0
        ending = f", about {_duration(left)} left" if self._done < self._total else ""
        print(
            f"hotocr: {self._done}/{self._total} pages, {rate * 60:.1f} pages/min, "
            f"{_duration(elapsed)} so far{ending}",
            file=self._stream,
            flush=True,
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
