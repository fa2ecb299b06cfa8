"""Prometheus metrics and the /healthz, /readyz and /metrics endpoints."""

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REGISTRY = CollectorRegistry()
SYNC_LATENCY = Histogram(
    "tenantry_sync_duration_seconds",
    "Time to reconcile one object, by kind.",
    ["kind"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge(
    "tenantry_queue_depth", "Keys waiting in a kind's work queue.", ["kind"], registry=REGISTRY
)
SYNC_ERRORS = Counter(
    "tenantry_sync_errors_total", "Failed reconciles, by kind.", ["kind"], registry=REGISTRY
)


class HealthServer:
    """Serves /healthz (process alive), /readyz (``ready()`` true) and /metrics."""

    def __init__(self, port: int, ready: Callable[[], bool], host: str = "0.0.0.0") -> None:
        registry = REGISTRY

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
                elif self.path == "/healthz":
                    self._send(200, b"ok", "text/plain")
                elif self.path == "/readyz":
                    ok = ready()
                    self._send(200 if ok else 503, b"ok" if ok else b"not ready", "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # probes every few seconds would drown the log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "HealthServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
