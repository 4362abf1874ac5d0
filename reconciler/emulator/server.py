"""The emulator's HTTP server: routing to the vendor APIs, faults, rate limits, SQLite state."""

from __future__ import annotations

import contextlib
import json
import math
import random
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from reconciler.emulator.base import Setting, Vendor, VendorApi
from reconciler.emulator.http import ApiError, Request, Response
from reconciler.emulator.order import check_order
from reconciler.emulator.registry import VENDORS
from reconciler.emulator.routing import RouteTable

MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """What goes wrong, and how often: every draw comes from the emulator's seed."""

    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    drop_rate: float = 0.0  # connections closed before any answer
    lost_create_rate: float = 0.0  # creates committed whose answer is never sent
    requests_per_second_per_key: float | None = None

    @property
    def any(self) -> bool:
        """Say whether any fault is switched on."""
        return bool(
            self.latency_ms
            or self.latency_jitter_ms
            or self.rate_429
            or self.rate_5xx
            or self.drop_rate
            or self.lost_create_rate
            or self.requests_per_second_per_key
        )


class _Bucket:
    """A token bucket per API key: `rate` requests per second, bursts of up to `rate`."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.stamp = now

    def take(self, now: float) -> float:
        """Take a token; return 0, or the seconds to wait until one is there."""
        self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class EmulatorServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server that answers as the vendors do."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        *,
        seed: int = 0,
        time_scale: float = 1.0,
        state_path: Path | str | None = None,
        clock: Callable[[], float] = time.time,
        faults: Faults | None = None,
        list_order: str = "newest",
        omit_dataset_id: bool = False,
        vendors: Mapping[str, Vendor] = VENDORS,
    ) -> None:
        check_order(list_order)  # before the socket is bound
        super().__init__(address, _Handler)
        self.faults = faults or Faults()
        self.clock = clock
        self._fault_rng = random.Random(f"faults:{seed}")
        self._fault_lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.requests: Counter[str] = Counter()  # answers sent, per vendor API class
        self.bytes_sent: Counter[str] = Counter()
        self._lock = threading.Lock()
        target = ":memory:" if state_path is None else str(state_path)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level="DEFERRED")
        self._db.row_factory = sqlite3.Row
        if state_path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        setting = Setting(
            db=self._db,
            lock=self._lock,
            seed=seed,
            time_scale=time_scale,
            clock=clock,
            list_order=list_order,
            omit_dataset_id=omit_dataset_id,
        )
        # One API per registered vendor, and one route table built from their routes; the
        # first vendor whose mounts own a path answers it.
        self.apis: dict[str, VendorApi] = {
            name: vendor.build(setting) for name, vendor in vendors.items()
        }
        self.routes = RouteTable.build(
            (name, vendor.mounts, self.apis[name].routes()) for name, vendor in vendors.items()
        )

    def __getattr__(self, name: str) -> Any:
        """Return a registered vendor's API by name (`server.bland.seed_runs(...)` in tests)."""
        apis = self.__dict__.get("apis", {})
        if name in apis:
            return apis[name]
        raise AttributeError(name)

    def server_close(self) -> None:
        """Close the socket and the database."""
        super().server_close()
        with self._lock:
            self._db.close()

    def record(self, api: str, sent: int) -> None:
        """Count one answer and its body bytes, per vendor API (read by the benchmarks)."""
        with self._fault_lock:
            self.requests[api] += 1
            self.bytes_sent[api] += sent

    def draw(self) -> float:
        """Return the next number of the fault stream."""
        with self._fault_lock:
            return self._fault_rng.random()

    def wait_for(self, key: str) -> float:
        """Apply the per-key rate limit; return 0, or the seconds the caller must wait."""
        rate = self.faults.requests_per_second_per_key
        if not rate:
            return 0.0
        with self._fault_lock:
            now = time.monotonic()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(rate, now)
            return bucket.take(now)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorServer
    server_version = "reconciler-emulator"

    def setup(self) -> None:
        """Send each answer at once: no Nagle delay between headers and body on keep-alive."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the emulator is a test double and a demo, not a service to monitor."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(Response(413, {"error": "request body too large"}))
            return
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=split.path.rstrip("/") or "/",
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        found = self.server.routes.find(request.method, request.path)
        if found is None:
            self._api_name = "none"
            self._send(Response(404, {"error": f"no vendor API at {request.path}"}))
            return
        name, match = found
        api = self.server.apis[name]
        self._api_name = type(api).__name__  # the key of `requests` the benchmarks read
        faults = self.server.faults
        if faults.any and self._inject(request, api):
            return
        try:
            response = api.answer(request, match)
        except ApiError as error:
            response = error.response
        if (
            faults.lost_create_rate
            and match.route is not None
            and match.route.creates
            and 200 <= response.status < 300
            and self.server.draw() < faults.lost_create_rate
        ):
            self._drop()
            return
        self._send(response)

    def _inject(self, request: Request, api: VendorApi) -> bool:
        """Apply latency, rate limits and faults; return True when the request was answered."""
        faults = self.server.faults
        delay = faults.latency_ms + faults.latency_jitter_ms * self.server.draw()
        if delay:
            time.sleep(delay / 1000)
        wait = self.server.wait_for(request.headers.get("authorization", ""))
        if wait:
            self._send(_with_retry_after(api.fault(429, request), math.ceil(wait)))
            return True
        if faults.drop_rate and self.server.draw() < faults.drop_rate:
            self._drop()
            return True
        if faults.rate_429 and self.server.draw() < faults.rate_429:
            self._send(_with_retry_after(api.fault(429, request), 1))
            return True
        if faults.rate_5xx and self.server.draw() < faults.rate_5xx:
            status = (500, 502, 503, 504)[int(self.server.draw() * 4)]
            self._send(api.fault(status, request))
            return True
        return False

    def _drop(self) -> None:
        """Close the connection without an answer, as a dying proxy or a reset would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, response: Response) -> None:
        payload = json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.server.record(getattr(self, "_api_name", "none"), len(payload))


