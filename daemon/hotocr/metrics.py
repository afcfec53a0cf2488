"""Prometheus metrics and a health check, served over HTTP when ``[daemon] metrics`` is set.

``/metrics`` in the Prometheus text format; ``/healthz`` answers 200 while the main loop has
made progress within ``health_stall_seconds`` and 503 otherwise (a stuck loop, a hung disk).
Each ``Service`` owns its registry: no global state, several daemons in one test process.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from hotocr.recognize.onnx import INSTEAD_OF_GPU

PAGE_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 300)


def gpu_fallbacks(reasons: dict[str, str]) -> list[str]:
    """The parts of a page done on the CPU instead of the GPU, from its recipe's reasons:
    ``backend`` is there only when the GPU failed on the page; PP-OCR's placement names
    the CPU with a why (``recognize.onnx.INSTEAD_OF_GPU``) only where a GPU was meant."""
    parts = []
    if "backend" in reasons:
        parts.append("preprocess")
    if reasons.get("ppocr_provider", "").startswith(INSTEAD_OF_GPU):
        parts.append("ppocr")
    return parts


class Metrics:
    def __init__(self, health_stall_seconds: float = 60.0) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.documents = Counter(
            "hotocr_documents", "Documents finished, by outcome.", ["watch", "outcome"], registry=r
        )
        self.pages = Counter("hotocr_pages", "Pages recognized.", ["watch"], registry=r)
        self.failures = Counter(
            "hotocr_failures",
            "Documents sent to failed/, by reason.",
            ["watch", "reason"],
            registry=r,
        )
        self.low_confidence = Counter(
            "hotocr_low_confidence_pages", "Pages flagged for review.", ["watch"], registry=r
        )
        self.queue = Gauge(
            "hotocr_queue_depth",
            "Files waiting in the inbox and documents in flight.",
            ["watch", "stage"],
            registry=r,
        )
        self.page_seconds = Histogram(
            "hotocr_page_seconds",
            "Seconds a worker spent on one page.",
            ["watch"],
            buckets=PAGE_BUCKETS,
            registry=r,
        )
        self.backend = Gauge(
            "hotocr_preprocess_backend",
            "1 for the preprocessing backend in use.",
            ["watch", "backend"],
            registry=r,
        )
        self.gpu_memory = Gauge(
            "hotocr_gpu_memory_bytes",
            "GPU memory held by a worker's preprocessing, last seen.",
            registry=r,
        )
        self.gpu_fallbacks = Counter(
            "hotocr_gpu_fallback_pages",
            "Pages done on the CPU where the GPU was to do them, by part: preprocess (the "
            "GPU failed on the page), ppocr (CUDA failed, did not load, or is missing).",
            ["watch", "part"],
            registry=r,
        )
        self.last_progress = Gauge(
            "hotocr_last_progress_timestamp_seconds",
            "When the main loop last made progress.",
            registry=r,
        )
        self.hook_deliveries = Counter(
            "hotocr_hook_deliveries",
            "Hook delivery attempts, by outcome: delivered, failed (tried again later),"
            " undeliverable (given up).",
            ["hook", "outcome"],
            registry=r,
        )
        self.hook_pending = Gauge(
            "hotocr_hook_pending_events", "Events waiting to be delivered.", ["hook"], registry=r
        )
        self.hook_undeliverable = Gauge(
            "hotocr_hook_undeliverable_events",
            "Events given up on, still in the journal.",
            ["hook"],
            registry=r,
        )
        self._stall = health_stall_seconds
        self._progress = time.monotonic()
        self._server: ThreadingHTTPServer | None = None

    def progress(self) -> None:
        """Called by the main loop on every turn."""
        self._progress = time.monotonic()
        self.last_progress.set_to_current_time()

    def healthy(self) -> tuple[bool, float]:
        stalled = time.monotonic() - self._progress
        return stalled < self._stall, stalled

    def serve(self, address: str) -> tuple[str, int]:
        """Start the HTTP endpoint on ``host:port``; returns the bound address."""
        host, _, port = address.rpartition(":")
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    self._reply(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
                elif self.path.split("?")[0] == "/healthz":
                    ok, stalled = metrics.healthy()
                    body = f"{'ok' if ok else 'stalled'} {stalled:.1f}s\n".encode()
                    self._reply(200 if ok else 503, body, "text/plain; charset=utf-8")
                else:
                    self._reply(404, b"not found\n", "text/plain; charset=utf-8")

            def _reply(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # scrapes every few seconds would flood the log

        self._server = ThreadingHTTPServer((host.strip("[]") or "127.0.0.1", int(port)), Handler)
        self._server.daemon_threads = True
        thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)
        thread.start()
        bound = self._server.server_address
        return str(bound[0]), int(bound[1])

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
