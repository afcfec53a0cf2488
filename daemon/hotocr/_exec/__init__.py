"""The one way hotocr runs external programs: an argv list, a timeout, captured output.

Never a shell, never a path that could be read as an option (callers pass absolute paths),
and a clear ``MissingDependency`` when the program is not installed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hotocr.errors import ExternalProgramError, MissingDependency


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace").strip()


class ProgramTimeout(ExternalProgramError):
    reason = "timeout"


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    install_hint: str = "",
    stdin_data: bytes | None = None,
    own_group: bool = False,
) -> Completed:
    """Run ``argv`` and capture its output; raise on a missing program, a timeout or failure.

    ``own_group``: for programs that are not ours (hook commands), which may start children
    of their own: it runs in a process group of its own, and a timeout kills the group
    (killing the program alone would leave a child holding its pipes, and us waiting)."""
    args = tuple(argv)
    try:
        proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
            args,
            stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            start_new_session=own_group,
        )
    except FileNotFoundError as exc:
        hint = f" ({install_hint})" if install_hint else ""
        raise MissingDependency(f"{args[0]} is not installed or not on PATH{hint}") from exc
    try:
        stdout, stderr = proc.communicate(stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        if own_group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.kill()
        proc.communicate()
        raise ProgramTimeout(f"{args[0]} did not finish within {timeout:g} s") from exc
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    done = Completed(args, proc.returncode, stdout, stderr)
    if check and proc.returncode != 0:
        raise ExternalProgramError(
            f"{args[0]} exited with status {proc.returncode}: {done.stderr_text[:500]}"
        )
    return done
