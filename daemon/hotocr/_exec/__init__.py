"""The one way hotocr runs external programs: an argv list, a timeout, captured output.

Never a shell, never a path that could be read as an option (callers pass absolute paths),
and a clear ``MissingDependency`` when the program is not installed.
"""

from __future__ import annotations

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
) -> Completed:
    """Run ``argv`` and capture its output; raise on a missing program, a timeout or failure."""
    args = tuple(argv)
    try:
        proc = subprocess.run(  # noqa: S603 - argv list, no shell
            args,
            capture_output=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        hint = f" ({install_hint})" if install_hint else ""
        raise MissingDependency(f"{args[0]} is not installed or not on PATH{hint}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProgramTimeout(f"{args[0]} did not finish within {timeout:g} s") from exc
    done = Completed(args, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise ExternalProgramError(
            f"{args[0]} exited with status {proc.returncode}: {done.stderr_text[:500]}"
        )
    return done
