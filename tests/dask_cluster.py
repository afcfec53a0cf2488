"""A real Dask cluster on loopback for tests and benchmarks: ``dask scheduler`` and named
``dask worker`` processes, each in its own process group so that it can be killed whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import distributed

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A scheduler and named workers, each its own process group so it can be killed whole."""

    def __init__(
        self,
        root: Path,
        *,
        worker_env: dict[str, str] | None = None,
        scheduler_env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.worker_env = worker_env or {}
        self.scheduler_env = scheduler_env or {}
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        return subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=dict(os.environ, **env),
            start_new_session=True,
        )

    def start_scheduler(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn(
            "scheduler",
            [
                str(BIN / "dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--no-dashboard",
            ],
            self.scheduler_env,
        )

    def start_worker(self, name: str, resources: str = "") -> None:
        """A worker named ``name``; ``resources``: what it advertises (``GPU=1``)."""
        extra = ["--resources", resources] if resources else []
        self.workers[name] = self._spawn(
            name,
            [
                str(BIN / "dask"),
                "worker",
                self.address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--memory-limit",
                "0",
                "--local-directory",
                str(self.root / name),
                *extra,
            ],
            self.worker_env,
        )

    def kill(self, proc: subprocess.Popen[bytes] | None) -> None:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop_scheduler(self) -> None:
        assert self.scheduler is not None
        self.kill(self.scheduler)

    def wait_workers(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with distributed.Client(self.address, timeout=5, set_as_default=False) as c:
                    if len(c.nthreads()) >= count:
                        return
            except (OSError, TimeoutError):
                pass
            time.sleep(0.5)
        logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in self.root.glob("*.log"))
        raise AssertionError(f"{count} Dask workers did not join within {timeout}s\n{logs}")

    def ensure(self, names: tuple[str, ...] = ("w1", "w2")) -> None:
        if self.scheduler is None or self.scheduler.poll() is not None:
            self.start_scheduler()
        for name in names:
            proc = self.workers.get(name)
            if proc is None or proc.poll() is not None:
                self.start_worker(name)
        self.wait_workers(len(names))

    def close(self) -> None:
        for proc in self.workers.values():
            self.kill(proc)
        self.kill(self.scheduler)