def _with_retry_after(response: Response, seconds: int) -> Response:
    headers = {**response.headers, "Retry-After": str(max(seconds, 1))}
    return Response(response.status, response.body, headers, response.content_type)


def make_server(
    host: str,
    port: int,
    *,
    seed: int = 0,
    time_scale: float = 1.0,
    state_path: Path | str | None = None,
    clock: Callable[[], float] = time.time,
    faults: Faults | None = None,
    list_order: str = "newest",
    omit_dataset_id: bool = False,
    vendors: Mapping[str, Vendor] = VENDORS,
) -> EmulatorServer:
    """Bind an emulator to `host:port` (0 picks a free port); call serve_forever() to run it.

    `list_order` ("newest", "oldest", "shuffled") is the order of the run lists (no vendor
    documents one); `omit_dataset_id` leaves `datasetId` out of Adaline evaluations (§2: it
    may be absent). `vendors` are the APIs served (the registry's, unless a test adds one).
    """
    return EmulatorServer(
        (host, port),
        seed=seed,
        time_scale=time_scale,
        state_path=state_path,
        clock=clock,
        faults=faults,
        list_order=list_order,
        omit_dataset_id=omit_dataset_id,
        vendors=vendors,
    )


def run(
    host: str,
    port: int,
    *,
    seed: int = 0,
    time_scale: float = 1.0,
    state_path: Path | str | None = None,
    faults: Faults | None = None,
    list_order: str = "newest",
    omit_dataset_id: bool = False,
) -> None:
    """Serve until interrupted."""
    server = make_server(
        host,
        port,
        seed=seed,
        time_scale=time_scale,
        state_path=state_path,
        faults=faults,
        list_order=list_order,
        omit_dataset_id=omit_dataset_id,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
